//! Real-shaped subscription payloads through the pipeline: records, redaction, metrics, detections, bad input.

use std::io::Write;

use log_processor::decode::DecodeError;
use log_processor::pipeline::{OTHER_SERVICE, Pipeline, Processed};
use serde_json::{Value, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

fn payload(log_group: &str, messages: &[&str]) -> Vec<u8> {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"id": i.to_string(), "timestamp": 1_763_980_800_000_i64 + i as i64, "message": m}))
        .collect();
    let batch = json!({
        "messageType": "DATA_MESSAGE", "owner": "111111111111", "logGroup": log_group,
        "logStream": "pod/abc", "subscriptionFilters": ["abc-trading-dev-logs"], "policyLevel": "ACCOUNT_LEVEL_POLICY",
        "logEvents": events
    });
    base64_simd::STANDARD.encode_to_string(gzip(batch.to_string().as_bytes())).into_bytes()
}

fn records(p: &Processed) -> Vec<Value> {
    p.records.iter().map(|r| serde_json::from_slice(r).expect("record is JSON")).collect()
}

#[test]
fn a_service_batch_becomes_redacted_records_metrics_and_detections() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let lines = [
        r#"{"@timestamp":"2026-11-24T10:00:00Z","level":"INFO","logger_name":"c.a.Orders","message":"order 42 filled","traceId":"t1","duration_ms":12}"#,
        r#"{"level":"ERROR","message":"Connection to database-service:5432 refused: jdbc:postgresql://dbmaster:S3cr3t@database-service:5432/db_dev","stack_trace":"org.postgresql.util.PSQLException"}"#,
        "2026-11-24 10:00:01.000  WARN 1 --- [main] slow quote duration=250ms",
        "2026-11-24 10:00:02.000  ERROR 1 --- [main] card 4111 1111 1111 1111 rejected",
    ];
    let mut out = Processed::default();
    pipeline.process_encoded(&payload("/abc-trading/dev/order-management", &lines), &mut out).expect("decodes");

    let recs = records(&out);
    assert_eq!(recs.len(), 4);
    let all = recs.iter().map(Value::to_string).collect::<String>();
    for secret in ["S3cr3t", "4111 1111 1111 1111"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    assert_eq!(recs[0]["service"], "order-management");
    assert_eq!(recs[0]["environment"], "dev");
    assert_eq!(recs[0]["account"], "111111111111");
    assert_eq!(recs[0]["trace_id"], "t1");
    assert_eq!(recs[1]["level"], "ERROR");
    assert_eq!(recs[1]["signatures"], json!(["DatabaseUnreachable"]));
    assert!(p_ends_with_newline(&out));

    let m = &out.metrics.service_total("order-management");
    assert_eq!((m.events, m.errors, m.warnings), (4, 2, 1));
    assert_eq!(m.redactions, 2);
    assert_eq!(m.signatures.get("DatabaseUnreachable"), Some(&1));
    assert_eq!(m.durations_ms, [12.0, 250.0]);
    assert_eq!(out.metrics.redactions_by_rule.get("url-password"), Some(&1));
    assert_eq!(out.metrics.redactions_by_rule.get("card-number"), Some(&1));

    let d = &out.detections[&("order-management".to_string(), "DatabaseUnreachable".to_string())];
    assert_eq!(d.count, 1);
    assert!(!d.sample.contains("S3cr3t"), "{}", d.sample);
}

fn p_ends_with_newline(p: &Processed) -> bool {
    p.records.iter().all(|r| r.ends_with(b"\n"))
}

#[test]
fn one_detection_per_service_and_signature() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let crash = "Back-off restarting failed container settlement in pod settlement-1";
    let mut out = Processed::default();
    pipeline.process_encoded(&payload("/abc-trading/dev/settlement", &[crash, crash, crash]), &mut out).expect("ok");
    assert_eq!(out.detections.len(), 1);
    assert_eq!(out.detections.values().next().map(|d| d.count), Some(3));
    // Throttling is counted, not raised.
    let mut out = Processed::default();
    pipeline
        .process_encoded(&payload("/abc-trading/dev/audit", &["ThrottlingException: Rate exceeded"]), &mut out)
        .expect("ok");
    assert!(out.detections.is_empty());
    assert_eq!(out.metrics.service_total("audit").signatures.get("AwsThrottling"), Some(&1));
}

