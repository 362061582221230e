//! The function's wiring: its environment, the dependencies built once per container, and its handler.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::guard::GuardTable;
use platform_core::lambda::{self, Function, InitError};
use platform_core::trust::Boundary;
use serde::Deserialize;

use crate::aws::SsmReleaseRecords;
use crate::handler::{self, Deps, HandlerError, Request, Response};

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    #[serde(flatten)]
    pub boundary: Boundary,
    pub guard_table_name: String,
    pub parameter_prefix: String,
}

/// Signal triage, as Lambda and the local runtime run it.
#[derive(Debug)]
pub struct SignalTriage;

impl Function for SignalTriage {
    const NAME: &'static str = "signal-triage";
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
        let store = Arc::new(SsmParameterStore::new(ctx.client()));
        // Signatures, catalogue and environments as published: read once, at start, or fail fast.
        let tree = platform_core::config::published_tree(store.as_ref(), &env.parameter_prefix).await.map_err(|e| {
            InitError::dependency(format!("reading the published config under {}", env.parameter_prefix), e)
        })?;
        Ok(Deps {
            boundary: env.boundary,
            tree,
            parameters: store.clone(),
            releases: Arc::new(SsmReleaseRecords::new(store, env.parameter_prefix.clone())),
            parameter_prefix: env.parameter_prefix,
            signals: Arc::new(GuardTable::new(ctx.client(), env.guard_table_name)),
            metrics: ctx.metrics(),
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
