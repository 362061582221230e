//! In-memory fakes of the ports, for unit tests here and in every function crate.

mod alarms;
mod approvals;
mod capacity;
mod claims;
mod organization;
mod signals;
mod stacksets;

pub use alarms::{MemoryAlarms, MemoryIndicators};
pub use approvals::{MemoryApprovals, MemoryLeases};
pub use capacity::{MemoryGroups, MemoryGuard};
pub use claims::{Ledger, MemoryLedger};
// `CapturedMetrics` is defined below, beside the other small fakes.
pub use organization::{MemoryOrganization, Org, ROOT, throttled};
pub use signals::MemorySignals;
pub use stacksets::{MemoryStackSets, StartedOperation};

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::{AwsError, ErrorClass};
use crate::ports::{AssumeRoleRequest, Clock, ParameterStore, RoleAssumer, SessionCredentials};

/// Parameter Store in memory; counts writes so tests can prove idempotency.
#[derive(Debug, Default)]
pub struct FakeParameterStore {
    params: Mutex<BTreeMap<String, String>>,
    writes: AtomicUsize,
}

impl FakeParameterStore {
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.params.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn insert(&self, name: &str, value: &str) {
        self.params.lock().unwrap_or_else(|p| p.into_inner()).insert(name.into(), value.into());
    }
}

#[async_trait]
impl ParameterStore for FakeParameterStore {
    async fn get_by_path(&self, path: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let params = self.params.lock().unwrap_or_else(|p| p.into_inner());
        Ok(params.iter().filter(|(k, _)| k.starts_with(path)).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    async fn get_many(&self, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        let params = self.params.lock().unwrap_or_else(|p| p.into_inner());
        Ok(names.iter().filter_map(|n| Some((n.clone(), params.get(n)?.clone()))).collect())
    }

    async fn put(&self, name: &str, value: &str, overwrite: bool) -> Result<(), AwsError> {
        let mut params = self.params.lock().unwrap_or_else(|p| p.into_inner());
        if !overwrite && params.contains_key(name) {
            return Err(AwsError::new(ErrorClass::AlreadyExists, "PutParameter", format!("{name} exists")));
        }
        params.insert(name.to_string(), value.to_string());
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        let mut params = self.params.lock().unwrap_or_else(|p| p.into_inner());
        for n in names {
            params.remove(n);
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// STS that hands out numbered sessions valid for the requested duration from `clock`.
#[derive(Debug)]
pub struct FakeRoleAssumer {
    clock: std::sync::Arc<ManualClock>,
    calls: Mutex<Vec<AssumeRoleRequest>>,
    /// How long each call takes, to let concurrent callers overlap.
    pub latency: Duration,
}

impl FakeRoleAssumer {
    pub fn new(clock: std::sync::Arc<ManualClock>) -> Self {
        FakeRoleAssumer { clock, calls: Mutex::new(Vec::new()), latency: Duration::ZERO }
    }

    pub fn calls(&self) -> Vec<AssumeRoleRequest> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl RoleAssumer for FakeRoleAssumer {
    async fn assume_role(&self, request: &AssumeRoleRequest) -> Result<SessionCredentials, AwsError> {
        let n = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.push(request.clone());
            calls.len()
        };
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok(SessionCredentials {
            access_key_id: format!("ASIAFAKE{n:012}"),
            secret_access_key: format!("secret-{n}"),
            session_token: format!("token-{n}"),
            expires_at: self.clock.now() + Duration::from_secs(u64::try_from(request.duration_seconds).unwrap_or(0)),
        })
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    pub fn at(now: SystemTime) -> Self {
        ManualClock { now: Mutex::new(now) }
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// EMF documents kept instead of printed: the local runtime's per-invocation capture and the
/// tests' view of what a function would have logged.
#[derive(Debug, Default)]
pub struct CapturedMetrics(Mutex<Vec<String>>);

impl crate::telemetry::MetricsSink for CapturedMetrics {
    fn emit(&self, emf: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(emf.to_string());
    }
}

impl CapturedMetrics {
    /// Everything emitted so far, as printed (one or more JSON lines per emit).
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }

    /// The documents emitted so far, one per line, parsed (a line that is not JSON is skipped).
    pub fn documents(&self) -> Vec<serde_json::Value> {
        parsed(&self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The documents emitted since the last take.
    pub fn take(&self) -> Vec<serde_json::Value> {
        parsed(&std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner())))
    }
}

fn parsed(emitted: &[String]) -> Vec<serde_json::Value> {
    emitted.iter().flat_map(|d| d.lines()).filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Deliveries in memory, under the guard table's conditions; `fail` makes every call fail as
/// DynamoDB does when it is unavailable.
#[derive(Debug, Default)]
pub struct MemoryDeliveries {
    /// key -> (done, lease_until)
    entries: Mutex<BTreeMap<String, (bool, i64)>>,
    pub fail: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl crate::deliveries::Deliveries for MemoryDeliveries {
    async fn begin(&self, key: &str, now: i64, lease_seconds: i64) -> Result<crate::deliveries::Begun, AwsError> {
        use crate::deliveries::Begun;
        if self.fail.load(Ordering::Relaxed) {
            return Err(AwsError::new(ErrorClass::Transient, "PutItem", "the table is unavailable"));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key).copied() {
            Some((true, _)) => Ok(Begun::Done),
            Some((false, until)) if until >= now => Ok(Begun::InProgress { lease_until: until }),
            _ => {
                entries.insert(key.to_string(), (false, now + lease_seconds));
                Ok(Begun::Fresh)
            }
        }
    }

    async fn complete(&self, key: &str, _now: i64) -> Result<(), AwsError> {
        if self.fail.load(Ordering::Relaxed) {
            return Err(AwsError::new(ErrorClass::Transient, "UpdateItem", "the table is unavailable"));
        }
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).insert(key.to_string(), (true, 0));
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), AwsError> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.get(key).is_some_and(|(done, _)| !done) {
            entries.remove(key);
        }
        Ok(())
    }
}
