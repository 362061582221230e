//! `platform-ops`: the operator's command line and the local runtime's entry point.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config;
use platform_ops::{demo, validate, world};

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
    /// The embedded default: start the emulator, seed the world, validate, print the world.
    Demo,
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
        Command::Config(ConfigCommand::Publish { dry_run }) => {
            let tree = config::load(&config_dir)?;
            let ctx = AwsContext::load().await;
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
            let ctx = AwsContext::load().await;
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
        Command::Demo => demo::run(&cli.root).await,
    }
}
