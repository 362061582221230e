//! The local runtime: the template's routing, state machines in the `asl` engine, functions in process.
//!
//! Events are matched against the template's rules and subscriptions, state machines run in the
//! `asl` engine on a virtual clock, Lambda tasks call the function crates in this process, and
//! every AWS call those make goes through the SDK to the emulator. Events the functions publish
//! are read back from the emulator (a catch-all rule per bus sends them to an SQS queue) and
//! routed in turn, so a chain of reactions shows up in the timeline as it would on AWS.

pub mod calls;
pub mod functions;
pub mod local;
pub mod pattern;
pub mod scenario;
pub mod services;
pub mod template;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use platform_core::aws::AwsContext;
use serde_json::{Value, json};

use asl::{Failure, Resolver, Start, StateMachine, TaskContext, TaskOutput, TaskRequest};
use functions::{Invocation, LocalFunction};
use template::Template;
use timeline::{Entry, Timeline};

/// How many rounds of "a function published an event that a rule routes to a function" are
/// followed before the runtime stops (a loop in the rules would otherwise never end).
const MAX_ROUTING_ROUNDS: usize = 8;
/// Queue name prefix where the catch-all rules copy each bus's events. (A log-group target would
/// be simpler, but moto writes those events with fractional timestamps the SDK refuses.)
const TAP_PREFIX: &str = "platform-ops-local-tap-";

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(transparent)]
    Function(#[from] functions::FunctionError),
    #[error(transparent)]
    Init(#[from] platform_core::lambda::InitError),
    #[error("no function `{name}` in the template (known: {known})")]
    NoFunction { name: String, known: String },
    #[error("no state machine `{0}` in the template, and no such file")]
    NoMachine(String),
    #[error("state machine `{name}`: {source}")]
    Definition {
        name: String,
        #[source]
        source: asl::LoadError,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("emulator call {operation} failed: {message}")]
    Aws { operation: &'static str, message: String },
}

/// An SDK error with its whole chain of sources, as one line.
fn context(e: &(dyn std::error::Error + 'static)) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(e).to_string()
}

fn aws_error(operation: &'static str) -> impl Fn(String) -> RuntimeError {
    move |message| RuntimeError::Aws { operation, message }
}

/// What a routed event or delivery led to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dispatch {
    pub via: String,
    pub target: String,
    pub outcome: Outcome,
    /// The changing AWS calls the target made (`firehose PutRecordBatch x1`).
    pub aws_changes: Vec<String>,
    /// The other calls it made (describes, gets, queries, role assumptions).
    pub aws_reads: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Invoked { output: Value, metrics: Vec<Value> },
    InvokeFailed { error: String, cause: String },
    Execution { status: asl::Status, output: Option<Value>, error: Option<String>, transitions: u64, duration_s: f64 },
}

/// The runtime for one repository against one emulator.
#[derive(Debug)]
pub struct Runtime {
    root: PathBuf,
    /// The runtime's own clients (provisioning, inspection): not recorded.
    ctx: AwsContext,
    /// What functions and service integrations call through: every call recorded in `calls`.
    recorded: AwsContext,
    template: Template,
    functions: BTreeMap<String, Arc<dyn LocalFunction>>,
    buses: Vec<String>,
    /// (bus, tap queue URL).
    taps: Vec<(String, String)>,
    seen_events: Mutex<BTreeSet<String>>,
    published: Mutex<Vec<(String, Value)>>,
    calls: calls::CallLog,
    pub timeline: Timeline,
}

impl Runtime {
    /// Loads the template with `parameters`, builds every function it can run in process and
    /// provisions what they write to (buses, delivery streams, buckets) in the emulator.
    pub async fn new(
        root: &Path,
        sdk: SdkConfig,
        parameters: BTreeMap<String, String>,
    ) -> Result<Runtime, RuntimeError> {
        let template = Template::load(&root.join("template.yaml"), &parameters)?;
        let calls = calls::CallLog::default();
        let ctx = AwsContext::from_config(sdk)?;
        let recorded = ctx.clone().with_interceptor(calls.clone());
        let mut functions = BTreeMap::new();
        for f in template.functions.values() {
            functions.insert(f.id.clone(), functions::build(&f.binary, &f.environment, &recorded).await?);
        }
        // Cold starts (the published config read at init) belong to no dispatch's calls.
        calls.take();
        let mut runtime = Runtime {
            root: root.to_path_buf(),
            ctx,
            recorded,
            template,
            functions,
            buses: Vec::new(),
            taps: Vec::new(),
            seen_events: Mutex::new(BTreeSet::new()),
            published: Mutex::new(Vec::new()),
            calls,
            timeline: Timeline::default(),
        };
        runtime.provision().await?;
        Ok(runtime)
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Event buses, delivery streams and their buckets, log groups: what the functions call.
    /// Each is created only when missing, so a second start changes nothing.
    async fn provision(&mut self) -> Result<(), RuntimeError> {
        let events = self.ctx.client::<aws_sdk_eventbridge::Client>();
        let logs = self.ctx.client::<aws_sdk_cloudwatchlogs::Client>();
        let firehose = self.ctx.client::<aws_sdk_firehose::Client>();
        let mut buses = vec!["default".to_string()];
        let mut log_groups = Vec::new();
        for (id, kind) in &self.template.resources {
            let props = self.template.properties.get(id).cloned().unwrap_or(Value::Null);
            let text = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_string);
            match kind.as_str() {
                "AWS::Events::EventBus" => {
                    let name = text("Name").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    let exists = events.describe_event_bus().name(&name).send().await.is_ok();
                    if !exists {
                        events
                            .create_event_bus()
                            .name(&name)
                            .send()
                            .await
                            .map_err(|e| aws_error("CreateEventBus")(context(&e)))?;
                    }
                    buses.push(name);
                }
                "AWS::Logs::LogGroup" => log_groups.extend(text("LogGroupName")),
                "AWS::SNS::Topic" => {
                    let name = text("TopicName").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    // CreateTopic is idempotent for an existing name.
                    self.ctx
                        .client::<aws_sdk_sns::Client>()
                        .create_topic()
                        .name(&name)
                        .send()
                        .await
                        .map_err(|e| aws_error("CreateTopic")(context(&e)))?;
                }
                "AWS::DynamoDB::Table" => {
                    let name = text("TableName").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    self.create_table(&name, &props).await?;
                }
                "AWS::S3::Bucket" => {
                    if let Some(bucket) = text("BucketName") {
                        let emulator = emulator_for(&self.ctx)?;
                        emulator.create_bucket(&bucket).map_err(|e| aws_error("CreateBucket")(context(&e)))?;
                    }
                }
                "AWS::KinesisFirehose::DeliveryStream" => {
                    let name = text("DeliveryStreamName").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    let destination = props.get("ExtendedS3DestinationConfiguration").cloned().unwrap_or(Value::Null);
                    let bucket_arn =
                        destination.get("BucketARN").and_then(Value::as_str).unwrap_or_default().to_string();
                    let bucket = bucket_arn.trim_start_matches("arn:aws:s3:::").to_string();
                    let emulator = emulator_for(&self.ctx)?;
                    emulator.create_bucket(&bucket).map_err(|e| aws_error("CreateBucket")(context(&e)))?;
                    let s3 = aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                        .bucket_arn(&bucket_arn)
                        .role_arn(destination.get("RoleARN").and_then(Value::as_str).unwrap_or_default())
                        .prefix("logs/")
                        .build()
                        .map_err(|e| RuntimeError::Invalid(e.to_string()))?;
                    let created = firehose
                        .create_delivery_stream()
                        .delivery_stream_name(&name)
                        .extended_s3_destination_configuration(s3)
                        .send()
                        .await;
                    // Already there from an earlier start: nothing to do.
                    if let Err(e) = created
                        && !e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception())
                    {
                        return Err(aws_error("CreateDeliveryStream")(context(&e)));
                    }
                }
                _ => {}
            }
        }
        for group in log_groups {
            let exists = logs
                .describe_log_groups()
                .log_group_name_prefix(&group)
                .send()
                .await
                .map(|r| r.log_groups().iter().any(|g| g.log_group_name() == Some(group.as_str())))
                .unwrap_or(false);
            if !exists {
                logs.create_log_group()
                    .log_group_name(&group)
                    .send()
                    .await
                    .map_err(|e| aws_error("CreateLogGroup")(context(&e)))?;
            }
        }
        // The tap: every event on each bus is copied to a queue the runtime reads back.
        let sqs = self.ctx.client::<aws_sdk_sqs::Client>();
        for bus in &buses {
            let queue = format!("{TAP_PREFIX}{bus}");
            let url = sqs
                .create_queue()
                .queue_name(&queue)
                .send()
                .await
                .map_err(|e| aws_error("CreateQueue")(context(&e)))?
                .queue_url()
                .unwrap_or_default()
                .to_string();
            self.taps.push((bus.clone(), url));
            events
                .put_rule()
                .name("platform-ops-local-tap")
                .event_bus_name(bus)
                .event_pattern(r#"{"source":[{"prefix":""}]}"#)
                .send()
                .await
                .map_err(|e| aws_error("PutRule")(context(&e)))?;
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id("tap")
                .arn(format!("arn:aws:sqs:{}:{}:{queue}", template::REGION, template::ACCOUNT))
                .build()
                .map_err(|e| RuntimeError::Invalid(e.to_string()))?;
            events
                .put_targets()
                .rule("platform-ops-local-tap")
                .event_bus_name(bus)
                .targets(target)
                .send()
                .await
                .map_err(|e| aws_error("PutTargets")(context(&e)))?;
        }
        self.buses = buses;
        Ok(())
    }

    /// A table as the template declares its keys; on-demand billing whatever the template says
    /// (the emulator does not meter).
    async fn create_table(&self, name: &str, props: &Value) -> Result<(), RuntimeError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let client = self.ctx.client::<aws_sdk_dynamodb::Client>();
        if client.describe_table().table_name(name).send().await.is_ok() {
            return Ok(());
        }
        let list = |k: &str| props.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
        let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let mut request = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
        for a in list("AttributeDefinitions") {
            let definition = AttributeDefinition::builder()
                .attribute_name(str_of(&a, "AttributeName"))
                .attribute_type(ScalarAttributeType::from(str_of(&a, "AttributeType").as_str()))
                .build()
                .map_err(|e| RuntimeError::Invalid(format!("table {name}: {e}")))?;
            request = request.attribute_definitions(definition);
        }
        for k in list("KeySchema") {
            let key = KeySchemaElement::builder()
                .attribute_name(str_of(&k, "AttributeName"))
                .key_type(KeyType::from(str_of(&k, "KeyType").as_str()))
                .build()
                .map_err(|e| RuntimeError::Invalid(format!("table {name}: {e}")))?;
            request = request.key_schema(key);
        }
        request.send().await.map_err(|e| aws_error("CreateTable")(context(&e)))?;
        Ok(())
    }

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
        let (arn, machine) = self.machine(name_or_file)?;
        let execution_name = format!("local-{}", uuid_like());
        let mut start = Start::named(execution_name);
        start.state_machine_arn = arn;
        if let Some(t) = started {
            start.started = t;
        }
        let resolver: Arc<dyn Resolver> = Arc::new(LocalTasks { runtime: Arc::downgrade(self) });
        Ok(asl::execute(&machine, input, start, resolver).await)
    }

    /// Routes an event on `bus` through the template's rules and runs every target; then follows
    /// the events those targets published.
    pub async fn send_event(self: &Arc<Self>, bus: &str, event: Value) -> Result<Vec<Dispatch>, RuntimeError> {
        let event = envelope(bus, event);
        self.timeline.push(Entry::event(bus, &event));
        let mut out = self.route(bus, &event).await?;
        out.extend(self.follow_published().await?);
        Ok(out)
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
            out.push(self.dispatch_at(&format!("schedule {}", rule.id), &target.resource, input, Some(at)).await?);
        }
        out.extend(self.follow_published().await?);
        Ok(out)
    }

    async fn route(self: &Arc<Self>, bus: &str, event: &Value) -> Result<Vec<Dispatch>, RuntimeError> {
        let routes = self.template.route(bus, event);
        if routes.is_empty() {
            self.timeline.push(Entry::note(1, format!("no rule on `{bus}` matches")));
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
            out.push(self.dispatch_at(&via, &target.resource, input, at).await?);
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
        let dispatch = Dispatch {
            via: via.to_string(),
            target: resource.to_string(),
            outcome,
            aws_changes: calls.changes,
            aws_reads: calls.reads,
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

    /// Events the functions have published so far (bus, event), in the order they were read.
    pub fn published(&self) -> Vec<(String, Value)> {
        self.published.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether two references (logical id, name or ARN) name the same function or machine.
    pub fn same_resource(&self, a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        let function = |x: &str| self.template.function(x).map(|f| f.id.clone());
        let machine = |x: &str| self.template.machine(x).map(|m| m.id.clone());
        (function(a).is_some() && function(a) == function(b)) || (machine(a).is_some() && machine(a) == machine(b))
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
            out.push(self.dispatch(&format!("subscription {}", sub.id), &sub.target, payload).await?);
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
                    let Ok(event) = serde_json::from_str::<Value>(body) else { continue };
                    let id = event.get("id").and_then(Value::as_str).unwrap_or(body).to_string();
                    if self.seen_events.lock().unwrap_or_else(|p| p.into_inner()).insert(id) {
                        out.push((bus.clone(), event));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Objects in a bucket: what Firehose delivered.
    pub fn bucket_keys(&self, bucket: &str) -> Result<Vec<String>, RuntimeError> {
        emulator_for(&self.ctx)?.bucket_keys(bucket).map_err(|e| aws_error("ListObjects")(context(&e)))
    }

    /// An object's text (a report the functions wrote).
    pub async fn object_text(&self, bucket: &str, key: &str) -> Result<String, RuntimeError> {
        crate::schedule::read_text(&self.ctx.client::<aws_sdk_s3::Client>(), bucket, key)
            .await
            .map_err(|e| aws_error("GetObject")(e.to_string()))
    }

    /// How many parameters the central account holds under `path` (for scenario checks).
    pub async fn parameters_under(&self, path: &str) -> Result<usize, RuntimeError> {
        use platform_core::ports::ParameterStore;
        let store = platform_core::aws::SsmParameterStore::new(self.ctx.client::<aws_sdk_ssm::Client>());
        store.get_by_path(path).await.map(|p| p.len()).map_err(|e| aws_error("GetParametersByPath")(e.to_string()))
    }

    /// The organisation's accounts with this e-mail, each with the name of its OU (`None` for
    /// the root), for scenario checks.
    pub async fn accounts_by_email(&self, email: &str) -> Result<Vec<(String, Option<String>)>, RuntimeError> {
        let org = self.ctx.client::<aws_sdk_organizations::Client>();
        let accounts = org.list_accounts().send().await.map_err(|e| aws_error("ListAccounts")(context(&e)))?;
        let mut out = Vec::new();
        for a in accounts.accounts().iter().filter(|a| a.email().is_some_and(|e| e.eq_ignore_ascii_case(email))) {
            let id = a.id().unwrap_or_default().to_string();
            let parents =
                org.list_parents().child_id(&id).send().await.map_err(|e| aws_error("ListParents")(context(&e)))?;
            let parent = parents.parents().first().cloned();
            let ou = match parent {
                Some(p) if p.r#type().map(|t| t.as_str()) == Some("ORGANIZATIONAL_UNIT") => {
                    let ou = org
                        .describe_organizational_unit()
                        .organizational_unit_id(p.id().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|e| aws_error("DescribeOrganizationalUnit")(context(&e)))?;
                    ou.organizational_unit().and_then(|o| o.name()).map(str::to_string)
                }
                _ => None,
            };
            out.push((id, ou));
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
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        let runtime =
            self.runtime.upgrade().ok_or_else(|| Failure::new("States.Runtime", "the runtime has stopped"))?;
        match request {
            TaskRequest::Lambda { function, payload } => match runtime.invoke(&function, payload).await {
                Ok(Ok(inv)) => Ok(TaskOutput::now(inv.output)),
                Ok(Err(f)) => Err(f),
                Err(e) => Err(Failure::new("Lambda.ResourceNotFoundException", e.to_string())),
            },
            TaskRequest::StartExecution { state_machine_arn, input, sync, .. } => {
                let e = Box::pin(runtime.execute(&state_machine_arn, input))
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
                    _ => Err(Failure::new("States.TaskFailed", e.cause.unwrap_or_default())),
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

/// The emulator behind an SDK config (the runtime only ever talks to a loopback emulator).
fn emulator_for(ctx: &AwsContext) -> Result<emulator::Remote, RuntimeError> {
    let endpoint =
        ctx.endpoint_url().ok_or_else(|| RuntimeError::Invalid("the runtime needs an emulator endpoint".into()))?;
    emulator::Remote::new(endpoint).map_err(|e| RuntimeError::Invalid(e.to_string()))
}
