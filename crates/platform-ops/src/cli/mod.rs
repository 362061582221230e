//! The command line: each subcommand a struct with its own `run`, errors mapped to exit code 2 once.

mod account;
mod approve;
mod bench;
mod local;
mod release;
mod repo;
mod schedule;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use platform_ops::runtime;

#[derive(Debug, Parser)]
#[command(name = "platform-ops", version, about = "ABC Limited's trading-platform operations control plane")]
pub struct Cli {
    /// The repository root (holds config/, template.yaml, state-machines/, stacksets/).
    #[arg(long, global = true, default_value = ".", env = "PLATFORM_OPS_ROOT")]
    pub root: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config, templates and state machines; exit 1 on any finding.
    Validate(repo::Validate),
    /// Work with the config tree.
    #[command(subcommand)]
    Config(repo::ConfigCommand),
    /// The local world in the AWS emulator (AWS_ENDPOINT_URL must be a loopback address).
    #[command(subcommand)]
    World(repo::WorldCommand),
    /// Run the AWS emulator in the foreground and print the variables that point at it.
    Emulator(repo::EmulatorCommand),
    /// The embedded default: start the emulator, seed the world, validate, replay a scenario
    /// through the local runtime and print its timeline; exit 1 if an expected outcome is not met.
    Demo(local::Demo),
    /// Run a state machine (from the template, or any .asl.json file) in the local engine.
    Run(local::Run),
    /// Route an EventBridge event as the template's rules would, and run what it reaches.
    SendEvent(local::SendEvent),
    /// The scaling decision for an alarm event and each guardrail's verdict, without acting.
    #[command(subcommand)]
    Scaling(local::ScalingCommand),
    /// Write the Kubernetes manifests a deploy of `--release` to `--env` would apply, tier by
    /// tier in rollout order (a YAML stream).
    Render(release::Render),
    /// Deploy a release to an environment's account: a ReleaseRequested event (the release
    /// checked here first), run by the local runtime, or with `--aws` put on the platform bus.
    Deploy(release::Deploy),
    /// A person's decision on a release waiting for approval (`approve`, or `reject` with a reason).
    #[command(subcommand)]
    Release(approve::ReleaseCommand),
    /// Request an account (account vending) or report where one stands.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Run a schedule by hand, as EventBridge Scheduler would: in the local runtime, or with
    /// `--aws` on the deployment (drift starts its state machine, the others invoke scheduled-ops).
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// The inventory report (Markdown): locally, the inventory is run and its report printed;
    /// with `--aws`, the latest report in the deployment's report bucket (`--refresh` runs it first).
    Inventory(schedule::Inventory),
    /// Invoke one function in process against the emulator, as `sam local invoke` would.
    Invoke(local::Invoke),
    /// Measurements that are not tests: `bench fleet` (the fleet release at 8, 50, 200 accounts),
    /// `bench alarms` (1,000 alarm transitions delivered twice at once on the guard table).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

impl Command {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        match self {
            Command::Validate(c) => c.run(root),
            Command::Config(c) => c.run(root).await,
            Command::World(c) => c.run(root).await,
            Command::Emulator(c) => c.run(root).await,
            Command::Demo(c) => c.run(root).await,
            Command::Run(c) => c.run(root).await,
            Command::SendEvent(c) => c.run(root).await,
            Command::Scaling(c) => c.run(root).await,
            Command::Render(c) => c.run(root),
            Command::Deploy(c) => c.run(root).await,
            Command::Release(c) => c.run().await,
            Command::Account(c) => c.run(root).await,
            Command::Schedule(c) => c.run(root).await,
            Command::Inventory(c) => c.run(root).await,
            Command::Invoke(c) => c.run(root).await,
            Command::Bench(c) => c.run(root).await,
        }
    }
}

