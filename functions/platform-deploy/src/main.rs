//! Lambda entry point of platform deploy: configuration, clients and the runtime loop.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use platform_core::aws::{AwsContext, CloudFormationStackSets, SsmParameterStore, StsRoleAssumer};
use platform_core::env::required;
use platform_core::sessions::SessionSettings;
use platform_deploy::aws::EksClusters;
use platform_deploy::handler::{self, Deps, Request};
use platform_deploy::ledger::SsmReleaseLedger;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::telemetry::init();
    let role = required("AUTOMATION_ROLE_NAME")?;
    let prefix = required("PARAMETER_PREFIX")?;
    let management_account = required("MANAGEMENT_ACCOUNT_ID")?;
    let stack_set_role = required("PLATFORM_STACKSET_ROLE_NAME")?;

    let ctx = AwsContext::load().await;
    let region = ctx.region().unwrap_or("us-east-1").to_string();
    let store = Arc::new(SsmParameterStore::new(ctx.client(aws_sdk_ssm::Client::new)));
    // The catalogue and environments as published: read once, at start, or fail fast.
    let tree = platform_core::config::published_tree(store.as_ref(), &prefix).await?;
    let assumer = Arc::new(StsRoleAssumer::new(ctx.client(aws_sdk_sts::Client::new)));
    let sessions = ctx.member_sessions(assumer.clone(), SessionSettings::new(role.clone(), "platform-deploy", &region));
    // The platform StackSet is self-managed from the management account, like the baseline.
    let management = ctx
        .member_sessions(assumer, SessionSettings::new(stack_set_role, "platform-deploy", &region))
        .sdk_config(ctx.config(), &management_account);
    let deps = Deps {
        clusters: Arc::new(EksClusters::new(
            ctx.config().clone(),
            sessions,
            tree.organization.name_prefix.clone(),
            role,
        )),
        stack_sets: Arc::new(CloudFormationStackSets::new(aws_sdk_cloudformation::Client::new(&management))),
        ledger: Arc::new(SsmReleaseLedger::new(store, prefix)),
        tree,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        handler::handle(event.payload, deps)
            .await
            .map_err(|e| Diagnostic { error_type: e.error_type().to_string(), error_message: e.to_string() })
    }))
    .await
}
