//! Running targets: invoking functions, executing state machines, routing events and schedules to them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use emulator::faults::FaultKind;
use serde_json::{Value, json};

use asl::{Failure, Resolver, Start, StateMachine, TaskContext, TaskOutput, TaskRequest};

use super::functions::Invocation;
use super::timeline::Entry;
use super::{Dispatch, Outcome, Runtime, RuntimeError, admission, aws_error, context, services, template};

/// How many rounds of "a function published an event that a rule routes to a function" are
/// followed before the runtime stops (a loop in the rules would otherwise never end).
const MAX_ROUTING_ROUNDS: usize = 8;

impl Runtime {
    /// Invokes one function in process, as `sam local invoke` would.
    pub async fn invoke(&self, function: &str, event: Value) -> Result<Result<Invocation, Failure>, RuntimeError> {
        let unknown = || RuntimeError::NoFunction { name: function.to_string(), known: self.template.function_names() };
        let f = self.template.function(function).ok_or_else(unknown)?;
        let handler = self.functions.get(&f.id).ok_or_else(unknown)?;
        Ok(handler.invoke(event).await)
    }

    /// A state machine from the template (logical id, name or ARN) or a definition file.
    pub fn machine(&self, name_or_file: &str) -> Result<(String, StateMachine), RuntimeError> {
        if let Some(m) = self.template.machine(name_or_file) {
            let text = match (&m.definition, &m.definition_uri) {
                (Some(inline), _) => inline.clone(),
                (None, Some(uri)) => read(&self.root.join(uri))?,
                (None, None) => return Err(RuntimeError::NoMachine(name_or_file.into())),
            };
            let text = substitute(&text, &m.substitutions);
            let machine = StateMachine::parse(&text)
                .map_err(|source| RuntimeError::Definition { name: m.name.clone(), source })?;
            return Ok((m.arn.clone(), machine));
        }
        let path = Path::new(name_or_file);
        if path.exists() {
            let text = read(path)?;
            let machine = StateMachine::parse(&text)
                .map_err(|source| RuntimeError::Definition { name: name_or_file.into(), source })?;
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("local").trim_end_matches(".asl.json");
            return Ok((
                format!("arn:aws:states:{}:{}:stateMachine:{name}", template::REGION, template::ACCOUNT),
                machine,
            ));
        }
        Err(RuntimeError::NoMachine(name_or_file.to_string()))
    }

    /// Runs a state machine to the end; its Lambda tasks call the in-process functions.
    pub async fn execute(self: &Arc<Self>, name_or_file: &str, input: Value) -> Result<asl::Execution, RuntimeError> {
        self.execute_at(name_or_file, input, None).await
    }

