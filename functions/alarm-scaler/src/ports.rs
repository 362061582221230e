//! What the scaler needs from the world: the groups it scales, and the guard table that keeps it honest.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::error::AwsError;

use crate::demand::Reservation;

pub use platform_core::capacity::{AuditRecord, Claim, GroupState, Groups, Guard};

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
