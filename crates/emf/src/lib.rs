//! CloudWatch Embedded Metric Format: one document per set of dimension values, built the same way everywhere.

use serde_json::{Map, Value, json};

/// The namespace every platform-ops metric is published under.
pub const NAMESPACE: &str = "ABC/Trading";

/// One EMF document: its dimensions (name and value), its metrics (name, unit, value) and any
/// extra properties (searchable in Logs Insights, never dimensions: they would multiply cost).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    timestamp_ms: i64,
    dimensions: Vec<(String, String)>,
    /// Each metric with the index of its directive in `directives`.
    metrics: Vec<(String, &'static str, Value, usize)>,
    /// The dimension sets of each metric directive; `None` is the one set of every dimension.
    directives: Vec<Option<Vec<Vec<String>>>>,
    properties: Vec<(String, Value)>,
}

impl Document {
    pub fn new(timestamp_ms: i64) -> Self {
        Document {
            timestamp_ms,
            dimensions: Vec::new(),
            metrics: Vec::new(),
            directives: vec![None],
            properties: Vec::new(),
        }
    }

    /// A dimension; keep its values low-cardinality (config names, not ids).
    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    /// A metric value with its CloudWatch unit (`Count`, `Bytes`, `Milliseconds`, `Seconds`);
    /// a count stays an integer in the document.
    pub fn metric(mut self, name: impl Into<String>, unit: &'static str, value: impl Into<Value>) -> Self {
        let directive = self.directives.len() - 1;
        self.metrics.push((name.into(), unit, value.into(), directive));
        self
    }

    /// The metrics added after this call are published under each of `sets` (lists of names
    /// given to [`Document::dimension`]) rather than under the one set of every dimension: a new
    /// metric directive, so one document can carry a metric per service and per account while
    /// other metrics stay per service. A set naming a dimension the document lacks is left out,
    /// because CloudWatch rejects the whole document over it.
    pub fn dimension_sets(mut self, sets: &[&[&str]]) -> Self {
        let sets = sets.iter().map(|set| set.iter().map(|n| n.to_string()).collect()).collect();
        self.directives.push(Some(sets));
        self
    }

    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    pub fn to_value(&self) -> Value {
        let names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let declared = |set: &&Vec<String>| set.iter().all(|n| names.contains(&n.as_str()));
        let mut directives = Vec::new();
        for (i, sets) in self.directives.iter().enumerate() {
            let metrics: Vec<Value> = self
                .metrics
                .iter()
                .filter(|m| m.3 == i)
                .map(|(n, unit, _, _)| json!({"Name": n, "Unit": unit}))
                .collect();
            // The default directive is left out when every metric went under sets of its own.
            if metrics.is_empty() && i == 0 && self.directives.len() > 1 {
                continue;
            }
            let dimensions = match sets {
                None => json!([names]),
                Some(sets) => json!(sets.iter().filter(declared).collect::<Vec<_>>()),
            };
            directives.push(json!({"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics}));
        }
        let mut doc = Map::new();
        doc.insert("_aws".into(), json!({"Timestamp": self.timestamp_ms, "CloudWatchMetrics": directives}));
        for (name, value) in &self.dimensions {
            doc.insert(name.clone(), json!(value));
        }
        for (name, value) in &self.properties {
            doc.insert(name.clone(), value.clone());
        }
        for (name, _, value, _) in &self.metrics {
            doc.insert(name.clone(), value.clone());
        }
        Value::Object(doc)
    }

    /// The document as one line, as the Lambda log agent reads EMF.
    pub fn to_line(&self) -> String {
        self.to_value().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_declares_its_dimensions_and_metrics_and_carries_their_values() {
        let doc = Document::new(1_700_000_000_000)
            .dimension("Environment", "dev")
            .dimension("Service", "audit")
            .metric("Events", "Count", 3)
            .property("Alarm", "abc-trading-dev-remediate-cpu-high")
            .to_value();
        assert_eq!(
            doc["_aws"],
            json!({"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{"Namespace": "ABC/Trading",
                "Dimensions": [["Environment", "Service"]], "Metrics": [{"Name": "Events", "Unit": "Count"}]}]})
        );
        assert_eq!(
            (doc["Environment"].as_str(), doc["Service"].as_str(), doc["Events"].as_f64()),
            (Some("dev"), Some("audit"), Some(3.0))
        );
        assert_eq!(doc["Events"], 3, "a count stays an integer");
        assert_eq!(doc["Alarm"], "abc-trading-dev-remediate-cpu-high");
        assert!(!Document::new(0).metric("X", "Count", 1.0).to_line().contains('\n'));
    }

    #[test]
    fn metrics_can_be_declared_under_several_dimension_sets() {
        let doc = Document::new(0)
            .dimension("Environment", "dev")
            .dimension("Account", "111111111111")
            .dimension("Service", "audit")
            .dimension_sets(&[&["Environment", "Service"], &["Environment", "Account", "Service"]])
            .metric("Events", "Count", 3)
            .dimension_sets(&[&["Environment", "Service"], &["Environment", "Nowhere"]])
            .metric("Bytes", "Bytes", 90)
            .to_value();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"],
            json!([
                {"Namespace": "ABC/Trading", "Dimensions": [["Environment", "Service"], ["Environment", "Account", "Service"]],
                    "Metrics": [{"Name": "Events", "Unit": "Count"}]},
                {"Namespace": "ABC/Trading", "Dimensions": [["Environment", "Service"]],
                    "Metrics": [{"Name": "Bytes", "Unit": "Bytes"}]}
            ]),
            "no empty default directive, and no set naming a dimension the document lacks"
        );
        assert_eq!(
            (doc["Account"].as_str(), doc["Events"].as_i64(), doc["Bytes"].as_i64()),
            (Some("111111111111"), Some(3), Some(90))
        );
    }
}
