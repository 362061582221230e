//! What the scaler needs from the world: the groups it scales, and the guard table that keeps it honest.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

use crate::alarm::{Direction, Target};
use crate::demand::Reservation;
use crate::guardrails::{Capacity, PastAction};

/// A group as its service reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    pub capacity: Capacity,
    pub tags: BTreeMap<String, String>,
    /// `ACTIVE` / `UPDATING` for a nodegroup; the lifecycle of an Auto Scaling group is always `ACTIVE`.
    pub status: String,
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

/// The outcome of a claim in the guard table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Claim {
    /// This invocation owns it.
    Won,
    /// Someone already did (a duplicate delivery, or a concurrent alarm on the same target).
    Taken,
}

/// One record of the audit trail: who, what, why, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub alarm: String,
    pub account: String,
    pub target: Target,
    /// `scale`, `refuse`, `defer`, `dry-run`.
    pub decision: String,
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

/// What the running pods ask of a cluster, as its monitoring reports it.
#[async_trait]
pub trait PodDemand: Send + Sync + std::fmt::Debug {
    /// The cluster's latest reservation figures, or `None` when nothing reports them (no
    /// Container Insights, or no datapoint in the recent window ending at `now`).
    async fn reservation(
        &self,
        account: &str,
        cluster: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Reservation>, AwsError>;
}

pub use platform_core::telemetry::{MetricsSink, StdoutMetrics};
