//! The triage's memory of detections: the first of a (account, service, signature) within its window claims it, later ones are counted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

/// What the ledger says of one detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sighting", rename_all = "kebab-case")]
pub enum Sighting {
    /// Nothing claimed the key within the window: this detection is sent on.
    First,
    /// Already claimed at `since`: this one is counted (`count` suppressed so far, this one included).
    Suppressed { count: u64, since: DateTime<Utc> },
}

/// The guard table's `signal#<key>` partition (or its fake).
#[async_trait]
pub trait SignalLedger: Send + Sync + std::fmt::Debug {
    /// Claims `key` for `window_seconds` from `now` for `owner` (the execution triaging) when
    /// nothing holds it (or its window has passed); otherwise counts this detection against the
    /// holder, once per owner: the same owner asking again (a retry whose answer was lost) gets
    /// the same answer, its claim or its one count.
    async fn sight(
        &self,
        key: &str,
        owner: &str,
        now: DateTime<Utc>,
        window_seconds: i64,
    ) -> Result<Sighting, AwsError>;
}
