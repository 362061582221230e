//! Runs a state machine: data flow, retries and catches, Parallel and Map, on a virtual clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::{Value, json};

use crate::definition::{Catcher, Kind, Next, Nullable, Retrier, State, StateMachine, Text, Timeout, WaitFor};
use crate::template::FillError;

/// Step Functions refuses state input and output above 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The predefined error names.
pub mod errors {
    pub const ALL: &str = "States.ALL";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const RUNTIME: &str = "States.Runtime";
    pub const DATA_LIMIT: &str = "States.DataLimitExceeded";
    pub const INTRINSIC: &str = "States.IntrinsicFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE: &str = "States.NoChoiceMatched";
    pub const PARAMETER_PATH: &str = "States.ParameterPathFailure";
    pub const RESULT_PATH: &str = "States.ResultPathMatchFailure";
    pub const TOLERATED_FAILURE: &str = "States.ExceedToleratedFailureThreshold";
    pub const PERMISSIONS: &str = "States.Permissions";
}

/// A failure as Step Functions reports it: an error name and a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure { error: error.into(), cause: cause.into() }
    }

    /// A Lambda function's error: its name is the `errorType`, its cause the error document.
    pub fn lambda(error_type: &str, message: &str) -> Failure {
        Failure::new(error_type, json!({"errorMessage": message, "errorType": error_type}).to_string())
    }

    fn as_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }

    /// Whether a retrier or catcher naming `names` handles this failure. `States.ALL` takes every
    /// error but `States.Runtime` (never retried or caught) and `States.DataLimitExceeded` (only
    /// when named).
    fn matches(&self, names: &[String]) -> bool {
        if self.error == errors::RUNTIME {
            return false;
        }
        names.iter().any(|n| {
            n == &self.error
                || (n == errors::ALL && self.error != errors::DATA_LIMIT)
                || (n == errors::TASK_FAILED && self.error != errors::TIMEOUT && self.error != errors::DATA_LIMIT)
        })
    }
}

/// What a Task asks for, with the resource's ARN already understood.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskRequest {
    /// `arn:aws:states:::lambda:invoke` (with FunctionName/Payload) or a plain function ARN.
    Lambda { function: String, payload: Value },
    /// `arn:aws:states:::states:startExecution[.sync[:2]]`.
    StartExecution { state_machine_arn: String, input: Value, name: Option<String>, sync: bool },
    /// Any other service integration, `arn:aws:states:::<service>:<action>`.
    Service { service: String, action: String, parameters: Value },
}

/// A task's result and how long it took on the virtual clock.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutput {
    pub value: Value,
    pub duration: Duration,
}

impl TaskOutput {
    pub fn now(value: Value) -> TaskOutput {
        TaskOutput { value, duration: Duration::ZERO }
    }
}

/// Where the execution is when a task runs, for resolvers that log or tag their calls.
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub execution_name: String,
    pub state_name: String,
    pub attempt: u32,
    pub now: DateTime<Utc>,
}

/// Carries out Task states: Lambda handlers in process, SDK calls, nested executions.
#[async_trait]
pub trait Resolver: Send + Sync + std::fmt::Debug {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
}

impl Status {
    /// The name Step Functions gives the status (`TIMED_OUT`), as it serialises.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
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
}

/// Options for one execution.
#[derive(Debug, Clone)]
pub struct Start {
    pub name: String,
    pub state_machine_arn: String,
    pub started: DateTime<Utc>,
}

impl Start {
    pub fn named(name: impl Into<String>) -> Start {
        let name = name.into();
        Start {
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:local".into(),
            name,
            started: Utc::now(),
        }
    }
}

#[derive(Debug)]
struct Run {
    resolver: Arc<dyn Resolver>,
    start: Start,
    input: Value,
    history: Mutex<Vec<Event>>,
    transitions: AtomicU64,
    deadline: Option<Duration>,
}

/// Where a state machine (or a branch, or a Map iteration) left off.
type Flow = Result<(Value, Duration), (Failure, Duration)>;

