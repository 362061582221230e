//! State machine definitions: parsed into typed states and checked before anything runs.
//!
//! Every field of every state is read or refused: a field the engine does not implement (callbacks'
//! `HeartbeatSeconds`, JSONata, distributed Map) is a load error, never silently ignored.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::choice::{Rule, RuleError};
use crate::path::{Path, PathError, ReferencePath};
use crate::template::{Template, TemplateError};

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

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(ReferencePath),
    Timestamp(String),
    TimestampPath(ReferencePath),
}

#[derive(Debug, Clone)]
pub enum Text {
    Literal(String),
    Path(Path),
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
        max_concurrency: usize,
        tolerated_failure_count: Option<u64>,
        tolerated_failure_percentage: Option<f64>,
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

/// Fields no state may carry here, with the reason given to the author.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("HeartbeatSeconds", "task heartbeats (callback tasks) are not supported by the local engine"),
    ("HeartbeatSecondsPath", "task heartbeats (callback tasks) are not supported by the local engine"),
    ("Credentials", "cross-account task credentials are not supported by the local engine"),
    ("QueryLanguage", "JSONata is not supported: use JSONPath"),
    ("Arguments", "JSONata `Arguments` is not supported: use `Parameters`"),
    ("Output", "JSONata `Output` is not supported: use `OutputPath`/`ResultSelector`"),
    ("Assign", "variables (`Assign`) are not supported"),
    ("ItemReader", "distributed Map (`ItemReader`) is not supported"),
    ("ItemBatcher", "distributed Map (`ItemBatcher`) is not supported"),
    ("ResultWriter", "distributed Map (`ResultWriter`) is not supported"),
    ("Label", "distributed Map (`Label`) is not supported"),
    ("MaxConcurrencyPath", "`MaxConcurrencyPath` is not supported: use `MaxConcurrency`"),
    ("ToleratedFailureCountPath", "`ToleratedFailureCountPath` is not supported: use `ToleratedFailureCount`"),
    ("ToleratedFailurePercentagePath", "`ToleratedFailurePercentagePath` is not supported"),
];

/// Reads one JSON object field by field, remembering which were read so the rest can be refused.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: String,
    read: BTreeSet<&'a str>,
}

impl<'a> Obj<'a> {
    fn new(value: &'a Value, at: &str) -> Result<Obj<'a>, LoadError> {
        let map = value.as_object().ok_or_else(|| fail(at, format!("expected an object, found {value}")))?;
        Ok(Obj { map, at: at.to_string(), read: BTreeSet::new() })
    }

    fn here(&self, key: &str) -> String {
        format!("{}/{key}", self.at)
    }

    fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        self.read.insert(key);
        self.map.get(key)
    }

    fn string(&mut self, key: &'a str) -> Result<Option<String>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(fail(&self.here(key), format!("expected a string, found {v}"))),
        }
    }

    fn required(&mut self, key: &'a str) -> Result<String, LoadError> {
        self.string(key)?.ok_or_else(|| fail(&self.at, format!("`{key}` is required")))
    }

    fn uint(&mut self, key: &'a str) -> Result<Option<u64>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                v.as_u64().map(Some).ok_or_else(|| fail(&self.here(key), format!("expected a whole number, found {v}")))
            }
        }
    }

    fn number(&mut self, key: &'a str) -> Result<Option<f64>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|f| *f >= 0.0)
                .map(Some)
                .ok_or_else(|| fail(&self.here(key), format!("expected a non-negative number, found {v}"))),
        }
    }

    fn path(&mut self, key: &'a str) -> Result<Nullable<Path>, LoadError> {
        match self.get(key) {
            None => Ok(Nullable::Default),
            Some(Value::Null) => Ok(Nullable::Null),
            Some(Value::String(s)) => Path::parse(s).map(Nullable::Set).map_err(|e| path_fail(&self.here(key), e)),
            Some(v) => Err(fail(&self.here(key), format!("expected a path string or null, found {v}"))),
        }
    }

    fn reference(&mut self, key: &'a str) -> Result<Nullable<ReferencePath>, LoadError> {
        match self.get(key) {
            None => Ok(Nullable::Default),
            Some(Value::Null) => Ok(Nullable::Null),
            Some(Value::String(s)) => {
                ReferencePath::parse(s).map(Nullable::Set).map_err(|e| path_fail(&self.here(key), e))
            }
            Some(v) => Err(fail(&self.here(key), format!("expected a reference path or null, found {v}"))),
        }
    }

    fn template(&mut self, key: &'a str) -> Result<Option<Template>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Template::compile(v).map(Some).map_err(|e: TemplateError| fail(&self.here(key), e.to_string())),
        }
    }

    /// Refuses every field not read: unsupported ones with their reason, others as unknown.
    fn finish(self, type_name: &str) -> Result<(), LoadError> {
        for key in self.map.keys() {
            if self.read.contains(key.as_str()) {
                continue;
            }
            let at = format!("{}/{key}", self.at);
            if let Some((_, why)) = UNSUPPORTED.iter().find(|(k, _)| k == key) {
                return Err(fail(&at, (*why).to_string()));
            }
            return Err(fail(&at, format!("field `{key}` is not valid in a {type_name} state")));
        }
        Ok(())
    }
}

