//! In-memory fakes of the ports, for unit tests here and in every function crate.

mod capacity;
mod claims;
mod organization;

pub use capacity::{MemoryGroups, MemoryGuard};
pub use claims::{Ledger, MemoryLedger};
// `CapturedMetrics` is defined below, beside the other small fakes.
pub use organization::{MemoryOrganization, Org, ROOT, throttled};

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

/// One instance of [`MemoryStackSets`].
#[derive(Debug, Clone)]
struct MemoryInstance {
    stack_set: String,
    account: String,
    region: String,
    /// Where the instance ends once its operation does.
    status: &'static str,
    detailed: &'static str,
    reason: Option<String>,
    overrides: BTreeMap<String, String>,
    /// The operation that last touched it: while that runs, the instance is OUTDATED and RUNNING.
    operation: String,
}

#[derive(Debug, Clone)]
struct MemoryOperation {
    stack_set: String,
    /// Status polls still answered RUNNING.
    running_for: u32,
    failed: bool,
}

#[derive(Debug, Default)]
struct StackSetsState {
    instances: Vec<MemoryInstance>,
    operations: BTreeMap<String, MemoryOperation>,
    calls: Vec<String>,
    /// Hand edits made behind CloudFormation's back, by (stack set, account, region).
    edits: BTreeMap<(String, String, String), Vec<crate::stacksets::ResourceDrift>>,
    /// What the last detection found, by stack set.
    detected: BTreeMap<String, Vec<(String, String)>>,
}

/// StackSets in memory: an operation answers RUNNING for a set number of polls, then ends
/// (FAILED, its instance OUTDATED, in a region set to fail). Used where the emulator cannot build
/// the template (it has no EKS) and in tests of the flows that follow operations.
#[derive(Debug, Default)]
pub struct MemoryStackSets {
    state: Mutex<StackSetsState>,
    polls: u32,
    failing: Mutex<BTreeMap<String, String>>,
}

impl MemoryStackSets {
    /// Operations that report RUNNING to `polls` DescribeStackSetOperation calls first.
    pub fn new(polls: u32) -> Self {
        MemoryStackSets { polls, ..Default::default() }
    }

    /// Operations touching `region` from now on fail there with `reason` (`None` heals it).
    pub fn fail_region(&self, region: &str, reason: Option<&str>) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        match reason {
            Some(r) => failing.insert(region.to_string(), r.to_string()),
            None => failing.remove(region),
        };
    }

    /// Someone changed resources of the instance by hand: the next drift detection finds them,
    /// and re-applying the instance puts them back.
    pub fn edit_by_hand(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
        drifts: Vec<crate::stacksets::ResourceDrift>,
    ) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.edits.insert((stack_set.to_string(), account.to_string(), region.to_string()), drifts);
    }

    /// The calls made so far, by API operation name.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).calls.clone()
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        call: &'static str,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        operation_id: &str,
        create: bool,
    ) -> Result<String, AwsError> {
        let failing = self.failing.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push(call.to_string());
        // The same operation id again is the same operation, as on AWS.
        if s.operations.contains_key(operation_id) {
            return Ok(operation_id.to_string());
        }
        let mut failed = false;
        for region in regions {
            let existing = s
                .instances
                .iter()
                .position(|i| i.stack_set == stack_set && i.account == account && &i.region == region);
            match (existing, create) {
                (Some(_), true) => {
                    return Err(AwsError::new(
                        ErrorClass::AlreadyExists,
                        call,
                        format!("stack instance {account}/{region} of {stack_set} exists"),
                    ));
                }
                (None, false) => {
                    return Err(AwsError::new(
                        ErrorClass::NotFound,
                        call,
                        format!("stack instance {account}/{region} of {stack_set} does not exist"),
                    ));
                }
                _ => {}
            }
            let reason = failing.get(region).cloned();
            failed |= reason.is_some();
            if reason.is_none() {
                s.edits.remove(&(stack_set.to_string(), account.to_string(), region.clone()));
            }
            let instance = MemoryInstance {
                stack_set: stack_set.to_string(),
                account: account.to_string(),
                region: region.clone(),
                status: if reason.is_some() { "OUTDATED" } else { "CURRENT" },
                detailed: if reason.is_some() { "FAILED" } else { "SUCCEEDED" },
                reason,
                // No overrides given keeps the instance's, as UpdateStackInstances does.
                overrides: match existing {
                    Some(i) if parameters.is_empty() => s.instances[i].overrides.clone(),
                    _ => parameters.clone(),
                },
                operation: operation_id.to_string(),
            };
            match existing {
                Some(i) => s.instances[i] = instance,
                None => s.instances.push(instance),
            }
        }
        s.operations.insert(
            operation_id.to_string(),
            MemoryOperation { stack_set: stack_set.to_string(), running_for: self.polls, failed },
        );
        Ok(operation_id.to_string())
    }
}

