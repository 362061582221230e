//! Commands that run the local runtime: the demo, a state machine, an event, an invocation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use platform_ops::runtime::harness::{Harness, Reliability};
use platform_ops::{demo, report, runtime};

use super::{HarnessArgs, LocalArgs, Output, print_harnessed, print_runtime, read_json};

#[derive(Debug, clap::Args)]
pub struct Demo {
    /// The scenario under scenarios/ to replay.
    #[arg(long, default_value = "default")]
    scenario: String,
    /// Also write an HTML report of every execution run (graphs with the paths taken, fleet
    /// grids, the virtual-clock timeline): one self-contained file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    #[command(flatten)]
    local: LocalArgs,
    #[command(flatten)]
    harness: HarnessArgs,
}

impl Demo {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let json = self.local.output == Output::Json;
        let harness = self.harness.harness();
        demo::run(root, &self.scenario, self.local.endpoint.as_deref(), json, self.report.as_deref(), &harness).await
    }
}

#[derive(Debug, clap::Args)]
pub struct Run {
    /// A state machine's logical id or name in template.yaml, or a definition file.
    machine: String,
    /// The execution input (a JSON file); `{}` when absent.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Also write an HTML report of every execution run (graphs with the paths taken, fleet
    /// grids, the virtual-clock timeline): one self-contained file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    #[command(flatten)]
    local: LocalArgs,
    #[command(flatten)]
    harness: HarnessArgs,
}

