//! The function's wiring: its environment, the dependencies built once per container, and its handler.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use platform_core::aws::{AwsContext, CloudFormationStackSets, CloudWatchIndicators, SsmParameterStore};
use platform_core::capacity::MemberGroups;
use platform_core::guard::GuardTable;
use platform_core::lambda::{self, Function, InitError};
use serde::Deserialize;

use crate::aws::{Organizations, S3Reports};
use crate::handler::{self, Deps, Request, Response, ScheduleError};
use crate::restore::aws::RdsDatabases;

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    /// The environment this stack serves: its schedules read, resize and re-apply nothing else.
    pub environment: String,
    pub automation_role_name: String,
    pub schedules_management_role_name: String,
    pub management_account_id: String,
    pub parameter_prefix: String,
    pub guard_table_name: String,
    pub report_bucket_name: String,
}

/// The scheduled operations, as Lambda and the local runtime run them.
#[derive(Debug)]
pub struct ScheduledOps;

impl Function for ScheduledOps {
    const NAME: &'static str = "scheduled-ops";
    type Env = Env;
    type Deps = Deps;
    type Request = Request;
    type Response = Response;
    type Error = ScheduleError;
    const ACTIONS: &'static [&'static str] = <Request as strum::VariantNames>::VARIANTS;

    fn error_names() -> Vec<&'static str> {
        lambda::error_names_with(<crate::restore::ErrorName as strum::VariantNames>::VARIANTS)
    }

    async fn deps(env: Env, ctx: &AwsContext) -> Result<Deps, InitError> {
        let store = Arc::new(SsmParameterStore::new(ctx.client()));
        // The catalogue and environments as published: read once, at start, or fail fast.
        let mut tree =
            platform_core::config::published_tree(store.as_ref(), &env.parameter_prefix).await.map_err(|e| {
                InitError::dependency(format!("reading the published config under {}", env.parameter_prefix), e)
            })?;
        // Each environment's stack sees only its own environment: its roles are trusted by that
        // environment's accounts alone, and a dev schedule must never resize or re-apply prod.
        tree.environments.retain(|name, _| name == &env.environment);
        if tree.environments.is_empty() {
            return Err(InitError::BadVariable {
                name: "ENVIRONMENT".into(),
                message: format!("environment `{}` is not in the published config", env.environment),
            });
        }
        // Organizations and both StackSets are read (and drifted instances re-applied) from the
        // management account, through a role that may do only that.
        let management =
            ctx.in_account(&ctx.sessions(env.schedules_management_role_name, Self::NAME), &env.management_account_id);
        let stack_sets = Arc::new(CloudFormationStackSets::new(management.client()));
        // One set of member sessions (the schedules' role) for nodegroups and databases.
        let members = ctx.members(ctx.sessions(env.automation_role_name, Self::NAME));
        let databases = Arc::new(RdsDatabases::new(members.clone()));
        Ok(Deps {
            tree,
            directory: Arc::new(Organizations::new(management.client())),
            stack_sets: stack_sets.clone(),
            drift: stack_sets,
            groups: Arc::new(MemberGroups::new(members)),
            guard: Arc::new(GuardTable::new(ctx.client(), env.guard_table_name)),
            parameters: store,
            reports: Arc::new(S3Reports::new(ctx.client(), env.report_bucket_name)),
            indicators: Arc::new(CloudWatchIndicators::new(ctx.client())),
            metrics: ctx.metrics(),
            inventory_prefix: crate::inventory::PREFIX.into(),
            recovery_points: databases.clone(),
            databases,
        })
    }

    async fn handle(request: Request, deps: &Deps) -> Result<Response, ScheduleError> {
        handler::handle(request, deps).await
    }
}

impl From<ScheduleError> for Diagnostic {
    fn from(e: ScheduleError) -> Self {
        lambda::diagnostic(e.error_type(), &e)
    }
}
