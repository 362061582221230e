//! A CloudWatch "Alarm State Change" event as EventBridge delivers it: the transition on-call acts on, its sender and its timestamp.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event's source and detail-type; anything else is not an alarm state change.
pub const SOURCE: &str = "aws.cloudwatch";
pub const DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnAlarm {
    #[error("source `{event_source}`, detail-type `{detail_type}` is not a {DETAIL_TYPE} event")]
    Kind { event_source: String, detail_type: String },
    #[error("the alarm event is malformed: {0}")]
    Malformed(String),
}

/// The three states CloudWatch reports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// One state transition of one alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmChange {
    /// The EventBridge envelope's `account`: set by EventBridge to the sending account.
    pub sender: String,
    pub alarm: String,
    pub state: AlarmState,
    pub previous: Option<AlarmState>,
    /// When the alarm entered `state` (`detail.state.timestamp`): the same transition delivered
    /// twice carries the same one.
    pub since: DateTime<Utc>,
    pub reason: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    account: String,
    detail: Detail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    alarm_name: String,
    state: StateDetail,
    #[serde(default)]
    previous_state: Option<PreviousState>,
}

#[derive(Deserialize)]
struct StateDetail {
    value: AlarmState,
    #[serde(default)]
    reason: String,
    #[serde(deserialize_with = "cloudwatch_time")]
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
struct PreviousState {
    value: AlarmState,
}

/// CloudWatch writes `2026-11-24T19:00:00.000+0000` (no colon in the offset), which is not
/// RFC 3339; both forms are accepted.
fn cloudwatch_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse_time(&text).ok_or_else(|| serde::de::Error::custom(format!("timestamp `{text}` is not a time")))
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl AlarmChange {
    /// The transition `event` carries, once it is one; its sender and name are checked by the handler.
    pub fn from_event(event: &Value) -> Result<AlarmChange, NotAnAlarm> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
        if field("source") != SOURCE || field("detail-type") != DETAIL_TYPE {
            return Err(NotAnAlarm::Kind { event_source: field("source"), detail_type: field("detail-type") });
        }
        let e: Envelope = serde_json::from_value(event.clone()).map_err(|e| NotAnAlarm::Malformed(e.to_string()))?;
        Ok(AlarmChange {
            sender: e.account,
            alarm: e.detail.alarm_name,
            state: e.detail.state.value,
            previous: e.detail.previous_state.map(|p| p.value),
            since: e.detail.state.timestamp,
            reason: e.detail.state.reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(state: &str, timestamp: &str) -> Value {
        json!({
            "version": "0", "id": "e-1", "detail-type": DETAIL_TYPE, "source": SOURCE,
            "account": "222233334444", "time": "2026-11-24T19:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:cloudwatch:us-east-1:222233334444:alarm:abc-trading-dev-health-lb-5xx"],
            "detail": {"alarmName": "abc-trading-dev-health-lb-5xx",
                       "state": {"value": state, "reason": "Threshold Crossed", "timestamp": timestamp},
                       "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-24T18:00:00.000+0000"}}
        })
    }

    #[test]
    fn a_state_change_is_read_with_its_cloudwatch_timestamp() {
        let c = AlarmChange::from_event(&event("ALARM", "2026-11-24T19:00:00.123+0000")).expect("change");
        assert_eq!(c.sender, "222233334444");
        assert_eq!(c.state, AlarmState::Alarm);
        assert_eq!(c.previous, Some(AlarmState::Ok));
        assert_eq!(c.since, "2026-11-24T19:00:00.123Z".parse::<DateTime<Utc>>().expect("time"));
        assert_eq!(c.reason, "Threshold Crossed");
        let rfc = AlarmChange::from_event(&event("INSUFFICIENT_DATA", "2026-11-24T19:00:00Z")).expect("rfc 3339");
        assert_eq!(rfc.state, AlarmState::InsufficientData);
    }

    #[test]
    fn anything_else_is_refused_naming_what_it_was() {
        let mut other = event("ALARM", "2026-11-24T19:00:00.000+0000");
        other["source"] = json!("abc.platform");
        let e = AlarmChange::from_event(&other).expect_err("not cloudwatch");
        assert!(e.to_string().contains("`abc.platform`"), "{e}");
        let bad = AlarmChange::from_event(&event("RED", "2026-11-24T19:00:00.000+0000")).expect_err("bad state");
        assert!(matches!(bad, NotAnAlarm::Malformed(_)), "{bad}");
        let when = AlarmChange::from_event(&event("OK", "yesterday")).expect_err("bad time");
        assert!(when.to_string().contains("`yesterday`"), "{when}");
    }
}
