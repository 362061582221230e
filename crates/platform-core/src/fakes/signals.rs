//! The signal ledger in memory, with the guard table's window semantics: claimed once per window, counted after.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::AwsError;
use crate::signals::{Sighting, SignalLedger};

/// One key's window, as the table's `signal#<key>` item holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub since: DateTime<Utc>,
    /// Epoch seconds.
    pub open_until: i64,
    pub suppressed: u64,
    pub owner: String,
    /// The owners counted in the window, each once.
    pub counted: std::collections::BTreeSet<String>,
}

/// Windows by key.
#[derive(Debug, Default)]
pub struct MemorySignals {
    pub windows: Mutex<BTreeMap<String, Window>>,
}

impl MemorySignals {
    /// How many detections of `key` were suppressed in its current window.
    pub fn suppressed(&self, key: &str) -> u64 {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).get(key).map_or(0, |w| w.suppressed)
    }
}

#[async_trait]
impl SignalLedger for MemorySignals {
    async fn sight(
        &self,
        key: &str,
        owner: &str,
        now: DateTime<Utc>,
        window_seconds: i64,
    ) -> Result<Sighting, AwsError> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get_mut(key) {
            // `attribute_not_exists(pk) OR open_until < :now` failed: the owner's own claim, or
            // counted once per owner.
            Some(w) if w.open_until >= now.timestamp() => {
                if w.owner == owner {
                    return Ok(Sighting::First);
                }
                if w.counted.insert(owner.to_string()) {
                    w.suppressed += 1;
                }
                Ok(Sighting::Suppressed { count: w.suppressed, since: w.since })
            }
            _ => {
                let window = Window {
                    since: now,
                    open_until: now.timestamp() + window_seconds,
                    suppressed: 0,
                    owner: owner.to_string(),
                    counted: Default::default(),
                };
                windows.insert(key.to_string(), window);
                Ok(Sighting::First)
            }
        }
    }
}
