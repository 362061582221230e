//! The function's wiring: its environment, the dependencies built once per container, and its handler.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use platform_core::aws::{AwsContext, CloudFormationStackSets, SsmParameterStore};
use platform_core::lambda::{self, Function, InitError};
use platform_core::trust::Boundary;
use serde::Deserialize;

use platform_core::guard::GuardTable;

use crate::aws::{MemberSsm, Organizations, Route53Delegation};
use crate::handler::{self, Central, Deps, Request, Response, VendingError};

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    pub environment: String,
    pub automation_account_id: String,
    pub organization_id: String,
    pub event_bus_arn: String,
    pub log_destination_name: String,
    /// The environment's OAM sink; empty until one exists (the baseline then makes no link).
    #[serde(default)]
    pub monitoring_sink_arn: String,
    pub automation_role_name: String,
    pub organizations_role_name: String,
    pub management_account_id: String,
    pub parameter_prefix: String,
    pub guard_table_name: String,
}

/// Account vending, as Lambda and the local runtime run it.
#[derive(Debug)]
pub struct AccountVending;

impl Function for AccountVending {
    const NAME: &'static str = "account-vending";
    type Env = Env;
    type Deps = Deps;
    type Request = Request;
    type Response = Response;
    type Error = VendingError;
    const ACTIONS: &'static [&'static str] = <Request as strum::VariantNames>::VARIANTS;

    fn error_names() -> Vec<&'static str> {
        lambda::error_names_with(<crate::handler::ErrorName as strum::VariantNames>::VARIANTS)
    }

    async fn deps(env: Env, ctx: &AwsContext) -> Result<Deps, InitError> {
        // Organizations and the self-managed baseline StackSet live in the management account: new
        // accounts trust it (OrganizationAccountAccessRole) before they trust anything else.
        let management =
            ctx.in_account(&ctx.sessions(env.organizations_role_name, Self::NAME), &env.management_account_id);
        Ok(Deps {
            directory: Arc::new(Organizations::new(management.client())),
            stack_sets: Arc::new(CloudFormationStackSets::new(management.client())),
            member_parameters: Arc::new(MemberSsm::new(
                ctx.members(ctx.sessions(env.automation_role_name.clone(), Self::NAME)),
            )),
            // The parent zone is this account's; the client's zone is read through its role.
            zones: Arc::new(Route53Delegation::new(
                ctx.members(ctx.sessions(env.automation_role_name, Self::NAME)),
                ctx.client(),
            )),
            ledger: Arc::new(GuardTable::new(ctx.client(), env.guard_table_name)),
            parameters: Arc::new(SsmParameterStore::new(ctx.client())),
            parameter_prefix: env.parameter_prefix,
            boundary: Boundary {
                environment: env.environment,
                automation_account_id: env.automation_account_id.clone(),
                management_account_id: env.management_account_id.clone(),
            },
            central: Central {
                automation_account_id: env.automation_account_id,
                organization_id: env.organization_id,
                event_bus_arn: env.event_bus_arn,
                log_destination_name: env.log_destination_name,
                monitoring_sink_arn: env.monitoring_sink_arn,
            },
            config: Default::default(),
        })
    }

    async fn handle(request: Request, deps: &Deps) -> Result<Response, VendingError> {
        handler::handle(request, deps).await
    }
}

impl From<VendingError> for Diagnostic {
    fn from(e: VendingError) -> Self {
        lambda::diagnostic(e.error_type(), &e)
    }
}
