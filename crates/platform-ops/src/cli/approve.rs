//! `release approve|reject <id>`: a person's decision on a release waiting for approval, with their own AWS identity.

use std::process::ExitCode;

use anyhow::Context as _;
use platform_core::approvals::{Decision, Verdict};
use platform_core::aws::AwsContext;
use platform_core::guard::GuardTable;
use platform_ops::approval::{Decided, SfnAnswers, decide};

#[derive(Debug, clap::Subcommand)]
pub enum ReleaseCommand {
    /// Approve the plan of a release waiting for approval; `id` is the fleet release's execution
    /// name, as the "waits for approval" notification gives it. Not the requester's own.
    Approve(DecideArgs),
    /// Reject it; a reason is required and goes to the notification and the audit trail.
    Reject(DecideArgs),
}

#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    id: String,
    #[arg(long)]
    reason: Option<String>,
    /// The platform-ops deployment (its guard table `abc-trading-<d>-guard`).
    #[arg(long, default_value = "dev")]
    deployment: String,
}

impl ReleaseCommand {
    /// On the deployment's AWS account with the caller's credentials: who decides is who STS says.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let (verdict, args) = match self {
            ReleaseCommand::Approve(a) => (Verdict::Approved, a),
            ReleaseCommand::Reject(a) => (Verdict::Rejected, a),
        };
        let ctx = AwsContext::load().await?;
        let identity = ctx
            .client::<aws_sdk_sts::Client>()
            .get_caller_identity()
            .send()
            .await
            .context("asking STS who is deciding")?;
        let by = identity.arn().context("STS gave no caller ARN")?.to_string();
        let approvals = GuardTable::new(ctx.client(), format!("abc-trading-{}-guard", args.deployment));
        let answers = SfnAnswers { client: ctx.client() };
        let decision = Decision { verdict, by: by.clone(), at: chrono::Utc::now(), reason: args.reason };
        match decide(&approvals, &answers, &args.id, decision).await? {
            Decided::Delivered { release, environment } => {
                println!("release {release} for {environment}: {verdict} by {by}")
            }
            Decided::Repeated { release, environment } => {
                println!("release {release} for {environment}: already {verdict} by {by}; the answer was given again")
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
