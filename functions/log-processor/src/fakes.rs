//! Firehose and EventBridge in memory: every call recorded, refusals scripted per call or by content, for tests of delivery.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use platform_core::error::{AwsError, ErrorClass};

use crate::forward::{EventBus, EventEntry, RecordSink};

/// The code a refused record carries (Firehose's throttling answer).
pub const SINK_REFUSAL: &str = "ServiceUnavailableException";
/// The code a refused entry carries (EventBridge's throttling answer).
pub const BUS_REFUSAL: &str = "ThrottlingException";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; what was recorded is intact.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What one call answers, in the script's order; once the script is spent, calls go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The call goes through, refusing the items at these positions of its batch.
    Refuse(Vec<usize>),
    /// The call itself fails (the connection reset): no item of the batch is taken.
    Fail,
}

/// What both fakes share: the script, the content always refused, and every call's items.
#[derive(Debug)]
struct Delivery<T> {
    script: Mutex<VecDeque<Answer>>,
    refused_text: Option<String>,
    calls: Mutex<Vec<Vec<T>>>,
    accepted: Mutex<Vec<T>>,
}

impl<T> Default for Delivery<T> {
    fn default() -> Self {
        Delivery { script: Mutex::default(), refused_text: None, calls: Mutex::default(), accepted: Mutex::default() }
    }
}

impl<T: Clone> Delivery<T> {
    /// Records the call, then answers per item: `None` taken, or the refusal code.
    fn call(
        &self,
        operation: &'static str,
        code: &str,
        items: Vec<T>,
        text: impl Fn(&T) -> String,
    ) -> Result<Vec<Option<String>>, AwsError> {
        lock(&self.calls).push(items.clone());
        let refused = match lock(&self.script).pop_front() {
            Some(Answer::Fail) => return Err(AwsError::new(ErrorClass::Transient, operation, "connection reset")),
            Some(Answer::Refuse(positions)) => positions,
            None => Vec::new(),
        };
        let mut accepted = lock(&self.accepted);
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(k, item)| {
                let by_content = self.refused_text.as_deref().is_some_and(|t| text(&item).contains(t));
                if refused.contains(&k) || by_content {
                    return Some(code.to_string());
                }
                accepted.push(item);
                None
            })
            .collect())
    }
}

/// Firehose `PutRecordBatch` in memory.
#[derive(Debug, Default)]
pub struct MemorySink(Delivery<Vec<u8>>);

impl MemorySink {
    /// Calls answer `answers` in order, then take everything.
    pub fn scripted(answers: Vec<Answer>) -> Self {
        let sink = MemorySink::default();
        *lock(&sink.0.script) = answers.into();
        sink
    }

    /// Every record containing `text` is refused, on every call (an empty text refuses all).
    pub fn refusing(mut self, text: &str) -> Self {
        self.0.refused_text = Some(text.to_string());
        self
    }

    /// The records of every call, as sent, retries included.
    pub fn calls(&self) -> Vec<Vec<Vec<u8>>> {
        lock(&self.0.calls).clone()
    }

    /// The records taken, in the order they were.
    pub fn delivered(&self) -> Vec<Vec<u8>> {
        lock(&self.0.accepted).clone()
    }
}

#[async_trait]
impl RecordSink for MemorySink {
    async fn put_record_batch(&self, records: &[&[u8]]) -> Result<Vec<Option<String>>, AwsError> {
        let records = records.iter().map(|r| r.to_vec()).collect();
        self.0.call("PutRecordBatch", SINK_REFUSAL, records, |r| String::from_utf8_lossy(r).into_owned())
    }
}

/// EventBridge `PutEvents` in memory.
#[derive(Debug, Default)]
pub struct MemoryBus(Delivery<EventEntry>);

impl MemoryBus {
    /// Calls answer `answers` in order, then take everything.
    pub fn scripted(answers: Vec<Answer>) -> Self {
        let bus = MemoryBus::default();
        *lock(&bus.0.script) = answers.into();
        bus
    }

    /// Every entry whose detail contains `text` is refused, on every call (an empty text refuses all).
    pub fn refusing(mut self, text: &str) -> Self {
        self.0.refused_text = Some(text.to_string());
        self
    }

    /// The entries of every call, as sent, retries included.
    pub fn calls(&self) -> Vec<Vec<EventEntry>> {
        lock(&self.0.calls).clone()
    }

    /// The entries taken, in the order they were.
    pub fn events(&self) -> Vec<EventEntry> {
        lock(&self.0.accepted).clone()
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn put_events(&self, entries: &[EventEntry]) -> Result<Vec<Option<String>>, AwsError> {
        self.0.call("PutEvents", BUS_REFUSAL, entries.to_vec(), |e| e.detail.clone())
    }
}
