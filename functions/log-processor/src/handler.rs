//! The Lambda handler: a direct subscription payload or a Kinesis batch in; records, metrics and events out.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use serde::{Deserialize, Serialize};

use platform_core::deliveries::{Begun, Deliveries};

use crate::forward::{self, EventBus, RecordSink, RetryPolicy};
use crate::pipeline::{Pipeline, Processed};

/// What Lambda hands us: CloudWatch Logs' direct subscription or a Kinesis stream batch (the
/// cross-account path through a CloudWatch Logs destination).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Input {
    Logs { awslogs: AwsLogs },
    Kinesis(KinesisEvent),
}

#[derive(Debug, Deserialize)]
pub struct AwsLogs {
    pub data: String,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Output {
    /// Direct subscriptions: what was done, for the invocation log.
    Logs(Summary),
    /// Kinesis: the items to retry (`ReportBatchItemFailures`).
    Kinesis(KinesisEventResponse),
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub records: usize,
    pub detections: usize,
    pub dropped: u64,
    /// Delivered again after it was processed: skipped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redelivered: bool,
}

/// Stable error types the Lambda reports (`errorType`): on-failure destinations and alarms key on them.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{count} record(s) not accepted by Firehose after retries (last: {last})")]
    RecordsUndelivered { count: usize, last: String },
    #[error("{count} event(s) not accepted by EventBridge after retries (last: {last})")]
    EventsUndelivered { count: usize, last: String },
    #[error("delivery {key} is being processed by another invocation until {lease_until} (epoch s): retry after it")]
    DeliveryInProgress { key: String, lease_until: i64 },
}

/// The names [`HandlerError::error_type`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    RecordsUndelivered,
    EventsUndelivered,
    DeliveryInProgress,
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            HandlerError::RecordsUndelivered { .. } => ErrorName::RecordsUndelivered,
            HandlerError::EventsUndelivered { .. } => ErrorName::EventsUndelivered,
            HandlerError::DeliveryInProgress { .. } => ErrorName::DeliveryInProgress,
        };
        name.into()
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        platform_core::lambda::diagnostic(e.error_type(), &e)
    }
}

pub use platform_core::telemetry::{MetricsSink, StdoutMetrics};

/// Built once at init.
#[derive(Debug)]
pub struct Deps {
    pub pipeline: Pipeline,
    pub sink: Arc<dyn RecordSink>,
    pub bus: Arc<dyn EventBus>,
    pub metrics: Arc<dyn MetricsSink>,
    pub retry: RetryPolicy,
    /// Which deliveries were processed: a redelivery appends no record and publishes no event twice.
    pub deliveries: Arc<dyn Deliveries>,
}

/// How long a delivery is held by the invocation processing it: the function's timeout (60 s in
/// template.yaml), so a retry after a crash takes it over and nothing is lost.
pub const LEASE_SECONDS: i64 = 60;

/// Processes `input` once per delivery: a delivery completed before is skipped (counted), one
/// another invocation holds is refused for now. When the record of deliveries cannot be read the
/// delivery is processed anyway: logs delivered twice beat logs lost.
pub async fn handle(input: Input, deps: &Deps, now_ms: i64) -> Result<Output, HandlerError> {
    let key = delivery_key(&input);
    let now = now_ms / 1000;
    let recorded = match deps.deliveries.begin(&key, now, LEASE_SECONDS).await {
        Ok(Begun::Fresh) => true,
        Ok(Begun::Done) => {
            tracing::info!(delivery = %key, "delivered again: already processed, skipped");
            deps.metrics.emit(&redelivery_metric(deps.pipeline.environment(), now_ms));
            return Ok(match input {
                Input::Logs { .. } => Output::Logs(Summary { redelivered: true, ..Summary::default() }),
                Input::Kinesis(_) => Output::Kinesis(KinesisEventResponse::default()),
            });
        }
        Ok(Begun::InProgress { lease_until }) => return Err(HandlerError::DeliveryInProgress { key, lease_until }),
        Err(e) => {
            tracing::warn!(delivery = %key, error = %e, "the record of deliveries is unreadable: processing anyway");
            false
        }
    };
    let output = process(input, deps, now_ms).await;
    // A failed invocation, or a Kinesis batch with items to retry, is not done: the same delivery
    // comes again, and finds it free.
    let done = match &output {
        Ok(Output::Kinesis(r)) => r.batch_item_failures.is_empty(),
        Ok(Output::Logs(_)) => true,
        Err(_) => false,
    };
    if recorded {
        let recorded =
            if done { deps.deliveries.complete(&key, now).await } else { deps.deliveries.release(&key).await };
        if let Err(e) = recorded {
            tracing::warn!(delivery = %key, done, error = %e, "the delivery's outcome is not recorded");
        }
    }
    output
}

