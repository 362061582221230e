//! AWS adapters for delivery: Firehose `PutRecordBatch` and EventBridge `PutEvents`.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use platform_core::aws::Lazy;
use platform_core::error::{AwsError, ClassifyExt, build_error};

use crate::forward::{EventBus, EventEntry, RecordSink};

#[derive(Debug, Clone)]
pub struct FirehoseSink {
    client: Lazy<aws_sdk_firehose::Client>,
    stream: String,
}

impl FirehoseSink {
    pub fn new(client: Lazy<aws_sdk_firehose::Client>, stream: impl Into<String>) -> Self {
        FirehoseSink { client, stream: stream.into() }
    }
}

#[async_trait]
impl RecordSink for FirehoseSink {
    async fn put_record_batch(&self, records: &[&[u8]]) -> Result<Vec<Option<String>>, AwsError> {
        let records = records
            .iter()
            .map(|r| {
                Record::builder().data(Blob::new(r.to_vec())).build().map_err(|e| build_error("PutRecordBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await
            .classify("PutRecordBatch")?;
        Ok(out.request_responses.into_iter().map(|r| r.error_code).collect())
    }
}

#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Lazy<aws_sdk_eventbridge::Client>,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: Lazy<aws_sdk_eventbridge::Client>, bus: impl Into<String>) -> Self {
        EventBridgeBus { client, bus: bus.into() }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn put_events(&self, entries: &[EventEntry]) -> Result<Vec<Option<String>>, AwsError> {
        let entries = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(&e.source)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .build()
            })
            .collect();
        let out = self.client.put_events().set_entries(Some(entries)).send().await.classify("PutEvents")?;
        Ok(out.entries.unwrap_or_default().into_iter().map(|e| e.error_code).collect())
    }
}