/// Runs `machine` on `input` to the end. Failures of the machine are an `Execution` with status
/// FAILED, not an `Err`: the caller reads status, error and cause as Step Functions reports them.
pub async fn execute(machine: &StateMachine, input: Value, start: Start, resolver: Arc<dyn Resolver>) -> Execution {
    let run = Arc::new(Run {
        resolver,
        deadline: machine.timeout_seconds.map(Duration::from_secs),
        start: start.clone(),
        input: input.clone(),
        history: Mutex::new(Vec::new()),
        transitions: AtomicU64::new(0),
    });
    run.event("ExecutionStarted", Duration::ZERO, None, json!({"input": input.to_string()}));
    let outcome = if let Err(f) = check_size(&input, "execution input") {
        Err((f, Duration::ZERO))
    } else {
        run_machine(run.clone(), machine.clone(), input, Duration::ZERO, None).await
    };
    let (status, output, error, cause, end) = match outcome {
        Ok((output, end)) => {
            run.event("ExecutionSucceeded", end, None, json!({"output": output.to_string()}));
            (Status::Succeeded, Some(output), None, None, end)
        }
        Err((f, end)) if f.error == errors::TIMEOUT && run.deadline.is_some_and(|d| end >= d) => {
            run.event("ExecutionTimedOut", end, None, json!({"error": f.error, "cause": f.cause}));
            (Status::TimedOut, None, Some(f.error), Some(f.cause), end)
        }
        Err((f, end)) => {
            run.event("ExecutionFailed", end, None, json!({"error": f.error, "cause": f.cause}));
            // A Fail state without Error or Cause leaves them out, as Step Functions does.
            let present = |s: String| (!s.is_empty()).then_some(s);
            (Status::Failed, None, present(f.error), present(f.cause), end)
        }
    };
    let history = std::mem::take(&mut *run.history.lock().unwrap_or_else(|e| e.into_inner()));
    Execution {
        name: start.name,
        status,
        output,
        error,
        cause,
        started: start.started,
        duration: end,
        transitions: run.transitions.load(Ordering::Relaxed),
        history,
    }
}

