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
        // The async runtime counted the cores this process may use (the cgroup's CPU quota too)
        // as it started: counting again would read three cgroup files, 30 µs of a cold start.
        let pipeline = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Pipeline::for_cores(env.environment.clone(), runtime.metrics().num_workers()),
            Err(_) => Pipeline::new(env.environment.clone()),
        };
        let pipeline = pipeline
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The Lambda wiring splits batches across the async runtime's workers, counted once as the
    /// runtime started.
    #[test]
    fn the_pipeline_takes_the_async_runtimes_core_count() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-2"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let ctx = AwsContext::from_config(config).expect("region");
        let env = || Env {
            environment: "dev".into(),
            delivery_stream_name: "stream".into(),
            event_bus_name: "bus".into(),
            guard_table_name: "guard".into(),
        };
        for workers in [1, 3] {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().expect("rt");
            let deps = runtime.block_on(LogProcessor::deps(env(), &ctx)).expect("deps");
            assert_eq!(deps.pipeline.workers(), workers);
        }
        let alone = Pipeline::for_cores("dev", 64).expect("pipeline");
        assert_eq!(alone.workers(), 6, "at most six: Lambda's most vCPUs");
        assert_eq!(Pipeline::for_cores("dev", 0).expect("pipeline").workers(), 1);
    }
}
