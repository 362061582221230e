//! CloudWatch "Alarm State Change" events as they reach the central bus, and the target they name.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use platform_core::capacity::{Direction, Target};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlarmError {
    #[error("not a CloudWatch alarm state change: source `{event_source}`, detail-type `{detail_type}`")]
    NotAnAlarmChange { event_source: String, detail_type: String },
    #[error("alarm event is malformed: {0}")]
    Malformed(String),
    #[error(
        "alarm `{alarm}` names no scaling target: its metric needs the environment's ClusterName (with or without NodegroupName), or AutoScalingGroupName (found {dimensions:?})"
    )]
    NoTarget { alarm: String, dimensions: BTreeMap<String, String> },
    #[error(
        "alarm `{alarm}` does not say which way to scale: its name must end in -high (scale out) or -low (scale in)"
    )]
    NoDirection { alarm: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// One state transition of one alarm in one member account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmChange {
    /// The EventBridge event id: the same transition delivered twice carries the same id.
    pub event_id: String,
    pub account: String,
    pub region: String,
    pub alarm: String,
    pub state: AlarmState,
    pub previous: Option<AlarmState>,
    /// When the alarm entered `state`.
    pub since: DateTime<Utc>,
    pub dimensions: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: String,
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    region: String,
    detail: Detail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    alarm_name: String,
    state: StateDetail,
    #[serde(default)]
    previous_state: Option<StateDetail>,
    #[serde(default)]
    configuration: Configuration,
}

#[derive(Deserialize)]
struct StateDetail {
    value: AlarmState,
    #[serde(deserialize_with = "cloudwatch_time")]
    timestamp: DateTime<Utc>,
}

/// CloudWatch writes `2026-11-24T19:00:00.000+0000` (no colon in the offset), which is not
/// RFC 3339; both forms are accepted.
fn cloudwatch_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&text)
        .or_else(|_| DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| serde::de::Error::custom(format!("timestamp `{text}`: {e}")))
}

#[derive(Default, Deserialize)]
struct Configuration {
    #[serde(default)]
    metrics: Vec<MetricEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricEntry {
    #[serde(default)]
    metric_stat: Option<MetricStat>,
}

#[derive(Deserialize)]
struct MetricStat {
    metric: Metric,
}

#[derive(Deserialize)]
struct Metric {
    #[serde(default)]
    dimensions: BTreeMap<String, String>,
}

impl AlarmChange {
    /// Parses the event EventBridge delivers (`aws.cloudwatch` / `CloudWatch Alarm State Change`).
    pub fn from_event(event: &Value) -> Result<AlarmChange, AlarmError> {
        let e: Envelope = serde_json::from_value(event.clone()).map_err(|e| AlarmError::Malformed(e.to_string()))?;
        if e.source != "aws.cloudwatch" || e.detail_type != "CloudWatch Alarm State Change" {
            return Err(AlarmError::NotAnAlarmChange { event_source: e.source, detail_type: e.detail_type });
        }
        // A metric-math alarm lists several metrics: the target's dimensions are on any of them.
        let mut dimensions = BTreeMap::new();
        for m in e.detail.configuration.metrics.into_iter().filter_map(|m| m.metric_stat) {
            dimensions.extend(m.metric.dimensions);
        }
        Ok(AlarmChange {
            event_id: e.id,
            account: e.account,
            region: e.region,
            alarm: e.detail.alarm_name,
            state: e.detail.state.value,
            previous: e.detail.previous_state.map(|s| s.value),
            since: e.detail.state.timestamp,
            dimensions,
        })
    }

    /// The group the alarm watches. Container Insights' node metrics carry only `ClusterName`
    /// (no nodegroup dimension): such an alarm means `managed_nodegroup` of that cluster, given
    /// as `(cluster, nodegroup)` by the naming convention; any other cluster is no target of ours.
    pub fn target(&self, managed_nodegroup: Option<(&str, &str)>) -> Result<Target, AlarmError> {
        let d = &self.dimensions;
        match (d.get("ClusterName"), d.get("NodegroupName"), d.get("AutoScalingGroupName")) {
            (Some(cluster), Some(nodegroup), _) => {
                Ok(Target::Nodegroup { cluster: cluster.clone(), nodegroup: nodegroup.clone() })
            }
            (_, _, Some(name)) => Ok(Target::AutoScalingGroup { name: name.clone() }),
            (Some(cluster), None, None) => match managed_nodegroup {
                Some((c, nodegroup)) if c == cluster => {
                    Ok(Target::Nodegroup { cluster: cluster.clone(), nodegroup: nodegroup.to_string() })
                }
                _ => Err(AlarmError::NoTarget { alarm: self.alarm.clone(), dimensions: d.clone() }),
            },
            _ => Err(AlarmError::NoTarget { alarm: self.alarm.clone(), dimensions: d.clone() }),
        }
    }