impl Run {
    fn event(&self, kind: &str, at: Duration, state: Option<&str>, details: Value) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let id = history.len() as u64 + 1;
        history.push(Event {
            id,
            kind: kind.to_string(),
            timestamp: self.at(at),
            state: state.map(str::to_string),
            details,
        });
    }

    fn at(&self, offset: Duration) -> DateTime<Utc> {
        self.start.started + chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::MAX)
    }

    fn context(&self, state: &str, entered: Duration, retry: u32, item: Option<&(usize, Value)>) -> Value {
        let mut c = json!({
            "Execution": {
                "Id": format!("{}:{}", self.start.state_machine_arn.replace(":stateMachine:", ":execution:"), self.start.name),
                "Input": self.input,
                "Name": self.start.name,
                "RoleArn": "arn:aws:iam::123456789012:role/local-step-functions",
                "StartTime": self.start.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": self.at(entered).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "Name": state,
                "RetryCount": retry,
            },
            "StateMachine": {
                "Id": self.start.state_machine_arn,
                "Name": self.start.state_machine_arn.rsplit(':').next().unwrap_or_default(),
            },
        });
        if let Some((index, value)) = item {
            c["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        c
    }
}

fn check_size(value: &Value, what: &str) -> Result<(), Failure> {
    let size = value.to_string().len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            errors::DATA_LIMIT,
            format!("the {what} of {size} bytes exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn runtime(cause: impl Into<String>) -> Failure {
    Failure::new(errors::RUNTIME, cause)
}

fn fill_failure(e: FillError) -> Failure {
    match e {
        FillError::Missing { .. } => Failure::new(errors::RUNTIME, e.to_string()),
        FillError::Intrinsic(i) => Failure::new(errors::INTRINSIC, i.to_string()),
    }
}

/// Runs from `StartAt` to an end. Boxed: Parallel and Map recurse into it.
fn run_machine(
    run: Arc<Run>,
    machine: StateMachine,
    input: Value,
    now: Duration,
    item: Option<(usize, Value)>,
) -> BoxFuture<'static, Flow> {
    Box::pin(async move {
        let mut name = machine.start_at.clone();
        let mut data = input;
        let mut now = now;
        loop {
            let Some(state) = machine.states.get(&name) else {
                return Err((runtime(format!("state `{name}` does not exist")), now));
            };
            run.transitions.fetch_add(1, Ordering::Relaxed);
            let step = run_state(&run, state, data, now, item.as_ref()).await;
            match step {
                Step::Next { output, next, at } => {
                    if let Some(deadline) = run.deadline
                        && at > deadline
                    {
                        return Err((Failure::new(errors::TIMEOUT, "the execution timed out"), deadline));
                    }
                    now = at;
                    match next {
                        Some(n) => {
                            name = n;
                            data = output;
                        }
                        None => return Ok((output, now)),
                    }
                }
                Step::Fail { failure, at } => return Err((failure, at)),
            }
        }
    })
}

enum Step {
    Next { output: Value, next: Option<String>, at: Duration },
    Fail { failure: Failure, at: Duration },
}

fn next_of(state: &State) -> Option<String> {
    match &state.next {
        Some(Next::State(n)) => Some(n.clone()),
        _ => None,
    }
}

fn apply_path(
    path: &Nullable<crate::path::Path>,
    data: &Value,
    context: &Value,
    field: &str,
) -> Result<Value, Failure> {
    match path {
        Nullable::Default => Ok(data.clone()),
        Nullable::Null => Ok(json!({})),
        Nullable::Set(p) => p.select(data, context).ok_or_else(|| {
            runtime(format!(
                "an error occurred while executing the state: invalid path `{}` in {field}: it references nothing in the input",
                p.as_str()
            ))
        }),
    }
}

fn place_result(
    result_path: &Nullable<crate::path::ReferencePath>,
    raw: &Value,
    result: Value,
) -> Result<Value, Failure> {
    match result_path {
        Nullable::Default => Ok(result),
        Nullable::Null => Ok(raw.clone()),
        Nullable::Set(p) => p
            .set(raw.clone(), result)
            .map_err(|e| Failure::new(errors::RESULT_PATH, format!("unable to apply ResultPath: {e}"))),
    }
}

async fn run_state(
    run: &Arc<Run>,
    state: &State,
    raw: Value,
    entered: Duration,
    item: Option<&(usize, Value)>,
) -> Step {
    let type_name = state.kind.type_name();
    let name = state.name.as_str();
    run.event(&format!("{type_name}StateEntered"), entered, Some(name), json!({"input": raw.to_string()}));
    let outcome = state_body(run, state, &raw, entered, item).await;
    match outcome {
        Ok((output, next, at)) => {
            if let Err(f) = check_size(&output, &format!("output of state `{name}`")) {
                return Step::Fail { failure: f, at };
            }
            run.event(&format!("{type_name}StateExited"), at, Some(name), json!({"output": output.to_string()}));
            Step::Next { output, next, at }
        }
        Err((failure, at)) => {
            // A catcher sends the error, placed on the state's raw input, to its Next state.
            let catchers: &[Catcher] = match &state.kind {
                Kind::Task { catch, .. } | Kind::Parallel { catch, .. } | Kind::Map { catch, .. } => catch,
                _ => &[],
            };
            if let Some(c) = catchers.iter().find(|c| failure.matches(&c.errors)) {
                match place_result(&c.result_path, &raw, failure.as_output()) {
                    Ok(output) => {
                        run.event(
                            &format!("{type_name}StateExited"),
                            at,
                            Some(name),
                            json!({"output": output.to_string(), "caught": failure.error}),
                        );
                        return Step::Next { output, next: Some(c.next.clone()), at };
                    }
                    Err(f) => return Step::Fail { failure: f, at },
                }
            }
            Step::Fail { failure, at }
        }
    }
}

type Body = Result<(Value, Option<String>, Duration), (Failure, Duration)>;

async fn state_body(
    run: &Arc<Run>,
    state: &State,
    raw: &Value,
    entered: Duration,
    item: Option<&(usize, Value)>,
) -> Body {
    let at_entry = |f: Failure| (f, entered);
    let context = run.context(&state.name, entered, 0, item);
    let io = &state.io;
    match &state.kind {
        Kind::Pass { result } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let effective = match &io.parameters {
                Some(t) => t.fill(&input, &context).map_err(|e| at_entry(fill_failure(e)))?,
                None => input,
            };
            let result = result.clone().unwrap_or(effective);
            let placed = place_result(&io.result_path, raw, result).map_err(at_entry)?;
            let output = apply_path(&io.output_path, &placed, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, next_of(state), entered))
        }
        Kind::Succeed => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let output = apply_path(&io.output_path, &input, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, None, entered))
        }
        Kind::Fail { error, cause } => {
            let text = |t: &Option<Text>| -> Result<Option<String>, Failure> {
                match t {
                    None => Ok(None),
                    Some(Text::Literal(s)) => Ok(Some(s.clone())),
                    Some(Text::Path(p)) => match p.select(raw, &context) {
                        Some(Value::String(s)) => Ok(Some(s)),
                        Some(other) => Err(runtime(format!("`{}` must select a string, not {other}", p.as_str()))),
                        None => Err(runtime(format!("invalid path `{}`: it references nothing", p.as_str()))),
                    },
                }
            };
            let error = text(error).map_err(at_entry)?.unwrap_or_default();
            let cause = text(cause).map_err(at_entry)?.unwrap_or_default();
            Err((Failure { error, cause }, entered))
        }
        Kind::Choice { choices, default } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let mut chosen = None;
            for c in choices {
                if c.rule.evaluate(&input, &context).map_err(|e| at_entry(runtime(e.to_string())))? {
                    chosen = Some(c.next.clone());
                    break;
                }
            }
            let next = chosen.or_else(|| default.clone()).ok_or_else(|| {
                at_entry(Failure::new(
                    errors::NO_CHOICE,
                    format!("no choice rule matched and there is no Default in state `{}`", state.name),
                ))
            })?;
            let output = apply_path(&io.output_path, &input, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, Some(next), entered))
        }
        Kind::Wait(wait) => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let seconds = |v: Option<&Value>, p: &str| -> Result<Duration, Failure> {
                v.and_then(Value::as_u64)
                    .map(Duration::from_secs)
                    .ok_or_else(|| runtime(format!("`{p}` must select a non-negative whole number of seconds")))
            };
            let until = |ts: &str| -> Result<Duration, Failure> {
                let t = crate::choice::timestamp(ts).ok_or_else(|| runtime(format!("`{ts}` is not a timestamp")))?;
                let now = run.at(entered);
                Ok((t.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO))
            };
            let delay = match wait {
                WaitFor::Seconds(s) => Duration::from_secs(*s),
                WaitFor::SecondsPath(p) => seconds(p.get(&input), p.as_str()).map_err(at_entry)?,
                WaitFor::Timestamp(t) => until(t).map_err(at_entry)?,
                WaitFor::TimestampPath(p) => {
                    let ts = p
                        .get(&input)
                        .and_then(Value::as_str)
                        .ok_or_else(|| at_entry(runtime(format!("`{}` must select a timestamp string", p.as_str()))))?;
                    until(ts).map_err(at_entry)?
                }
            };
            let output = apply_path(&io.output_path, &input, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, next_of(state), entered + delay))
        }
        Kind::Task { resource, timeout, retry, .. } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let effective = match &io.parameters {
                Some(t) => t.fill(&input, &context).map_err(|e| at_entry(fill_failure(e)))?,
                None => input.clone(),
            };
            let timeout = match timeout {
                None => None,
                Some(Timeout::Seconds(s)) => Some(Duration::from_secs(*s)),
                Some(Timeout::Path(p)) => {
                    Some(p.get(&input).and_then(Value::as_u64).filter(|s| *s > 0).map(Duration::from_secs).ok_or_else(
                        || at_entry(runtime(format!("`{}` must select a positive whole number", p.as_str()))),
                    )?)
                }
            };
            let request = task_request(resource, &effective).map_err(at_entry)?;
            let attempt = |now: Duration, attempt: u32| {
                let first = request.clone();
                let run = run.clone();
                let input = input.clone();
                async move {
                    // A retry sees its own `$$.State.RetryCount`, so Parameters are filled again.
                    let request = match (&io.parameters, attempt) {
                        (Some(t), 1..) => {
                            let context = run.context(&state.name, entered, attempt, item);
                            let effective = t.fill(&input, &context).map_err(|e| (fill_failure(e), now))?;
                            task_request(resource, &effective).map_err(|f| (f, now))?
                        }
                        _ => first,
                    };
                    run_task(&run, state, resource, request, timeout, now, attempt).await
                }
            };
            let (result, at) = with_retries(retry, entered, attempt).await?;
            finish(state, raw, result, at, &context)
        }
        Kind::Parallel { branches, retry, .. } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let effective = match &io.parameters {
                Some(t) => t.fill(&input, &context).map_err(|e| at_entry(fill_failure(e)))?,
                None => input,
            };
            let attempt = |now: Duration, _attempt: u32| {
                let run = run.clone();
                let effective = effective.clone();
                async move {
                    run.event("ParallelStateStarted", now, Some(&state.name), Value::Null);
                    let flows = futures_util::future::join_all(
                        branches.iter().map(|b| run_machine(run.clone(), b.clone(), effective.clone(), now, None)),
                    )
                    .await;
                    let end = flows.iter().map(|f| match f {
                        Ok((_, t)) | Err((_, t)) => *t,
                    });
                    let end = end.max().unwrap_or(now);
                    // The branch that failed first (on the virtual clock) fails the state.
                    let first_failure = flows
                        .iter()
                        .filter_map(|f| f.as_ref().err())
                        .min_by_key(|(_, t)| *t)
                        .map(|(f, t)| (f.clone(), *t));
                    if let Some((f, t)) = first_failure {
                        run.event(
                            "ParallelStateFailed",
                            t,
                            Some(&state.name),
                            json!({"error": f.error, "cause": f.cause}),
                        );
                        return Err((f, t));
                    }
                    run.event("ParallelStateSucceeded", end, Some(&state.name), Value::Null);
                    let outputs = flows.into_iter().filter_map(Result::ok).map(|(v, _)| v).collect();
                    Ok((Value::Array(outputs), end))
                }
            };
            let (result, at) = with_retries(retry, entered, attempt).await?;
            finish(state, raw, result, at, &context)
        }
        Kind::Map {
            items_path,
            item_selector,
            processor,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            retry,
            ..
        } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let items = match items_path {
                None => input.clone(),
                Some(p) => p.select(&input, &context).ok_or_else(|| {
                    at_entry(runtime(format!("invalid path `{}` in ItemsPath: it references nothing", p.as_str())))
                })?,
            };
            let Value::Array(items) = items else {
                return Err(at_entry(runtime(format!(
                    "ItemsPath must select an array, not {}",
                    crate::path::type_name(&items)
                ))));
            };
            let attempt = |now: Duration, _attempt: u32| {
                let run = run.clone();
                let items = items.clone();
                let input = input.clone();
                async move {
                    run_map(
                        &run,
                        state,
                        MapRun {
                            items,
                            input,
                            item_selector: item_selector.as_ref(),
                            processor,
                            max_concurrency: *max_concurrency,
                            tolerated_count: *tolerated_failure_count,
                            tolerated_percentage: *tolerated_failure_percentage,
                        },
                        now,
                    )
                    .await
                }
            };
            let (result, at) = with_retries(retry, entered, attempt).await?;
            finish(state, raw, result, at, &context)
        }
    }
}

