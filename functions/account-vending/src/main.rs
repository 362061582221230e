//! Lambda entry point of account vending: configuration, clients and the runtime loop.

use std::sync::Arc;

use account_vending::aws::{CloudFormationStackSets, GuardLedger, MemberSsm, Organizations};
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
        log_destination_name: required("LOG_DESTINATION_NAME")?,
    };
    let role = required("AUTOMATION_ROLE_NAME")?;
    let org_role = required("ORGANIZATIONS_ROLE_NAME")?;
    let management_account = required("MANAGEMENT_ACCOUNT_ID")?;
    let prefix = required("PARAMETER_PREFIX")?;
    let table = required("GUARD_TABLE_NAME")?;

    let ctx = AwsContext::load().await;
    let region = ctx.region().unwrap_or("us-east-1").to_string();
    let assumer = Arc::new(StsRoleAssumer::new(ctx.client(aws_sdk_sts::Client::new)));
    let sessions = ctx.member_sessions(assumer.clone(), SessionSettings::new(role, "account-vending", &region));
    // Organizations and the self-managed baseline StackSet live in the management account: new
    // accounts trust it (OrganizationAccountAccessRole) before they trust anything else.
    let management = ctx
        .member_sessions(assumer, SessionSettings::new(org_role, "account-vending", &region))
        .sdk_config(ctx.config(), &management_account);
    let deps = Deps {
        directory: Arc::new(Organizations::new(aws_sdk_organizations::Client::new(&management))),
        stack_sets: Arc::new(CloudFormationStackSets::new(aws_sdk_cloudformation::Client::new(&management))),
        member_parameters: Arc::new(MemberSsm::new(ctx.config().clone(), sessions)),
        ledger: Arc::new(GuardLedger::new(ctx.client(aws_sdk_dynamodb::Client::new), table)),
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
