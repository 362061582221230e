//! Delivery: only refused records and entries are retried; what never gets through is reported, not lost.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use log_processor::forward::{EventBus, EventEntry, RecordSink, RetryPolicy, send_events, send_records};
use log_processor::json::Records;
use platform_core::error::{AwsError, ErrorClass};

/// Answers each call from a script; each step says which positions of that call to refuse.
#[derive(Debug, Default)]
struct ScriptedSink {
    script: Mutex<VecDeque<Result<Vec<usize>, ()>>>,
    calls: Mutex<Vec<Vec<Vec<u8>>>>,
}

impl ScriptedSink {
    fn new(steps: Vec<Result<Vec<usize>, ()>>) -> Self {
        ScriptedSink { script: Mutex::new(steps.into()), calls: Mutex::default() }
    }
    fn calls(&self) -> Vec<Vec<Vec<u8>>> {
        self.calls.lock().expect("lock").clone()
    }
}

#[async_trait]
impl RecordSink for ScriptedSink {
    async fn put_record_batch(&self, records: &[&[u8]]) -> Result<Vec<Option<String>>, AwsError> {
        self.calls.lock().expect("lock").push(records.iter().map(|r| r.to_vec()).collect());
        match self.script.lock().expect("lock").pop_front().unwrap_or(Ok(vec![])) {
            Ok(refuse) => Ok((0..records.len())
                .map(|k| refuse.contains(&k).then(|| "ServiceUnavailableException".to_string()))
                .collect()),
            Err(()) => Err(AwsError::new(ErrorClass::Transient, "PutRecordBatch", "connection reset")),
        }
    }
}

fn records(n: usize) -> Records {
    let mut records = Records::default();
    for i in 0..n {
        records.push(format!("{{\"n\":{i}}}\n").as_bytes());
    }
    records
}

#[tokio::test(start_paused = true)]
async fn only_refused_records_are_sent_again() {
    let sink = ScriptedSink::new(vec![Ok(vec![1, 3]), Ok(vec![])]);
    let undelivered = send_records(&sink, &records(5).slices(), RetryPolicy::default()).await;
    assert!(undelivered.is_empty(), "{undelivered:?}");
    let calls = sink.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1], [records(5)[1].to_vec(), records(5)[3].to_vec()]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_resends_its_whole_batch() {
    let sink = ScriptedSink::new(vec![Err(()), Ok(vec![])]);
    let undelivered = send_records(&sink, &records(3).slices(), RetryPolicy::default()).await;
    assert!(undelivered.is_empty());
    assert_eq!(sink.calls()[1].len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_record_that_never_gets_through_is_reported() {
    let policy = RetryPolicy::default();
    let sink = ScriptedSink::new((0..policy.attempts).map(|_| Ok(vec![0])).collect());
    let started = tokio::time::Instant::now();
    let undelivered = send_records(&sink, &records(2).slices(), policy).await;
    assert_eq!(undelivered.indices, [0]);
    assert_eq!(undelivered.last_error.as_deref(), Some("ServiceUnavailableException"));
    assert_eq!(sink.calls().len(), policy.attempts as usize);
    // 100 + 200 + 400 + 800 ms of backoff between the five attempts.
    assert_eq!(started.elapsed().as_millis(), 1500);
}

#[tokio::test(start_paused = true)]
async fn large_volumes_are_split_within_the_limits() {
    let sink = ScriptedSink::new(vec![]);
    let undelivered = send_records(&sink, &records(1234).slices(), RetryPolicy::default()).await;
    assert!(undelivered.is_empty());
    let sizes: Vec<usize> = sink.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [500, 500, 234]);
}

#[derive(Debug, Default)]
struct FlakyBus {
    calls: Mutex<Vec<usize>>,
    refuse_first_entry_once: Mutex<bool>,
}

#[async_trait]
impl EventBus for FlakyBus {
    async fn put_events(&self, entries: &[EventEntry]) -> Result<Vec<Option<String>>, AwsError> {
        self.calls.lock().expect("lock").push(entries.len());
        let mut refuse = self.refuse_first_entry_once.lock().expect("lock");
        let out = (0..entries.len()).map(|k| (k == 0 && *refuse).then(|| "ThrottlingException".to_string())).collect();
        *refuse = false;
        Ok(out)
    }
}

#[tokio::test(start_paused = true)]
async fn events_go_ten_at_a_time_and_refused_ones_are_retried() {
    let bus = FlakyBus { refuse_first_entry_once: Mutex::new(true), ..FlakyBus::default() };
    let entries: Vec<EventEntry> = (0..25)
        .map(|i| EventEntry {
            source: "abc.platform".into(),
            detail_type: "FailureSignatureDetected".into(),
            detail: format!("{{\"i\":{i}}}"),
        })
        .collect();
    let undelivered = send_events(&bus, &entries, RetryPolicy::default()).await;
    assert!(undelivered.is_empty());
    assert_eq!(*bus.calls.lock().expect("lock"), [10, 10, 5, 1]);
}
