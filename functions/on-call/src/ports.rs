//! What on-call needs from the world: the paging topic, the ticket system, the incidents' records in the guard table and the alarms' current states.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

use crate::alarm::AlarmState;

pub use platform_core::claims::Claim;
pub use platform_core::ports::ParameterStore;
pub use platform_core::telemetry::MetricsSink;

/// The paging topic: one JSON message, in the provider's format, per publish.
#[async_trait]
pub trait Pager: Send + Sync + std::fmt::Debug {
    async fn publish(&self, message: &str) -> Result<(), AwsError>;
}

/// A ticket to open: an OpsItem, de-duplicated by `dedup` while it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketOpen {
    pub dedup: String,
    pub title: String,
    pub description: String,
    pub source: String,
    /// `1` (critical) to `4` (low).
    pub severity: String,
    /// 1 (highest) to 5.
    pub priority: i32,
    pub category: String,
    /// Searchable operational data: account, environment, alarm, runbook.
    pub data: BTreeMap<String, String>,
}

/// Operational data an update or a resolution writes (added to, or replacing, what is there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketUpdate {
    pub data: BTreeMap<String, String>,
}

/// The ticket system: OpsItems.
#[async_trait]
pub trait Tickets: Send + Sync + std::fmt::Debug {
    /// The ticket's id; the open ticket of the same `dedup` when there is one.
    async fn open(&self, ticket: &TicketOpen) -> Result<String, AwsError>;
    /// Fails with `NotFound` for an id the system does not know.
    async fn update(&self, id: &str, update: &TicketUpdate) -> Result<(), AwsError>;
    /// Sets the ticket resolved, writing `update` too.
    async fn resolve(&self, id: &str, update: &TicketUpdate) -> Result<(), AwsError>;
}

/// Where an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Resolved,
}

/// Which channel an incident went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Channel {
    Page,
    Ticket,
}

/// Which incident: an alarm (or a burn pair's stem) of an account in an environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentKey {
    pub environment: String,
    pub account: String,
    /// The alarm's name, or for a burn-rate pair the name without `-long`/`-short`.
    pub name: String,
}

/// The last incident of a key, as the guard table keeps it. A resolved record stays (until its
/// TTL) so a redelivered transition is still known as applied, and the next incident of the key
/// is the next episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub episode: u32,
    /// What the provider and the ticket system de-duplicate on: `<account>/<name>/<episode>`.
    pub dedup_key: String,
    pub status: IncidentStatus,
    pub channel: Channel,
    /// The transition that opened it.
    pub opened_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    pub updates: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_item: Option<String>,
    /// Per alarm name, the timestamp of the last transition applied: anything at or before it
    /// is a redelivery (or older news) and changes nothing.
    pub applied: BTreeMap<String, DateTime<Utc>>,
    /// Bumped by every write: a write expecting another version lost a race.
    pub version: u64,
    /// The invocation that wrote it: a write refused but read back as its own landed (its
    /// answer was lost), one written the same by a racing delivery did not.
    #[serde(default)]
    pub writer: String,
}

/// The incidents' records, written conditionally.
#[async_trait]
pub trait Incidents: Send + Sync + std::fmt::Debug {
    async fn get(&self, key: &IncidentKey) -> Result<Option<IncidentRecord>, AwsError>;
    /// Stores `record` if the stored one is still at version `expected` (`None`: nothing
    /// stored): `Won`, or `Taken` when someone wrote first. `record.version` is what is stored.
    async fn put(&self, key: &IncidentKey, record: &IncidentRecord, expected: Option<u64>) -> Result<Claim, AwsError>;
}

/// An alarm's state now, as CloudWatch describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmStatus {
    pub state: AlarmState,
    /// When it entered the state, when CloudWatch says.
    pub since: Option<DateTime<Utc>>,
}

/// CloudWatch's alarms in this account (the monitoring account's burn windows).
#[async_trait]
pub trait AlarmStates: Send + Sync + std::fmt::Debug {
    /// `None` for an alarm that does not exist.
    async fn status(&self, alarm: &str) -> Result<Option<AlarmStatus>, AwsError>;
}