/// ResultSelector, ResultPath and OutputPath, in that order, on a state's result.
fn finish(state: &State, raw: &Value, result: Value, at: Duration, context: &Value) -> Body {
    let io = &state.io;
    let result = match &io.result_selector {
        Some(t) => t.fill(&result, context).map_err(|e| (fill_failure(e), at))?,
        None => result,
    };
    let placed = place_result(&io.result_path, raw, result).map_err(|f| (f, at))?;
    let output = apply_path(&io.output_path, &placed, context, "OutputPath").map_err(|f| (f, at))?;
    Ok((output, next_of(state), at))
}

/// Runs `attempt` until it succeeds, a retrier gives up, or no retrier matches; backoff is
/// virtual time.
async fn with_retries<F, Fut>(
    retry: &[Retrier],
    start: Duration,
    attempt: F,
) -> Result<(Value, Duration), (Failure, Duration)>
where
    F: Fn(Duration, u32) -> Fut,
    Fut: std::future::Future<Output = Result<(Value, Duration), (Failure, Duration)>>,
{
    let mut used = vec![0u32; retry.len()];
    let mut now = start;
    let mut tries = 0u32;
    loop {
        match attempt(now, tries).await {
            Ok(done) => return Ok(done),
            Err((failure, at)) => {
                let Some(i) = retry.iter().position(|r| failure.matches(&r.errors)) else {
                    return Err((failure, at));
                };
                let r = &retry[i];
                if used[i] >= r.max_attempts {
                    return Err((failure, at));
                }
                let mut delay = r.interval_seconds * r.backoff_rate.powi(used[i] as i32);
                if let Some(max) = r.max_delay_seconds {
                    delay = delay.min(max);
                }
                if r.full_jitter {
                    delay *= fastrand::f64();
                }
                used[i] += 1;
                tries += 1;
                now = at + Duration::from_secs_f64(delay.max(0.0));
            }
        }
    }
}

