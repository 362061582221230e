//! The handler on real-shaped Lambda events (`tests/fixtures/events/`), with fake Firehose and EventBridge.

use std::path::Path;
use std::sync::Arc;

use log_processor::fakes::{MemoryBus, MemorySink};
use log_processor::forward::RetryPolicy;
use log_processor::handler::{Deps, HandlerError, Input, Output, handle};
use log_processor::pipeline::Pipeline;
use platform_core::deliveries::Deliveries as _;
use platform_core::fakes::{CapturedMetrics, MemoryDeliveries};
use serde_json::Value;

fn fixture(name: &str) -> Input {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("a Lambda event")
}

struct World {
    deliveries: Arc<MemoryDeliveries>,
    firehose: Arc<MemorySink>,
    bus: Arc<MemoryBus>,
    emf: Arc<CapturedMetrics>,
    deps: Deps,
}

impl World {
    /// The records Firehose took, as JSON.
    fn delivered(&self) -> Vec<Value> {
        self.firehose.delivered().iter().map(|r| serde_json::from_slice(r).expect("record json")).collect()
    }
}

fn world(firehose: MemorySink, bus: MemoryBus) -> World {
    let (firehose, bus, emf) = (Arc::new(firehose), Arc::new(bus), Arc::new(CapturedMetrics::default()));
    let deliveries = Arc::new(MemoryDeliveries::default());
    let deps = Deps {
        deliveries: deliveries.clone(),
        pipeline: Pipeline::new("dev").expect("pipeline"),
        sink: firehose.clone(),
        bus: bus.clone(),
        metrics: emf.clone(),
        retry: RetryPolicy { attempts: 2, ..RetryPolicy::default() },
    };
    World { deliveries, firehose, bus, emf, deps }
}

#[tokio::test(start_paused = true)]
async fn a_direct_subscription_is_forwarded_redacted_with_metrics_and_events() {
    let w = world(MemorySink::default(), MemoryBus::default());
    let out = handle(fixture("cloudwatch-logs-subscription.json"), &w.deps, 1_763_978_500_000).await.expect("ok");
    let Output::Logs(summary) = out else { panic!("direct subscriptions answer with a summary") };
    assert_eq!((summary.records, summary.detections, summary.dropped), (3, 1, 0));

    let delivered = w.delivered();
    assert_eq!(delivered.len(), 3);
    assert!(delivered.iter().all(|r| r["service"] == "trade-execution" && r["environment"] == "dev"));
    assert!(!serde_json::to_string(&delivered).expect("json").contains("Pr0dPassw0rd"), "password leaked");

    let events = w.bus.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].source.as_str(), events[0].detail_type.as_str()),
        ("abc.platform", "FailureSignatureDetected")
    );
    let detail: Value = serde_json::from_str(&events[0].detail).expect("detail");
    assert_eq!(detail["signature"], "DatabaseUnreachable");
    assert_eq!(detail["service"], "trade-execution");
    assert_eq!(detail["severity"], "critical");

    let emf = w.emf.text();
    let doc: Value = serde_json::from_str(emf.lines().next().expect("one document")).expect("emf");
    assert_eq!(doc["Service"], "trade-execution");
    assert_eq!(doc["Events"], 3.0);
    assert_eq!(doc["Errors"], 1.0);
    assert_eq!(doc["Redactions"], 1.0);
}

#[tokio::test(start_paused = true)]
async fn kinesis_batches_report_only_the_items_whose_records_failed() {
    // Everything from the audit item (the third) is refused by Firehose, every time.
    let w = world(MemorySink::default().refusing("audit event stored"), MemoryBus::default());
    let out = handle(fixture("kinesis-logs-destination.json"), &w.deps, 0).await.expect("ok");
    let Output::Kinesis(response) = out else { panic!("kinesis answers with batch item failures") };
    let failed: Vec<Option<String>> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, [Some("495903042347623901884379876509877061246796864500002".to_string())]);

    let delivered = w.delivered();
    assert_eq!(delivered.len(), 2, "the settlement item's two lines got through");
    assert!(delivered.iter().all(|r| r["service"] == "settlement" && r["account"] == "222222222222"));
    assert_eq!(delivered[0]["pod"], "settlement-7c9d8-abcde");

    let events = w.bus.events();
    assert_eq!(events.len(), 1, "CrashLoopBackOff raised once");
    let emf = w.emf.text();
    assert!(emf.contains("\"ControlMessages\":1.0"), "{emf}");
}