    /// Which way the alarm pushes when it is in ALARM.
    pub fn direction(&self) -> Result<Direction, AlarmError> {
        if self.alarm.ends_with("-high") {
            Ok(Direction::Out)
        } else if self.alarm.ends_with("-low") {
            Ok(Direction::In)
        } else {
            Err(AlarmError::NoDirection { alarm: self.alarm.clone() })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(name: &str, state: &str, dimensions: Value) -> Value {
        json!({
            "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": "222222222222", "time": "2026-11-24T19:00:00Z", "region": "us-east-1",
            "resources": [format!("arn:aws:cloudwatch:us-east-1:222222222222:alarm:{name}")],
            "detail": {
                "alarmName": name,
                "state": {"value": state, "reason": "Threshold Crossed", "reasonData": "{\"version\":\"1.0\"}", "timestamp": "2026-11-24T19:00:00.000+0000"},
                "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-24T18:00:00.000+0000"},
                "configuration": {"metrics": [{"id": "m1", "returnData": true,
                    "metricStat": {"metric": {"namespace": "ContainerInsights", "name": "node_cpu_utilization", "dimensions": dimensions},
                                   "period": 60, "stat": "Average"}}]}
            }
        })
    }

    #[test]
    fn nodegroup_and_group_alarms_name_their_targets() {
        let e = event(
            "abc-trading-dev-remediate-nodes-cpu-high",
            "ALARM",
            json!({"ClusterName": "abc-trading-dev", "NodegroupName": "abc-trading-dev-nodes"}),
        );
        let a = AlarmChange::from_event(&e).expect("parses");
        assert_eq!(
            (a.state, a.previous, a.account.as_str()),
            (AlarmState::Alarm, Some(AlarmState::Ok), "222222222222")
        );
        assert_eq!(
            a.target(None),
            Ok(Target::Nodegroup { cluster: "abc-trading-dev".into(), nodegroup: "abc-trading-dev-nodes".into() })
        );
        assert_eq!(a.direction(), Ok(Direction::Out));
        assert_eq!(
            a.target(None).expect("target").key(&a.account),
            "222222222222/eks/abc-trading-dev/abc-trading-dev-nodes"
        );

        let asg =
            AlarmChange::from_event(&event("x-remediate-workers-cpu-low", "OK", json!({"AutoScalingGroupName": "w"})))
                .expect("parses");
        assert_eq!(asg.target(None), Ok(Target::AutoScalingGroup { name: "w".into() }));
        assert_eq!(asg.direction(), Ok(Direction::In));
    }

    #[test]
    fn other_events_and_unusable_alarms_are_refused_by_name() {
        let mut other = event("a-high", "ALARM", json!({}));
        other["source"] = json!("aws.ec2");
        assert!(matches!(AlarmChange::from_event(&other), Err(AlarmError::NotAnAlarmChange { .. })));
        assert!(matches!(AlarmChange::from_event(&json!({"source": "aws.cloudwatch"})), Err(AlarmError::Malformed(_))));
        let no_target =
            AlarmChange::from_event(&event("a-high", "ALARM", json!({"InstanceId": "i-1"}))).expect("parses");
        assert!(matches!(no_target.target(None), Err(AlarmError::NoTarget { .. })));
        // Container Insights' cluster-level metrics: the cluster's managed nodegroup, and only
        // for the environment's own cluster.
        let cluster_only =
            AlarmChange::from_event(&event("a-high", "ALARM", json!({"ClusterName": "c"}))).expect("parses");
        assert_eq!(
            cluster_only.target(Some(("c", "c-nodes"))),
            Ok(Target::Nodegroup { cluster: "c".into(), nodegroup: "c-nodes".into() })
        );
        assert!(matches!(cluster_only.target(Some(("other", "other-nodes"))), Err(AlarmError::NoTarget { .. })));
        assert!(matches!(cluster_only.target(None), Err(AlarmError::NoTarget { .. })));
        let no_direction = AlarmChange::from_event(&event("a-mid", "ALARM", json!({}))).expect("parses");
        assert!(matches!(no_direction.direction(), Err(AlarmError::NoDirection { .. })));
    }
}