fn task_request(resource: &str, effective: &Value) -> Result<TaskRequest, Failure> {
    let field = |name: &str| effective.get(name).cloned();
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::") {
        let (service, action) =
            rest.split_once(':').ok_or_else(|| runtime(format!("resource `{resource}` names no action")))?;
        return Ok(match (service, action) {
            ("lambda", "invoke") => TaskRequest::Lambda {
                function: field("FunctionName")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .ok_or_else(|| Failure::new(errors::RUNTIME, "lambda:invoke needs Parameters.FunctionName"))?,
                payload: field("Payload").unwrap_or(Value::Null),
            },
            ("states", "startExecution" | "startExecution.sync" | "startExecution.sync:2") => {
                TaskRequest::StartExecution {
                    state_machine_arn: field("StateMachineArn")
                        .and_then(|v| v.as_str().map(str::to_string))
                        .ok_or_else(|| runtime("startExecution needs Parameters.StateMachineArn"))?,
                    input: match field("Input") {
                        // Step Functions takes Input as a JSON string or as JSON.
                        Some(Value::String(s)) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                        Some(v) => v,
                        None => json!({}),
                    },
                    name: field("Name").and_then(|v| v.as_str().map(str::to_string)),
                    sync: action != "startExecution",
                }
            }
            (service, action) if action.ends_with(".waitForTaskToken") => {
                return Err(runtime(format!("{service}:{action}: callback tasks are not supported locally")));
            }
            (service, action) => TaskRequest::Service {
                service: service.to_string(),
                action: action.to_string(),
                parameters: effective.clone(),
            },
        });
    }
    if resource.starts_with("arn:aws:lambda:") {
        return Ok(TaskRequest::Lambda { function: resource.to_string(), payload: effective.clone() });
    }
    Err(runtime(format!("resource `{resource}` is not a Lambda function or a service integration")))
}

