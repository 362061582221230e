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
    metrics: Vec<(String, &'static str, Value)>,
    properties: Vec<(String, Value)>,
}

impl Document {
    pub fn new(timestamp_ms: i64) -> Self {
        Document { timestamp_ms, dimensions: Vec::new(), metrics: Vec::new(), properties: Vec::new() }
    }

    /// A dimension; keep its values low-cardinality (config names, not ids).
    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    /// A metric value with its CloudWatch unit (`Count`, `Bytes`, `Milliseconds`, `Seconds`);
    /// a count stays an integer in the document.
    pub fn metric(mut self, name: impl Into<String>, unit: &'static str, value: impl Into<Value>) -> Self {
        self.metrics.push((name.into(), unit, value.into()));
        self
    }

    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    pub fn to_value(&self) -> Value {
        let names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let metrics: Vec<Value> = self.metrics.iter().map(|(n, unit, _)| json!({"Name": n, "Unit": unit})).collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [names], "Metrics": metrics}]
            }),
        );
        for (name, value) in &self.dimensions {
            doc.insert(name.clone(), json!(value));
        }
        for (name, value) in &self.properties {
            doc.insert(name.clone(), value.clone());
        }
        for (name, _, value) in &self.metrics {
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
}
