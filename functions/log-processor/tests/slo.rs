//! Service level indicators through the pipeline: per account and service, per account and tier, and owners that are no account.

use std::io::Write;

use log_processor::pipeline::{Pipeline, Processed};
use serde_json::{Value, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

fn payload(message_type: &str, owner: &str, log_group: &str, messages: &[String]) -> Vec<u8> {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"id": i.to_string(), "timestamp": 1_763_980_800_000_i64 + i as i64, "message": m}))
        .collect();
    let batch = json!({
        "messageType": message_type, "owner": owner, "logGroup": log_group, "logStream": "pod/abc",
        "subscriptionFilters": ["abc-trading-dev-logs"], "logEvents": events
    });
    base64_simd::STANDARD.encode_to_string(gzip(batch.to_string().as_bytes())).into_bytes()
}

fn process(pipeline: &Pipeline, payloads: &[Vec<u8>]) -> Vec<Value> {
    let mut out = Processed::default();
    for p in payloads {
        pipeline.process_encoded(p, &mut out).expect("decodes");
    }
    let text = out.metrics.to_emf("dev", 1_763_980_800_000);
    let docs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("one JSON document a line")).collect();
    docs.iter().for_each(follows_the_specification);
    docs
}

/// Every dimension of every set is a top-level string member; every declared metric has a value.
fn follows_the_specification(doc: &Value) {
    for directive in doc["_aws"]["CloudWatchMetrics"].as_array().expect("directives") {
        for key in directive["Dimensions"].as_array().expect("sets").iter().flat_map(|s| s.as_array().expect("set")) {
            let key = key.as_str().expect("name");
            assert!(doc[key].is_string(), "dimension `{key}` missing at the top level: {doc}");
        }
        for metric in directive["Metrics"].as_array().expect("metrics") {
            assert!(doc[metric["Name"].as_str().expect("name")].is_number(), "{doc}");
        }
    }
}

fn find<'a>(docs: &'a [Value], pairs: &[(&str, &str)]) -> Vec<&'a Value> {
    docs.iter().filter(|d| pairs.iter().all(|(k, v)| d[*k] == *v)).collect()
}

fn lines(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

#[test]
fn two_owners_in_one_invocation_give_two_documents() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let group = "/abc-trading/dev/audit";
    let docs = process(
        &pipeline,
        &[
            payload("DATA_MESSAGE", "111111111111", group, &lines(&["INFO one", "ERROR two"])),
            payload("DATA_MESSAGE", "222222222222", group, &lines(&["INFO three"])),
        ],
    );
    let audit = find(&docs, &[("Service", "audit")]);
    assert_eq!(audit.len(), 2, "{docs:?}");
    assert_eq!(
        (&audit[0]["Account"], &audit[0]["Events"], &audit[0]["Errors"]),
        (&json!("111111111111"), &json!(2.0), &json!(1.0))
    );
    assert_eq!(
        (&audit[1]["Account"], &audit[1]["Events"], &audit[1]["Errors"]),
        (&json!("222222222222"), &json!(1.0), &json!(0.0))
    );
    for d in &audit {
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Environment", "Service"], ["Environment", "Account", "Service"]])
        );
    }
    let tier = pipeline.services().tier_of("audit").expect("audit has a tier").name.clone();
    let tiers = find(&docs, &[("Tier", &tier)]);
    assert_eq!(tiers.len(), 2, "one tier document per account");
    assert_eq!(tiers[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Environment", "Account", "Tier"]]));
    assert_eq!(
        (&tiers[0]["Account"], &tiers[0]["Events"], &tiers[0]["Errors"]),
        (&json!("111111111111"), &json!(2.0), &json!(1.0))
    );
    assert_eq!((&tiers[1]["Account"], &tiers[1]["Events"]), (&json!("222222222222"), &json!(1.0)));
}

#[test]
fn a_request_is_slow_only_past_its_tiers_objective() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let tier = pipeline.services().tier_of("authentication").expect("authentication has a tier").clone();
    let at = tier.latency_ms;
    let request =
        |level: &str, ms: f64| json!({"level": level, "message": "GET /session", "duration_ms": ms}).to_string();
    let messages = vec![
        request("INFO", at - 1.0),
        request("INFO", at),
        request("INFO", at + 0.5),
        request("ERROR", at + 1000.0),
        json!({"level": "ERROR", "message": "no duration: not a request"}).to_string(),
    ];
    let docs = process(
        &pipeline,
        &[
            payload("DATA_MESSAGE", "111111111111", "/abc-trading/dev/authentication", &messages),
            payload("DATA_MESSAGE", "111111111111", "/abc-trading/dev/someones-experiment", &lines(&["took 9000 ms"])),
        ],
    );
    let tiers = find(&docs, &[("Tier", &tier.name), ("Account", "111111111111")]);
    assert_eq!(tiers.len(), 1, "{docs:?}");
    let t = tiers[0];
    assert_eq!(
        (&t["Events"], &t["Errors"], &t["Requests"], &t["SlowRequests"]),
        (&json!(5.0), &json!(2.0), &json!(4.0), &json!(2.0)),
        "equal to {at} ms is not slow: {t}"
    );
    // A service the catalogue does not know reaches no tier, and is counted as untiered.
    assert_eq!(docs.iter().filter(|d| d.get("Tier").is_some()).count(), 1);
    assert_eq!(find(&docs, &[("Service", "other")]).len(), 1);
    assert_eq!(docs.last().map(|d| &d["Untiered"]), Some(&json!(1.0)));
}

#[test]
fn an_owner_that_is_no_account_never_becomes_a_dimension() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let probe = "CWL CONTROL MESSAGE: Checking health of destination Firehose.";
    let docs = process(
        &pipeline,
        &[
            payload("CONTROL_MESSAGE", "CloudwatchLogs", "", &lines(&[probe])),
            payload("DATA_MESSAGE", "CloudwatchLogs", "/abc-trading/dev/audit", &lines(&["ERROR forged owner"])),
            payload("DATA_MESSAGE", "", "/abc-trading/dev/audit", &lines(&["INFO no owner"])),
        ],
    );
    let text = docs.iter().map(Value::to_string).collect::<String>();
    assert!(!text.contains("CloudwatchLogs"), "{text}");
    assert!(docs.iter().all(|d| d.get("Account").is_none() && d.get("Tier").is_none()), "{text}");
    let audit = find(&docs, &[("Service", "audit")]);
    assert_eq!(audit.len(), 1);
    assert_eq!((&audit[0]["Events"], &audit[0]["Errors"]), (&json!(2.0), &json!(1.0)), "still counted per service");
    assert_eq!(audit[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Environment", "Service"]]));
    let batch = docs.last().expect("batch-level document");
    assert_eq!((&batch["ControlMessages"], &batch["UnattributedBatches"]), (&json!(1.0), &json!(2.0)));
}
