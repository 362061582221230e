//! The function's wiring: its environment, the dependencies built once per container, and its handler.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use platform_core::aws::{AwsContext, CloudFormationStackSets, CloudWatchAlarms, SsmParameterStore};
use platform_core::lambda::{self, Function, InitError};
use platform_core::trust::Boundary;
use serde::Deserialize;

use crate::aws::EksClusters;
use crate::ecr::EcrImages;
use crate::edge::{AutoScalingRoute53Routing, Edge, SsmPlatformExports, TlsProbe};
use crate::handler::{self, DeployError, Deps, Request, Response};
use crate::ledger::SsmReleaseLedger;
use crate::render::Registry;

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    pub environment: String,
    pub automation_account_id: String,
    pub automation_role_name: String,
    pub parameter_prefix: String,
    /// The guard table: one lease per account being deployed.
    pub guard_table_name: String,
    pub management_account_id: String,
    pub platform_stackset_role_name: String,
    /// The account of the central ECR every release's images come from.
    pub image_registry_account_id: String,
}

/// Platform deploy, as Lambda and the local runtime run it.
#[derive(Debug)]
pub struct PlatformDeploy;

impl Function for PlatformDeploy {
    const NAME: &'static str = "platform-deploy";
    type Env = Env;
    type Deps = Deps;
    type Request = Request;
    type Response = Response;
    type Error = DeployError;
    const ACTIONS: &'static [&'static str] = <Request as strum::VariantNames>::VARIANTS;

    fn error_names() -> Vec<&'static str> {
        lambda::error_names_with(<crate::handler::ErrorName as strum::VariantNames>::VARIANTS)
    }

    async fn deps(env: Env, ctx: &AwsContext) -> Result<Deps, InitError> {
        let store = Arc::new(SsmParameterStore::new(ctx.client()));
        // The catalogue and environments as published: read once, at start, or fail fast.
        let tree = platform_core::config::published_tree(store.as_ref(), &env.parameter_prefix).await.map_err(|e| {
            InitError::dependency(format!("reading the published config under {}", env.parameter_prefix), e)
        })?;
        // The platform StackSet is self-managed from the management account, like the baseline.
        let management =
            ctx.in_account(&ctx.sessions(env.platform_stackset_role_name, Self::NAME), &env.management_account_id);
        // One set of member sessions (the deploy role) for the cluster and the edge.
        let members = ctx.members(ctx.sessions(env.automation_role_name, Self::NAME));
        let probe = TlsProbe::public().map_err(|e| InitError::dependency("configuring the endpoint check's TLS", e))?;
        Ok(Deps {
            boundary: Boundary {
                environment: env.environment,
                automation_account_id: env.automation_account_id,
                management_account_id: env.management_account_id.clone(),
            },
            clusters: Arc::new(EksClusters::new(members.clone(), tree.organization.name_prefix.clone())),
            edge: Edge {
                exports: Arc::new(SsmPlatformExports::new(members.clone(), env.parameter_prefix.clone())),
                routing: Arc::new(AutoScalingRoute53Routing::new(members)),
                probe: Arc::new(probe),
            },
            database_probe: Arc::new(crate::database_probe::TcpDatabaseProbe::new(crate::database_probe::TIMEOUT)),
            leases: Arc::new(platform_core::guard::GuardTable::new(ctx.client(), env.guard_table_name.clone())),
            stack_sets: Arc::new(CloudFormationStackSets::new(management.client())),
            // The monitoring account is this one: the log processor's metrics are here.
            alarms: Arc::new(CloudWatchAlarms::new(ctx.client())),
            ledger: Arc::new(SsmReleaseLedger::new(store, env.parameter_prefix)),
            // The registry is in the home region, read with this function's role (the registry
            // account's repository policy and this role's ecr:Describe* allow it).
            images: Arc::new(EcrImages::new(
                ctx.in_region(&tree.organization.home_region).client(),
                env.image_registry_account_id.clone(),
            )),
            registry: Registry {
                account: env.image_registry_account_id,
                region: tree.organization.home_region.clone(),
            },
            tree,
        })
    }

    async fn handle(request: Request, deps: &Deps) -> Result<Response, DeployError> {
        handler::handle(request, deps).await
    }
}

impl From<DeployError> for Diagnostic {
    fn from(e: DeployError) -> Self {
        lambda::diagnostic(e.error_type(), &e)
    }
}
