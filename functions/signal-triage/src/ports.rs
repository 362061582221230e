//! What triage needs from the world: the ledger of vended accounts and releases, and the guard table's signal windows.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

pub use platform_core::ports::ParameterStore;
pub use platform_core::signals::{Sighting, SignalLedger};
pub use platform_core::telemetry::MetricsSink;

/// A workload's resources as a deploy overrides them (`{"memory": "1536Mi"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// What platform deploy recorded for an account (`<prefix>/accounts/<env>/<id>/release`): the
/// release it runs, when, the one before it and the resources it overrides. A record written
/// before deploy kept the time or the previous release has neither: nothing is rolled back then.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountRelease {
    pub name: String,
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub previous: Option<String>,
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceOverride>,
}

/// The release each account runs, as platform deploy records it.
#[async_trait]
pub trait ReleaseRecords: Send + Sync + std::fmt::Debug {
    async fn current(&self, environment: &str, account: &str) -> Result<Option<AccountRelease>, AwsError>;
}
