//! What another implementation of the pipeline must reproduce to be compared with it: one JSON object.

// Counts alone would let a pipeline that skips work (a rule, the stack traces, the EMF documents)
// pass, so the records, detections and EMF documents are compared by CRC-32 as well: zlib's, which
// flate2 already has and Python's `zlib.crc32` computes the same way.

use std::collections::BTreeMap;

use log_processor::pipeline::Processed;
use serde_json::{Map, Value, json};

/// Any fixed instant: both implementations' EMF documents must carry the same one to compare.
pub const EMF_TIMESTAMP_MS: i64 = 1_763_978_400_000;

/// The summary of one processed delivery of `events` log events whose EMF documents are `emf`.
pub fn summary(out: &Processed, events: usize, emf: &str) -> Value {
    let m = &out.metrics;
    let mut services = Map::new();
    let mut signatures: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut errors, mut warnings, mut truncated, mut malformed) = (0, 0, 0, 0);
    let owned = m.accounts.iter().flat_map(|(id, a)| a.services.iter().map(move |(s, v)| (id.as_str(), s, v)));
    // An owner that is not an account id has its services published without one: "-" here.
    for (account, service, s) in owned.chain(m.unattributed.iter().map(|(s, v)| ("-", s, v))) {
        let counts = [s.events, s.bytes, s.errors, s.warnings, s.redactions, s.truncated, s.malformed];
        let mut row: Vec<Value> = counts.iter().map(|n| json!(n)).collect();
        row.push(json!(s.durations_ms.len()));
        services.insert(format!("{account}/{service}"), Value::Array(row));
        errors += s.errors;
        warnings += s.warnings;
        truncated += s.truncated;
        malformed += s.malformed;
        for (name, n) in &s.signatures {
            *signatures.entry(name).or_default() += n;
        }
    }
    let mut tiers = Map::new();
    for (account, a) in &m.accounts {
        for (tier, t) in &a.tiers {
            tiers.insert(format!("{account}/{tier}"), json!([t.events, t.errors, t.requests, t.slow_requests]));
        }
    }

    let mut records = flate2::Crc::new();
    for record in out.records.iter() {
        records.update(record);
    }
    let mut detections = flate2::Crc::new();
    let mut detection_counts = Map::new();
    for ((service, signature), d) in &out.detections {
        detection_counts.insert(format!("{service}/{signature}"), json!(d.count));
        // Serialising a derived `Serialize` struct cannot fail.
        let line = serde_json::to_string(d).unwrap_or_default();
        detections.update(line.as_bytes());
        detections.update(b"\n");
    }
    // Compared with keys sorted: serde_json keeps insertion order in some builds and not in others.
    let mut documents = flate2::Crc::new();
    let mut emf_documents = 0;
    for line in emf.lines() {
        let mut canonical = String::new();
        write_canonical(&serde_json::from_str(line).unwrap_or(Value::Null), &mut canonical);
        canonical.push('\n');
        documents.update(canonical.as_bytes());
        emf_documents += 1;
    }

    json!({
        "events": events,
        "records": out.records.len(),
        "records_bytes": out.records.total_bytes(),
        "records_crc32": records.sum(),
        "errors": errors,
        "warnings": warnings,
        "truncated": truncated,
        "malformed": malformed,
        "redactions": m.redactions_by_rule,
        "signatures": signatures,
        "detections": out.detections.len(),
        "detection_counts": detection_counts,
        "detections_crc32": detections.sum(),
        "services": services,
        "tiers": tiers,
        "untiered": m.untiered,
        "unattributed_batches": m.unattributed_batches,
        "control_messages": m.control_messages,
        "dropped": m.dropped,
        "emf_documents": emf_documents,
        "emf_crc32": documents.sum(),
    })
}

/// `value` as compact JSON with every object's keys in order (by code point, as Python sorts them).
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by_key(|(key, _)| *key);
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
