//! The function's wiring: its environment, the dependencies built once per container, and its handler.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use platform_core::aws::{AwsContext, CloudFormationStackSets, SsmParameterStore};
use platform_core::guard::GuardTable;
use platform_core::lambda::{self, Function, InitError};
use platform_core::trust::Boundary;
use serde::Deserialize;

use crate::aws::{CloudWatchAlarmStates, S3PlanReports, SsmFleetLedger};
use crate::handler::{self, Deps, FleetError, Request, Response};

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    #[serde(flatten)]
    pub boundary: Boundary,
    pub guard_table_name: String,
    pub parameter_prefix: String,
    pub report_bucket_name: String,
    /// The role in the management account that reads the platform StackSet's instances.
    pub fleet_plan_role_name: String,
}

/// The fleet release, as Lambda and the local runtime run it.
#[derive(Debug)]
pub struct FleetRelease;

impl Function for FleetRelease {
    const NAME: &'static str = "fleet-release";
    type Env = Env;
    type Deps = Deps;
    type Request = Request;
    type Response = Response;
    type Error = FleetError;
    const ACTIONS: &'static [&'static str] = <Request as strum::VariantNames>::VARIANTS;

    fn error_names() -> Vec<&'static str> {
        lambda::error_names_with(<crate::error::ErrorName as strum::VariantNames>::VARIANTS)
    }

    async fn deps(env: Env, ctx: &AwsContext) -> Result<Deps, InitError> {
        let store = Arc::new(SsmParameterStore::new(ctx.client()));
        let tree = platform_core::config::published_tree(store.as_ref(), &env.parameter_prefix).await.map_err(|e| {
            InitError::dependency(format!("reading the published config under {}", env.parameter_prefix), e)
        })?;
        // The platform StackSet is the management account's, read through a read-only role.
        let management =
            ctx.in_account(&ctx.sessions(env.fleet_plan_role_name, Self::NAME), &env.boundary.management_account_id);
        Ok(Deps {
            stack_sets: Arc::new(CloudFormationStackSets::new(management.client())),
            boundary: env.boundary,
            tree,
            ledger: Arc::new(SsmFleetLedger::new(store, env.parameter_prefix)),
            approvals: Arc::new(GuardTable::new(ctx.client(), env.guard_table_name)),
            // The monitoring account is this one: the per-account alarms are here.
            alarms: Arc::new(CloudWatchAlarmStates::new(ctx.client())),
            reports: Arc::new(S3PlanReports::new(ctx.client(), env.report_bucket_name)),
        })
    }

    async fn handle(request: Request, deps: &Deps) -> Result<Response, FleetError> {
        handler::handle(request, deps).await
    }
}

impl From<FleetError> for Diagnostic {
    fn from(e: FleetError) -> Self {
        lambda::diagnostic(e.error_type(), &e)
    }
}
