//! The Lambda handler: a direct subscription payload or a Kinesis batch in; records, metrics and events out.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use serde::{Deserialize, Serialize};

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
}

/// Stable error types the Lambda reports (`errorType`): on-failure destinations and alarms key on them.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{count} record(s) not accepted by Firehose after retries (last: {last})")]
    RecordsUndelivered { count: usize, last: String },
    #[error("{count} event(s) not accepted by EventBridge after retries (last: {last})")]
    EventsUndelivered { count: usize, last: String },
}

/// The names [`HandlerError::error_type`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    RecordsUndelivered,
    EventsUndelivered,
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            HandlerError::RecordsUndelivered { .. } => ErrorName::RecordsUndelivered,
            HandlerError::EventsUndelivered { .. } => ErrorName::EventsUndelivered,
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
}

pub async fn handle(input: Input, deps: &Deps, now_ms: i64) -> Result<Output, HandlerError> {
    let mut processed = Processed::default();
    let output = match input {
        Input::Logs { awslogs } => {
            // A payload that cannot be decoded will not decode on retry either: it is counted as
            // dropped (by reason) and logged, not retried forever.
            if let Err(e) = deps.pipeline.process_encoded(awslogs.data.as_bytes(), &mut processed) {
                tracing::error!(reason = e.kind(), error = %e, bytes = awslogs.data.len(), "dropped undecodable payload");
            }
            let undelivered = forward::send_records(deps.sink.as_ref(), &processed.records.slices(), deps.retry).await;
            if !undelivered.is_empty() {
                emit(deps, &processed, now_ms);
                return Err(HandlerError::RecordsUndelivered {
                    count: undelivered.indices.len(),
                    last: undelivered.last_error.unwrap_or_default(),
                });
            }
            Output::Logs(Summary {
                records: processed.records.len(),
                detections: processed.detections.len(),
                dropped: processed.metrics.dropped.values().sum(),
            })
        }
        Input::Kinesis(event) => {
            // Which Kinesis item each record came from, so a record Firehose never takes fails
            // only its own item.
            let mut owner: Vec<usize> = Vec::new();
            for (item, record) in event.records.iter().enumerate() {
                if let Err(e) = deps.pipeline.process_gzip(&record.kinesis.data.0, &mut processed) {
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
    emit(deps, &processed, now_ms);
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