/// What identifies a delivery, the same each time it comes. A subscription payload: its length
/// and its first and last kilobyte, which hold the gzip header and the trailer's CRC-32 and size of
/// the whole uncompressed payload (hashing all 0.8 MB would cost more than a fifth of its
/// processing). A Kinesis batch: its shard and first and last sequence numbers.
pub fn delivery_key(input: &Input) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    match input {
        Input::Logs { awslogs } => {
            let data = awslogs.data.as_bytes();
            h.update(b"logs");
            h.update((data.len() as u64).to_be_bytes());
            h.update(&data[..data.len().min(1024)]);
            h.update(&data[data.len().saturating_sub(1024)..]);
        }
        Input::Kinesis(event) => {
            h.update(b"kinesis");
            if let (Some(first), Some(last)) = (event.records.first(), event.records.last()) {
                h.update(first.event_source_arn.as_deref().unwrap_or_default().as_bytes());
                h.update(first.kinesis.sequence_number.as_bytes());
                h.update(b"-");
                h.update(last.kinesis.sequence_number.as_bytes());
            }
        }
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn redelivery_metric(environment: &str, now_ms: i64) -> String {
    emf::Document::new(now_ms)
        .dimension("Environment", environment)
        .metric("LogDeliveriesSkipped", "Count", 1)
        .to_line()
}

/// One delivery processed and forwarded; its record buffer is then kept for the next.
async fn process(input: Input, deps: &Deps, now_ms: i64) -> Result<Output, HandlerError> {
    let mut processed = deps.pipeline.processed();
    let output = forward_processed(input, deps, now_ms, &mut processed).await;
    deps.pipeline.recycle(processed.records);
    output
}

async fn forward_processed(
    input: Input,
    deps: &Deps,
    now_ms: i64,
    processed: &mut Processed,
) -> Result<Output, HandlerError> {
    let output = match input {
        Input::Logs { awslogs } => {
            // A payload that cannot be decoded will not decode on retry either: it is counted as
            // dropped (by reason) and logged, not retried forever.
            if let Err(e) = deps.pipeline.process_encoded(awslogs.data.as_bytes(), processed) {
                tracing::error!(reason = e.kind(), error = %e, bytes = awslogs.data.len(), "dropped undecodable payload");
            }
            let undelivered = forward::send_records(deps.sink.as_ref(), &processed.records.slices(), deps.retry).await;
            if !undelivered.is_empty() {
                emit(deps, processed, now_ms);
                return Err(HandlerError::RecordsUndelivered {
                    count: undelivered.indices.len(),
                    last: undelivered.last_error.unwrap_or_default(),
                });
            }
            Output::Logs(Summary {
                records: processed.records.len(),
                detections: processed.detections.len(),
                dropped: processed.metrics.dropped.values().sum(),
                redelivered: false,
            })
        }
        Input::Kinesis(event) => {
            // Which Kinesis item each record came from, so a record Firehose never takes fails
            // only its own item.
            let mut owner: Vec<usize> = Vec::new();
            for (item, record) in event.records.iter().enumerate() {
                if let Err(e) = deps.pipeline.process_gzip(&record.kinesis.data.0, processed) {
                    tracing::error!(
                        reason = e.kind(),
                        error = %e,
                        sequence_number = %record.kinesis.sequence_number,
                        "dropped undecodable kinesis record"
                    );
                }
                owner.resize(processed.records.len(), item);
            }
            let undelivered = forward::send_records(deps.sink.as_ref(), &processed.records.slices(), deps.retry).await;
            let failed_items: BTreeSet<usize> = undelivered.indices.iter().map(|&i| owner[i]).collect();
            if !failed_items.is_empty() {
                tracing::error!(
                    records = undelivered.indices.len(),
                    items = failed_items.len(),
                    last = undelivered.last_error.as_deref().unwrap_or_default(),
                    "records undelivered; their kinesis items will be retried"
                );
            }
            let mut response = KinesisEventResponse::default();
            response.batch_item_failures = failed_items
                .into_iter()
                .map(|i| {
                    let mut failure = KinesisBatchItemFailure::default();
                    failure.item_identifier = Some(event.records[i].kinesis.sequence_number.clone());
                    failure
                })
                .collect();
            Output::Kinesis(response)
        }
    };

    let entries: Vec<forward::EventEntry> = processed.detections.values().map(forward::event_for).collect();
    let undelivered = forward::send_events(deps.bus.as_ref(), &entries, deps.retry).await;
    emit(deps, processed, now_ms);
    if !undelivered.is_empty() {
        return Err(HandlerError::EventsUndelivered {
            count: undelivered.indices.len(),
            last: undelivered.last_error.unwrap_or_default(),
        });
    }
    Ok(output)
}

fn emit(deps: &Deps, processed: &Processed, now_ms: i64) {
    deps.metrics.emit(&processed.metrics.to_emf(deps.pipeline.environment(), now_ms));
}