#[tokio::test(start_paused = true)]
async fn an_undecodable_direct_payload_is_dropped_counted_and_not_retried() {
    let w = world(MemorySink::default(), MemoryBus::default());
    let input: Input = serde_json::from_str(r#"{"awslogs":{"data":"H4sI%%%broken"}}"#).expect("event");
    let out = handle(input, &w.deps, 0).await.expect("a poison payload is not retried");
    assert_eq!(
        out,
        Output::Logs(log_processor::handler::Summary { records: 0, detections: 0, dropped: 1, redelivered: false })
    );
    assert!(w.emf.text().contains("\"Dropped.base64\":1.0"));
}

#[tokio::test(start_paused = true)]
async fn records_firehose_never_takes_fail_the_invocation() {
    let w = world(MemorySink::default().refusing("trade-execution"), MemoryBus::default());
    let err = handle(fixture("cloudwatch-logs-subscription.json"), &w.deps, 0).await.expect_err("undelivered");
    assert!(matches!(err, HandlerError::RecordsUndelivered { count: 3, .. }), "{err}");
    assert_eq!(err.error_type(), "RecordsUndelivered");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "RecordsUndelivered");
}

#[tokio::test(start_paused = true)]
async fn events_eventbridge_never_takes_fail_the_invocation() {
    let w = world(MemorySink::default(), MemoryBus::default().refusing(""));
    let err = handle(fixture("cloudwatch-logs-subscription.json"), &w.deps, 0).await.expect_err("undelivered");
    assert_eq!(err.error_type(), "EventsUndelivered");
}

/// GIVEN a subscription payload delivered twice (Lambda's asynchronous invocations are at least
/// once) THEN the second delivery appends no record and publishes no event, and says so.
#[tokio::test(start_paused = true)]
async fn a_delivery_that_comes_again_is_skipped() {
    let w = world(MemorySink::default(), MemoryBus::default());
    handle(fixture("cloudwatch-logs-subscription.json"), &w.deps, 1_763_978_500_000).await.expect("first");
    let again = handle(fixture("cloudwatch-logs-subscription.json"), &w.deps, 1_763_978_560_000).await.expect("again");
    let Output::Logs(summary) = again else { panic!("a summary") };
    assert!(summary.redelivered);
    assert_eq!((w.delivered().len(), w.bus.events().len()), (3, 1), "nothing twice");
    assert!(w.emf.text().contains("LogDeliveriesSkipped"), "the skip is counted");
}

/// GIVEN another invocation still holding the delivery THEN this one refuses it for now (its retry
/// comes after the lease); GIVEN the holder died (lease run out) THEN the delivery is taken over
/// and processed, so a crash loses nothing.
#[tokio::test(start_paused = true)]
async fn a_delivery_held_elsewhere_waits_and_a_dead_holders_is_taken_over() {
    let w = world(MemorySink::default(), MemoryBus::default());
    let input = fixture("cloudwatch-logs-subscription.json");
    let key = log_processor::handler::delivery_key(&input);
    let now = 1_763_978_500;
    w.deliveries.begin(&key, now, 60).await.expect("another invocation begins it");
    let err = handle(input, &w.deps, now * 1000 + 5_000).await.expect_err("held");
    assert_eq!(err.error_type(), "DeliveryInProgress");
    assert_eq!(w.delivered().len(), 0);
    let late =
        handle(fixture("cloudwatch-logs-subscription.json"), &w.deps, (now + 61) * 1000).await.expect("taken over");
    assert!(matches!(late, Output::Logs(ref s) if s.records == 3 && !s.redelivered), "{late:?}");
}

