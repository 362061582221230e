//! Account vending from the command line: request an account, or report where one stands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use platform_core::aws::AwsContext;
use platform_core::config;
use platform_ops::runtime;

use super::{AccountTarget, Output, print_runtime};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
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

impl AccountCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let tree = config::load(&root.join("config"))?;
        match self {
            AccountCommand::Request { name, email, env, client, cost_center, owner, target } => {
                let request = account_vending::request::AccountRequest {
                    account_name: name,
                    email,
                    environment: env,
                    client,
                    cost_center,
                    owner,
                };
                let event = platform_ops::account::request_event(&request, &tree).map_err(anyhow::Error::msg)?;
                let bus = tree.resource_prefix(&target.deployment);
                if target.aws {
                    let ctx = AwsContext::load().await?;
                    let id = platform_ops::account::put_event(ctx.config(), &bus, &event).await?;
                    println!("AccountRequested {id} on {bus}: vending {}", request.vending_id());
                    return Ok(ExitCode::SUCCESS);
                }
                let up = runtime::local::start(root, target.local.endpoint.as_deref()).await?;
                let dispatches = up.runtime.send_event(&bus, event).await?;
                print_runtime(&up.runtime, &dispatches, target.local.output)?;
                Ok(ExitCode::SUCCESS)
            }
            AccountCommand::Status { key, target } => {
                let table = format!("{}-guard", tree.resource_prefix(&target.deployment));
                let (sdk, describe) = if target.aws {
                    (AwsContext::load().await?.config().clone(), true)
                } else {
                    // The local runtime keeps no Step Functions executions to describe: the claim
                    // the state machine writes is the status.
                    let endpoint = target.local.endpoint.as_deref().ok_or_else(|| {
                        anyhow!("account status reads a running emulator: pass --endpoint (or PLATFORM_OPS_ENDPOINT), or --aws")
                    })?;
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
        }
    }
}