#[async_trait]
impl crate::stacksets::StackSets for MemoryStackSets {
    async fn instances(&self, stack_set: &str, account: &str) -> Result<Vec<crate::stacksets::Instance>, AwsError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push("ListStackInstances".into());
        let mut out: Vec<_> = s
            .instances
            .iter()
            .filter(|i| i.stack_set == stack_set && i.account == account)
            .map(|i| {
                let running = s.operations.get(&i.operation).is_some_and(|o| o.running_for > 0);
                (i, running)
            })
            .map(|(i, running)| crate::stacksets::Instance {
                region: i.region.clone(),
                status: if running { "OUTDATED" } else { i.status }.to_string(),
                detailed: Some(if running { "RUNNING" } else { i.detailed }.to_string()),
                reason: if running { None } else { i.reason.clone() },
                stack_id: Some(format!(
                    "arn:aws:cloudformation:{}:{}:stack/StackSet-{stack_set}/1",
                    i.region, i.account
                )),
            })
            .collect();
        out.sort_by(|a, b| a.region.cmp(&b.region));
        Ok(out)
    }

    async fn add_instances(
        &self,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        _preferences: crate::stacksets::Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        self.start("CreateStackInstances", stack_set, account, regions, parameters, operation_id, true)
    }

    async fn update_instances(
        &self,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        _preferences: crate::stacksets::Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        self.start("UpdateStackInstances", stack_set, account, regions, parameters, operation_id, false)
    }

    async fn operation(
        &self,
        stack_set: &str,
        operation_id: &str,
    ) -> Result<crate::stacksets::OperationStatus, AwsError> {
        use crate::stacksets::OperationStatus;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push("DescribeStackSetOperation".into());
        let op = s.operations.get_mut(operation_id).filter(|o| o.stack_set == stack_set).ok_or_else(|| {
            AwsError::new(
                ErrorClass::NotFound,
                "DescribeStackSetOperation",
                format!("operation {operation_id} of {stack_set} does not exist"),
            )
        })?;
        if op.running_for > 0 {
            op.running_for -= 1;
            return Ok(OperationStatus::Running);
        }
        Ok(if op.failed { OperationStatus::Failed } else { OperationStatus::Succeeded })
    }

    async fn overrides(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push("DescribeStackInstance".into());
        Ok(s.instances
            .iter()
            .find(|i| i.stack_set == stack_set && i.account == account && i.region == region)
            .map(|i| i.overrides.clone()))
    }
}

#[async_trait]
impl crate::stacksets::StackSetDrift for MemoryStackSets {
    async fn detect_drift(&self, stack_set: &str, operation_id: &str) -> Result<String, AwsError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push("DetectStackSetDrift".into());
        if !s.operations.contains_key(operation_id) {
            let found: Vec<(String, String)> = s
                .edits
                .iter()
                .filter(|((set, account, region), drifts)| {
                    set == stack_set
                        && !drifts.is_empty()
                        && s.instances
                            .iter()
                            .any(|i| &i.stack_set == set && &i.account == account && &i.region == region)
                })
                .map(|((_, account, region), _)| (account.clone(), region.clone()))
                .collect();
            s.detected.insert(stack_set.to_string(), found);
            s.operations.insert(
                operation_id.to_string(),
                MemoryOperation { stack_set: stack_set.to_string(), running_for: self.polls, failed: false },
            );
        }
        Ok(operation_id.to_string())
    }

    async fn operation(
        &self,
        stack_set: &str,
        operation_id: &str,
    ) -> Result<crate::stacksets::OperationStatus, AwsError> {
        crate::stacksets::StackSets::operation(self, stack_set, operation_id).await
    }

    async fn drifted_instances(&self, stack_set: &str) -> Result<Vec<crate::stacksets::DriftedInstance>, AwsError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push("ListStackInstances".into());
        Ok(s.detected
            .get(stack_set)
            .into_iter()
            .flatten()
            .map(|(account, region)| crate::stacksets::DriftedInstance {
                account: account.clone(),
                region: region.clone(),
                drift_status: "DRIFTED".into(),
            })
            .collect())
    }

    async fn resource_drifts(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
        _operation_id: &str,
    ) -> Result<Vec<crate::stacksets::ResourceDrift>, AwsError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push("ListStackInstanceResourceDrifts".into());
        Ok(s.edits.get(&(stack_set.to_string(), account.to_string(), region.to_string())).cloned().unwrap_or_default())
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
