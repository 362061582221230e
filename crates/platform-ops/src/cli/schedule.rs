//! Schedules run by hand, and the inventory report.

use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use platform_core::aws::AwsContext;
use platform_core::config;
use platform_ops::runtime;
use platform_ops::schedule::{self, Schedule};

use super::{AccountTarget, Output, print_runtime, succeeded};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
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

impl ScheduleCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let ScheduleCommand::Run { schedule, at, target } = self;
        let tree = config::load(&root.join("config"))?;
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
        let up = runtime::local::start(root, target.local.endpoint.as_deref()).await?;
        let dispatches = up.runtime.fire_schedule(schedule.template_event(), at).await?;
        print_runtime(&up.runtime, &dispatches, target.local.output)?;
        Ok(if dispatches.iter().all(succeeded) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

#[derive(Debug, clap::Args)]
pub struct Inventory {
    /// With `--aws`: run the inventory now rather than print the last scheduled one.
    #[arg(long)]
    refresh: bool,
    #[command(flatten)]
    target: AccountTarget,
}

impl Inventory {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let tree = config::load(&root.join("config"))?;
        let (target, now) = (self.target, chrono::Utc::now());
        if target.aws {
            let ctx = AwsContext::load().await?;
            let deployment = schedule::Deployment::new(tree.resource_prefix(&target.deployment));
            if self.refresh {
                schedule::run_on_aws(ctx.config(), &deployment, Schedule::Inventory, now).await?;
            }
            print!("{}", schedule::latest_inventory_on_aws(ctx.config(), &deployment).await?);
            return Ok(ExitCode::SUCCESS);
        }
        let up = runtime::local::start(root, target.local.endpoint.as_deref()).await?;
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
            .ok_or_else(|| anyhow!("template.yaml's ScheduledOpsFunction has no REPORT_BUCKET_NAME"))?;
        let ext = if target.local.output == Output::Json { "json" } else { "md" };
        print!("{}", up.runtime.object_text(&bucket, &schedule::latest_inventory(ext)).await?);
        Ok(ExitCode::SUCCESS)
    }
}
