//! Delivery: only refused records and entries are retried; what never gets through is reported, not lost.

use log_processor::fakes::{Answer, MemoryBus, MemorySink};
use log_processor::forward::{EventEntry, RetryPolicy, send_events, send_records};
use log_processor::json::Records;

fn records(n: usize) -> Records {
    let mut records = Records::default();
    for i in 0..n {
        records.push(format!("{{\"n\":{i}}}\n").as_bytes());
    }
    records
}

#[tokio::test(start_paused = true)]
async fn only_refused_records_are_sent_again() {
    let sink = MemorySink::scripted(vec![Answer::Refuse(vec![1, 3]), Answer::Refuse(vec![])]);
    let undelivered = send_records(&sink, &records(5).slices(), RetryPolicy::default()).await;
    assert!(undelivered.is_empty(), "{undelivered:?}");
    let calls = sink.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1], [records(5)[1].to_vec(), records(5)[3].to_vec()]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_resends_its_whole_batch() {
    let sink = MemorySink::scripted(vec![Answer::Fail, Answer::Refuse(vec![])]);
    let undelivered = send_records(&sink, &records(3).slices(), RetryPolicy::default()).await;
    assert!(undelivered.is_empty());
    assert_eq!(sink.calls()[1].len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_record_that_never_gets_through_is_reported() {
    let policy = RetryPolicy::default();
    let sink = MemorySink::scripted((0..policy.attempts).map(|_| Answer::Refuse(vec![0])).collect());
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
    let sink = MemorySink::default();
    let undelivered = send_records(&sink, &records(1234).slices(), RetryPolicy::default()).await;
    assert!(undelivered.is_empty());
    let sizes: Vec<usize> = sink.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [500, 500, 234]);
}

#[tokio::test(start_paused = true)]
async fn events_go_ten_at_a_time_and_refused_ones_are_retried() {
    let bus = MemoryBus::scripted(vec![Answer::Refuse(vec![0])]);
    let entries: Vec<EventEntry> = (0..25)
        .map(|i| EventEntry {
            source: "abc.platform".into(),
            detail_type: "FailureSignatureDetected".into(),
            detail: format!("{{\"i\":{i}}}"),
        })
        .collect();
    let undelivered = send_events(&bus, &entries, RetryPolicy::default()).await;
    assert!(undelivered.is_empty());
    let sizes: Vec<usize> = bus.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5, 1]);
}
