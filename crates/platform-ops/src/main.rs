//! `platform-ops`: the operator's command line and the local runtime's entry point.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config;
use platform_ops::schedule::{self, Schedule};
use platform_ops::{demo, runtime, validate, world};

#[derive(Debug, Parser)]
#[command(name = "platform-ops", version, about = "ABC Limited's trading-platform operations control plane")]
struct Cli {
    /// The repository root (holds config/, template.yaml, state-machines/, stacksets/).
    #[arg(long, global = true, default_value = ".", env = "PLATFORM_OPS_ROOT")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check config, templates and state machines; exit 1 on any finding.
    Validate {
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
        /// Validate as of this day (YYYY-MM-DD) instead of today: Kubernetes support windows.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Work with the config tree.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The local world in the AWS emulator (AWS_ENDPOINT_URL must be a loopback address).
    #[command(subcommand)]
    World(WorldCommand),
    /// Run the AWS emulator in the foreground and print the variables that point at it.
    Emulator,
    /// The embedded default: start the emulator, seed the world, validate, replay a scenario
    /// through the local runtime and print its timeline; exit 1 if an expected outcome is not met.
    Demo {
        /// The scenario under scenarios/ to replay.
        #[arg(long, default_value = "default")]
        scenario: String,
        #[command(flatten)]
        local: LocalArgs,
    },
    /// Run a state machine (from the template, or any .asl.json file) in the local engine.
    Run {
        /// A state machine's logical id or name in template.yaml, or a definition file.
        machine: String,
        /// The execution input (a JSON file); `{}` when absent.
        #[arg(long)]
        input: Option<PathBuf>,
        #[command(flatten)]
        local: LocalArgs,
    },
    /// Route an EventBridge event as the template's rules would, and run what it reaches.
    SendEvent {
        /// The event (a JSON file): a full EventBridge event, or PutEvents-style Source/DetailType/Detail.
        file: PathBuf,
        /// The bus it is put on.
        #[arg(long, default_value = "default")]
        bus: String,
        #[command(flatten)]
        local: LocalArgs,
    },
    /// The scaling decision for an alarm event and each guardrail's verdict, without acting.
    #[command(subcommand)]
    Scaling(ScalingCommand),
    /// Write the Kubernetes manifests a deploy of `--release` to `--env` would apply, tier by
    /// tier in rollout order (a YAML stream).
    Render {
        #[arg(long)]
        env: String,
        /// The release: every image tagged with this name, unless `--release-file` pins tags.
        #[arg(long)]
        release: String,
        /// A release file (JSON: `{"name", "default_tag"?, "versions": {workload: tag}}`).
        #[arg(long)]
        release_file: Option<PathBuf>,
        /// The member account whose ECR holds the images.
        #[arg(long)]
        account: String,
        /// The images' region (default: the environment's first region).
        #[arg(long)]
        region: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Deploy a release to an environment's account: a ReleaseRequested event (the release
    /// checked here first), run by the local runtime, or with `--aws` put on the platform bus.
    Deploy {
        #[arg(long)]
        env: String,
        #[arg(long)]
        release: String,
        /// The member account. Absent: with --aws, every vended account of the environment in
        /// turn; locally, the world's account of the environment.
        #[arg(long)]
        account: Option<String>,
        /// Versions pinned per workload (JSON: `{"workload": "tag"}`), over the release's.
        #[arg(long)]
        versions: Option<PathBuf>,
        #[command(flatten)]
        target: AccountTarget,
    },
    /// Request an account (account vending) or report where one stands.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Run a schedule by hand, as EventBridge Scheduler would: in the local runtime, or with
    /// `--aws` on the deployment (drift starts its state machine, the others invoke scheduled-ops).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// The inventory report (Markdown): locally, the inventory is run and its report printed;
    /// with `--aws`, the latest report in the deployment's report bucket (`--refresh` runs it first).
    Inventory {
        /// With `--aws`: run the inventory now rather than print the last scheduled one.
        #[arg(long)]
        refresh: bool,
        #[command(flatten)]
        target: AccountTarget,
    },
    /// Invoke one function in process against the emulator, as `sam local invoke` would.
    Invoke {
        /// The function's logical id, name or ARN.
        function: String,
        /// The event (a JSON file).
        #[arg(long)]
        event: PathBuf,
        #[command(flatten)]
        local: LocalArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ScalingCommand {
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

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// Run one schedule now (idempotent: a run next to the scheduled one changes nothing twice).
    Run {
        #[arg(value_enum)]
        schedule: Schedule,
        /// The moment the run is for (RFC 3339), as the schedule's `<aws.scheduler.scheduled-time>`;
        /// default now. Off-hours decides by it.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        target: AccountTarget,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Put an AccountRequested event (validated here first): on the local runtime by default,
    /// where the vending runs and its timeline is printed; with `--aws`, on the platform bus.
    Request {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        env: String,
        #[arg(long)]
        client: String,
        #[arg(long, default_value = "platform")]
        cost_center: String,
        #[arg(long, default_value = "platform-team")]
        owner: String,
        #[command(flatten)]
        target: AccountTarget,
    },
    /// An account by id or name: its OU and tags, its vending's claim (and on AWS, the
    /// execution's status), its published facts.
    Status {
        key: String,
        #[command(flatten)]
        target: AccountTarget,
    },
}

#[derive(Debug, clap::Args)]
struct AccountTarget {
    /// Real AWS (credentials from the environment) instead of the local runtime.
    #[arg(long)]
    aws: bool,
    /// The platform-ops deployment (its bus `abc-trading-<d>` and guard table `abc-trading-<d>-guard`).
    #[arg(long, default_value = "dev")]
    deployment: String,
    #[command(flatten)]
    local: LocalArgs,
}

/// Options of the commands that run the local runtime.
#[derive(Debug, clap::Args)]
struct LocalArgs {
    /// An emulator already running (e.g. from `platform-ops emulator`) instead of starting one.
    #[arg(long, env = "PLATFORM_OPS_ENDPOINT")]
    endpoint: Option<String>,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate config/ and write it to Parameter Store, only what changed.
    Publish {
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate config/ and print the parameters it publishes.
    Show,
    /// Render what the StackSet templates take from config/ (the baseline's remediation alarms,
    /// the platform's image repositories and dashboard tiers) into them with `--write`, or print it.
    Templates {
        #[arg(long)]
        write: bool,
    },
}

#[derive(Debug, Subcommand)]
enum WorldCommand {
    /// Build the organisation and dev environment as they were before automation (idempotent).
    Seed,
    /// Print the world as the emulator holds it.
    Show {
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    platform_core::telemetry::init_with_default("warn");
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::from(2)
        }
    }
}

fn read_json(path: &std::path::Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?)
}

/// A dispatch that did what it was sent for: an invocation without error, an execution that succeeded.
fn succeeded(d: &runtime::Dispatch) -> bool {
    match &d.outcome {
        runtime::Outcome::Invoked { .. } => true,
        runtime::Outcome::InvokeFailed { .. } => false,
        runtime::Outcome::Execution { status, .. } => *status == asl::Status::Succeeded,
    }
}

fn print_runtime(
    runtime: &runtime::Runtime,
    dispatches: &[runtime::Dispatch],
    output: Output,
) -> Result<(), Box<dyn std::error::Error>> {
    if output == Output::Json {
        let entries = runtime.timeline.entries();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"dispatches": dispatches, "timeline": entries}))?
        );
    } else {
        print!("{}", runtime::timeline::Rendered(&runtime.timeline.entries()));
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let config_dir = cli.root.join("config");
    match cli.command {
        Command::Validate { json, as_of } => {
            let mut inputs = validate::Inputs::for_root(&cli.root);
            if let Some(day) = as_of {
                inputs.today = day;
            }
            let report = validate::run_with(&inputs, &platform_ops::actions::linked());
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Config(ConfigCommand::Show) => {
            let tree = config::load(&config_dir)?;
            for (name, value) in config::config_parameters(&tree) {
                println!("{name} = {value}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Templates { write }) => {
            let tree = config::load(&config_dir)?;
            if write {
                let changed = platform_ops::templates::write(&cli.root, &tree)?;
                if changed.is_empty() {
                    println!("the templates' generated blocks are up to date");
                }
                for file in changed {
                    println!("{file}: rendered from config/");
                }
            } else {
                for block in platform_ops::templates::BLOCKS {
                    println!("# {} ({})", block.name, block.file);
                    print!("{}", (block.render)(&tree));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Publish { dry_run }) => {
            let tree = config::load(&config_dir)?;
            let ctx = AwsContext::load().await?;
            // A first publish is dozens of PutParameter calls against a low per-account rate:
            // the adaptive mode paces them instead of failing half-way.
            let ssm = aws_sdk_ssm::config::Builder::from(ctx.config())
                .retry_config(aws_sdk_ssm::config::retry::RetryConfig::adaptive().with_max_attempts(8))
                .build();
            let store = SsmParameterStore::new(aws_sdk_ssm::Client::from_conf(ssm));
            let report = config::publish(&tree, &store, dry_run).await?;
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::World(cmd) => {
            let tree = config::load(&config_dir)?;
            // Refused before anything else when the endpoint is not a local emulator.
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
            world::ensure_local(sdk.endpoint_url())?;
            let ctx = AwsContext::from_config(sdk)?;
            match cmd {
                WorldCommand::Seed => {
                    let report = world::seed(&ctx, &tree).await?;
                    println!(
                        "seeded: {} created, {} already there",
                        report.created(),
                        report.steps.len() - report.created()
                    );
                    println!("config: {}", report.config);
                    println!("{}", world::snapshot(&ctx, &tree).await?);
                }
                WorldCommand::Show { json } => {
                    let world = world::snapshot(&ctx, &tree).await?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&world)?);
                    } else {
                        println!("{world}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Emulator => {
            let emulator = emulator::Emulator::start(&cli.root)?;
            for (k, v) in emulator.env_vars() {
                println!("export {k}={v}");
            }
            println!("# emulator running; Ctrl-C stops it");
            tokio::signal::ctrl_c().await?;
            drop(emulator);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { scenario, local } => {
            demo::run(&cli.root, &scenario, local.endpoint.as_deref(), local.output == Output::Json).await
        }
        Command::Run { machine, input, local } => {
            let input = match input {
                Some(path) => read_json(&path)?,
                None => serde_json::json!({}),
            };
            let up = runtime::local::start(&cli.root, local.endpoint.as_deref()).await?;
            let execution = up.runtime.execute(&machine, input).await?;
            if local.output == Output::Json {
                println!("{}", serde_json::to_string_pretty(&execution)?);
            } else {
                let entry = runtime::timeline::Entry::execution(0, &execution);
                print!("{}", runtime::timeline::Rendered(&[entry]));
                println!("status: {:?}", execution.status);
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
            Ok(if execution.status == asl::Status::Succeeded { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::SendEvent { file, bus, local } => {
            let event = read_json(&file)?;
            let up = runtime::local::start(&cli.root, local.endpoint.as_deref()).await?;
            let dispatches = up.runtime.send_event(&bus, event).await?;
            print_runtime(&up.runtime, &dispatches, local.output)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Scaling(ScalingCommand::Explain { alarm, local }) => {
            let up = runtime::local::start(&cli.root, local.endpoint.as_deref()).await?;
            let facts = up.world.accounts.iter().map(|a| (format!("account:{}", a.name), a.id.clone())).collect();
            let event = runtime::scenario::read_json(std::path::Path::new("."), &alarm.to_string_lossy(), &facts)?;
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
        Command::Render { env, release, release_file, account, region, out } => {
            let tree = config::load(&config_dir)?;
            let environment = tree.environment(&env).ok_or_else(|| format!("environment `{env}` is not in config/"))?;
            let release = match release_file {
                Some(file) => {
                    let r: platform_deploy::release::Release = serde_json::from_value(read_json(&file)?)?;
                    if r.name != release {
                        return Err(format!("{} is release `{}`, not `{release}`", file.display(), r.name).into());
                    }
                    r
                }
                None => platform_deploy::release::Release::uniform(&release),
            };
            let resolved = match release.resolve(&tree.catalog) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let registry = platform_deploy::render::Registry {
                account,
                region: region.unwrap_or_else(|| environment.primary_region().to_string()),
            };
            let manifests = platform_deploy::render::render(&tree, &env, &resolved, &registry)?;
            let text = platform_deploy::render::to_yaml_stream(&manifests);
            match out {
                Some(path) => {
                    std::fs::write(&path, text)?;
                    eprintln!(
                        "{} manifests of release {} for {env} written to {}",
                        manifests.len(),
                        resolved.name,
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy { env, release, account, versions, target } => {
            let tree = config::load(&config_dir)?;
            let versions: std::collections::BTreeMap<String, String> = match versions {
                Some(file) => serde_json::from_value(read_json(&file)?)?,
                None => Default::default(),
            };
            let bus = tree.resource_prefix(&target.deployment);
            // The release is checked before anything starts: a bad one is named at once.
            if let Err(e) = platform_ops::account::release_event(&tree, &env, None, &release, &versions) {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
            if target.aws {
                let event =
                    match platform_ops::account::release_event(&tree, &env, account.as_deref(), &release, &versions) {
                        Ok(e) => e,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return Ok(ExitCode::from(2));
                        }
                    };
                let ctx = AwsContext::load().await?;
                let id = platform_ops::account::put_event(ctx.config(), &bus, &event).await?;
                let to = account.map(|a| format!("account {a}")).unwrap_or_else(|| "every vended account".into());
                println!("ReleaseRequested {id} on {bus}: {release} to {env}, {to}");
                return Ok(ExitCode::SUCCESS);
            }
            let up = runtime::local::start(&cli.root, target.local.endpoint.as_deref()).await?;
            let account = match account {
                Some(a) => a,
                None => up
                    .world
                    .accounts
                    .iter()
                    .find(|a| a.name == tree.resource_prefix(&env))
                    .map(|a| a.id.clone())
                    .ok_or_else(|| format!("the local world has no account for `{env}`: pass --account"))?,
            };
            let event = match platform_ops::account::release_event(&tree, &env, Some(&account), &release, &versions) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let dispatches = up.runtime.send_event(&bus, event).await?;
            print_runtime(&up.runtime, &dispatches, target.local.output)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Account(AccountCommand::Request { name, email, env, client, cost_center, owner, target }) => {
            let tree = config::load(&config_dir)?;
            let request = account_vending::request::AccountRequest {
                account_name: name,
                email,
                environment: env,
                client,
                cost_center,
                owner,
            };
            let event = match platform_ops::account::request_event(&request, &tree) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let bus = tree.resource_prefix(&target.deployment);
            if target.aws {
                let ctx = AwsContext::load().await?;
                let id = platform_ops::account::put_event(ctx.config(), &bus, &event).await?;
                println!("AccountRequested {id} on {bus}: vending {}", request.vending_id());
                return Ok(ExitCode::SUCCESS);
            }
            let up = runtime::local::start(&cli.root, target.local.endpoint.as_deref()).await?;
            let dispatches = up.runtime.send_event(&bus, event).await?;
            print_runtime(&up.runtime, &dispatches, target.local.output)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Account(AccountCommand::Status { key, target }) => {
            let tree = config::load(&config_dir)?;
            let table = format!("{}-guard", tree.resource_prefix(&target.deployment));
            let (sdk, describe) = if target.aws {
                (AwsContext::load().await?.config().clone(), true)
            } else {
                // The local runtime keeps no Step Functions executions to describe: the claim
                // the state machine writes is the status.
                let endpoint = target.local.endpoint.as_deref().ok_or(
                    "account status reads a running emulator: pass --endpoint (or PLATFORM_OPS_ENDPOINT), or --aws",
                )?;
                (emulator::Remote::new(endpoint)?.sdk_config(), false)
            };
            match platform_ops::account::status(&sdk, &tree, &table, &key, describe).await? {
                Some(status) if target.local.output == Output::Json => {
                    println!("{}", serde_json::to_string_pretty(&status)?)
                }
                Some(status) => print!("{status}"),
                None => {
                    eprintln!("error: the organisation has no account with id or name `{key}`");
                    return Ok(ExitCode::FAILURE);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schedule(ScheduleCommand::Run { schedule, at, target }) => {
            let tree = config::load(&config_dir)?;
            let at = at.unwrap_or_else(chrono::Utc::now);
            if target.aws {
                let ctx = AwsContext::load().await?;
                let deployment = schedule::Deployment::new(tree.resource_prefix(&target.deployment));
                match schedule::run_on_aws(ctx.config(), &deployment, schedule, at).await? {
                    schedule::Started::Execution { arn, already } => {
                        let how = if already { "already started" } else { "started" };
                        println!("drift detection {how}: {arn}");
                    }
                    schedule::Started::Invoked { function, output } => {
                        if target.local.output == Output::Json {
                            println!("{}", serde_json::to_string_pretty(&output)?);
                        } else {
                            println!("{function}: {output}");
                        }
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            let up = runtime::local::start(&cli.root, target.local.endpoint.as_deref()).await?;
            let dispatches = up.runtime.fire_schedule(schedule.template_event(), at).await?;
            print_runtime(&up.runtime, &dispatches, target.local.output)?;
            Ok(if dispatches.iter().all(succeeded) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Inventory { refresh, target } => {
            let tree = config::load(&config_dir)?;
            let now = chrono::Utc::now();
            if target.aws {
                let ctx = AwsContext::load().await?;
                let deployment = schedule::Deployment::new(tree.resource_prefix(&target.deployment));
                if refresh {
                    schedule::run_on_aws(ctx.config(), &deployment, Schedule::Inventory, now).await?;
                }
                print!("{}", schedule::latest_inventory_on_aws(ctx.config(), &deployment).await?);
                return Ok(ExitCode::SUCCESS);
            }
            let up = runtime::local::start(&cli.root, target.local.endpoint.as_deref()).await?;
            let dispatches = up.runtime.fire_schedule(Schedule::Inventory.template_event(), now).await?;
            if !dispatches.iter().all(succeeded) {
                print_runtime(&up.runtime, &dispatches, target.local.output)?;
                return Ok(ExitCode::FAILURE);
            }
            let bucket = up
                .runtime
                .template()
                .function("ScheduledOpsFunction")
                .and_then(|f| f.environment.get("REPORT_BUCKET_NAME").cloned())
                .ok_or("template.yaml's ScheduledOpsFunction has no REPORT_BUCKET_NAME")?;
            let ext = if target.local.output == Output::Json { "json" } else { "md" };
            print!("{}", up.runtime.object_text(&bucket, &schedule::latest_inventory(ext)).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoke { function, event, local } => {
            let event = read_json(&event)?;
            let up = runtime::local::start(&cli.root, local.endpoint.as_deref()).await?;
            let dispatches = up.runtime.dispatch_with_follow(&format!("invoke {function}"), &function, event).await?;
            print_runtime(&up.runtime, &dispatches, local.output)?;
            let failed = dispatches.first().is_some_and(|d| matches!(d.outcome, runtime::Outcome::InvokeFailed { .. }));
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
    }
}