/// GIVEN the record of deliveries unavailable THEN logs are processed anyway (twice beats never).
#[tokio::test(start_paused = true)]
async fn logs_are_processed_when_the_record_of_deliveries_is_down() {
    let w = world(MemorySink::default(), MemoryBus::default());
    w.deliveries.fail.store(true, std::sync::atomic::Ordering::Relaxed);
    handle(fixture("cloudwatch-logs-subscription.json"), &w.deps, 0).await.expect("processed");
    assert_eq!(w.delivered().len(), 3);
}

/// GIVEN a Kinesis batch with an item Firehose refused THEN the batch is not recorded as done: the
/// same batch coming again is processed again, not skipped.
#[tokio::test(start_paused = true)]
async fn a_kinesis_batch_with_failed_items_is_not_done() {
    let w = world(MemorySink::default().refusing("audit event stored"), MemoryBus::default());
    handle(fixture("kinesis-logs-destination.json"), &w.deps, 0).await.expect("first");
    let before = w.firehose.delivered().len();
    handle(fixture("kinesis-logs-destination.json"), &w.deps, 1_000).await.expect("again");
    assert!(w.firehose.delivered().len() > before, "processed again");
}

/// The Kinesis fixture with its third (audit) item's data replaced by `data`, base64 as Lambda
/// hands it over.
fn kinesis_with_third_item(data: &str) -> Input {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events/kinesis-logs-destination.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    event["Records"][2]["kinesis"]["data"] = Value::from(data);
    serde_json::from_value(event).expect("a Kinesis event")
}

/// GIVEN a Kinesis batch with one item that is not gzip WHEN it is handled THEN that item is
/// dropped and counted (`Dropped.gzip`), not reported for retry (it would fail the same way
/// forever and hold the shard), the other items' records and events are delivered, and the batch
/// is done: the same batch again is skipped.
#[tokio::test(start_paused = true)]
async fn a_kinesis_item_that_does_not_decode_is_dropped_and_counted_not_retried() {
    let w = world(MemorySink::default(), MemoryBus::default());
    // base64 of "not a gzip stream".
    let poisoned = || kinesis_with_third_item("bm90IGEgZ3ppcCBzdHJlYW0=");
    let out = handle(poisoned(), &w.deps, 0).await.expect("a poison item does not fail the batch");
    let Output::Kinesis(response) = out else { panic!("kinesis answers with batch item failures") };
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    let delivered = w.delivered();
    assert_eq!(delivered.len(), 2, "the settlement item's two lines");
    assert!(delivered.iter().all(|r| r["service"] == "settlement"), "{delivered:?}");
    assert_eq!(w.bus.events().len(), 1, "CrashLoopBackOff raised");
    let emf = w.emf.text();
    assert!(emf.contains("\"Dropped.gzip\":1.0"), "{emf}");

    let again = handle(poisoned(), &w.deps, 1_000).await.expect("again");
    assert_eq!(again, Output::Kinesis(Default::default()));
    assert_eq!((w.delivered().len(), w.bus.events().len()), (2, 1), "a done batch is not processed twice");
}

/// GIVEN EventBridge refusing every event WHEN a Kinesis batch is handled THEN the invocation
/// fails `EventsUndelivered` (the whole batch comes again: events have no item to retry alone),
/// its records are archived all the same, and the delivery is released so the batch coming again
/// is processed, not skipped as done.
#[tokio::test(start_paused = true)]
async fn a_kinesis_batch_whose_events_eventbridge_refuses_fails_and_is_processed_again() {
    let w = world(MemorySink::default(), MemoryBus::default().refusing(""));
    let err = handle(fixture("kinesis-logs-destination.json"), &w.deps, 0).await.expect_err("undelivered");
    assert_eq!(err.error_type(), "EventsUndelivered");
    assert_eq!(w.delivered().len(), 3, "settlement's two lines and the audit line archived");
    assert!(w.bus.events().is_empty());
    let calls = w.bus.calls().len();

    let again = handle(fixture("kinesis-logs-destination.json"), &w.deps, 1_000).await.expect_err("again");
    assert_eq!(again.error_type(), "EventsUndelivered", "processed again, not skipped as done");
    assert_eq!(w.delivered().len(), 6, "the records again: at least once");
    assert!(w.bus.calls().len() > calls, "the events tried again");
}
