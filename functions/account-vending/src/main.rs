//! Lambda entry point of account vending: configuration, clients and the runtime loop.

use std::sync::Arc;

use account_vending::aws::{CloudFormationStackSets, MemberSsm, Organizations};
use account_vending::handler::{self, Central, Deps, Request};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use platform_core::aws::{AwsContext, SsmParameterStore, StsRoleAssumer};
use platform_core::env::required;
use platform_core::sessions::SessionSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::telemetry::init();
    let central = Central {
        automation_account_id: required("AUTOMATION_ACCOUNT_ID")?,
        organization_id: required("ORGANIZATION_ID")?,
        event_bus_arn: required("EVENT_BUS_ARN")?,
        log_destination_arn: required("LOG_DESTINATION_ARN")?,
    };
    let role = required("AUTOMATION_ROLE_NAME")?;
    let prefix = required("PARAMETER_PREFIX")?;

    let ctx = AwsContext::load().await;
    let region = ctx.region().unwrap_or("us-east-1").to_string();
    let sessions = ctx.member_sessions(
        Arc::new(StsRoleAssumer::new(ctx.client(aws_sdk_sts::Client::new))),
        SessionSettings::new(role, "account-vending", &region),
    );
    let deps = Deps {
        directory: Arc::new(Organizations::new(ctx.client(aws_sdk_organizations::Client::new))),
        stack_sets: Arc::new(CloudFormationStackSets::new(ctx.client(aws_sdk_cloudformation::Client::new))),
        member_parameters: Arc::new(MemberSsm::new(ctx.config().clone(), sessions)),
        parameters: Arc::new(SsmParameterStore::new(ctx.client(aws_sdk_ssm::Client::new))),
        parameter_prefix: prefix,
        central,
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
