//! The function's wiring: its environment, the dependencies built once per container (the paging key among them), and its handler.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config::TicketSystem;
use platform_core::lambda::{self, Function, InitError};
use platform_core::ports::ParameterStore;
use platform_core::trust::Boundary;
use serde::Deserialize;

use crate::aws::{CloudWatchAlarmStates, GuardIncidents, OpsItemTickets, SnsPager};
use crate::format::PagingKey;
use crate::handler::{self, Deps, HandlerError, Request, Response};

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    #[serde(flatten)]
    pub boundary: Boundary,
    pub guard_table_name: String,
    pub parameter_prefix: String,
    /// The topic whose HTTPS subscription (raw message delivery) reaches the paging provider.
    pub paging_topic_arn: String,
    /// The SecureString parameter holding the provider's routing key (PagerDuty) or API key.
    pub paging_key_parameter: String,
    /// Where docs/runbook.md is published, for links in pages and tickets; unset: the relative path.
    #[serde(default)]
    pub runbook_base_url: Option<String>,
}

/// On-call, as Lambda and the local runtime run it.
#[derive(Debug)]
pub struct OnCall;

/// The paging key, read once: a missing parameter stops the function at init, never mid-incident.
pub async fn paging_key(store: &dyn ParameterStore, name: &str) -> Result<PagingKey, InitError> {
    let found = store
        .get_many(std::slice::from_ref(&name.to_string()))
        .await
        .map_err(|e| InitError::dependency(format!("reading the paging key parameter {name}"), e))?;
    match found.get(name).filter(|k| !k.trim().is_empty()) {
        Some(key) => Ok(PagingKey::new(key.trim())),
        None => Err(InitError::dependency(
            format!("reading the paging key parameter {name}"),
            format!("parameter `{name}` does not exist or is empty"),
        )),
    }
}

impl Function for OnCall {
    const NAME: &'static str = "on-call";
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
        // Alarms, paging and the catalogue as published: read once, at start, or fail fast.
        let tree = platform_core::config::published_tree(store.as_ref(), &env.parameter_prefix).await.map_err(|e| {
            InitError::dependency(format!("reading the published config under {}", env.parameter_prefix), e)
        })?;
        let paging_key = paging_key(store.as_ref(), &env.paging_key_parameter).await?;
        if tree.monitoring.paging.tickets != TicketSystem::OpsItems {
            tracing::warn!(tickets = %tree.monitoring.paging.tickets, "ticket alarms will be refused: only ops-items is supported");
        }
        Ok(Deps {
            boundary: env.boundary,
            tree,
            parameters: store,
            parameter_prefix: env.parameter_prefix,
            incidents: Arc::new(GuardIncidents::new(ctx.client(), env.guard_table_name)),
            pager: Arc::new(SnsPager::new(ctx.client(), env.paging_topic_arn)),
            tickets: Arc::new(OpsItemTickets::new(ctx.client())),
            alarms: Arc::new(CloudWatchAlarmStates::new(ctx.client())),
            paging_key,
            runbook_base_url: env.runbook_base_url,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const ALL: &[(&str, &str)] = &[
        ("ENVIRONMENT", "dev"),
        ("AUTOMATION_ACCOUNT_ID", "123456789012"),
        ("MANAGEMENT_ACCOUNT_ID", "111111111111"),
        ("GUARD_TABLE_NAME", "abc-trading-dev-guard"),
        ("PARAMETER_PREFIX", "/abc-trading"),
        ("PAGING_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-paging"),
        ("PAGING_KEY_PARAMETER", "/abc-trading/paging/dev/routing-key"),
    ];

    #[test]
    fn the_environment_is_read_and_a_missing_variable_names_itself() {
        let env: Env = lambda::env_from(vars(ALL)).expect("env");
        assert_eq!(env.boundary.environment, "dev");
        assert_eq!(env.paging_key_parameter, "/abc-trading/paging/dev/routing-key");
        assert_eq!(env.runbook_base_url, None);
        let mut with_base = ALL.to_vec();
        with_base.push(("RUNBOOK_BASE_URL", "https://runbooks.example.invalid/platform-ops"));
        let env: Env = lambda::env_from(vars(&with_base)).expect("env");
        assert_eq!(env.runbook_base_url.as_deref(), Some("https://runbooks.example.invalid/platform-ops"));
        let missing: Vec<_> = ALL.iter().filter(|(k, _)| *k != "PAGING_TOPIC_ARN").copied().collect();
        let e = lambda::env_from::<Env>(vars(&missing)).expect_err("missing");
        assert_eq!(e.to_string(), "environment variable PAGING_TOPIC_ARN is not set");
    }
}
