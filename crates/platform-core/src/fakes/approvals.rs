//! Approvals and leases in memory, with the guard table's conditions: decided once, held by one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::approvals::{
    Acquired, ApprovalRecord, Approvals, Decision, Lease, Leases, Opened, PendingApproval, Recorded,
};
use crate::error::AwsError;

#[derive(Debug, Default)]
pub struct MemoryApprovals {
    records: Mutex<BTreeMap<String, ApprovalRecord>>,
}

impl MemoryApprovals {
    pub fn all(&self) -> Vec<ApprovalRecord> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }
}

#[async_trait]
impl Approvals for MemoryApprovals {
    async fn open(&self, approval: &PendingApproval) -> Result<Opened, AwsError> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        match records.get_mut(&approval.id) {
            Some(ApprovalRecord { decision: Some(d), .. }) => Ok(Opened::Decided(d.clone())),
            Some(record) => {
                record.pending.token = approval.token.clone();
                record.pending.answer_by = approval.answer_by;
                Ok(Opened::Waiting)
            }
            None => {
                records.insert(approval.id.clone(), ApprovalRecord { pending: approval.clone(), decision: None });
                Ok(Opened::Waiting)
            }
        }
    }

    async fn get(&self, id: &str) -> Result<Option<ApprovalRecord>, AwsError> {
        Ok(self.records.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned())
    }

    async fn decide(&self, id: &str, decision: &Decision) -> Result<Recorded, AwsError> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        Ok(match records.get_mut(id) {
            None => Recorded::Unknown,
            Some(ApprovalRecord { decision: Some(d), .. }) => Recorded::Already(d.clone()),
            Some(record) => {
                record.decision = Some(decision.clone());
                Recorded::Recorded
            }
        })
    }
}

#[derive(Debug, Default)]
pub struct MemoryLeases {
    leases: Mutex<BTreeMap<(String, String), Lease>>,
}

impl MemoryLeases {
    pub fn held(&self, environment: &str, account: &str) -> Option<Lease> {
        let leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        leases.get(&(environment.to_string(), account.to_string())).cloned()
    }
}

#[async_trait]
impl Leases for MemoryLeases {
    async fn acquire(&self, lease: &Lease, now: DateTime<Utc>) -> Result<Acquired, AwsError> {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let key = (lease.environment.clone(), lease.account.clone());
        match leases.get(&key) {
            Some(held) if held.until > now && held.holder != lease.holder => Ok(Acquired::Busy(held.clone())),
            Some(held) if held.until > now => Ok(Acquired::Held),
            _ => {
                leases.insert(key, lease.clone());
                Ok(Acquired::Held)
            }
        }
    }

    async fn release(&self, environment: &str, account: &str, holder: &str) -> Result<bool, AwsError> {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let key = (environment.to_string(), account.to_string());
        if leases.get(&key).is_some_and(|l| l.holder == holder) {
            leases.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }
}
