//! Lambda entry point of the alarm scaler: configuration, clients and the runtime loop.

use std::sync::Arc;

use alarm_scaler::aws::{ContainerInsights, GuardTable, MemberGroups};
use alarm_scaler::handler::{self, Deps, Request};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use platform_core::aws::{AwsContext, SsmParameterStore, StsRoleAssumer};
use platform_core::sessions::SessionSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::telemetry::init();
    let table = platform_core::env::required("GUARD_TABLE_NAME")?;
    let role = platform_core::env::required("AUTOMATION_ROLE_NAME")?;
    let prefix = platform_core::env::required("PARAMETER_PREFIX")?;

    let ctx = AwsContext::load().await;
    let region = ctx.region().unwrap_or("us-east-1").to_string();
    let sessions = ctx.member_sessions(
        Arc::new(StsRoleAssumer::new(ctx.client(aws_sdk_sts::Client::new))),
        SessionSettings::new(role, "alarm-scaler", &region),
    );
    let deps = Deps {
        groups: Arc::new(MemberGroups::new(ctx.config().clone(), sessions.clone())),
        demand: Arc::new(ContainerInsights::new(ctx.config().clone(), sessions)),
        guard: Arc::new(GuardTable::new(ctx.client(aws_sdk_dynamodb::Client::new), table)),
        parameters: Arc::new(SsmParameterStore::new(ctx.client(aws_sdk_ssm::Client::new))),
        parameter_prefix: prefix,
        metrics: Arc::new(alarm_scaler::ports::StdoutMetrics),
        config: Default::default(),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        handler::handle(event.payload, deps)
            .await
            .map_err(|e| Diagnostic { error_type: e.error_type().to_string(), error_message: e.to_string() })
    }))
    .await
}