fn fail(at: &str, message: impl Into<String>) -> LoadError {
    LoadError { at: if at.is_empty() { "/".into() } else { at.to_string() }, message: message.into() }
}

fn path_fail(at: &str, e: PathError) -> LoadError {
    fail(at, e.to_string())
}

impl StateMachine {
    /// Parses and checks a definition (JSON text).
    pub fn parse(text: &str) -> Result<StateMachine, LoadError> {
        let value: Value = serde_json::from_str(text).map_err(|e| fail("", format!("not JSON: {e}")))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<StateMachine, LoadError> {
        let machine = Self::read(value, "")?;
        machine.check("")?;
        Ok(machine)
    }

    fn read(value: &Value, at: &str) -> Result<StateMachine, LoadError> {
        let mut o = Obj::new(value, at)?;
        let _ = o.string("Comment")?;
        let _ = o.string("Version")?;
        let start_at = o.required("StartAt")?;
        let timeout_seconds = o.uint("TimeoutSeconds")?;
        // Inline Map processors carry a ProcessorConfig; only INLINE mode runs here.
        if let Some(config) = o.get("ProcessorConfig") {
            let mut c = Obj::new(config, &o.here("ProcessorConfig"))?;
            if let Some(mode) = c.string("Mode")?
                && mode != "INLINE"
            {
                return Err(fail(&c.here("Mode"), format!("Map mode `{mode}` is not supported: only INLINE")));
            }
            if let Some(kind) = c.string("ExecutionType")? {
                return Err(fail(&c.here("ExecutionType"), format!("`ExecutionType` {kind} is for distributed Map")));
            }
            c.finish("ProcessorConfig")?;
        }
        let states_value = o.get("States").ok_or_else(|| fail(at, "`States` is required"))?;
        let states_map = states_value.as_object().ok_or_else(|| fail(&o.here("States"), "expected an object"))?;
        if states_map.is_empty() {
            return Err(fail(&o.here("States"), "needs at least one state"));
        }
        let mut states = BTreeMap::new();
        for (name, v) in states_map {
            if name.is_empty() || name.len() > 80 {
                return Err(fail(&o.here("States"), format!("state name `{name}` must be 1 to 80 characters")));
            }
            let state = State::read(name, v, &format!("{}/States/{name}", at))?;
            states.insert(name.clone(), state);
        }
        o.finish("state machine")?;
        Ok(StateMachine { start_at, states, timeout_seconds })
    }

    /// Every transition lands on a state of this machine, every state is reachable, and something
    /// ends the machine.
    fn check(&self, at: &str) -> Result<(), LoadError> {
        let exists = |target: &str, from: &str| -> Result<(), LoadError> {
            if self.states.contains_key(target) {
                Ok(())
            } else {
                Err(fail(from, format!("transition to `{target}`, which is not a state of this machine")))
            }
        };
        exists(&self.start_at, &format!("{at}/StartAt"))?;
        let mut terminal = false;
        for (name, state) in &self.states {
            let here = format!("{at}/States/{name}");
            for target in state.targets() {
                exists(target, &here)?;
            }
            terminal |=
                matches!(state.next, Some(Next::End)) || matches!(state.kind, Kind::Succeed | Kind::Fail { .. });
            match &state.kind {
                Kind::Parallel { branches, .. } => {
                    for (i, b) in branches.iter().enumerate() {
                        b.check(&format!("{here}/Branches/{i}"))?;
                    }
                }
                Kind::Map { processor, .. } => processor.check(&format!("{here}/ItemProcessor"))?,
                _ => {}
            }
        }
        if !terminal {
            return Err(fail(at, "no state ends the machine (End, Succeed or Fail)"));
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.start_at.as_str()];
        while let Some(name) = stack.pop() {
            if seen.insert(name)
                && let Some(state) = self.states.get(name)
            {
                stack.extend(state.targets());
            }
        }
        if let Some(unreachable) = self.states.keys().find(|k| !seen.contains(k.as_str())) {
            return Err(fail(&format!("{at}/States/{unreachable}"), "state is not reachable from StartAt"));
        }
        Ok(())
    }
}

fn retriers(o: &mut Obj<'_>) -> Result<Vec<Retrier>, LoadError> {
    let Some(list) = o.get("Retry") else { return Ok(Vec::new()) };
    let at = o.here("Retry");
    let list = list.as_array().ok_or_else(|| fail(&at, "expected an array"))?;
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let here = format!("{at}/{i}");
        let mut r = Obj::new(v, &here)?;
        let errors = error_names(&mut r, &here, i + 1 == list.len())?;
        let interval_seconds = r.number("IntervalSeconds")?.unwrap_or(1.0);
        let max_attempts = r.uint("MaxAttempts")?.unwrap_or(3);
        let backoff_rate = r.number("BackoffRate")?.unwrap_or(2.0);
        let max_delay_seconds = r.number("MaxDelaySeconds")?;
        let jitter = r.string("JitterStrategy")?;
        r.finish("Retry")?;
        if interval_seconds < 1.0 || interval_seconds.fract() != 0.0 {
            return Err(fail(&here, "`IntervalSeconds` must be a whole number of seconds, at least 1"));
        }
        if backoff_rate < 1.0 {
            return Err(fail(&here, "`BackoffRate` must be at least 1.0"));
        }
        let max_attempts = u32::try_from(max_attempts).map_err(|_| fail(&here, "`MaxAttempts` is too large"))?;
        let full_jitter = match jitter.as_deref() {
            None | Some("NONE") => false,
            Some("FULL") => true,
            Some(other) => return Err(fail(&here, format!("`JitterStrategy` is FULL or NONE, not `{other}`"))),
        };
        out.push(Retrier { errors, interval_seconds, max_attempts, backoff_rate, max_delay_seconds, full_jitter });
    }
    Ok(out)
}

