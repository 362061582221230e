//! What each action answers: the fields the state machine's `ResultSelector`s and Choices read.

use serde::{Deserialize, Serialize};

use super::{Deployment, ReleaseRequested};
use crate::infra::InfrastructureStatus;
use crate::rollout::Health;

/// One action's answer. Untagged: each variant is the JSON its action returned before it was
/// typed, so the definition's `$.Payload.<field>` paths are unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// `receive`: the request the event carried, checked.
    Received(ReleaseRequested),
    /// plan, ensure-infrastructure, ensure-access, apply-tier, advance, record: the deploy moves on.
    Deployment(Box<Deployment>),
    InfrastructureStatus(InfrastructureStatus),
    /// tier-health and rollback-health: the gate's verdict.
    Health(Health),
    Verified(Verified),
    Rollback(Rollback),
    /// `probe-database`: whether the restored database answered.
    DatabaseProbed(crate::database_probe::Probed),
    Leased(crate::lease::Leased),
    LeaseReleased {
        released: bool,
    },
}

impl From<Deployment> for Response {
    fn from(d: Deployment) -> Self {
        Response::Deployment(Box::new(d))
    }
}

/// `verify`: the Services found (all the release should have), and every smoke check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub services: usize,
    pub smoke: Vec<SmokeResult>,
}

/// One smoke check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeResult {
    pub name: String,
    /// The proxy path asked.
    pub path: String,
    pub status: u16,
    pub passed: bool,
    /// The answer's body when the check failed (cut short), for the notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

impl SmokeResult {
    pub(super) fn describe(&self) -> String {
        format!("{} ({}) answered {}: {}", self.name, self.path, self.status, self.answer.as_deref().unwrap_or(""))
    }
}

/// `rollback`: what the touched tiers went back to, or why nothing did. The failure notification
/// quotes it whole, so its shape is part of what people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollback {
    pub rolled_back: bool,
    /// The release the tiers went back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Rollback {
    pub fn to(release: &str, tiers: Vec<String>) -> Self {
        Rollback { rolled_back: true, to: Some(release.to_string()), tiers: Some(tiers), reason: None }
    }

    pub fn first_deploy() -> Self {
        Rollback {
            rolled_back: false,
            to: None,
            tiers: None,
            reason: Some("a first deploy: nothing ran before it".to_string()),
        }
    }
}
