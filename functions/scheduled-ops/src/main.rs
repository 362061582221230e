//! Lambda entry point of the scheduled operations: configuration, clients and the runtime loop.

use std::sync::Arc;

use alarm_scaler::aws::{GuardTable, MemberGroups};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use platform_core::aws::{AwsContext, CloudFormationStackSets, SsmParameterStore, StsRoleAssumer};
use platform_core::env::required;
use platform_core::sessions::SessionSettings;
use platform_core::telemetry::StdoutMetrics;
use scheduled_ops::aws::{Organizations, S3Reports};
use scheduled_ops::handler::{self, Deps, Request};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::telemetry::init();
    let role = required("AUTOMATION_ROLE_NAME")?;
    let management_role = required("SCHEDULES_MANAGEMENT_ROLE_NAME")?;
    let management_account = required("MANAGEMENT_ACCOUNT_ID")?;
    let prefix = required("PARAMETER_PREFIX")?;
    let table = required("GUARD_TABLE_NAME")?;
    let bucket = required("REPORT_BUCKET_NAME")?;

    let ctx = AwsContext::load().await;
    let region = ctx.region().unwrap_or("us-east-1").to_string();
    let store = Arc::new(SsmParameterStore::new(ctx.client(aws_sdk_ssm::Client::new)));
    // The catalogue and environments as published: read once, at start, or fail fast.
    let tree = platform_core::config::published_tree(store.as_ref(), &prefix).await?;
    let assumer = Arc::new(StsRoleAssumer::new(ctx.client(aws_sdk_sts::Client::new)));
    let sessions = ctx.member_sessions(assumer.clone(), SessionSettings::new(role, "scheduled-ops", &region));
    // Organizations and both StackSets are read (and drifted instances re-applied) from the
    // management account, through a role that may do only that.
    let management = ctx
        .member_sessions(assumer, SessionSettings::new(management_role, "scheduled-ops", &region))
        .sdk_config(ctx.config(), &management_account);
    let stack_sets = Arc::new(CloudFormationStackSets::new(aws_sdk_cloudformation::Client::new(&management)));
    let deps = Deps {
        tree,
        directory: Arc::new(Organizations::new(aws_sdk_organizations::Client::new(&management))),
        stack_sets: stack_sets.clone(),
        drift: stack_sets,
        groups: Arc::new(MemberGroups::new(ctx.config().clone(), sessions)),
        guard: Arc::new(GuardTable::new(ctx.client(aws_sdk_dynamodb::Client::new), table)),
        parameters: store,
        reports: Arc::new(S3Reports::new(ctx.client(aws_sdk_s3::Client::new), bucket)),
        metrics: Arc::new(StdoutMetrics),
        inventory_prefix: scheduled_ops::inventory::PREFIX.into(),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        handler::handle(event.payload, deps)
            .await
            .map_err(|e| Diagnostic { error_type: e.error_type().to_string(), error_message: e.to_string() })
    }))
    .await
}
