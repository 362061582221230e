//! Task states: the request a resource names, the resolver that runs it, and its history.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::failure::{check_size, runtime};
use super::tokens::{Answer, Expiry, Issue, Ticket};
use super::{Failure, Run, errors};
use crate::definition::{DEFAULT_TASK_TIMEOUT_SECONDS, State};

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
    /// The task token of a callback task (`<service>:<action>.waitForTaskToken`, handed to the
    /// resolver as the plain action): the call's own result is discarded, and the task waits
    /// for an answer to this token in the execution's [`super::TaskTokens`].
    pub task_token: Option<String>,
}

impl TaskContext {
    pub fn is_callback(&self) -> bool {
        self.task_token.is_some()
    }
}

/// Carries out Task states: Lambda handlers in process, SDK calls, nested executions.
#[async_trait]
pub trait Resolver: Send + Sync + std::fmt::Debug {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure>;
}

const CALLBACK: &str = ".waitForTaskToken";

/// Whether `resource` is a callback task: an integration that waits for its task token.
pub(super) fn is_callback(resource: &str) -> bool {
    resource.starts_with("arn:aws:states:::") && resource.ends_with(CALLBACK)
}

pub(super) fn task_request(resource: &str, effective: &Value) -> Result<TaskRequest, Failure> {
    let field = |name: &str| effective.get(name).cloned();
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::") {
        // A callback calls the plain action; the waiting is the engine's.
        let rest = rest.strip_suffix(CALLBACK).unwrap_or(rest);
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

/// Issues the token of a callback task's attempt, starting at `now`, or says why none can be.
pub(super) fn issue_token(
    run: &Arc<Run>,
    state: &State,
    attempt: u32,
    now: Duration,
    timeout: Option<Duration>,
    heartbeat: Option<Duration>,
) -> Result<Ticket, Failure> {
    let tokens = run.start.tokens.as_ref().ok_or_else(|| {
        runtime(format!(
            "task `{}` waits for a task token, but the execution was started without a TaskTokens registry: \
             no one can answer callbacks here",
            state.name
        ))
    })?;
    Ok(tokens.issue(Issue {
        execution: run.start.name.clone(),
        state: state.name.clone(),
        attempt,
        issued: run.at(now),
        timeout: timeout.unwrap_or(Duration::from_secs(DEFAULT_TASK_TIMEOUT_SECONDS)),
        heartbeat,
        execution_deadline: run.deadline.map(|d| run.at(d)),
    }))
}

/// One attempt of a Task state, its Parameters already filled.
pub(super) struct TaskCall {
    pub(super) request: TaskRequest,
    pub(super) timeout: Option<Duration>,
    pub(super) heartbeat: Option<Duration>,
    /// A callback task's token, issued before its Parameters were filled.
    pub(super) ticket: Option<Ticket>,
    pub(super) now: Duration,
    pub(super) attempt: u32,
}

pub(super) async fn run_task(
    run: &Arc<Run>,
    state: &State,
    resource: &str,
    call: TaskCall,
) -> Result<(Value, Duration), (Failure, Duration)> {
    let TaskCall { request, timeout, heartbeat, ticket, now, attempt } = call;
    let name = state.name.as_str();
    let integration = resource.starts_with("arn:aws:states:::");
    let prefix = if integration { "Task" } else { "LambdaFunction" };
    let parameters = match &request {
        TaskRequest::Lambda { payload, .. } if !integration => payload.to_string(),
        _ => serde_json::to_string(&request_parameters(&request)).unwrap_or_default(),
    };
    let mut scheduled = json!({"resource": resource, "parameters": parameters, "attempt": attempt});
    if let Some(t) = timeout {
        scheduled["timeoutInSeconds"] = json!(t.as_secs());
    }
    if let Some(h) = heartbeat {
        scheduled["heartbeatInSeconds"] = json!(h.as_secs());
    }
    run.event(&format!("{prefix}Scheduled"), now, Some(name), scheduled);
    run.event(&format!("{prefix}Started"), now, Some(name), Value::Null);
    if let Err(f) = check_size(&request_parameters(&request), &format!("input of task `{name}`")) {
        return Err((f, now));
    }
    let context = TaskContext {
        execution_name: run.start.name.clone(),
        state_name: name.to_string(),
        attempt,
        now: run.at(now),
        task_token: ticket.as_ref().map(|t| t.token().to_string()),
    };
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
        Err(f) => {
            let took = f.took;
            (Err(f), took)
        }
    };
    // A task that is not a callback sends no heartbeats: HeartbeatSeconds bounds it as a timeout.
    let limits = [(timeout, errors::TIMEOUT), (heartbeat, errors::HEARTBEAT_TIMEOUT)];
    let first_limit = limits.iter().filter_map(|(l, e)| l.map(|l| (l, *e))).min_by_key(|(l, _)| *l);
    if let Some((limit, error)) = first_limit
        && took > limit
    {
        let at = now + limit;
        let cause = format!("task `{name}` did not finish within {}s", limit.as_secs());
        run.event(&format!("{prefix}TimedOut"), at, Some(name), json!({"error": error, "cause": cause}));
        return Err((Failure::new(error, cause), at));
    }
    let at = now + took;
    let value = match result {
        Ok(value) => value,
        Err(f) => {
            run.event(&format!("{prefix}Failed"), at, Some(name), json!({"error": f.error, "cause": f.cause}));
            return Err((f, at));
        }
    };
    if let Some(ticket) = ticket {
        run.event("TaskSubmitted", at, Some(name), json!({"output": value.to_string()}));
        return await_answer(run, name, ticket, now, at).await;
    }
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

/// A callback task after its call went through (at `submitted`): its result is the answer to its
/// token, when that answer came, or a timeout at the deadline that passed first.
async fn await_answer(
    run: &Arc<Run>,
    name: &str,
    ticket: Ticket,
    started: Duration,
    submitted: Duration,
) -> Result<(Value, Duration), (Failure, Duration)> {
    let token = ticket.token().to_string();
    // The answer's instant on this execution's clock; not before the call that made it possible.
    let offset = |t: DateTime<Utc>| (t - run.start.started).to_std().unwrap_or(Duration::ZERO).max(submitted);
    let Some(answer) = ticket.answer().await else {
        return Err((runtime(format!("the task token of `{name}` was dropped unanswered")), submitted));
    };
    match answer {
        Answer::Success { output, at } => {
            let at = offset(at);
            if let Err(f) = check_size(&output, &format!("result of task `{name}`")) {
                return Err((f, at));
            }
            run.event("TaskSucceeded", at, Some(name), json!({"output": output.to_string()}));
            Ok((output, at))
        }
        Answer::Failure { error, cause, at } => {
            let at = offset(at);
            run.event("TaskFailed", at, Some(name), json!({"error": error, "cause": cause}));
            Err((Failure::new(error, cause), at))
        }
        Answer::TimedOut { why: Expiry::Execution, at } => {
            // The execution ends here; its own history event says so, not the task's.
            Err((Failure::new(errors::TIMEOUT, "the execution timed out"), offset(at)))
        }
        Answer::TimedOut { why, at } => {
            let at = offset(at);
            let (error, what) = match why {
                Expiry::Heartbeat => (errors::HEARTBEAT_TIMEOUT, "no heartbeat came in time"),
                _ => (errors::TIMEOUT, "no answer came in time"),
            };
            let waited = at.saturating_sub(started).as_secs();
            let cause = format!("task `{name}` (token {}…): {what}, after {waited}s", token.get(..8).unwrap_or(&token));
            run.event("TaskTimedOut", at, Some(name), json!({"error": error, "cause": cause}));
            Err((Failure::new(error, cause), at))
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

/// A resolver that refuses every task: for machines without Task states, and a safe default.
#[derive(Debug, Default)]
pub struct NoTasks;

#[async_trait]
impl Resolver for NoTasks {
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        Err(Failure::new(errors::PERMISSIONS, format!("no resolver is configured for {request:?}")))
    }
}