    /// As [`Runtime::execute`], with the virtual clock starting at `started` (an event's time,
    /// so a replayed event is decided at the moment it describes).
    pub async fn execute_at(
        self: &Arc<Self>,
        name_or_file: &str,
        input: Value,
        started: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<asl::Execution, RuntimeError> {
        self.execute_named(name_or_file, input, started, None).await
    }

    /// As [`Runtime::execute_at`], named `name` (as StartExecution's `Name`), else `local-<uuid>`.
    pub async fn execute_named(
        self: &Arc<Self>,
        name_or_file: &str,
        input: Value,
        started: Option<chrono::DateTime<chrono::Utc>>,
        name: Option<String>,
    ) -> Result<asl::Execution, RuntimeError> {
        self.execute_from(name_or_file, input, started, name, None).await
    }

    /// As [`Runtime::execute_named`], started by `parent`'s task (recorded with it).
    async fn execute_from(
        self: &Arc<Self>,
        name_or_file: &str,
        input: Value,
        started: Option<chrono::DateTime<chrono::Utc>>,
        name: Option<String>,
        parent: Option<super::record::Parent>,
    ) -> Result<asl::Execution, RuntimeError> {
        let (arn, machine) = self.machine(name_or_file)?;
        let execution_name = name.unwrap_or_else(|| format!("local-{}", uuid_like()));
        let mut start = Start::named(execution_name).with_tokens(self.tokens.clone());
        start.state_machine_arn = arn.clone();
        if let Some(t) = started {
            start.started = t;
        }
        let resolver: Arc<dyn Resolver> = Arc::new(LocalTasks { runtime: Arc::downgrade(self) });
        // The input is kept only when recording: the engine takes it by value.
        let kept = self.executions.is_enabled().then(|| input.clone());
        let id = self.template.machine(name_or_file).map(|m| m.id.clone());
        let execution = self.execute_stoppable(id.as_deref(), &machine, input, start, resolver).await?;
        self.transitions.fetch_add(execution.transitions, std::sync::atomic::Ordering::Relaxed);
        self.counters.task_failed(execution.history.iter().filter(|e| e.kind == "TaskFailed").count());
        if let Some(input) = kept {
            self.executions.record(&arn, &machine, &input, &execution, parent);
        }
        Ok(execution)
    }

    /// Routes an event on `bus` through the template's rules and runs every target; then follows
    /// the events those targets published.
    pub async fn send_event(self: &Arc<Self>, bus: &str, event: Value) -> Result<Vec<Dispatch>, RuntimeError> {
        self.send_event_from(bus, event, None).await
    }

    /// [`Runtime::send_event`] as put by account `sender` (default: the event's `account`, else
    /// this account). EventBridge writes the sender into the envelope's `account`, whatever the
    /// event said, and applies the bus's resource policy to another account's put: a refused
    /// event reaches no rule, and the refusal is recorded with its reason.
    pub async fn send_event_from(
        self: &Arc<Self>,
        bus: &str,
        event: Value,
        sender: Option<&str>,
    ) -> Result<Vec<Dispatch>, RuntimeError> {
        let mut event = envelope(bus, event);
        let sender = sender
            .map(str::to_string)
            .or_else(|| event.get("account").and_then(Value::as_str).filter(|a| !a.is_empty()).map(str::to_string))
            .unwrap_or_else(|| template::ACCOUNT.to_string());
        event["account"] = json!(sender);
        self.timeline.push(Entry::event(bus, &event));
        // The bus owner's own puts need no policy, so Organizations is asked only for another's.
        let organization_id = if sender == template::ACCOUNT { None } else { self.organization_of(&sender).await? };
        let principal = admission::Principal { organization_id, account: sender.clone() };
        if let Err(reason) = admission::admit(&self.template, bus, &event, &principal) {
            self.refuse(admission::Stop::Bus, bus, &event, reason);
            return Ok(Vec::new());
        }
        let mut out = self.route(bus, &event).await?;
        out.extend(self.follow_published().await?);
        Ok(out)
    }

    /// The organisation `account` belongs to, as Organizations says.
    async fn organization_of(&self, account: &str) -> Result<Option<String>, RuntimeError> {
        let org = self.ctx.client::<aws_sdk_organizations::Client>();
        let Ok(described) = org.describe_organization().send().await else { return Ok(None) };
        let Some(id) = described.organization().and_then(|o| o.id()).map(str::to_string) else { return Ok(None) };
        let mut pages = org.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ListAccounts")(context(&e)))?;
            if page.accounts().iter().any(|a| a.id() == Some(account)) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    fn refuse(&self, at: admission::Stop, bus: &str, event: &Value, reason: String) {
        let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
        let refusal = admission::Refusal {
            at,
            bus: bus.to_string(),
            sender: field("account"),
            detail_type: field("detail-type"),
            reason,
        };
        self.timeline.push(Entry::note(1, format!("refused at the {at}: {}", refusal.reason)));
        self.refusals.lock().unwrap_or_else(|p| p.into_inner()).push(refusal);
    }

    /// Every event refused so far, at the bus or for want of a matching rule.
    pub fn refusals(&self) -> Vec<admission::Refusal> {
        self.refusals.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Fires the template's schedule named `name` (its event's logical id, or the end of it:
    /// `OffHours`) as EventBridge Scheduler would at `at`: the Input with the scheduler's
    /// context attributes filled in, to the schedule's target.
    pub async fn fire_schedule(
        self: &Arc<Self>,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Dispatch>, RuntimeError> {
        let rule = self
            .template
            .rules
            .iter()
            .filter(|r| r.schedule.is_some())
            .find(|r| r.id == name || r.id.ends_with(name))
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> =
                    self.template.rules.iter().filter(|r| r.schedule.is_some()).map(|r| r.id.as_str()).collect();
                RuntimeError::Invalid(format!("no schedule `{name}` in the template (schedules: {})", known.join(", ")))
            })?;
        let when = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.timeline.push(Entry::note(
            0,
            format!("schedule {} ({}) fires at {when}", rule.id, rule.schedule.clone().unwrap_or_default()),
        ));
        let mut out = Vec::new();
        for target in &rule.targets {
            let input = match &target.input {
                template::TargetInput::Constant(v) => scheduler_context(v.clone(), &when),
                // A schedule without Input sends `{}`, as EventBridge Scheduler does.
                _ => json!({}),
            };
            out.extend(self.deliver(&format!("schedule {}", rule.id), &target.resource, input, Some(at)).await?);
        }
        out.extend(self.follow_published().await?);
        Ok(out)
    }

    async fn route(self: &Arc<Self>, bus: &str, event: &Value) -> Result<Vec<Dispatch>, RuntimeError> {
        let routes = self.template.route(bus, event);
        if routes.is_empty() {
            self.refuse(admission::Stop::Rule, bus, event, format!("no rule on `{bus}` matches"));
        }
        let mut out = Vec::new();
        // An execution an event starts begins at the event's time on the virtual clock.
        let at = event
            .get("time")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        for (rule, target, input) in routes {
            let via = format!("rule {}", rule.id);
            out.extend(self.deliver(&via, &target.resource, input, at).await?);
        }
        Ok(out)
    }

    /// A delivery by EventBridge, Scheduler or an event source mapping: at least once, so under
    /// `--duplicate-deliveries` the same input a second time once the first is done.
    async fn deliver(
        self: &Arc<Self>,
        via: &str,
        resource: &str,
        input: Value,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<Dispatch>, RuntimeError> {
        let again = self.duplicate_deliveries.then(|| input.clone());
        let mut out = vec![self.dispatch_at(via, resource, input, at).await?];
        if let Some(input) = again {
            let mut second = self.dispatch_at(&format!("{via} (delivered again)"), resource, input, at).await?;
            second.redelivery = true;
            self.counters.redelivered();
            out.push(second);
        }
        Ok(out)
    }

    /// Runs a target (a function or state machine by logical id, name or ARN, or a definition
    /// file) with `input`, recording it in the timeline.
    async fn dispatch(self: &Arc<Self>, via: &str, resource: &str, input: Value) -> Result<Dispatch, RuntimeError> {
        self.dispatch_at(via, resource, input, None).await
    }

    async fn dispatch_at(
        self: &Arc<Self>,
        via: &str,
        resource: &str,
        input: Value,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Dispatch, RuntimeError> {
        let mut states = None;
        let outcome = if let Some(f) = self.template.function(resource) {
            match self.invoke(&f.id, input).await? {
                Ok(inv) => Outcome::Invoked { output: inv.output, metrics: inv.metrics },
                Err(f) => Outcome::InvokeFailed { error: f.error, cause: f.cause },
            }
        } else if self.template.machine(resource).is_some() || Path::new(resource).exists() {
            let e = self.execute_at(resource, input, at).await?;
            states = Some(Entry::execution(2, &e));
            Outcome::Execution {
                status: e.status,
                output: e.output,
                error: e.error,
                cause: e.cause,
                transitions: e.transitions,
                duration_s: e.duration.as_secs_f64(),
            }
        } else {
            return Err(RuntimeError::Invalid(format!(
                "{via}: `{resource}` is not a function or state machine of the template (functions: {}; state machines: {})",
                self.template.function_names(),
                self.template.machines.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        };
        let calls = self.calls.take();
        let answered = self.faults.journal_since(&mut self.journal_mark.lock().unwrap_or_else(|e| e.into_inner()));
        let changes = super::effects::Effects::of(&answered).lines();
        let dispatch = Dispatch {
            via: via.to_string(),
            target: resource.to_string(),
            outcome,
            aws_changes: changes,
            aws_reads: calls.reads,
            redelivery: false,
        };
        self.timeline.push(Entry::dispatch(&dispatch));
        if let Some(states) = states {
            self.timeline.push(states);
        }
        Ok(dispatch)
    }

    /// A dispatch started by hand (`invoke`, `run`, a scenario step), then the events it published.
    pub async fn dispatch_with_follow(
        self: &Arc<Self>,
        via: &str,
        resource: &str,
        input: Value,
    ) -> Result<Vec<Dispatch>, RuntimeError> {
        self.timeline.push(Entry::note(0, via.to_string()));
        let mut out = vec![self.dispatch(via, resource, input).await?];
        out.extend(self.follow_published().await?);
        Ok(out)
    }

    /// Writes `lines` to `log_group` in the emulator and delivers them, as the template's
    /// subscription filters would, to their functions (a CloudWatch Logs subscription payload).
    pub async fn write_logs(
        self: &Arc<Self>,
        log_group: &str,
        stream: &str,
        lines: &[String],
    ) -> Result<Vec<Dispatch>, RuntimeError> {
        let logs = self.ctx.client::<aws_sdk_cloudwatchlogs::Client>();
        let now = chrono::Utc::now().timestamp_millis();
        let _ = logs.create_log_stream().log_group_name(log_group).log_stream_name(stream).send().await;
        let events: Vec<_> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now + i as i64)
                    .message(l)
                    .build()
                    .ok()
            })
            .collect();
        logs.put_log_events()
            .log_group_name(log_group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .map_err(|e| aws_error("PutLogEvents")(context(&e)))?;
        self.timeline.push(Entry::logs(log_group, lines.len()));
        let mut out = Vec::new();
        let subscribers: Vec<_> = self.template.subscribers(log_group).cloned().collect();
        if subscribers.is_empty() {
            self.timeline.push(Entry::note(1, format!("no subscription filter on `{log_group}`")));
        }
        for sub in subscribers {
            let payload = subscription_payload(log_group, stream, &sub.id, lines, now);
            out.extend(self.deliver(&format!("subscription {}", sub.id), &sub.target, payload, None).await?);
        }
        out.extend(self.follow_published().await?);
        Ok(out)
    }

    /// Reads the events functions published (from the tap log groups) and routes the new ones.
    async fn follow_published(self: &Arc<Self>) -> Result<Vec<Dispatch>, RuntimeError> {
        let mut out = Vec::new();
        for _ in 0..MAX_ROUTING_ROUNDS {
            let published = self.published_events().await?;
            if published.is_empty() {
                return Ok(out);
            }
            for (bus, event) in published {
                self.timeline.push(Entry::published(&bus, &event));
                self.published.lock().unwrap_or_else(|e| e.into_inner()).push((bus.clone(), event.clone()));
                out.extend(Box::pin(self.route(&bus, &event)).await?);
            }
        }
        self.timeline.push(Entry::note(0, format!("stopped following events after {MAX_ROUTING_ROUNDS} rounds")));
        Ok(out)
    }

    async fn published_events(&self) -> Result<Vec<(String, Value)>, RuntimeError> {
        let sqs = self.ctx.client::<aws_sdk_sqs::Client>();
        let mut out = Vec::new();
        for (bus, url) in &self.taps {
            loop {
                let page = sqs
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .send()
                    .await
                    .map_err(|e| aws_error("ReceiveMessage")(context(&e)))?;
                if page.messages().is_empty() {
                    break;
                }
                for m in page.messages() {
                    if let Some(receipt) = m.receipt_handle() {
                        sqs.delete_message()
                            .queue_url(url)
                            .receipt_handle(receipt)
                            .send()
                            .await
                            .map_err(|e| aws_error("DeleteMessage")(context(&e)))?;
                    }
                    let Some(body) = m.body() else { continue };
                    let Ok(mut event) = serde_json::from_str::<Value>(body) else { continue };
                    // moto delivers a put event with an empty envelope `account`; EventBridge
                    // writes the sender there, which for our functions is this account.
                    if event.get("account").and_then(Value::as_str).is_none_or(str::is_empty) {
                        event["account"] = json!(template::ACCOUNT);
                    }
                    let id = event.get("id").and_then(Value::as_str).unwrap_or(body).to_string();
                    if self.seen_events.lock().unwrap_or_else(|p| p.into_inner()).insert(id) {
                        out.push((bus.clone(), event));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Step Functions' Lambda tasks, carried out by the in-process functions.
#[derive(Debug)]
struct LocalTasks {
    runtime: std::sync::Weak<Runtime>,
}

#[async_trait]
impl Resolver for LocalTasks {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        let runtime =
            self.runtime.upgrade().ok_or_else(|| Failure::new("States.Runtime", "the runtime has stopped"))?;
        match request {
            TaskRequest::Lambda { function, payload } => {
                let fault = runtime.faults.draw("lambda", "Invoke");
                if let Some(f) = fault.filter(|f| *f != FaultKind::ResponseLost) {
                    let (error, cause) = super::harness::lambda_failure(f);
                    return Err(Failure::new(error, cause));
                }
                let action = payload.get("action").and_then(|a| a.as_str()).unwrap_or_default().to_string();
                let id = runtime.template().function(&function).map(|f| f.id.clone()).unwrap_or_default();
                let answer = match runtime.invoke(&function, payload).await {
                    Ok(Ok(inv)) => Ok(TaskOutput::now(inv.output)),
                    Ok(Err(f)) => Err(f),
                    Err(e) => Err(Failure::new("Lambda.ResourceNotFoundException", e.to_string())),
                };
                if let Some(point) = runtime.counters.crash(&id, &action) {
                    let cause = format!("{point} was killed at its timeout after its calls went through (crash point)");
                    return Err(Failure::new("Sandbox.Timedout", cause));
                }
                // The function ran (its side effects stand) and the state machine never hears.
                if let Some(f) = fault {
                    let (error, cause) = super::harness::lambda_failure(f);
                    return Err(Failure::new(error, cause));
                }
                answer
            }
            TaskRequest::StartExecution { state_machine_arn, input, sync, name } => {
                // The child starts when the parent's task does, on the parent's virtual clock.
                let parent = super::record::Parent {
                    execution: context.execution_name.clone(),
                    state: context.state_name.clone(),
                };
                let e =
                    Box::pin(runtime.execute_from(&state_machine_arn, input, Some(context.now), name, Some(parent)))
                        .await
                        .map_err(|e| Failure::new("StepFunctions.StateMachineDoesNotExistException", e.to_string()))?;
                if !sync {
                    return Ok(TaskOutput::now(
                        json!({"ExecutionArn": e.name, "StartDate": e.started.timestamp_millis()}),
                    ));
                }
                match e.status {
                    asl::Status::Succeeded => {
                        Ok(TaskOutput { value: e.output.unwrap_or(Value::Null), duration: e.duration })
                    }
                    // As `.sync`: the task fails States.TaskFailed, its cause the child's
                    // description (its error and cause inside, for a parent to read).
                    _ => Err(Failure::new(
                        "States.TaskFailed",
                        json!({"ExecutionArn": e.name, "Status": e.status.to_string(),
                            "Error": e.error, "Cause": e.cause})
                        .to_string(),
                    )
                    .after(e.duration)),
                }
            }
            TaskRequest::Service { service, action, parameters } => {
                let value = services::call(&runtime.recorded, &service, &action, &parameters).await?;
                // An event put on a bus is routed like any other once the execution is done.
                Ok(TaskOutput::now(value))
            }
        }
    }
}

fn read(path: &Path) -> Result<String, RuntimeError> {
    std::fs::read_to_string(path).map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })
}

/// `${Name}` replaced from DefinitionSubstitutions, as Step Functions does at deploy time.
fn substitute(text: &str, substitutions: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in substitutions {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// An EventBridge envelope around `event` (kept as is when it already is one).
fn envelope(bus: &str, event: Value) -> Value {
    if event.get("detail-type").is_some() && event.get("source").is_some() {
        let mut e = event;
        if e.get("id").is_none() {
            e["id"] = json!(uuid_like());
        }
        return e;
    }
    json!({
        "version": "0",
        "id": uuid_like(),
        "detail-type": event.get("DetailType").cloned().unwrap_or(json!("Local Event")),
        "source": event.get("Source").cloned().unwrap_or(json!("platform-ops.local")),
        "account": template::ACCOUNT,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": template::REGION,
        "resources": [],
        "detail": event.get("Detail").cloned().unwrap_or(event),
        "event-bus-name": bus,
    })
}

/// EventBridge Scheduler's context attributes in a schedule's Input.
fn scheduler_context(v: Value, scheduled_time: &str) -> Value {
    match v {
        Value::String(s) => Value::String(
            s.replace("<aws.scheduler.scheduled-time>", scheduled_time)
                .replace("<aws.scheduler.execution-id>", &uuid_like())
                .replace("<aws.scheduler.attempt-number>", "1"),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| scheduler_context(x, scheduled_time)).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, x)| (k, scheduler_context(x, scheduled_time))).collect())
        }
        other => other,
    }
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The payload CloudWatch Logs hands a subscribed function: base64(gzip(batch JSON)).
pub fn subscription_payload(log_group: &str, stream: &str, filter: &str, lines: &[String], first_ms: i64) -> Value {
    use std::io::Write;
    let batch = json!({
        "messageType": "DATA_MESSAGE",
        "owner": template::ACCOUNT,
        "logGroup": log_group,
        "logStream": stream,
        "subscriptionFilters": [filter],
        "logEvents": lines.iter().enumerate().map(|(i, l)| json!({
            "id": format!("{:056}", i), "timestamp": first_ms + i as i64, "message": l
        })).collect::<Vec<_>>(),
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(batch.to_string().as_bytes());
    let data = base64_simd::STANDARD.encode_to_string(gz.finish().unwrap_or_default());
    json!({"awslogs": {"data": data}})
}
