//! The function's wiring: its environment, the dependencies built once per container, and its handler.

use std::sync::Arc;

use platform_core::aws::AwsContext;
use platform_core::guard::DeliveryTable;
use platform_core::lambda::{Function, InitError};
use serde::Deserialize;

use crate::aws::{EventBridgeBus, FirehoseSink};
use crate::forward::RetryPolicy;
use crate::handler::{self, Deps, HandlerError, Input, Output};
use crate::pipeline::Pipeline;

/// The variables `template.yaml` gives the function.
#[derive(Debug, Clone, Deserialize)]
pub struct Env {
    pub environment: String,
    pub delivery_stream_name: String,
    pub event_bus_name: String,
    /// The guard table, where deliveries processed are recorded (`delivery#log-processor#*`).
    pub guard_table_name: String,
}

/// The log processor, as Lambda and the local runtime run it.
#[derive(Debug)]
pub struct LogProcessor;

impl Function for LogProcessor {
    const NAME: &'static str = "log-processor";
    type Env = Env;
    type Deps = Deps;
    type Request = Input;
    type Response = Output;
    type Error = HandlerError;

    fn error_names() -> Vec<&'static str> {
        <crate::handler::ErrorName as strum::VariantNames>::VARIANTS.to_vec()
    }

    async fn deps(env: Env, ctx: &AwsContext) -> Result<Deps, InitError> {
        let pipeline = Pipeline::new(env.environment.clone())
            .map_err(|e| InitError::dependency(format!("building the pipeline for `{}`", env.environment), e))?;
        Ok(Deps {
            pipeline,
            sink: Arc::new(FirehoseSink::new(ctx.client(), env.delivery_stream_name)),
            bus: Arc::new(EventBridgeBus::new(ctx.client(), env.event_bus_name)),
            metrics: ctx.metrics(),
            retry: RetryPolicy::default(),
            deliveries: Arc::new(DeliveryTable::new(ctx.client(), env.guard_table_name, "log-processor")),
        })
    }

    async fn handle(input: Input, deps: &Deps) -> Result<Output, HandlerError> {
        handler::handle(input, deps, now_ms()).await
    }
}

/// Milliseconds since the epoch (EMF timestamps); a clock before 1970 reads as 0.
fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
