//! State machine definitions: parsed into typed states and checked before anything runs.

// Every field of every state is read or refused: a field the engine does not implement (JSONata,
// distributed Map, task credentials) is a load error, never silently ignored.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::choice::Rule;
use crate::intrinsic::Intrinsic;
use crate::path::{Path, ReferencePath};
use crate::template::Template;

mod check;
mod obj;
mod read;

/// Step Functions' `TimeoutSeconds` for a Task state that gives none; it bounds a callback's wait.
pub const DEFAULT_TASK_TIMEOUT_SECONDS: u64 = 99_999_999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct LoadError {
    /// Where in the definition, as a JSON pointer (`/States/Deploy/Retry/0`).
    pub at: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct StateMachine {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    pub timeout_seconds: Option<u64>,
}

impl StateMachine {
    /// Whether a state of this name is in the machine, its Parallel branches or Map processors.
    pub fn has_state(&self, name: &str) -> bool {
        self.states.contains_key(name)
            || self.states.values().any(|s| match &s.kind {
                Kind::Parallel { branches, .. } => branches.iter().any(|b| b.has_state(name)),
                Kind::Map { processor, .. } => processor.has_state(name),
                _ => false,
            })
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub kind: Kind,
    pub io: Io,
    /// `None` for Choice, Succeed and Fail, which choose or end on their own.
    pub next: Option<Next>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    State(String),
    End,
}

/// A path field that may be JSON `null` (Step Functions: "use `{}` / discard").
#[derive(Debug, Clone)]
pub enum Nullable<T> {
    Default,
    Null,
    Set(T),
}

#[derive(Debug, Clone)]
pub struct Io {
    pub input_path: Nullable<Path>,
    pub output_path: Nullable<Path>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Nullable<ReferencePath>,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub errors: Vec<String>,
    pub next: String,
    pub result_path: Nullable<ReferencePath>,
}

#[derive(Debug, Clone)]
pub enum Timeout {
    Seconds(u64),
    Path(ReferencePath),
}

/// A Map setting (`MaxConcurrency`, the tolerated-failure thresholds) given in the definition, or
/// by its `...Path` form: a reference path read from the Map's effective input when it runs.
#[derive(Debug, Clone)]
pub enum Setting<T> {
    Value(T),
    Path(ReferencePath),
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(ReferencePath),
    Timestamp(String),
    TimestampPath(ReferencePath),
}

/// A Fail state's `Error`/`Cause`, or the path or intrinsic function of `ErrorPath`/`CausePath`.
#[derive(Debug, Clone)]
pub enum Text {
    Literal(String),
    Path(Path),
    Call(Intrinsic),
}

#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    pub rule: Rule,
    pub next: String,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        resource: String,
        timeout: Option<Timeout>,
        /// `HeartbeatSeconds`/`HeartbeatSecondsPath`: the longest time between two heartbeats.
        heartbeat: Option<Timeout>,
        retry: Vec<Retrier>,
        catch: Vec<Catcher>,
    },
    Choice {
        choices: Vec<ChoiceBranch>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel {
        branches: Vec<StateMachine>,
        retry: Vec<Retrier>,
        catch: Vec<Catcher>,
    },
    Map {
        items_path: Option<Path>,
        item_selector: Option<Template>,
        processor: Box<StateMachine>,
        /// 0 (the default) sets no limit.
        max_concurrency: Setting<usize>,
        tolerated_failure_count: Option<Setting<u64>>,
        tolerated_failure_percentage: Option<Setting<f64>>,
        retry: Vec<Retrier>,
        catch: Vec<Catcher>,
    },
}

impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task { .. } => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map { .. } => "Map",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn load(v: Value) -> Result<StateMachine, LoadError> {
        StateMachine::from_value(&v)
    }

    #[test]
    fn a_full_definition_loads() {
        let m = load(json!({
            "Comment": "every state type",
            "StartAt": "P",
            "TimeoutSeconds": 60,
            "States": {
                "P": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.p", "Next": "T"},
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                      "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}, {"ErrorEquals": ["States.ALL"]}],
                      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F", "ResultPath": "$.error"}],
                      "TimeoutSeconds": 30, "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.p.a", "NumericEquals": 1, "Next": "W"}], "Default": "F"},
                "W": {"Type": "Wait", "Seconds": 5, "Next": "Par"},
                "Par": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}], "Next": "M"},
                "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                      "Next": "S"},
                "S": {"Type": "Succeed"},
                "F": {"Type": "Fail", "Error": "Oops", "CausePath": "$.error.Cause"}
            }
        }))
        .expect("loads");
        assert_eq!(m.states.len(), 8);
        assert!(matches!(m.states["T"].kind, Kind::Task { ref retry, .. } if retry.len() == 2));
    }

    #[test]
    fn callback_tasks_and_fail_intrinsics_load() {
        let m = load(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                  "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                  "TimeoutSeconds": 300, "HeartbeatSeconds": 60, "Next": "P"},
            "P": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                  "TimeoutSecondsPath": "$.t", "HeartbeatSecondsPath": "$.h", "Next": "F"},
            "F": {"Type": "Fail", "ErrorPath": "$.error", "CausePath": "States.Format('account {} failed', $.account)"}
        }}))
        .expect("loads");
        assert!(matches!(
            m.states["T"].kind,
            Kind::Task { timeout: Some(Timeout::Seconds(300)), heartbeat: Some(Timeout::Seconds(60)), .. }
        ));
        assert!(matches!(m.states["P"].kind, Kind::Task { heartbeat: Some(Timeout::Path(_)), .. }));
        assert!(matches!(m.states["F"].kind, Kind::Fail { error: Some(Text::Path(_)), cause: Some(Text::Call(_)) }));
    }

    #[test]
    fn every_mistake_is_refused_with_its_place() {
        let cases = [
            (json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Bogus": 1}}}), "/States/A/Bogus"),
            (json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}), "/States/A"),
            (json!({"StartAt": "B", "States": {"A": {"Type": "Pass", "End": true}}}), "/StartAt"),
            (json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}), "/States/A"),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "Z": {"Type": "Succeed"}}}),
                "/States/Z",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true,
                "TimeoutSeconds": 5, "HeartbeatSeconds": 5}}}),
                "/States/A/HeartbeatSeconds",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true,
                "HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.h"}}}),
                "/States/A",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "HeartbeatSeconds": 0}}}),
                "/States/A/HeartbeatSeconds",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "HeartbeatSeconds": 5}}}),
                "/States/A/HeartbeatSeconds",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Fail", "CausePath": "States.Nope($.x)"}}}),
                "/States/A/CausePath",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}}),
                "/States/A",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}}),
                "/States/A/Retry/0",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "ResultPath": "$.x"}}}),
                "/States/A/ResultPath",
            ),
            (json!({"StartAt": "A", "States": {"A": {"Type": "Fail", "InputPath": "$"}}}), "/States/A/InputPath"),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "InputPath": "nope"}}}),
                "/States/A/InputPath",
            ),
            (json!({"StartAt": "A", "States": {"A": {"Type": "Frob", "End": true}}}), "/States/A/Type"),
            (
                json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}),
                "/QueryLanguage",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Map", "End": true, "ItemReader": {},
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}}}}),
                "/States/A/ItemReader",
            ),
        ];
        for (definition, at) in cases {
            let err = load(definition.clone()).expect_err(&definition.to_string());
            assert_eq!(err.at, at, "{err} for {definition}");
        }
    }
}
