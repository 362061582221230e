//! What an execution starts from and what it reports when it ends.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::TaskTokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    /// Stopped mid-way (the process running it died, or StopExecution).
    Aborted,
}

impl Status {
    /// The name Step Functions gives the status (`TIMED_OUT`), as it serialises.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One history event, with the AWS event type name and the virtual time it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// A finished execution.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub name: String,
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub started: DateTime<Utc>,
    /// Time spent on the virtual clock (waits, backoff, task durations).
    pub duration: Duration,
    /// State transitions, as Step Functions Standard bills them.
    pub transitions: u64,
    pub history: Vec<Event>,
    /// What a redrive continues from (an execution that did not succeed).
    #[serde(skip)]
    pub redrive: Option<super::Redrive>,
}

/// Options for one execution.
#[derive(Debug, Clone)]
pub struct Start {
    pub name: String,
    pub state_machine_arn: String,
    pub started: DateTime<Utc>,
    /// Where callback tasks (`.waitForTaskToken`) wait for their answers; without it they fail
    /// with `States.Runtime`, as no one could answer them.
    pub tokens: Option<Arc<TaskTokens>>,
    /// The execution stops the first time this state has run, before its result is recorded,
    /// as when the process running it dies there: a redrive runs the state again.
    pub stop_after: Option<String>,
}

impl Start {
    pub fn named(name: impl Into<String>) -> Start {
        let name = name.into();
        Start {
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:local".into(),
            name,
            started: Utc::now(),
            tokens: None,
            stop_after: None,
        }
    }

    /// This execution's callback tasks wait in `tokens`, where callers answer them.
    pub fn with_tokens(self, tokens: Arc<TaskTokens>) -> Start {
        Start { tokens: Some(tokens), ..self }
    }

    /// This execution stops once `state` has run, before its result is recorded.
    pub fn stopping_after(self, state: impl Into<String>) -> Start {
        Start { stop_after: Some(state.into()), ..self }
    }
}
