//! The function's wiring: its environment, the dependencies built once per container, and its handler.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::lambda::{self, Function, InitError};
use platform_core::trust::Boundary;
use serde::Deserialize;

use crate::aws::{ContainerInsights, GuardTable, MemberGroups};
use crate::handler::{self, Deps, HandlerError, Request, Response};

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    #[serde(flatten)]
    pub boundary: Boundary,
    pub guard_table_name: String,
    pub automation_role_name: String,
    pub parameter_prefix: String,
}

/// The alarm scaler, as Lambda and the local runtime run it.
#[derive(Debug)]
pub struct AlarmScaler;

impl Function for AlarmScaler {
    const NAME: &'static str = "alarm-scaler";
    type Env = Env;
    type Deps = Deps;
    type Request = Request;
    type Response = Response;
    type Error = HandlerError;
    const ACTIONS: &'static [&'static str] = <Request as strum::VariantNames>::VARIANTS;

    fn error_names() -> Vec<&'static str> {
        lambda::error_names_with(<crate::handler::ErrorName as strum::VariantNames>::VARIANTS)
    }

    async fn deps(env: Env, ctx: &AwsContext) -> Result<Deps, InitError> {
        let members = ctx.members(ctx.sessions(env.automation_role_name, Self::NAME));
        Ok(Deps {
            boundary: env.boundary,
            groups: Arc::new(MemberGroups::new(members.clone())),
            demand: Arc::new(ContainerInsights::new(members)),
            guard: Arc::new(GuardTable::new(ctx.client(), env.guard_table_name)),
            parameters: Arc::new(SsmParameterStore::new(ctx.client())),
            parameter_prefix: env.parameter_prefix,
            metrics: ctx.metrics(),
            config: Default::default(),
            vended: Default::default(),
        })
    }

    async fn handle(request: Request, deps: &Deps) -> Result<Response, HandlerError> {
        handler::handle(request, deps).await
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda::diagnostic(e.error_type(), &e)
    }
}
