//! A `ReleaseRequested` event received: its sender and environment checked, and where it goes.

use std::collections::BTreeMap;

use platform_core::trust::Sender;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DeployError, Deps};

/// `abc.platform` `ReleaseRequested` as published: the account is optional (absent: every
/// account of the environment), the release too (absent: the environment's latest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRequested {
    pub environment: String,
    // Absent stays absent: the state machine routes on `$.accountId` being present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, String>,
    /// Who asked (the pipeline's or person's identity): never the approver of their own release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// Why a fleet release may start inside a trading session (the fleet audits and notifies it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
    /// Why a fleet release may skip the promotion rule (audited and notified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<String>,
    /// Set here from config, never by the sender: a release for one account of an environment
    /// with release gates (promotion, approval, freeze) goes through the fleet release as a
    /// fleet of one, so no single-account request walks around them.
    #[serde(skip_deserializing, skip_serializing_if = "std::ops::Not::not")]
    pub gated: bool,
}

/// A `ReleaseRequested` event to the request it carries, once its sender (the envelope's
/// `account`, which EventBridge sets) is the automation account and its environment ours.
pub(super) fn receive(event: &Value, deps: &Deps) -> Result<ReleaseRequested, DeployError> {
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default();
    if field("source") != "abc.platform" || field("detail-type") != "ReleaseRequested" {
        return Err(DeployError::NotARequest(format!(
            "source `{}`, detail-type `{}`",
            field("source"),
            field("detail-type")
        )));
    }
    deps.boundary.sent_by(event, "ReleaseRequested", Sender::Automation)?;
    let mut request: ReleaseRequested = serde_json::from_value(event.get("detail").cloned().unwrap_or(Value::Null))
        .map_err(|e| DeployError::NotARequest(format!("its detail: {e}")))?;
    let env = deps.environment(&request.environment)?;
    request.gated = request.account_id.is_some() && env.release.has_gates();
    // One account's deploy in an environment without gates has nothing to pass.
    if request.account_id.is_some() && !request.gated && (request.emergency.is_some() || request.force.is_some()) {
        return Err(DeployError::NotARequest(format!(
            "environment {} has no release gates for emergency or force to pass: leave them out",
            request.environment
        )));
    }
    Ok(request)
}
