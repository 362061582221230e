//! The groups and the guard table in memory, with the table's conditional-write semantics.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::capacity::{AuditDecision, AuditRecord, Capacity, Claim, GroupState, Groups, Guard, PastAction, Target};
use crate::error::{AwsError, ErrorClass};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the data is intact.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Groups by account: an account without one answers NotFound, as DescribeNodegroup does.
#[derive(Debug, Default)]
pub struct MemoryGroups {
    pub groups: Mutex<BTreeMap<String, GroupState>>,
    /// Every resize: account, the capacity asked for, the idempotency token.
    pub resized: Mutex<Vec<(String, Capacity, String)>>,
}

impl MemoryGroups {
    /// One group in `account`.
    pub fn with(account: &str, state: GroupState) -> Self {
        let groups = MemoryGroups::default();
        groups.set(account, state);
        groups
    }

    pub fn set(&self, account: &str, state: GroupState) {
        lock(&self.groups).insert(account.to_string(), state);
    }

    pub fn set_capacity(&self, account: &str, capacity: Capacity) {
        if let Some(g) = lock(&self.groups).get_mut(account) {
            g.capacity = capacity;
        }
    }

    pub fn resizes(&self) -> Vec<(String, Capacity, String)> {
        lock(&self.resized).clone()
    }
}

#[async_trait]
impl Groups for MemoryGroups {
    async fn describe(&self, account: &str, _target: &Target) -> Result<GroupState, AwsError> {
        lock(&self.groups)
            .get(account)
            .cloned()
            .ok_or_else(|| AwsError::new(ErrorClass::NotFound, "DescribeNodegroup", format!("no group in {account}")))
    }

    async fn resize(&self, account: &str, _t: &Target, to: Capacity, token: &str) -> Result<Option<String>, AwsError> {
        let mut groups = lock(&self.groups);
        let group = groups.get_mut(account).ok_or_else(|| {
            AwsError::new(ErrorClass::NotFound, "UpdateNodegroupConfig", format!("no group in {account}"))
        })?;
        group.capacity = to;
        lock(&self.resized).push((account.into(), to, token.into()));
        Ok(Some(format!("update-{}", lock(&self.resized).len())))
    }
}

/// The guard table: the first claim of a transition wins, a lock is taken only when free or
/// expired, released only by its owner; actions (not refusals) make the history.
#[derive(Debug, Default)]
pub struct MemoryGuard {
    pub claims: Mutex<BTreeMap<String, String>>,
    /// Target key to (owner, locked until, epoch seconds).
    pub locks: Mutex<BTreeMap<String, (String, i64)>>,
    pub records: Mutex<Vec<AuditRecord>>,
    /// Actions taken before the test began, on every target.
    pub seeded: Mutex<Vec<PastAction>>,
}

impl MemoryGuard {
    pub fn records(&self) -> Vec<AuditRecord> {
        lock(&self.records).clone()
    }
}

#[async_trait]
impl Guard for MemoryGuard {
    async fn claim_transition(&self, transition: &str, owner: &str, _now: DateTime<Utc>) -> Result<Claim, AwsError> {
        let mut claims = lock(&self.claims);
        // `attribute_not_exists(pk) OR #owner = :owner`, as the table's condition.
        if claims.get(transition).is_some_and(|o| o != owner) {
            return Ok(Claim::Taken);
        }
        claims.insert(transition.into(), owner.into());
        Ok(Claim::Won)
    }

    async fn lock_target(&self, key: &str, owner: &str, now: DateTime<Utc>, seconds: i64) -> Result<Claim, AwsError> {
        let mut locks = lock(&self.locks);
        match locks.get(key) {
            // `attribute_not_exists(pk) OR lock_until < :now OR #owner = :owner`, as the table's.
            Some((o, until)) if *until >= now.timestamp() && o != owner => Ok(Claim::Taken),
            _ => {
                locks.insert(key.into(), (owner.into(), now.timestamp() + seconds));
                Ok(Claim::Won)
            }
        }
    }

    async fn unlock_target(&self, key: &str, owner: &str) -> Result<(), AwsError> {
        let mut locks = lock(&self.locks);
        if locks.get(key).is_some_and(|(o, _)| o == owner) {
            locks.remove(key);
        }
        Ok(())
    }

    async fn history(&self, key: &str) -> Result<Vec<PastAction>, AwsError> {
        let mut actions = lock(&self.seeded).clone();
        actions.extend(
            lock(&self.records)
                .iter()
                .filter(|r| r.decision == AuditDecision::Scale && r.target.key(&r.account) == key)
                .filter_map(|r| r.direction.map(|direction| PastAction { at: r.at, direction })),
        );
        actions.sort_by_key(|a| a.at);
        Ok(actions)
    }

    async fn record(&self, _key: &str, record: &AuditRecord) -> Result<(), AwsError> {
        lock(&self.records).push(record.clone());
        Ok(())
    }
}