impl Run {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let input = match &self.input {
            Some(path) => read_json(path)?,
            None => serde_json::json!({}),
        };
        let harness = self.harness.harness();
        let endpoint = self.local.endpoint.as_deref();
        let fault_free = fault_free(root, endpoint, &harness, |runtime| {
            let (machine, input) = (self.machine.clone(), input.clone());
            async move { Ok(runtime.execute(&machine, input).await.map(drop)?) }
        })
        .await?;
        let up = runtime::local::start_in(root, endpoint, &Default::default(), &harness).await?;
        if self.report.is_some() {
            up.runtime.executions.enable();
        }
        let execution = up.runtime.execute(&self.machine, input).await?;
        let reliability = fault_free.map(|ff| Reliability::of(&harness, &up.runtime, &ff));
        if let Some(path) = &self.report {
            report::save(path, &format!("run {}", self.machine), &up.runtime)?;
        }
        if self.local.output == Output::Json {
            let mut out = serde_json::to_value(&execution)?;
            if let (Some(r), Some(map)) = (&reliability, out.as_object_mut()) {
                map.insert("reliability".into(), serde_json::to_value(r)?);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            let entry = runtime::timeline::Entry::execution(0, &execution);
            print!("{}", runtime::timeline::Rendered(&[entry]));
            println!("status: {}", execution.status);
            match &execution.output {
                Some(o) => println!("output: {}", serde_json::to_string_pretty(o)?),
                None => println!(
                    "error: {}\ncause: {}",
                    execution.error.as_deref().unwrap_or_default(),
                    execution.cause.as_deref().unwrap_or_default()
                ),
            }
            println!("{} state transitions, {:?} on the virtual clock", execution.transitions, execution.duration);
        }
        if let (Some(r), Output::Text) = (&reliability, self.local.output) {
            print!("{r}");
        }
        let reliable = reliability.as_ref().is_none_or(Reliability::passed);
        Ok(if execution.status == asl::Status::Succeeded && reliable { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

#[derive(Debug, clap::Args)]
pub struct SendEvent {
    /// The event (a JSON file): a full EventBridge event, or PutEvents-style Source/DetailType/Detail.
    file: PathBuf,
    /// The bus it is put on.
    #[arg(long, default_value = "default")]
    bus: String,
    /// The account that puts it (default: the event's `account`): EventBridge writes it into the
    /// event and applies the bus's resource policy to it.
    #[arg(long, value_name = "ACCOUNT")]
    from: Option<String>,
    /// Also write an HTML report of every execution run (graphs with the paths taken, fleet
    /// grids, the virtual-clock timeline): one self-contained file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    #[command(flatten)]
    local: LocalArgs,
    #[command(flatten)]
    harness: HarnessArgs,
}

impl SendEvent {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let event = read_json(&self.file)?;
        let harness = self.harness.harness();
        let endpoint = self.local.endpoint.as_deref();
        let fault_free = fault_free(root, endpoint, &harness, |runtime| {
            let (bus, event, from) = (self.bus.clone(), event.clone(), self.from.clone());
            async move { Ok(runtime.send_event_from(&bus, event, from.as_deref()).await.map(drop)?) }
        })
        .await?;
        let up = runtime::local::start_in(root, endpoint, &Default::default(), &harness).await?;
        let before = up.runtime.refusals().len();
        if self.report.is_some() {
            up.runtime.executions.enable();
        }
        let dispatches = up.runtime.send_event_from(&self.bus, event, self.from.as_deref()).await?;
        if let Some(path) = &self.report {
            report::save(path, &format!("send-event {}", self.file.display()), &up.runtime)?;
        }
        let reliability = fault_free.map(|ff| Reliability::of(&harness, &up.runtime, &ff));
        print_harnessed(&up.runtime, &dispatches, self.local.output, reliability.as_ref())?;
        let reliable = reliability.as_ref().is_none_or(Reliability::passed);
        // A refused event is an outcome, not an error: say why, and exit non-zero.
        let refused = up.runtime.refusals().into_iter().skip(before).any(|r| r.at == runtime::admission::Stop::Bus);
        Ok(if refused || !reliable { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}

/// The same work's effects without faults or second deliveries, on a world of its own (`None`
/// when `harness` is quiet).
async fn fault_free<F, Fut>(
    root: &Path,
    endpoint: Option<&str>,
    harness: &Harness,
    work: F,
) -> anyhow::Result<Option<runtime::effects::Effects>>
where
    F: FnOnce(std::sync::Arc<runtime::Runtime>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    runtime::local::fault_free_effects(root, endpoint, &Default::default(), harness, |runtime, _| work(runtime)).await
}

#[derive(Debug, Subcommand)]
pub enum ScalingCommand {
    /// Decide for an alarm state-change event (a JSON file; `{{account:abc-trading-dev}}` is the
    /// local world's account id) and print the decision with every guardrail's verdict. Claims,
    /// locks and changes nothing.
    Explain {
        #[arg(long)]
        alarm: PathBuf,
        #[command(flatten)]
        local: LocalArgs,
    },
}

impl ScalingCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let ScalingCommand::Explain { alarm, local } = self;
        let up = runtime::local::start(root, local.endpoint.as_deref()).await?;
        let facts = up.world.accounts.iter().map(|a| (format!("account:{}", a.name), a.id.clone())).collect();
        let event = runtime::scenario::read_json(Path::new("."), &alarm.to_string_lossy(), &facts)?;
        // The decision is taken as of the event's time, as the state machine would take it.
        let now = event.get("time").cloned().unwrap_or(serde_json::Value::Null);
        let request = serde_json::json!({"action": "explain", "event": event, "now": now});
        let plan = match up.runtime.invoke("AlarmScalerFunction", request).await? {
            Ok(inv) => inv.output,
            Err(f) => {
                eprintln!("error: {}: {}", f.error, f.cause);
                return Ok(ExitCode::FAILURE);
            }
        };
        if local.output == Output::Json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            println!("decision: {} - {}", text(&plan["kind"]), text(&plan["summary"]));
            for v in plan["decision"]["verdicts"].as_array().into_iter().flatten() {
                let mark = if v["passed"].as_bool() == Some(true) { "ok  " } else { "STOP" };
                println!("  {mark} {:<14} {}", text(&v["guardrail"]), text(&v["detail"]));
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct Invoke {
    /// The function: its crate (`log-processor`), logical id (`LogProcessorFunction`), name or ARN.
    function: String,
    /// The event (a JSON file).
    #[arg(long)]
    event: PathBuf,
    #[command(flatten)]
    local: LocalArgs,
}

impl Invoke {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let event = read_json(&self.event)?;
        let up = runtime::local::start(root, self.local.endpoint.as_deref()).await?;
        let template = up.runtime.template();
        let function = template.function(&self.function).ok_or_else(|| {
            anyhow::anyhow!("no function `{}` in template.yaml (known: {})", self.function, template.function_names())
        })?;
        let dispatches =
            up.runtime.dispatch_with_follow(&format!("invoke {}", self.function), &function.id, event).await?;
        print_runtime(&up.runtime, &dispatches, self.local.output)?;
        let failed = dispatches.first().is_some_and(|d| matches!(d.outcome, runtime::Outcome::InvokeFailed { .. }));
        Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}
