//! Group capacity, shared by the scaler and the scheduled operations: targets, the groups port and the guard.

#[cfg(all(feature = "eks", feature = "autoscaling"))]
mod groups;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::TradingHours;
use crate::error::AwsError;

#[cfg(all(feature = "eks", feature = "autoscaling"))]
pub use groups::MemberGroups;

/// What a remediation alarm asks for, by the naming convention (`...-high` / `...-low`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Out,
    In,
}

/// The group an alarm is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    Nodegroup { cluster: String, nodegroup: String },
    AutoScalingGroup { name: String },
}

impl Target {
    /// A stable key for the guard table: one per group per account.
    pub fn key(&self, account: &str) -> String {
        match self {
            Target::Nodegroup { cluster, nodegroup } => format!("{account}/eks/{cluster}/{nodegroup}"),
            Target::AutoScalingGroup { name } => format!("{account}/asg/{name}"),
        }
    }
}

impl Target {
    /// The group's own name (what `dry_run_targets` lists).
    pub fn name(&self) -> &str {
        match self {
            Target::Nodegroup { nodegroup, .. } => nodegroup,
            Target::AutoScalingGroup { name } => name,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Nodegroup { cluster, nodegroup } => write!(f, "nodegroup {cluster}/{nodegroup}"),
            Target::AutoScalingGroup { name } => write!(f, "auto scaling group {name}"),
        }
    }
}

/// Tags by which another autoscaler claims a group; the scaler keeps its hands off.
pub const AUTOSCALER_TAGS: &[(&str, &str)] = &[
    ("k8s.io/cluster-autoscaler/enabled", "Cluster Autoscaler"),
    ("karpenter.sh/discovery", "Karpenter"),
    ("karpenter.sh/nodepool", "Karpenter"),
    ("karpenter.sh/managed-by", "Karpenter"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
}

/// A past action on the target, from the guard table's audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastAction {
    pub at: DateTime<Utc>,
    pub direction: Direction,
}

/// Whether `at` falls inside the trading session (in the market's own time zone).
pub fn in_trading_hours(hours: &TradingHours, at: DateTime<Utc>) -> bool {
    hours.session_at(at).is_some()
}

/// A group as its service reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    pub capacity: Capacity,
    pub tags: BTreeMap<String, String>,
    /// `ACTIVE` / `UPDATING` for a nodegroup; the lifecycle of an Auto Scaling group is always `ACTIVE`.
    pub status: GroupStatus,
}

aws_status! {
    /// An EKS nodegroup's status (an Auto Scaling group is always `Active` here).
    GroupStatus { Creating, Active, Updating, Deleting, CreateFailed, DeleteFailed, Degraded }
}

/// EKS nodegroups and Auto Scaling groups in member accounts.
#[async_trait]
pub trait Groups: Send + Sync + std::fmt::Debug {
    async fn describe(&self, account: &str, target: &Target) -> Result<GroupState, AwsError>;
    /// Sets the desired size (raising max or lowering min with it when the new size needs it).
    /// `token` makes a retried call the same call (EKS `clientRequestToken`). Returns the update
    /// id when the service gives one.
    async fn resize(
        &self,
        account: &str,
        target: &Target,
        to: Capacity,
        token: &str,
    ) -> Result<Option<String>, AwsError>;
}

pub use crate::claims::Claim;

/// What an audit record says was done about a group. Only what reaches the trail: the scaler
/// records the plans its state machine routes to `Record` (a deferral is decided again, a
/// duplicate or busy plan ends without a record), and off-hours records its changes, would-be
/// changes and refusals (not `already`, `absent` or `error`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum AuditDecision {
    /// The group was resized: the only decision cooldowns and flapping count.
    Scale,
    /// It would have been resized, but the environment or the group is in dry run.
    DryRun,
    /// A guardrail stopped the change.
    Refuse,
}

/// One record of the audit trail: who, what, why, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub alarm: String,
    pub account: String,
    pub target: Target,
    pub decision: AuditDecision,
    pub direction: Option<Direction>,
    pub from: u32,
    pub to: u32,
    /// The guardrail that stopped the action, if one did.
    pub guardrail: Option<String>,
    pub reason: String,
}

/// The guard table: conditional writes make de-duplication and per-target exclusivity atomic.
#[async_trait]
pub trait Guard: Send + Sync + std::fmt::Debug {
    /// Claims one alarm transition; only the first claim wins, however many deliveries race.
    async fn claim_transition(&self, transition: &str, owner: &str, now: DateTime<Utc>) -> Result<Claim, AwsError>;
    /// Locks a target for `seconds`; a lock whose time is up can be taken over.
    async fn lock_target(
        &self,
        target_key: &str,
        owner: &str,
        now: DateTime<Utc>,
        seconds: i64,
    ) -> Result<Claim, AwsError>;
    /// Releases the lock if `owner` still holds it.
    async fn unlock_target(&self, target_key: &str, owner: &str) -> Result<(), AwsError>;
    /// Actions taken on the target, oldest first (at most the last 20).
    async fn history(&self, target_key: &str) -> Result<Vec<PastAction>, AwsError>;
    async fn record(&self, target_key: &str, record: &AuditRecord) -> Result<(), AwsError>;
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::AuditDecision;

    /// The guard table and the state machines' `Record` output read these strings.
    #[test]
    fn audit_decisions_keep_their_strings() {
        for (decision, text) in AuditDecision::VARIANTS.iter().zip(["scale", "dry-run", "refuse"]) {
            assert_eq!(serde_json::to_value(decision).expect("json"), text);
            assert_eq!(decision.to_string(), text, "Display agrees with serde");
        }
        assert_eq!(AuditDecision::VARIANTS.len(), 3);
    }
}