async fn run_task(
    run: &Arc<Run>,
    state: &State,
    resource: &str,
    request: TaskRequest,
    timeout: Option<Duration>,
    now: Duration,
    attempt: u32,
) -> Result<(Value, Duration), (Failure, Duration)> {
    let name = state.name.as_str();
    let integration = resource.starts_with("arn:aws:states:::");
    let prefix = if integration { "Task" } else { "LambdaFunction" };
    let parameters = match &request {
        TaskRequest::Lambda { payload, .. } if !integration => payload.to_string(),
        _ => serde_json::to_string(&request_parameters(&request)).unwrap_or_default(),
    };
    run.event(
        &format!("{prefix}Scheduled"),
        now,
        Some(name),
        json!({"resource": resource, "parameters": parameters, "attempt": attempt}),
    );
    run.event(&format!("{prefix}Started"), now, Some(name), Value::Null);
    if let Err(f) = check_size(&request_parameters(&request), &format!("input of task `{name}`")) {
        return Err((f, now));
    }
    let context =
        TaskContext { execution_name: run.start.name.clone(), state_name: name.to_string(), attempt, now: run.at(now) };
    let wrap_lambda = integration && matches!(request, TaskRequest::Lambda { .. });
    let sync_execution = match &request {
        TaskRequest::StartExecution { sync: true, state_machine_arn, input, name, .. } => {
            Some((state_machine_arn.clone(), input.clone(), name.clone()))
        }
        _ => None,
    };
    let outcome = run.resolver.run(request, &context).await;
    let (result, took) = match outcome {
        Ok(TaskOutput { value, duration }) => (Ok(value), duration),
        Err(f) => (Err(f), Duration::ZERO),
    };
    if let Some(limit) = timeout
        && took > limit
    {
        let at = now + limit;
        run.event(&format!("{prefix}TimedOut"), at, Some(name), json!({"error": errors::TIMEOUT}));
        return Err((
            Failure::new(errors::TIMEOUT, format!("task `{name}` did not finish within {}s", limit.as_secs())),
            at,
        ));
    }
    let at = now + took;
    match result {
        Ok(value) => {
            let value = if wrap_lambda {
                json!({
                    "ExecutedVersion": "$LATEST",
                    "Payload": value,
                    "SdkHttpMetadata": {"HttpStatusCode": 200},
                    "SdkResponseMetadata": {"RequestId": uuid::Uuid::new_v4().to_string()},
                    "StatusCode": 200,
                })
            } else if let Some((arn, input, exec_name)) = sync_execution {
                // `.sync:2` returns Input and Output as JSON; `.sync` as JSON text.
                let v2 = resource.ends_with(".sync:2");
                let as_text = |v: Value| if v2 { v } else { Value::String(v.to_string()) };
                json!({
                    "ExecutionArn": format!("{}:{}", arn.replace(":stateMachine:", ":execution:"), exec_name.unwrap_or_default()),
                    "Input": as_text(input),
                    "Output": as_text(value),
                    "StateMachineArn": arn,
                    "Status": "SUCCEEDED",
                    "StartDate": run.at(now).timestamp_millis(),
                    "StopDate": run.at(at).timestamp_millis(),
                })
            } else {
                value
            };
            if let Err(f) = check_size(&value, &format!("result of task `{name}`")) {
                return Err((f, at));
            }
            run.event(&format!("{prefix}Succeeded"), at, Some(name), json!({"output": value.to_string()}));
            Ok((value, at))
        }
        Err(f) => {
            run.event(&format!("{prefix}Failed"), at, Some(name), json!({"error": f.error, "cause": f.cause}));
            Err((f, at))
        }
    }
}

