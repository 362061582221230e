//! Fakes of the alarm scaler's ports for the schedules' tests: groups by account, a guard that
//! always grants its lock and keeps the audit.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::capacity::Target;
use platform_core::capacity::{AuditRecord, Claim, GroupState, Groups, Guard};
use platform_core::capacity::{Capacity, PastAction};
use platform_core::error::AwsError;

#[derive(Debug, Default)]
pub struct Fakes {
    pub groups: Mutex<BTreeMap<String, GroupState>>,
    pub resized: Mutex<Vec<(String, Capacity, String)>>,
    pub audit: Mutex<Vec<AuditRecord>>,
    pub history: Mutex<Vec<PastAction>>,
}

#[async_trait]
impl Groups for Fakes {
    async fn describe(&self, account: &str, _target: &Target) -> Result<GroupState, AwsError> {
        self.groups
            .lock()
            .expect("lock")
            .get(account)
            .cloned()
            .ok_or_else(|| AwsError::new(platform_core::error::ErrorClass::NotFound, "DescribeNodegroup", "no cluster"))
    }
    async fn resize(&self, account: &str, _t: &Target, to: Capacity, token: &str) -> Result<Option<String>, AwsError> {
        self.resized.lock().expect("lock").push((account.into(), to, token.into()));
        if let Some(g) = self.groups.lock().expect("lock").get_mut(account) {
            g.capacity = to;
        }
        Ok(Some("update-1".into()))
    }
}

#[async_trait]
impl Guard for Fakes {
    async fn claim_transition(&self, _t: &str, _o: &str, _n: DateTime<Utc>) -> Result<Claim, AwsError> {
        Ok(Claim::Won)
    }
    async fn lock_target(&self, _k: &str, _o: &str, _n: DateTime<Utc>, _s: i64) -> Result<Claim, AwsError> {
        Ok(Claim::Won)
    }
    async fn unlock_target(&self, _k: &str, _o: &str) -> Result<(), AwsError> {
        Ok(())
    }
    async fn history(&self, _k: &str) -> Result<Vec<PastAction>, AwsError> {
        Ok(self.history.lock().expect("lock").clone())
    }
    async fn record(&self, _k: &str, r: &AuditRecord) -> Result<(), AwsError> {
        self.audit.lock().expect("lock").push(r.clone());
        Ok(())
    }
}
