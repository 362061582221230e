//! Firehose and EventBridge adapters: the real wire protocol against the emulator, and partial
//! failures (which the emulator cannot produce on demand) through `aws-smithy-mocks`.

use std::sync::{Arc, Mutex};

use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchOutput;
use aws_sdk_firehose::types::PutRecordBatchResponseEntry;
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use log_processor::aws::{EventBridgeBus, FirehoseSink};
use log_processor::forward::{EventBus, EventEntry, RecordSink, RetryPolicy, send_records};
use platform_core::aws::AwsContext;

#[tokio::test]
async fn firehose_delivers_records_to_its_bucket() {
    let emulator = emulator::Emulator::start_for_workspace().expect("emulator");
    emulator.create_bucket("abc-trading-dev-logs").expect("bucket");
    let ctx = AwsContext::from_config(emulator.sdk_config()).expect("region");
    let firehose = ctx.client::<aws_sdk_firehose::Client>();
    firehose
        .create_delivery_stream()
        .delivery_stream_name("abc-trading-dev-logs")
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .role_arn("arn:aws:iam::123456789012:role/abc-trading-dev-firehose")
                .bucket_arn("arn:aws:s3:::abc-trading-dev-logs")
                .build()
                .expect("config"),
        )
        .send()
        .await
        .expect("delivery stream");

    let sink = FirehoseSink::new(firehose.into(), "abc-trading-dev-logs");
    let records: Vec<&[u8]> = vec![b"{\"n\":1}\n", b"{\"n\":2}\n", b"{\"n\":3}\n"];
    let results = sink.put_record_batch(&records).await.expect("put");
    assert_eq!(results, [None, None, None]);
    let keys = emulator.bucket_keys("abc-trading-dev-logs").expect("objects");
    assert_eq!(keys.len(), 1, "one delivery object: {keys:?}");
    assert!(keys[0].contains("abc-trading-dev-logs-"), "{keys:?}");

    let missing = FirehoseSink::new(ctx.client(), "no-such-stream");
    let err = missing.put_record_batch(&records).await.expect_err("missing stream");
    assert_eq!(err.class, platform_core::ErrorClass::NotFound, "{err}");
}

#[tokio::test]
async fn eventbridge_reports_refused_entries_by_position() {
    let emulator = emulator::Emulator::start_for_workspace().expect("emulator");
    let ctx = AwsContext::from_config(emulator.sdk_config()).expect("region");
    let events = ctx.client::<aws_sdk_eventbridge::Client>();
    events.create_event_bus().name("abc-trading-dev").send().await.expect("bus");
    let bus = EventBridgeBus::new(events.into(), "abc-trading-dev");
    let entry = |detail: &str| EventEntry {
        source: "abc.platform".into(),
        detail_type: "FailureSignatureDetected".into(),
        detail: detail.into(),
    };
    let results = bus.put_events(&[entry(r#"{"signature":"OOMKilled"}"#), entry("not json")]).await.expect("put");
    assert_eq!(results, [None, Some("MalformedDetail".to_string())]);
}

/// GIVEN Firehose refuses the second of three records once WHEN the batch is sent THEN only that
/// record goes again, and everything is delivered.
#[tokio::test]
async fn a_partial_firehose_failure_resends_only_the_refused_record() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let first = mock!(aws_sdk_firehose::Client::put_record_batch)
        .match_requests(move |r| {
            seen.lock().expect("lock").push(r.records().len());
            true
        })
        .sequence()
        .output(|| {
            let ok = || PutRecordBatchResponseEntry::builder().record_id("ok").build();
            let refused = PutRecordBatchResponseEntry::builder()
                .error_code("ServiceUnavailableException")
                .error_message("slow down")
                .build();
            PutRecordBatchOutput::builder()
                .failed_put_count(1)
                .request_responses(ok())
                .request_responses(refused)
                .request_responses(ok())
                .build()
                .expect("output")
        })
        .output(|| {
            PutRecordBatchOutput::builder()
                .failed_put_count(0)
                .request_responses(PutRecordBatchResponseEntry::builder().record_id("ok").build())
                .build()
                .expect("output")
        })
        .build();
    let config = aws_sdk_firehose::Config::builder()
        .behavior_version(aws_sdk_firehose::config::BehaviorVersion::latest())
        .region(aws_sdk_firehose::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_firehose::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(MockResponseInterceptor::new().rule_mode(RuleMode::Sequential).with_rule(&first))
        .build();
    let sink = FirehoseSink::new(aws_sdk_firehose::Client::from_conf(config).into(), "abc-trading-dev-logs");
    let lines: Vec<String> = (0..3).map(|i| format!("{i}\n")).collect();
    let records: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let policy = RetryPolicy { base_delay: std::time::Duration::from_millis(1), ..RetryPolicy::default() };
    let undelivered = send_records(&sink, &records, policy).await;
    assert!(undelivered.is_empty(), "{undelivered:?}");
    assert_eq!(*sizes.lock().expect("lock"), [3, 1]);
}
