//! An alarm changing state as CloudWatch changes it: set in the emulator, in its own account, and its state-change event delivered with the alarm's real configuration.

use std::sync::Arc;

use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Dispatch, Runtime, RuntimeError, aws_error, context, template};

/// The role the runtime reads and sets a member's alarms with, as the seeded world makes it.
const MEMBER_ROLE: &str = "abc-trading-automation";

fn configuration(a: &MetricAlarm) -> Value {
    let stat = |namespace: Option<&str>, name: Option<&str>, dims: Value, period: Option<i32>, stat: Option<&str>| json!({"metric": {"namespace": namespace, "name": name, "dimensions": dims}, "period": period, "stat": stat});
    let dims = |d: &[aws_sdk_cloudwatch::types::Dimension]| {
        Value::Object(d.iter().map(|d| (d.name().unwrap_or_default().to_string(), json!(d.value()))).collect())
    };
    let metrics: Vec<Value> = if a.metrics().is_empty() {
        let statistic =
            a.statistic().map(|s| s.as_str().to_string()).or_else(|| a.extended_statistic().map(str::to_string));
        vec![json!({"id": "m1", "returnData": true,
            "metricStat": stat(a.namespace(), a.metric_name(), dims(a.dimensions()), a.period(), statistic.as_deref())})]
    } else {
        a.metrics()
            .iter()
            .map(|q| match (q.metric_stat(), q.expression()) {
                (Some(s), _) => {
                    let m = s.metric();
                    json!({"id": q.id(), "returnData": q.return_data(),
                        "metricStat": stat(m.and_then(|m| m.namespace()), m.and_then(|m| m.metric_name()),
                            dims(m.map(|m| m.dimensions()).unwrap_or_default()), s.period(), s.stat())})
                }
                (None, expression) => {
                    json!({"id": q.id(), "expression": expression, "label": q.label(), "returnData": q.return_data()})
                }
            })
            .collect()
    };
    json!({"description": a.alarm_description(), "metrics": metrics})
}

impl Runtime {
    /// Sets alarm `name` of `account` to `state` at `at` and delivers its "CloudWatch Alarm State
    /// Change" to `bus`, sent by that account: a member's alarm reaches the environment bus
    /// through its baseline's forwarding rule, the automation account's own through its default
    /// bus. An alarm that does not exist is an error, as CloudWatch emits nothing for it.
    pub async fn set_alarm(
        self: &Arc<Self>,
        account: &str,
        name: &str,
        state: &str,
        reason: &str,
        bus: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Dispatch>, RuntimeError> {
        let ctx = if account == template::ACCOUNT {
            self.ctx.clone()
        } else {
            self.ctx.in_account(&self.ctx.sessions(MEMBER_ROLE, "local-runtime"), account)
        };
        let cw = ctx.client::<aws_sdk_cloudwatch::Client>();
        let described = cw
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeAlarms")(context(&e)))?;
        let alarm = described
            .metric_alarms()
            .first()
            .cloned()
            .ok_or_else(|| RuntimeError::Invalid(format!("account {account} has no alarm `{name}`")))?;
        let previous = json!({
            "value": alarm.state_value().map_or("INSUFFICIENT_DATA", StateValue::as_str),
            "reason": alarm.state_reason().unwrap_or("Unchecked: Initial alarm creation"),
            "timestamp": alarm.state_updated_timestamp().map(|t| t.to_string()),
        });
        cw.set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::from(state))
            .state_reason(reason)
            .send()
            .await
            .map_err(|e| aws_error("SetAlarmState")(context(&e)))?;
        let stamp = at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
        let event = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": account,
            "time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": self.ctx.region(),
            "resources": [alarm.alarm_arn()],
            "detail": {
                "alarmName": name,
                "state": {"value": state, "reason": reason, "timestamp": stamp},
                "previousState": previous,
                "configuration": configuration(&alarm),
            }
        });
        self.send_event_from(bus, event, Some(account)).await
    }
}
