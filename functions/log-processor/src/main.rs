//! Lambda entry point of the log processor: configuration, clients and the runtime loop.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use log_processor::aws::{EventBridgeBus, FirehoseSink};
use log_processor::forward::RetryPolicy;
use log_processor::handler::{self, Deps, Input, StdoutMetrics};
use log_processor::pipeline::Pipeline;
use platform_core::aws::AwsContext;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::telemetry::init();
    let environment = platform_core::env::required("ENVIRONMENT")?;
    let stream = platform_core::env::required("DELIVERY_STREAM_NAME")?;
    let bus = platform_core::env::required("EVENT_BUS_NAME")?;

    let ctx = AwsContext::load().await;
    let deps = Deps {
        pipeline: Pipeline::new(environment)?,
        sink: Arc::new(FirehoseSink::new(ctx.client(aws_sdk_firehose::Client::new), stream)),
        bus: Arc::new(EventBridgeBus::new(ctx.client(aws_sdk_eventbridge::Client::new), bus)),
        metrics: Arc::new(StdoutMetrics),
        retry: RetryPolicy::default(),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Input>| async move {
        let now_ms = i64::try_from(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0),
        )
        .unwrap_or(i64::MAX);
        handler::handle(event.payload, deps, now_ms).await
    }))
    .await
}
