//! What CloudWatch does with a function's EMF log lines on AWS, done against the emulator: each document's metrics put, per dimension set.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use serde_json::Value;

use platform_core::error::{AwsError, ClassifyExt, ErrorClass};

/// PutMetricData takes at most 1,000 datums a call.
const BATCH: usize = 1000;

/// The datums of one EMF document; a document that breaks the specification is an error naming
/// what (CloudWatch would drop it and log a warning: here it fails the invocation, so a bug shows).
pub fn datums(doc: &Value) -> Result<Vec<(String, MetricDatum)>, String> {
    let aws = doc.get("_aws").ok_or("no `_aws` member")?;
    let ts = aws.get("Timestamp").and_then(Value::as_i64).ok_or("no numeric `_aws.Timestamp`")?;
    let directives = aws.get("CloudWatchMetrics").and_then(Value::as_array).ok_or("no `CloudWatchMetrics` array")?;
    let mut out = Vec::new();
    for d in directives {
        let namespace = d.get("Namespace").and_then(Value::as_str).ok_or("a directive without `Namespace`")?;
        let sets = d.get("Dimensions").and_then(Value::as_array).ok_or("a directive without `Dimensions`")?;
        let metrics = d.get("Metrics").and_then(Value::as_array).ok_or("a directive without `Metrics`")?;
        for set in sets {
            let keys = set.as_array().ok_or("a dimension set that is not an array")?;
            let mut dimensions = Vec::new();
            for k in keys {
                let k = k.as_str().ok_or("a dimension name that is not a string")?;
                let v = doc
                    .get(k)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("dimension `{k}` has no string member"))?;
                dimensions.push(Dimension::builder().name(k).value(v).build());
            }
            for m in metrics {
                let name = m.get("Name").and_then(Value::as_str).ok_or("a metric without `Name`")?;
                let unit = m.get("Unit").and_then(Value::as_str).unwrap_or("None");
                let values: Vec<f64> = match doc.get(name) {
                    Some(Value::Number(n)) => n.as_f64().into_iter().collect(),
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_f64).collect(),
                    _ => return Err(format!("metric `{name}` has no numeric member")),
                };
                let datum = MetricDatum::builder()
                    .metric_name(name)
                    .set_dimensions(Some(dimensions.clone()))
                    .timestamp(AwsDateTime::from_millis(ts))
                    .unit(StandardUnit::from(unit))
                    .set_values(Some(values))
                    .build();
                out.push((namespace.to_string(), datum));
            }
        }
    }
    Ok(out)
}

/// Puts every document's metrics, namespace by namespace; returns how many datums.
pub async fn land(client: &Client, docs: &[Value]) -> Result<usize, AwsError> {
    let mut by_namespace: std::collections::BTreeMap<String, Vec<MetricDatum>> = Default::default();
    for doc in docs {
        let datums =
            datums(doc).map_err(|m| AwsError::new(ErrorClass::InvalidRequest, "PutMetricData", format!("emf: {m}")))?;
        for (ns, d) in datums {
            by_namespace.entry(ns).or_default().push(d);
        }
    }
    let mut n = 0;
    for (ns, datums) in by_namespace {
        for batch in datums.chunks(BATCH) {
            client
                .put_metric_data()
                .namespace(&ns)
                .set_metric_data(Some(batch.to_vec()))
                .send()
                .await
                .classify("PutMetricData")?;
            n += batch.len();
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::datums;
    use serde_json::json;

    #[test]
    fn each_dimension_set_is_a_datum_per_metric() {
        let doc = json!({"_aws": {"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{"Namespace": "ABC/Trading",
            "Dimensions": [["Environment", "Service"], ["Environment", "Account", "Service"]],
            "Metrics": [{"Name": "Errors", "Unit": "Count"}, {"Name": "Events", "Unit": "Count"}]}]},
            "Environment": "dev", "Account": "222233334444", "Service": "audit", "Errors": 2, "Events": 40});
        let d = datums(&doc).expect("valid");
        assert_eq!(d.len(), 4);
        assert!(d.iter().all(|(ns, _)| ns == "ABC/Trading"));
        assert_eq!(d[3].1.dimensions().len(), 3);
    }

    #[test]
    fn a_document_without_a_dimension_member_is_refused_by_name() {
        let doc = json!({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["Account"]],
            "Metrics": [{"Name": "Errors"}]}]}, "Errors": 1});
        assert_eq!(datums(&doc).expect_err("refused"), "dimension `Account` has no string member");
    }
}
