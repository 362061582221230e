//! The comparison's parity summary reflects the pipeline's work, so a Python run that skips some cannot match it.

#[path = "../examples/compare/parity.rs"]
mod parity;

use log_processor::pipeline::{Pipeline, Processed};
use log_processor::synthetic;
use serde_json::Value;

#[test]
fn the_synthetic_payload_summary_counts_redactions_signatures_and_documents() {
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let mut out = Processed::default();
    pipeline.process_encoded(synthetic::awslogs_data(1_000, 42).as_bytes(), &mut out).expect("decodes");
    let emf = out.metrics.to_emf("dev", parity::EMF_TIMESTAMP_MS);
    let summary = parity::summary(&out, 1_000, &emf);

    let total = |key: &str| summary[key].as_object().map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>());
    // The first 1,000 synthetic lines hold bearer tokens, card numbers and database passwords.
    for rule in ["bearer-token", "card-number", "url-password"] {
        assert!(summary["redactions"][rule].as_u64() > Some(0), "{rule}: {summary}");
    }
    assert!(total("signatures") > 0, "{summary}");
    assert!(summary["detections"].as_u64() > Some(0), "{summary}");
    assert_eq!(summary["records"], 1_000);
    assert_eq!(summary["events"], 1_000);
    assert!(summary["errors"].as_u64() > Some(0), "{summary}");
    assert!(summary["tiers"].as_object().is_some_and(|t| !t.is_empty()), "{summary}");
    assert_eq!(summary["emf_documents"].as_u64(), Some(emf.lines().count() as u64));
    assert_eq!(summary["records_bytes"].as_u64(), Some(out.records.total_bytes() as u64));
}

#[test]
fn canonical_json_sorts_keys_at_every_depth() {
    let value: Value = serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1.0,"y":"\u0008"}],"c":null}}"#).expect("json");
    let mut out = String::new();
    parity::write_canonical(&value, &mut out);
    assert_eq!(out, r#"{"a":{"c":null,"d":[{"y":"\b","z":1.0}]},"b":1}"#);
}

/// A batch split across threads gives exactly what one thread gives: every record in order, the
/// same counters (durations in order), the same detections with their first line and time, also
/// when a second batch adds to output that already holds the first.
#[test]
fn a_batch_split_across_threads_gives_what_one_thread_gives() {
    let one = Pipeline::new("dev").expect("pipeline").with_workers(1);
    let four = Pipeline::new("dev").expect("pipeline").with_workers(4);
    assert_eq!((one.workers(), four.workers()), (1, 4));
    let run = |pipeline: &Pipeline| {
        let mut out = Processed::default();
        for (events, seed) in [(5_003, 7), (4_000, 42)] {
            pipeline.process_encoded(synthetic::awslogs_data(events, seed).as_bytes(), &mut out).expect("decodes");
        }
        out
    };
    let (a, b) = (run(&one), run(&four));
    assert_eq!(a.records, b.records);
    assert_eq!(a.metrics, b.metrics);
    assert_eq!(a.detections, b.detections);
    assert_eq!(a.records.len(), 9_003);
    assert!(!a.detections.is_empty());
}
