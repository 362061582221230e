//! Per-service counters for one invocation, written as CloudWatch Embedded Metric Format documents.

use std::collections::BTreeMap;

pub use emf::NAMESPACE;

/// Counters for one service in one invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceMetrics {
    pub events: u64,
    pub bytes: u64,
    pub errors: u64,
    pub warnings: u64,
    pub redactions: u64,
    pub truncated: u64,
    /// Lines that looked like JSON but did not parse (kept as text).
    pub malformed: u64,
    pub signatures: BTreeMap<String, u64>,
    pub durations_ms: Vec<f64>,
}

/// Everything counted in one invocation: per service, plus batch-level drops.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub services: BTreeMap<String, ServiceMetrics>,
    /// Batches that could not be decoded, by reason (`base64`, `gzip`, `too_large`, `json`).
    pub dropped: BTreeMap<&'static str, u64>,
    pub control_messages: u64,
    /// Redactions per rule across all services.
    pub redactions_by_rule: BTreeMap<String, u64>,
}

impl Metrics {
    pub fn service(&mut self, name: &str) -> &mut ServiceMetrics {
        if !self.services.contains_key(name) {
            self.services.insert(name.to_string(), ServiceMetrics::default());
        }
        self.services.get_mut(name).unwrap_or_else(|| unreachable!("inserted above"))
    }

    pub fn merge(&mut self, other: Metrics) {
        for (name, m) in other.services {
            let mine = self.service(&name);
            mine.events += m.events;
            mine.bytes += m.bytes;
            mine.errors += m.errors;
            mine.warnings += m.warnings;
            mine.redactions += m.redactions;
            mine.truncated += m.truncated;
            mine.malformed += m.malformed;
            for (sig, n) in m.signatures {
                *mine.signatures.entry(sig).or_default() += n;
            }
            mine.durations_ms.extend(m.durations_ms);
        }
        for (reason, n) in other.dropped {
            *self.dropped.entry(reason).or_default() += n;
        }
        self.control_messages += other.control_messages;
        for (rule, n) in other.redactions_by_rule {
            *self.redactions_by_rule.entry(rule).or_default() += n;
        }
    }

    /// One EMF document (a JSON line) per service, and one for drops. Dimensions are only
    /// `Environment` and `Service`, whose values come from config, so cardinality stays bounded.
    pub fn to_emf(&self, environment: &str, timestamp_ms: i64) -> String {
        let mut out = String::new();
        for (service, m) in &self.services {
            let mut values: Vec<(String, &'static str, f64)> = vec![
                ("Events".into(), "Count", m.events as f64),
                ("Bytes".into(), "Bytes", m.bytes as f64),
                ("Errors".into(), "Count", m.errors as f64),
                ("Warnings".into(), "Count", m.warnings as f64),
                ("Redactions".into(), "Count", m.redactions as f64),
                ("Truncated".into(), "Count", m.truncated as f64),
                ("Malformed".into(), "Count", m.malformed as f64),
            ];
            for (sig, n) in &m.signatures {
                values.push((format!("Signature.{sig}"), "Count", *n as f64));
            }
            for (name, p) in [("LatencyP50", 0.50), ("LatencyP90", 0.90), ("LatencyP99", 0.99), ("LatencyMax", 1.0)] {
                if let Some(v) = percentile(&m.durations_ms, p) {
                    values.push((name.into(), "Milliseconds", v));
                }
            }
            out.push_str(&document(environment, Some(service), timestamp_ms, &values));
            out.push('\n');
        }
        if !self.dropped.is_empty() || self.control_messages > 0 || !self.redactions_by_rule.is_empty() {
            let mut values: Vec<(String, &'static str, f64)> =
                self.dropped.iter().map(|(reason, n)| (format!("Dropped.{reason}"), "Count", *n as f64)).collect();
            values.extend(self.redactions_by_rule.iter().map(|(r, n)| (format!("Redactions.{r}"), "Count", *n as f64)));
            values.push(("ControlMessages".into(), "Count", self.control_messages as f64));
            out.push_str(&document(environment, None, timestamp_ms, &values));
            out.push('\n');
        }
        out
    }
}

fn document(
    environment: &str,
    service: Option<&str>,
    timestamp_ms: i64,
    values: &[(String, &'static str, f64)],
) -> String {
    let mut doc = emf::Document::new(timestamp_ms).dimension("Environment", environment);
    if let Some(s) = service {
        doc = doc.dimension("Service", s);
    }
    values.iter().fold(doc, |d, (name, unit, v)| d.metric(name.clone(), unit, *v)).to_line()
}

/// Nearest-rank percentile (`p` in 0..=1) of unsorted samples.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.5), Some(50.0));
        assert_eq!(percentile(&samples, 0.99), Some(99.0));
        assert_eq!(percentile(&samples, 1.0), Some(100.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn emf_documents_follow_the_specification() {
        let mut m = Metrics::default();
        let s = m.service("audit");
        s.events = 3;
        s.errors = 1;
        s.signatures.insert("OOMKilled".into(), 1);
        s.durations_ms = vec![5.0, 10.0, 20.0];
        m.dropped.insert("gzip", 1);
        let text = m.to_emf("dev", 1_700_000_000_000);
        let docs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
        assert_eq!(docs.len(), 2);
        let d = &docs[0];
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ABC/Trading");
        assert_eq!(directive["Dimensions"][0], json!(["Environment", "Service"]));
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("name");
            assert!(d[name].is_number(), "every declared metric has a value: {name}");
        }
        assert_eq!(d["Service"], "audit");
        assert_eq!(d["Signature.OOMKilled"], 1.0);
        assert_eq!(d["LatencyP50"], 10.0);
        assert_eq!(docs[1]["Dropped.gzip"], 1.0);
        assert!(docs[1].get("Service").is_none());
    }
}
