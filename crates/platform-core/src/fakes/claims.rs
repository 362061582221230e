//! The vending ledger in memory: leased claims and slots, with the peak of slots held measured.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::claims::{Claim, Finish, VendingLedger};
use crate::error::AwsError;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the ledger is intact.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Default)]
pub struct Ledger {
    /// vending -> (status, execution, lease)
    pub claims: BTreeMap<String, (String, String, DateTime<Utc>)>,
    pub holders: BTreeMap<String, DateTime<Utc>>,
    pub peak: usize,
    pub refusal_delay: std::time::Duration,
}

#[derive(Debug, Default)]
pub struct MemoryLedger(pub Mutex<Ledger>);

#[async_trait]
impl VendingLedger for MemoryLedger {
    async fn claim(
        &self,
        vending: &str,
        execution: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError> {
        let mut l = lock(&self.0);
        if let Some((status, owner, lease)) = l.claims.get(vending)
            && status != "failed"
            && owner != execution
            && *lease >= now
        {
            return Ok(Claim::Taken);
        }
        l.claims.insert(vending.to_string(), ("running".into(), execution.to_string(), lease_until));
        Ok(Claim::Won)
    }
    async fn finish(&self, vending: &str, execution: &str, finish: &Finish) -> Result<(), AwsError> {
        let mut l = lock(&self.0);
        if let Some(claim) = l.claims.get_mut(vending)
            && claim.1 == execution
        {
            claim.0 = match finish {
                Finish::Done { .. } => "done".into(),
                Finish::Failed { .. } => "failed".into(),
            };
        }
        Ok(())
    }
    async fn acquire_slot(
        &self,
        vending: &str,
        max: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError> {
        let delay = {
            let mut l = lock(&self.0);
            l.holders.retain(|_, lease| *lease >= now);
            if l.holders.contains_key(vending) {
                return Ok(Claim::Won);
            }
            if l.holders.len() < max as usize {
                l.holders.insert(vending.to_string(), lease_until);
                l.peak = l.peak.max(l.holders.len());
                return Ok(Claim::Won);
            }
            l.refusal_delay
        };
        tokio::time::sleep(delay).await;
        Ok(Claim::Taken)
    }
    async fn release_slot(&self, vending: &str) -> Result<(), AwsError> {
        lock(&self.0).holders.remove(vending);
        Ok(())
    }
}