fn catchers(o: &mut Obj<'_>) -> Result<Vec<Catcher>, LoadError> {
    let Some(list) = o.get("Catch") else { return Ok(Vec::new()) };
    let at = o.here("Catch");
    let list = list.as_array().ok_or_else(|| fail(&at, "expected an array"))?;
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let here = format!("{at}/{i}");
        let mut c = Obj::new(v, &here)?;
        let errors = error_names(&mut c, &here, i + 1 == list.len())?;
        let next = c.required("Next")?;
        let result_path = c.reference("ResultPath")?;
        c.finish("Catch")?;
        out.push(Catcher { errors, next, result_path });
    }
    Ok(out)
}

fn error_names(o: &mut Obj<'_>, at: &str, last: bool) -> Result<Vec<String>, LoadError> {
    let list = o.get("ErrorEquals").and_then(Value::as_array).filter(|l| !l.is_empty());
    let list = list.ok_or_else(|| fail(at, "`ErrorEquals` needs a non-empty array of error names"))?;
    let names: Vec<String> = list
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(|| fail(at, format!("error name {v} is not a string"))))
        .collect::<Result<_, _>>()?;
    if names.iter().any(|n| n == "States.ALL") && (names.len() > 1 || !last) {
        return Err(fail(at, "`States.ALL` must appear alone, in the last retrier or catcher"));
    }
    Ok(names)
}