#[test]
fn unknown_services_do_not_become_dimensions() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let line = r#"{"log":"hello","kubernetes":{"labels":{"app":"someones-experiment-12345"}}}"#;
    let mut out = Processed::default();
    pipeline
        .process_encoded(&payload("/aws/containerinsights/abc-trading-dev/application", &[line]), &mut out)
        .expect("ok");
    assert_eq!(out.metrics.accounts["111111111111"].services.keys().collect::<Vec<_>>(), [OTHER_SERVICE]);
}

#[test]
fn control_messages_are_dropped_and_counted() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let control = json!({"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"",
        "subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination"}]});
    let data = base64_simd::STANDARD.encode_to_string(gzip(control.to_string().as_bytes()));
    let mut out = Processed::default();
    pipeline.process_encoded(data.as_bytes(), &mut out).expect("ok");
    assert!(out.records.is_empty());
    assert_eq!(out.metrics.control_messages, 1);
}

#[test]
fn every_bad_input_is_a_typed_error_and_a_counted_drop() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let good = payload("/abc-trading/dev/audit", &["fine"]);
    let raw = base64_simd::STANDARD.decode_to_vec(&good).expect("b64");
    let truncated = base64_simd::STANDARD.encode_to_string(&raw[..raw.len() - 10]);
    let not_json = base64_simd::STANDARD.encode_to_string(gzip(b"this is not json"));
    let non_utf8 = base64_simd::STANDARD
        .encode_to_string(gzip(b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"message\":\"\xff\xfe\"}]}"));
    let cases: [(&[u8], &str); 4] = [
        (b"%%%not-base64%%%", "base64"),
        (truncated.as_bytes(), "gzip"),
        (not_json.as_bytes(), "json"),
        (non_utf8.as_bytes(), "json"),
    ];
    let mut out = Processed::default();
    for (data, kind) in cases {
        let err: DecodeError = pipeline.process_encoded(data, &mut out).expect_err(kind);
        assert_eq!(err.kind(), kind);
    }
    assert_eq!(out.metrics.dropped.get("base64"), Some(&1));
    assert_eq!(out.metrics.dropped.get("gzip"), Some(&1));
    assert_eq!(out.metrics.dropped.get("json"), Some(&2));
    assert!(out.records.is_empty());
}

#[test]
fn a_broken_json_line_is_kept_as_text_and_counted() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let mut out = Processed::default();
    let lines = [r#"{"level":"ERROR","message":"cut off"#, r#"{"level":"INFO","message":"fine"}"#];
    pipeline.process_encoded(&payload("/abc-trading/dev/audit", &lines), &mut out).expect("ok");
    assert_eq!(out.records.len(), 2, "nothing dropped");
    assert_eq!(out.metrics.service_total("audit").malformed, 1);
    assert!(out.metrics.to_emf("dev", 0).contains("\"Malformed\":1.0"));
}

#[test]
fn a_one_mebibyte_line_is_cut_counted_and_kept() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let big = format!("ERROR {}", "x".repeat(1 << 20));
    let mut out = Processed::default();
    pipeline.process_encoded(&payload("/abc-trading/dev/reporting", &[&big]), &mut out).expect("ok");
    assert_eq!(out.records.len(), 1);
    assert!(out.records[0].len() < 300 * 1024, "fits a Firehose record");
    assert_eq!(out.metrics.service_total("reporting").truncated, 1);
}

#[test]
fn kinesis_records_carry_gzip_without_base64() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let encoded = payload("/abc-trading/dev/cache", &["2026-11-24 INFO hit"]);
    let gz = base64_simd::STANDARD.decode_to_vec(&encoded).expect("b64");
    let mut out = Processed::default();
    pipeline.process_gzip(&gz, &mut out).expect("ok");
    assert_eq!(records(&out)[0]["service"], "cache");
}
