//! A `FailureSignatureDetected` event as the log processor publishes it, and what makes it one.

use serde::Deserialize;
use serde_json::Value;

/// The event's source and detail-type; anything else is not a detection.
pub const SOURCE: &str = "abc.platform";
pub const DETAIL_TYPE: &str = "FailureSignatureDetected";

/// The detail (`functions/log-processor/src/pipeline.rs` `Detection`); unknown fields are
/// allowed so the log processor can add some without breaking triage.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Detection {
    pub environment: String,
    pub service: String,
    pub signature: String,
    /// As the log processor classified it; the published config's severity wins when it knows
    /// the signature.
    pub severity: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub count: u64,
    /// The member account whose logs showed it (the log batch's owner).
    pub account: String,
    #[serde(default)]
    pub log_group: String,
    /// The first matching line, already redacted.
    #[serde(default)]
    pub sample: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotADetection {
    #[error("source `{from}`, detail-type `{detail_type}` is not a {DETAIL_TYPE} event")]
    Kind { from: String, detail_type: String },
    #[error("the detail is not a detection: {0}")]
    Detail(String),
    #[error("detection field `{field}` is `{value}`: it must be a plain name")]
    BadName { field: &'static str, value: String },
}

/// The detection `event` carries, once it is one. The sender is checked by the handler.
pub fn parse(event: &Value) -> Result<Detection, NotADetection> {
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    if field("source") != SOURCE || field("detail-type") != DETAIL_TYPE {
        return Err(NotADetection::Kind { from: field("source"), detail_type: field("detail-type") });
    }
    let detection: Detection = serde_json::from_value(event.get("detail").cloned().unwrap_or(Value::Null))
        .map_err(|e| NotADetection::Detail(e.to_string()))?;
    // These become a guard-table key and parts of a deploy request: names only, no separators.
    for (field, value) in [
        ("account", &detection.account),
        ("service", &detection.service),
        ("signature", &detection.signature),
        ("environment", &detection.environment),
    ] {
        let plain = !value.is_empty()
            && value.len() <= 128
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !plain {
            return Err(NotADetection::BadName { field, value: value.clone() });
        }
    }
    Ok(detection)
}
