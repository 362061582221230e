//! Container Insights in memory: the pods' reservation per cluster, each read recorded, for tests of the scaler.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::error::AwsError;

use crate::demand::Reservation;
use crate::ports::PodDemand;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the readings are intact.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The latest reservation of each cluster, by (account, cluster); a cluster nothing reported
/// for answers `None`, as Container Insights without a datapoint does.
#[derive(Debug, Default)]
pub struct MemoryDemand {
    readings: Mutex<BTreeMap<(String, String), Reservation>>,
    reads: Mutex<Vec<(String, String)>>,
}

impl MemoryDemand {
    /// The cluster's monitoring reports `reading` from now on.
    pub fn report(&self, account: &str, cluster: &str, reading: Reservation) {
        lock(&self.readings).insert((account.to_string(), cluster.to_string()), reading);
    }

    /// The (account, cluster) of every read so far, in order.
    pub fn reads(&self) -> Vec<(String, String)> {
        lock(&self.reads).clone()
    }
}

#[async_trait]
impl PodDemand for MemoryDemand {
    async fn reservation(
        &self,
        account: &str,
        cluster: &str,
        _now: DateTime<Utc>,
    ) -> Result<Option<Reservation>, AwsError> {
        let key = (account.to_string(), cluster.to_string());
        lock(&self.reads).push(key.clone());
        Ok(lock(&self.readings).get(&key).copied())
    }
}
