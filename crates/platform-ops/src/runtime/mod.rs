//! The local runtime: the template's routing, state machines in the `asl` engine, functions in process.

// Events are matched against the template's rules and subscriptions, state machines run in the
// `asl` engine on a virtual clock, Lambda tasks call the function crates in this process, and
// every AWS call those make goes through the SDK to the emulator. Events the functions publish
// are read back from the emulator (a catch-all rule per bus sends them to an SQS queue) and
// routed in turn, so a chain of reactions shows up in the timeline as it would on AWS.

pub mod admission;
mod alarms;
pub mod calls;
mod dispatch;
pub mod effects;
mod emf;
pub mod functions;
pub mod harness;
mod inspection;
pub mod local;
pub mod pattern;
mod provisioning;
pub mod record;
mod redrive;
pub mod scenario;
pub mod services;
mod stand_ins;
pub mod template;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use platform_core::aws::AwsContext;
use serde_json::Value;

use functions::LocalFunction;
use template::Template;
use timeline::Timeline;

pub use dispatch::subscription_payload;

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
    /// The second delivery of the same event or invocation (`--duplicate-deliveries`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redelivery: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Invoked {
        output: Value,
        metrics: Vec<Value>,
    },
    InvokeFailed {
        error: String,
        cause: String,
    },
    Execution {
        status: asl::Status,
        output: Option<Value>,
        error: Option<String>,
        /// What the failure says beyond its name (which field was refused, which service failed).
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
        transitions: u64,
        duration_s: f64,
    },
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
    /// Events that reached no target: refused by a bus policy, or matched by no rule.
    refusals: Mutex<Vec<admission::Refusal>>,
    calls: calls::CallLog,
    pub timeline: Timeline,
    /// The paging provider's stand-in: what on-call paged arrives here through SNS.
    pub pager: emulator::pager::PagerReceiver,
    /// Where every execution's callback tasks wait: `release approve` and the scenarios answer here.
    pub tokens: Arc<asl::TaskTokens>,
    /// State transitions of every execution run so far, nested ones included: what Step
    /// Functions bills.
    transitions: std::sync::atomic::AtomicU64,
    /// Every execution run, nested ones included, once enabled (for `--report`).
    pub executions: record::Recorder,
    /// Faults injected into the recorded clients and Lambda invocations, and the journal of
    /// what the emulator applied.
    pub faults: Arc<emulator::faults::Faults>,
    /// Every event routed and every asynchronous invocation delivered twice.
    duplicate_deliveries: bool,
    /// The journal's length at the last dispatch: a dispatch's changes are the writes that took
    /// effect (faults repeat attempts; a write refused by its condition changed nothing).
    journal_mark: Mutex<usize>,
    /// Second deliveries made, and task attempts that failed inside executions (each retried
    /// or caught by its state machine).
    pub counters: harness::Counters,
    /// What stands in for the services the emulator lacks (the platform StackSet, the clusters),
    /// for scenarios to act on and check.
    stand_ins: Arc<functions::StandIns>,
}

impl Runtime {
    /// Loads the template with `parameters`, builds every function it can run in process and
    /// provisions what they write to (buses, delivery streams, buckets) in the emulator.
    pub async fn new(
        root: &Path,
        sdk: SdkConfig,
        parameters: BTreeMap<String, String>,
    ) -> Result<Runtime, RuntimeError> {
        Self::new_with(root, sdk, parameters, &harness::Harness::default()).await
    }

    /// [`Runtime::new`] under `harness`: faults injected into what the functions and state
    /// machines call (never into the runtime's own provisioning and inspection), deliveries
    /// repeated.
    pub async fn new_with(
        root: &Path,
        sdk: SdkConfig,
        parameters: BTreeMap<String, String>,
        harness: &harness::Harness,
    ) -> Result<Runtime, RuntimeError> {
        let template = Template::load(&root.join("template.yaml"), &parameters)?;
        let calls = calls::CallLog::default();
        let faults =
            emulator::faults::Faults::new(harness.faults.clone().unwrap_or_else(emulator::faults::FaultPlan::none));
        let recorded = AwsContext::from_config(harness::faulty(&sdk, &faults))?
            .with_interceptor(calls.clone())
            .with_interceptor(faults.interceptor());
        let ctx = AwsContext::from_config(sdk)?;
        let mut functions = BTreeMap::new();
        let stand_ins = functions::StandIns::default();
        for f in template.functions.values() {
            functions.insert(f.id.clone(), functions::build(&f.binary, &f.environment, &recorded, &stand_ins).await?);
        }
        let stand_ins = Arc::new(stand_ins);
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
            refusals: Mutex::new(Vec::new()),
            calls,
            timeline: Timeline::default(),
            pager: emulator::pager::PagerReceiver::start(None)
                .map_err(|e| RuntimeError::Invalid(format!("the local paging receiver did not start: {e}")))?,
            tokens: asl::TaskTokens::new(),
            transitions: std::sync::atomic::AtomicU64::new(0),
            executions: record::Recorder::default(),
            faults,
            duplicate_deliveries: harness.duplicate_deliveries,
            journal_mark: Mutex::new(0),
            counters: harness::Counters::new(&harness.crash_points),
            stand_ins,
        };
        runtime.provision().await?;
        Ok(runtime)
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// State transitions of every execution so far, nested ones included (billed ones).
    pub fn transitions(&self) -> u64 {
        self.transitions.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The emulator behind an SDK config (the runtime only ever talks to a loopback emulator).
fn emulator_for(ctx: &AwsContext) -> Result<emulator::Remote, RuntimeError> {
    let endpoint =
        ctx.endpoint_url().ok_or_else(|| RuntimeError::Invalid("the runtime needs an emulator endpoint".into()))?;
    emulator::Remote::new(endpoint).map_err(|e| RuntimeError::Invalid(e.to_string()))
}