fn request_parameters(request: &TaskRequest) -> Value {
    match request {
        TaskRequest::Lambda { function, payload } => json!({"FunctionName": function, "Payload": payload}),
        TaskRequest::StartExecution { state_machine_arn, input, name, .. } => {
            json!({"StateMachineArn": state_machine_arn, "Input": input, "Name": name})
        }
        TaskRequest::Service { parameters, .. } => parameters.clone(),
    }
}

struct MapRun<'a> {
    items: Vec<Value>,
    input: Value,
    item_selector: Option<&'a crate::template::Template>,
    processor: &'a StateMachine,
    max_concurrency: usize,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
}

async fn run_map(
    run: &Arc<Run>,
    state: &State,
    map: MapRun<'_>,
    now: Duration,
) -> Result<(Value, Duration), (Failure, Duration)> {
    let name = state.name.as_str();
    run.event("MapStateStarted", now, Some(name), json!({"length": map.items.len()}));
    let mut inputs = Vec::with_capacity(map.items.len());
    for (index, item) in map.items.iter().enumerate() {
        let entry = (index, item.clone());
        let value = match map.item_selector {
            Some(t) => {
                let context = run.context(name, now, 0, Some(&entry));
                t.fill(&map.input, &context).map_err(|e| (fill_failure(e), now))?
            }
            None => item.clone(),
        };
        inputs.push((entry, value));
    }
    let total = inputs.len();
    let concurrency = if map.max_concurrency == 0 { total.max(1) } else { map.max_concurrency };
    // Each iteration runs from `now` and reports when it ended; the Map's own length is then laid
    // out as `concurrency` workers taking items in order, which is how Step Functions starts them.
    let tolerated = map.tolerated_count.is_some() || map.tolerated_percentage.is_some();
    let mut stream = futures_util::stream::iter(inputs.into_iter().map(|(entry, value)| {
        let run = run.clone();
        let processor = map.processor.clone();
        async move {
            run.event("MapIterationStarted", now, Some(name), json!({"index": entry.0}));
            let flow = run_machine(run.clone(), processor, value, now, Some(entry.clone())).await;
            let kind = if flow.is_ok() { "MapIterationSucceeded" } else { "MapIterationFailed" };
            run.event(kind, now, Some(name), json!({"index": entry.0}));
            flow
        }
    }))
    .buffered(concurrency);
    // An untolerated failure fails the Map: Step Functions starts no further iterations (and
    // stops those in flight, which dropping the stream does here).
    let mut flows: Vec<Flow> = Vec::with_capacity(total);
    while let Some(flow) = stream.next().await {
        let failed = flow.is_err();
        flows.push(flow);
        if failed && !tolerated {
            break;
        }
    }
    drop(stream);
    let mut workers = vec![now; concurrency.min(total).max(1)];
    let mut ends = Vec::with_capacity(total);
    for flow in &flows {
        let took = match flow {
            Ok((_, t)) | Err((_, t)) => t.saturating_sub(now),
        };
        let (slot, free) =
            workers.iter().enumerate().min_by_key(|(_, t)| **t).map(|(i, t)| (i, *t)).unwrap_or((0, now));
        workers[slot] = free + took;
        ends.push(free + took);
    }
    let end = ends.iter().copied().max().unwrap_or(now);
    let failures = flows.iter().filter(|f| f.is_err()).count();
    let within = |n: usize| {
        map.tolerated_count.is_some_and(|c| n as u64 <= c)
            || map.tolerated_percentage.is_some_and(|p| total > 0 && (n as f64 / total as f64) * 100.0 <= p)
    };
    if failures > 0 && !(tolerated && within(failures)) {
        let (f, t) = flows
            .iter()
            .zip(&ends)
            .filter_map(|(flow, end)| flow.as_ref().err().map(|(f, _)| (f.clone(), *end)))
            .min_by_key(|(_, t)| *t)
            .unwrap_or_else(|| (Failure::new(errors::RUNTIME, "a Map iteration failed"), end));
        let failure = if tolerated {
            Failure::new(
                errors::TOLERATED_FAILURE,
                format!(
                    "{failures} of {total} iterations failed, beyond the tolerated threshold; the first: {}",
                    f.error
                ),
            )
        } else {
            f
        };
        run.event("MapStateFailed", t, Some(name), json!({"error": failure.error, "cause": failure.cause}));
        return Err((failure, t));
    }
    run.event("MapStateSucceeded", end, Some(name), Value::Null);
    let outputs = flows
        .into_iter()
        .map(|f| match f {
            Ok((v, _)) => v,
            Err((f, _)) => f.as_output(),
        })
        .collect();
    Ok((Value::Array(outputs), end))
}

/// A resolver that refuses every task: for machines without Task states, and a safe default.
#[derive(Debug, Default)]
pub struct NoTasks;

#[async_trait]
impl Resolver for NoTasks {
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        Err(Failure::new(errors::PERMISSIONS, format!("no resolver is configured for {request:?}")))
    }
}