impl State {
    fn targets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(Next::State(n)) = &self.next {
            out.push(n.as_str());
        }
        match &self.kind {
            Kind::Choice { choices, default } => {
                out.extend(choices.iter().map(|c| c.next.as_str()));
                out.extend(default.as_deref());
            }
            Kind::Task { catch, .. } | Kind::Parallel { catch, .. } | Kind::Map { catch, .. } => {
                out.extend(catch.iter().map(|c| c.next.as_str()));
            }
            _ => {}
        }
        out
    }

    fn read(name: &str, value: &Value, at: &str) -> Result<State, LoadError> {
        let mut o = Obj::new(value, at)?;
        let type_name = o.required("Type")?;
        let _ = o.string("Comment")?;
        let (has_io, has_params, has_selector, has_result_path, has_next) = match type_name.as_str() {
            "Pass" => (true, true, false, true, true),
            "Task" | "Parallel" | "Map" => (true, true, true, true, true),
            "Choice" | "Succeed" => (true, false, false, false, false),
            "Wait" => (true, false, false, false, true),
            "Fail" => (false, false, false, false, false),
            other => {
                return Err(fail(&o.here("Type"), format!("unknown state type `{other}`")));
            }
        };
        let mut io = Io {
            input_path: Nullable::Default,
            output_path: Nullable::Default,
            parameters: None,
            result_selector: None,
            result_path: Nullable::Default,
        };
        if has_io {
            io.input_path = o.path("InputPath")?;
            io.output_path = o.path("OutputPath")?;
        }
        if has_params && type_name != "Map" {
            io.parameters = o.template("Parameters")?;
        }
        if has_selector {
            io.result_selector = o.template("ResultSelector")?;
        }
        if has_result_path {
            io.result_path = o.reference("ResultPath")?;
        }
        let next = if has_next {
            let next = o.string("Next")?;
            let end = match o.get("End") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => return Err(fail(&o.here("End"), format!("expected true or false, found {v}"))),
            };
            Some(match (next, end) {
                (Some(n), false) => Next::State(n),
                (None, true) => Next::End,
                (Some(_), true) => return Err(fail(at, "a state has `Next` or `End: true`, not both")),
                (None, false) => return Err(fail(at, "a state needs `Next` or `End: true`")),
            })
        } else {
            None
        };
        let kind = match type_name.as_str() {
            "Pass" => Kind::Pass { result: o.get("Result").cloned() },
            "Task" => {
                let resource = o.required("Resource")?;
                let seconds = o.uint("TimeoutSeconds")?;
                let path = match o.reference("TimeoutSecondsPath")? {
                    Nullable::Set(p) => Some(p),
                    Nullable::Null => return Err(fail(&o.here("TimeoutSecondsPath"), "cannot be null")),
                    Nullable::Default => None,
                };
                let timeout = match (seconds, path) {
                    (Some(_), Some(_)) => {
                        return Err(fail(at, "`TimeoutSeconds` and `TimeoutSecondsPath` exclude each other"));
                    }
                    (Some(0), None) => return Err(fail(&o.here("TimeoutSeconds"), "must be positive")),
                    (Some(s), None) => Some(Timeout::Seconds(s)),
                    (None, Some(p)) => Some(Timeout::Path(p)),
                    (None, None) => None,
                };
                Kind::Task { resource, timeout, retry: retriers(&mut o)?, catch: catchers(&mut o)? }
            }
            "Choice" => {
                let list = o.get("Choices").and_then(Value::as_array).filter(|l| !l.is_empty());
                let list = list.ok_or_else(|| fail(at, "`Choices` needs a non-empty array of rules"))?;
                let mut choices = Vec::new();
                for (i, rule) in list.iter().enumerate() {
                    let here = format!("{at}/Choices/{i}");
                    let next = rule
                        .get("Next")
                        .and_then(Value::as_str)
                        .ok_or_else(|| fail(&here, "a top-level choice rule needs `Next`"))?
                        .to_string();
                    let rule = Rule::parse(rule, &["Next"]).map_err(|e: RuleError| fail(&here, e.to_string()))?;
                    choices.push(ChoiceBranch { rule, next });
                }
                Kind::Choice { choices, default: o.string("Default")? }
            }
            "Wait" => {
                let seconds = o.uint("Seconds")?;
                let seconds_path = o.reference("SecondsPath")?;
                let timestamp = o.string("Timestamp")?;
                let timestamp_path = o.reference("TimestampPath")?;
                let mut set = Vec::new();
                if let Some(s) = seconds {
                    set.push(WaitFor::Seconds(s));
                }
                if let Nullable::Set(p) = seconds_path {
                    set.push(WaitFor::SecondsPath(p));
                }
                if let Some(t) = timestamp {
                    if crate::choice::timestamp(&t).is_none() {
                        return Err(fail(&o.here("Timestamp"), format!("`{t}` is not an RFC 3339 timestamp")));
                    }
                    set.push(WaitFor::Timestamp(t));
                }
                if let Nullable::Set(p) = timestamp_path {
                    set.push(WaitFor::TimestampPath(p));
                }
                if set.len() != 1 {
                    return Err(fail(
                        at,
                        "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                    ));
                }
                Kind::Wait(set.remove(0))
            }
            "Succeed" => Kind::Succeed,
            "Fail" => {
                let mut text = |plain: &'static str, path: &'static str| -> Result<Option<Text>, LoadError> {
                    let literal = o.string(plain)?;
                    let by_path = o.string(path)?;
                    match (literal, by_path) {
                        (Some(_), Some(_)) => Err(fail(at, format!("`{plain}` and `{path}` exclude each other"))),
                        (Some(l), None) => Ok(Some(Text::Literal(l))),
                        (None, Some(p)) => {
                            let parsed = if crate::intrinsic::Intrinsic::looks_like(&p) {
                                return Err(fail(&o.here(path), "intrinsic functions in Fail paths are not supported"));
                            } else {
                                Path::parse(&p).map_err(|e| path_fail(&o.here(path), e))?
                            };
                            Ok(Some(Text::Path(parsed)))
                        }
                        (None, None) => Ok(None),
                    }
                };
                let error = text("Error", "ErrorPath")?;
                let cause = text("Cause", "CausePath")?;
                Kind::Fail { error, cause }
            }
            "Parallel" => {
                let list = o.get("Branches").and_then(Value::as_array).filter(|l| !l.is_empty());
                let list = list.ok_or_else(|| fail(at, "`Branches` needs a non-empty array of state machines"))?;
                let branches = list
                    .iter()
                    .enumerate()
                    .map(|(i, b)| StateMachine::read(b, &format!("{at}/Branches/{i}")))
                    .collect::<Result<_, _>>()?;
                Kind::Parallel { branches, retry: retriers(&mut o)?, catch: catchers(&mut o)? }
            }
            "Map" => {
                let items_path = match o.path("ItemsPath")? {
                    Nullable::Set(p) => Some(p),
                    Nullable::Null => return Err(fail(&o.here("ItemsPath"), "cannot be null")),
                    Nullable::Default => None,
                };
                let selector = o.template("ItemSelector")?;
                let parameters = o.template("Parameters")?;
                let item_selector = match (selector, parameters) {
                    (Some(_), Some(_)) => return Err(fail(at, "`ItemSelector` and `Parameters` exclude each other")),
                    (s, p) => s.or(p),
                };
                let processor = match (o.get("ItemProcessor"), o.get("Iterator")) {
                    (Some(p), None) => StateMachine::read(p, &format!("{at}/ItemProcessor"))?,
                    (None, Some(p)) => StateMachine::read(p, &format!("{at}/Iterator"))?,
                    _ => return Err(fail(at, "a Map state needs exactly one of `ItemProcessor` and `Iterator`")),
                };
                let max_concurrency = o.uint("MaxConcurrency")?.unwrap_or(0);
                let tolerated_failure_count = o.uint("ToleratedFailureCount")?;
                let tolerated_failure_percentage = o.number("ToleratedFailurePercentage")?;
                if tolerated_failure_percentage.is_some_and(|p| p > 100.0) {
                    return Err(fail(&o.here("ToleratedFailurePercentage"), "must be between 0 and 100"));
                }
                Kind::Map {
                    items_path,
                    item_selector,
                    processor: Box::new(processor),
                    max_concurrency: usize::try_from(max_concurrency).unwrap_or(usize::MAX),
                    tolerated_failure_count,
                    tolerated_failure_percentage,
                    retry: retriers(&mut o)?,
                    catch: catchers(&mut o)?,
                }
            }
            _ => unreachable!("type checked above"),
        };
        o.finish(&type_name)?;
        Ok(State { name: name.to_string(), kind, io, next })
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
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "HeartbeatSeconds": 5}}}),
                "/States/A/HeartbeatSeconds",
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
