//! The repository's own commands: validate, the config tree, the local world and the emulator.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config;
use platform_ops::{validate, world};

#[derive(Debug, clap::Args)]
pub struct Validate {
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
    /// Validate as of this day (YYYY-MM-DD) instead of today: Kubernetes support windows.
    #[arg(long)]
    as_of: Option<chrono::NaiveDate>,
}

impl Validate {
    pub fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let mut inputs = validate::Inputs::for_root(root);
        if let Some(day) = self.as_of {
            inputs.today = day;
        }
        let report = validate::run_with(&inputs, &platform_ops::actions::linked());
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{report}");
        }
        Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate config/ and write it to Parameter Store, only what changed.
    Publish {
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate config/ and print the parameters it publishes.
    Show,
    /// Render what the templates take from config/ (the baseline's remediation alarms, the
    /// platform's image repositories, dashboard tiers and health alarms, template.yaml's fleet
    /// dashboard) into them with `--write`, or print it.
    Templates {
        #[arg(long)]
        write: bool,
    },
}

impl ConfigCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let tree = config::load(&root.join("config"))?;
        match self {
            ConfigCommand::Show => {
                for (name, value) in config::config_parameters(&tree) {
                    println!("{name} = {value}");
                }
            }
            ConfigCommand::Templates { write: true } => {
                let changed = platform_ops::templates::write(root, &tree)?;
                if changed.is_empty() {
                    println!("the templates' generated blocks are up to date");
                }
                for file in changed {
                    println!("{file}: rendered from config/");
                }
            }
            ConfigCommand::Templates { write: false } => {
                for block in platform_ops::templates::BLOCKS {
                    println!("# {} ({})", block.name, block.file);
                    print!("{}", (block.render)(&tree));
                }
            }
            ConfigCommand::Publish { dry_run } => {
                let ctx = AwsContext::load().await?;
                // A first publish is dozens of PutParameter calls against a low per-account rate:
                // the adaptive mode paces them instead of failing half-way.
                let ssm = aws_sdk_ssm::config::Builder::from(ctx.config())
                    .retry_config(aws_sdk_ssm::config::retry::RetryConfig::adaptive().with_max_attempts(8))
                    .build();
                let store = SsmParameterStore::new(aws_sdk_ssm::Client::from_conf(ssm).into());
                let report = config::publish(&tree, &store, dry_run).await?;
                println!("{report}");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, Subcommand)]
pub enum WorldCommand {
    /// Build the organisation and dev environment as they were before automation (idempotent).
    Seed,
    /// Print the world as the emulator holds it.
    Show {
        #[arg(long)]
        json: bool,
    },
}

impl WorldCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let tree = config::load(&root.join("config"))?;
        // Refused before anything else when the endpoint is not a local emulator.
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        world::ensure_local(sdk.endpoint_url())?;
        let ctx = AwsContext::from_config(sdk)?;
        match self {
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
}

#[derive(Debug, clap::Args)]
pub struct EmulatorCommand {}

impl EmulatorCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let emulator = emulator::Emulator::start(root)?;
        for (k, v) in emulator.env_vars() {
            println!("export {k}={v}");
        }
        println!("# emulator running; Ctrl-C stops it");
        tokio::signal::ctrl_c().await?;
        drop(emulator);
        Ok(ExitCode::SUCCESS)
    }
}
