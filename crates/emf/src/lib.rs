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

    /// The document as one line, as the Lambda log agent reads EMF: what [`Document::to_value`]
    /// builds, written directly (building the JSON value first cost about 250,000 instructions a
    /// document in the log processor, most of them allocating and freeing the tree). Members in
    /// the order `to_value` inserts them; a later member of the same name takes the earlier one's
    /// place and value, as in a JSON map.
    pub fn to_line(&self) -> String {
        enum Member<'a> {
            Aws,
            Text(&'a str),
            Value(&'a Value),
        }
        let mut members: Vec<(&str, Member<'_>)> =
            Vec::with_capacity(1 + self.dimensions.len() + self.properties.len() + self.metrics.len());
        fn add<'a>(members: &mut Vec<(&'a str, Member<'a>)>, name: &'a str, member: Member<'a>) {
            match members.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = member,
                None => members.push((name, member)),
            }
        }
        add(&mut members, "_aws", Member::Aws);
        for (name, value) in &self.dimensions {
            add(&mut members, name, Member::Text(value));
        }
        for (name, value) in &self.properties {
            add(&mut members, name, Member::Value(value));
        }
        for (name, _, value, _) in &self.metrics {
            add(&mut members, name, Member::Value(value));
        }
        let mut line = Vec::with_capacity(512 + 48 * members.len());
        line.push(b'{');
        for (i, (name, member)) in members.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            push_json(&mut line, name);
            line.push(b':');
            match member {
                Member::Aws => self.push_aws(&mut line),
                Member::Text(text) => push_json(&mut line, text),
                Member::Value(value) => push_json(&mut line, value),
            }
        }
        line.push(b'}');
        // serde_json writes UTF-8 only.
        String::from_utf8(line).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// The `_aws` member's value, as `to_value` builds it.
    fn push_aws(&self, line: &mut Vec<u8>) {
        let names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let declared = |set: &&Vec<String>| set.iter().all(|n| names.contains(&n.as_str()));
        line.extend_from_slice(b"{\"Timestamp\":");
        push_json(line, &self.timestamp_ms);
        line.extend_from_slice(b",\"CloudWatchMetrics\":[");
        let mut first = true;
        for (i, sets) in self.directives.iter().enumerate() {
            let mut metrics = self.metrics.iter().filter(|m| m.3 == i).peekable();
            if metrics.peek().is_none() && i == 0 && self.directives.len() > 1 {
                continue;
            }
            if !std::mem::take(&mut first) {
                line.push(b',');
            }
            line.extend_from_slice(b"{\"Namespace\":");
            push_json(line, NAMESPACE);
            line.extend_from_slice(b",\"Dimensions\":");
            match sets {
                None => push_json(line, &[&names]),
                Some(sets) => push_json(line, &sets.iter().filter(declared).collect::<Vec<_>>()),
            }
            line.extend_from_slice(b",\"Metrics\":[");
            for (k, (name, unit, _, _)) in metrics.enumerate() {
                if k > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(b"{\"Name\":");
                push_json(line, name);
                line.extend_from_slice(b",\"Unit\":");
                push_json(line, unit);
                line.push(b'}');
            }
            line.extend_from_slice(b"]}");
        }
        line.extend_from_slice(b"]}");
    }
}

/// `value` as compact JSON, as serde_json writes it.
fn push_json(line: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    // Writing plain data (strings, numbers, JSON values) into memory cannot fail.
    let _ = serde_json::to_writer(line, value);
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

    /// The line written directly is the document `to_value` builds, member for member, in the
    /// order it inserts them, a repeated name keeping its first place and its last value.
    #[test]
    fn the_line_is_the_value_written_out() {
        let docs = [
            Document::new(0),
            Document::new(-5).metric("X", "Count", 1.0),
            Document::new(1_700_000_000_000)
                .dimension("Environment", "dev")
                .dimension("Account", "111111111111")
                .dimension("Service", "quo\"te\\ é\u{1}")
                .dimension_sets(&[&["Environment", "Service"], &["Environment", "Account", "Service"]])
                .metric("Events", "Count", 3)
                .metric("Errors", "Count", 0.5)
                .dimension_sets(&[&["Environment", "Service"], &["Nowhere"]])
                .metric("Bytes", "Bytes", 90)
                .property("Alarm", serde_json::json!({"nested": [1, "two", null]}))
                .metric("Service", "Count", 7)
                .metric("Events", "Count", 4),
        ];
        for doc in docs {
            let line = doc.to_line();
            let parsed: Value = serde_json::from_str(&line).expect("json");
            assert_eq!(parsed, doc.to_value(), "{line}");
            let mut expected = vec!["_aws"];
            for name in doc
                .dimensions
                .iter()
                .map(|d| &d.0)
                .chain(doc.properties.iter().map(|p| &p.0))
                .chain(doc.metrics.iter().map(|m| &m.0))
            {
                if !expected.contains(&name.as_str()) {
                    expected.push(name);
                }
            }
            let order: Vec<&str> = line_keys(&line);
            assert_eq!(order, expected, "{line}");
        }
    }

    /// The top-level keys of a line, in the order written.
    fn line_keys(line: &str) -> Vec<&str> {
        let mut keys = Vec::new();
        let mut depth = 0;
        let mut rest = line;
        while let Some(at) = rest.find(['{', '}', '[', ']', '"']) {
            let c = rest.as_bytes()[at];
            rest = &rest[at + 1..];
            match c {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {
                    // A string: its end is the next quote no backslash escapes.
                    let mut end = 0;
                    let bytes = rest.as_bytes();
                    while bytes[end] != b'"' {
                        end += if bytes[end] == b'\\' { 2 } else { 1 };
                    }
                    if depth == 1 && rest[end + 1..].starts_with(':') {
                        keys.push(&rest[..end]);
                    }
                    rest = &rest[end + 1..];
                }
            }
        }
        keys
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
