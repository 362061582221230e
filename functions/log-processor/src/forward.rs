//! Delivery: records to Firehose and detections to EventBridge, batched within the API limits, retrying only what failed.

use std::time::Duration;

use async_trait::async_trait;
use platform_core::error::AwsError;

use crate::pipeline::Detection;

/// PutRecordBatch limits: 500 records and 4 MiB per call, 1,000 KiB per record.
pub const FIREHOSE_MAX_RECORDS: usize = 500;
pub const FIREHOSE_MAX_BYTES: usize = 4 * 1024 * 1024;
pub const FIREHOSE_MAX_RECORD_BYTES: usize = 1000 * 1024;
/// PutEvents takes at most 10 entries per call.
pub const EVENTS_MAX_ENTRIES: usize = 10;

pub const EVENT_SOURCE: &str = "abc.platform";
pub const DETAIL_TYPE: &str = "FailureSignatureDetected";

/// Firehose `PutRecordBatch`: per record, `None` when accepted or the error code when not.
#[async_trait]
pub trait RecordSink: Send + Sync + std::fmt::Debug {
    async fn put_record_batch(&self, records: &[&[u8]]) -> Result<Vec<Option<String>>, AwsError>;
}

/// One EventBridge entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEntry {
    pub source: String,
    pub detail_type: String,
    pub detail: String,
}

/// EventBridge `PutEvents`: per entry, `None` when accepted or the error code when not.
#[async_trait]
pub trait EventBus: Send + Sync + std::fmt::Debug {
    async fn put_events(&self, entries: &[EventEntry]) -> Result<Vec<Option<String>>, AwsError>;
}

/// How hard to try before giving a record up as undelivered.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(2) }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32) -> Duration {
        self.base_delay.saturating_mul(2u32.saturating_pow(attempt)).min(self.max_delay)
    }
}

/// What could not be delivered after every retry: indices into the input, with the last reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Undelivered {
    pub indices: Vec<usize>,
    pub last_error: Option<String>,
}

impl Undelivered {
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// Sends every record, in batches within the PutRecordBatch limits, retrying only the records
/// Firehose refused (or the whole batch when the call itself failed) with exponential backoff.
pub async fn send_records(sink: &dyn RecordSink, records: &[&[u8]], policy: RetryPolicy) -> Undelivered {
    let mut undelivered = Undelivered::default();
    let mut pending: Vec<usize> = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if r.len() > FIREHOSE_MAX_RECORD_BYTES {
            undelivered.indices.push(i);
            undelivered.last_error = Some(format!("record {i} is {} bytes, above Firehose's limit", r.len()));
        } else {
            pending.push(i);
        }
    }
    let call = |batch: Vec<usize>| -> Call<'_> {
        Box::pin(async move {
            let slices: Vec<&[u8]> = batch.iter().map(|&i| records[i]).collect();
            sink.put_record_batch(&slices).await
        })
    };
    retry_refused(pending, policy, |p| batches(p, records), call, &mut undelivered).await;
    undelivered.indices.sort_unstable();
    undelivered
}

/// Publishes entries ten at a time, retrying only the refused ones.
pub async fn send_events(bus: &dyn EventBus, entries: &[EventEntry], policy: RetryPolicy) -> Undelivered {
    let mut undelivered = Undelivered::default();
    let call = |batch: Vec<usize>| -> Call<'_> {
        Box::pin(async move {
            let batch: Vec<EventEntry> = batch.iter().map(|&i| entries[i].clone()).collect();
            bus.put_events(&batch).await
        })
    };
    let chunks = |p: &[usize]| p.chunks(EVENTS_MAX_ENTRIES).map(<[usize]>::to_vec).collect();
    retry_refused((0..entries.len()).collect(), policy, chunks, call, &mut undelivered).await;
    undelivered
}

/// One delivery call. Boxed and `Send` (rather than an async closure over borrowed batches) so the
/// handler's future stays `Send` for callers that spawn it or hold it across `async_trait` methods.
type Call<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Option<String>>, AwsError>> + Send + 'a>>;

/// The delivery loop both APIs share: call per batch, keep what was refused (per item, or the
/// whole batch when the call failed), back off, try again; what is left is undelivered.
async fn retry_refused<'a, B, C>(
    mut pending: Vec<usize>,
    policy: RetryPolicy,
    batches: B,
    call: C,
    undelivered: &mut Undelivered,
) where
    B: Fn(&[usize]) -> Vec<Vec<usize>>,
    C: Fn(Vec<usize>) -> Call<'a>,
{
    for attempt in 0..policy.attempts {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            tokio::time::sleep(policy.delay(attempt - 1)).await;
        }
        let mut failed = Vec::new();
        for batch in batches(&pending) {
            match call(batch.clone()).await {
                Ok(results) => {
                    for (k, &i) in batch.iter().enumerate() {
                        // A response shorter than the request is treated as "not accepted".
                        match results.get(k) {
                            Some(None) => {}
                            Some(Some(code)) => {
                                undelivered.last_error = Some(code.clone());
                                failed.push(i);
                            }
                            None => failed.push(i),
                        }
                    }
                }
                Err(e) => {
                    undelivered.last_error = Some(e.to_string());
                    failed.extend_from_slice(&batch);
                }
            }
        }
        pending = failed;
    }
    undelivered.indices.extend(pending);
}

/// Groups record indices into calls of at most 500 records and 4 MiB.
fn batches(pending: &[usize], records: &[&[u8]]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (k, &i) in pending.iter().enumerate() {
        let len = records[i].len();
        if k > start && (k - start == FIREHOSE_MAX_RECORDS || bytes + len > FIREHOSE_MAX_BYTES) {
            out.push(pending[start..k].to_vec());
            start = k;
            bytes = 0;
        }
        bytes += len;
    }
    if start < pending.len() {
        out.push(pending[start..].to_vec());
    }
    out
}

/// The `abc.platform` event for one detection.
pub fn event_for(detection: &Detection) -> EventEntry {
    EventEntry {
        source: EVENT_SOURCE.to_string(),
        detail_type: DETAIL_TYPE.to_string(),
        // A detection is strings and numbers only, which always serialise.
        detail: serde_json::to_string(detection).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_size() {
        let record = [b'x'; 10];
        let small: Vec<&[u8]> = vec![&record[..]; 1201];
        let idx: Vec<usize> = (0..small.len()).collect();
        let sizes: Vec<usize> = batches(&idx, &small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);

        let record = vec![b'x'; 900 * 1024];
        let big: Vec<&[u8]> = vec![&record[..]; 10];
        let idx: Vec<usize> = (0..big.len()).collect();
        let groups = batches(&idx, &big);
        assert!(groups.iter().all(|b| b.iter().map(|&i| big[i].len()).sum::<usize>() <= FIREHOSE_MAX_BYTES));
        assert_eq!(groups.iter().map(|b| b.len()).sum::<usize>(), 10);
        assert_eq!(groups[0].len(), 4);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0), Duration::from_millis(100));
        assert_eq!(p.delay(1), Duration::from_millis(200));
        assert_eq!(p.delay(10), Duration::from_secs(2));
    }
}
