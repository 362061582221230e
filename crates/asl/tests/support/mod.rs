//! Shared by the callback tests: an execution started in its own task, a recording resolver, a clock.

#![allow(dead_code)] // each test file uses its own part of it

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{
    Execution, Failure, PendingTask, Resolver, Start, StateMachine, TaskContext, TaskOutput, TaskRequest, TaskTokens,
    execute,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen at once before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// The execution's start on the virtual clock.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// `seconds` after the execution's start.
pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

/// Records each call with the token it was given; answers as an SQS SendMessage would, or fails.
#[derive(Debug, Default)]
pub struct Calls {
    seen: Mutex<Vec<(TaskRequest, Option<String>)>>,
    made: Notify,
    fail: Option<Failure>,
    took: Duration,
}

impl Calls {
    pub fn failing(failure: Failure) -> Calls {
        Calls { fail: Some(failure), ..Calls::default() }
    }

    pub fn taking(took: Duration) -> Calls {
        Calls { took, ..Calls::default() }
    }

    pub fn seen(&self) -> Vec<(TaskRequest, Option<String>)> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The calls, once at least `count` were made. A callback's token waits before its call is
    /// made (an answer may come during the call), so seeing the token is not seeing the call.
    pub async fn made(&self, count: usize) -> Vec<(TaskRequest, Option<String>)> {
        let made = async {
            loop {
                let made = self.made.notified();
                let mut made = std::pin::pin!(made);
                made.as_mut().enable();
                let seen = self.seen();
                if seen.len() >= count {
                    return seen;
                }
                made.await;
            }
        };
        tokio::time::timeout(PATIENCE, made).await.expect("the calls are made")
    }

    /// What call `i` sent: the SQS message body or the Lambda payload.
    pub fn body(&self, i: usize) -> Value {
        match self.seen().get(i).map(|(r, _)| r.clone()) {
            Some(TaskRequest::Service { parameters, .. }) => parameters["MessageBody"].clone(),
            Some(TaskRequest::Lambda { payload, .. }) => payload,
            other => json!({"unexpected": format!("{other:?}")}),
        }
    }
}

#[async_trait]
impl Resolver for Calls {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push((request, context.task_token.clone()));
        self.made.notify_waiters();
        match &self.fail {
            Some(f) => Err(f.clone()),
            None => Ok(TaskOutput { value: json!({"MessageId": "m-1"}), duration: self.took }),
        }
    }
}

/// An SQS callback task sending its token (and its input as `item`) in the message body, with
/// `extra` fields (TimeoutSeconds, Retry, Next...) merged in.
pub fn callback(extra: Value) -> Value {
    let mut state = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "https://sqs.local/q", "MessageBody": {"token.$": "$$.Task.Token", "item.$": "$"}},
    });
    if let (Some(s), Value::Object(extra)) = (state.as_object_mut(), extra) {
        s.extend(extra);
    }
    state
}

pub fn single(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

/// An execution running in its own task, and the registry where its callbacks wait.
pub struct Running {
    pub tokens: Arc<TaskTokens>,
    pub calls: Arc<Calls>,
    execution: JoinHandle<Execution>,
}

pub fn start(definition: Value, input: Value) -> Running {
    start_with(definition, input, Calls::default())
}

pub fn start_with(definition: Value, input: Value, calls: Calls) -> Running {
    let machine = StateMachine::from_value(&definition).expect("definition loads");
    let tokens = TaskTokens::new();
    let calls = Arc::new(calls);
    let start = Start { started: t0(), ..Start::named("callback-test") }.with_tokens(tokens.clone());
    let resolver: Arc<dyn Resolver> = calls.clone();
    let execution = tokio::spawn(async move { execute(&machine, input, start, resolver).await });
    Running { tokens, calls, execution }
}

impl Running {
    /// The waiting tasks, once at least `count` wait.
    pub async fn pending(&self, count: usize) -> Vec<PendingTask> {
        tokio::time::timeout(PATIENCE, self.tokens.wait_for(count)).await.expect("tasks wait for answers")
    }

    /// The waiting task of retry `attempt`, once it waits.
    pub async fn attempt(&self, attempt: u32) -> PendingTask {
        let find = async {
            loop {
                let pending = self.tokens.wait_for(1).await;
                if let Some(p) = pending.into_iter().find(|p| p.attempt == attempt) {
                    return p;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(PATIENCE, find).await.expect("the retry waits for an answer")
    }

    pub async fn finish(self) -> Execution {
        tokio::time::timeout(PATIENCE, self.execution).await.expect("the execution ends").expect("it does not panic")
    }
}

/// The history's event types, in order.
pub fn kinds(e: &Execution) -> Vec<&str> {
    e.history.iter().map(|h| h.kind.as_str()).collect()
}

/// The first event of type `kind`, its time as seconds after the start.
pub fn when(e: &Execution, kind: &str) -> Option<i64> {
    e.history.iter().find(|h| h.kind == kind).map(|h| (h.timestamp - t0()).num_seconds())
}
