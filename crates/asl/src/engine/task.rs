//! Task states: the request a resource names, the resolver that runs it, and its history.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::failure::{check_size, runtime};
use super::{Failure, Run, errors};
use crate::definition::State;

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

pub(super) fn task_request(resource: &str, effective: &Value) -> Result<TaskRequest, Failure> {
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

pub(super) async fn run_task(
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

/// A resolver that refuses every task: for machines without Task states, and a safe default.
#[derive(Debug, Default)]
pub struct NoTasks;

#[async_trait]
impl Resolver for NoTasks {
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        Err(Failure::new(errors::PERMISSIONS, format!("no resolver is configured for {request:?}")))
    }
}