/// Where a command acts: the local runtime (default) or a deployment on AWS.
#[derive(Debug, clap::Args)]
pub struct AccountTarget {
    /// Real AWS (credentials from the environment) instead of the local runtime.
    #[arg(long)]
    pub aws: bool,
    /// The platform-ops deployment (its bus `abc-trading-<d>` and guard table `abc-trading-<d>-guard`).
    #[arg(long, default_value = "dev")]
    pub deployment: String,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// Options of the commands that run the local runtime.
#[derive(Debug, clap::Args)]
pub struct LocalArgs {
    /// An emulator already running (e.g. from `platform-ops emulator`) instead of starting one.
    #[arg(long, env = "PLATFORM_OPS_ENDPOINT")]
    pub endpoint: Option<String>,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

/// What a local run is subjected to: AWS's faults and its at-least-once deliveries. Either one
/// runs the same work fault-free first and compares what took effect.
#[derive(Debug, Clone, clap::Args)]
pub struct HarnessArgs {
    /// Inject faults into this share of AWS requests and Lambda invokes (`0.1` or `10%`): each
    /// service's throttling, 500, 503, connection reset, timeout, and a response lost after the
    /// request was applied.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub faults: Option<f64>,
    /// The seed of the fault draws: the same seed injects the same faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only fault requests to this service or `service:Operation` (repeatable).
    #[arg(long = "fault-scope", value_name = "SERVICE[:OPERATION]")]
    pub fault_scope: Vec<emulator::faults::Scope>,
    /// Only these kinds of fault (default: all).
    #[arg(long = "fault-kinds", value_delimiter = ',', value_name = "KIND,...")]
    pub fault_kinds: Vec<emulator::faults::FaultKind>,
    /// Deliver every event and asynchronous invocation twice, as EventBridge and Lambda may.
    #[arg(long)]
    pub duplicate_deliveries: bool,
    /// Kill a function at its timeout once, after this action's calls went through, and let its
    /// state machine re-drive it (repeatable): `AccountVendingFunction:find-or-create`.
    #[arg(long = "crash-after", value_name = "FUNCTION:action")]
    pub crash_after: Vec<runtime::harness::CrashPoint>,
}

impl HarnessArgs {
    pub fn harness(&self) -> runtime::harness::Harness {
        let faults = self.faults.map(|rate| {
            let mut plan = emulator::faults::FaultPlan::new(rate, self.seed);
            plan.scope = self.fault_scope.clone();
            if !self.fault_kinds.is_empty() {
                plan.kinds = self.fault_kinds.clone();
            }
            plan
        });
        runtime::harness::Harness {
            faults,
            duplicate_deliveries: self.duplicate_deliveries,
            crash_points: self.crash_after.clone(),
        }
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let (number, scale) = match s.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (s, 1.0),
    };
    let rate = number.trim().parse::<f64>().map_err(|e| format!("fault rate `{s}`: {e}"))? / scale;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("fault rate `{s}` is not between 0 and 1 (or 0% and 100%)"));
    }
    Ok(rate)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

pub fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// A dispatch that did what it was sent for: an invocation without error, an execution that succeeded.
pub fn succeeded(d: &runtime::Dispatch) -> bool {
    match &d.outcome {
        runtime::Outcome::Invoked { .. } => true,
        runtime::Outcome::InvokeFailed { .. } => false,
        runtime::Outcome::Execution { status, .. } => *status == asl::Status::Succeeded,
    }
}

pub fn print_runtime(
    runtime: &runtime::Runtime,
    dispatches: &[runtime::Dispatch],
    output: Output,
) -> anyhow::Result<()> {
    print_harnessed(runtime, dispatches, output, None)
}

/// [`print_runtime`] with what a harnessed run found (faults, second deliveries, effects).
pub fn print_harnessed(
    runtime: &runtime::Runtime,
    dispatches: &[runtime::Dispatch],
    output: Output,
    reliability: Option<&runtime::harness::Reliability>,
) -> anyhow::Result<()> {
    if output == Output::Json {
        let entries = runtime.timeline.entries();
        let out = serde_json::json!({"dispatches": dispatches, "timeline": entries, "reliability": reliability});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", runtime::timeline::Rendered(&runtime.timeline.entries()));
        if let Some(r) = reliability {
            print!("{r}");
        }
    }
    Ok(())
}
