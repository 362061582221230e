//! The handler on real-shaped Lambda events (`tests/fixtures/events/`), with fake Firehose and EventBridge.

use std::path::Path;
use std::sync::Arc;

use log_processor::fakes::{MemoryBus, MemorySink};
use log_processor::forward::RetryPolicy;
use log_processor::handler::{Deps, HandlerError, Input, Output, handle};
use log_processor::pipeline::Pipeline;
use platform_core::fakes::CapturedMetrics;
use serde_json::Value;

fn fixture(name: &str) -> Input {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("a Lambda event")
}

struct World {
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
    let deps = Deps {
        pipeline: Pipeline::new("dev").expect("pipeline"),
        sink: firehose.clone(),
        bus: bus.clone(),
        metrics: emf.clone(),
        retry: RetryPolicy { attempts: 2, ..RetryPolicy::default() },
    };
    World { firehose, bus, emf, deps }
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
    assert_eq!(out, Output::Logs(log_processor::handler::Summary { records: 0, detections: 0, dropped: 1 }));
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
