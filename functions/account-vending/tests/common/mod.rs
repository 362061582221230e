//! In-memory Organizations, StackSets and member Parameter Store, scriptable for failure paths.

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use account_vending::handler::{Central, Deps};
use account_vending::ports::{Instance, MemberParameters, OperationStatus, Preferences, StackSets};
use async_trait::async_trait;
use platform_core::config::{self, config_parameters};
use platform_core::error::AwsError;
use platform_core::fakes::FakeParameterStore;
use platform_core::ports::ParameterStore;

// Each test binary uses a different part of the shared fakes.
#[allow(unused_imports)]
pub use platform_core::fakes::{Ledger, MemoryLedger, MemoryOrganization, Org, ROOT, throttled};

#[derive(Debug, Default)]
pub struct Sets {
    pub instances: BTreeMap<String, Vec<Instance>>,
    /// Per operation id: the statuses DescribeStackSetOperation returns, in order (last repeats).
    pub operation_script: VecDeque<OperationStatus>,
    /// Regions whose instance ends FAILED, with the reason.
    pub failing_regions: BTreeMap<String, String>,
    pub operations: Vec<(String, Vec<String>, Preferences)>,
    pub failures: BTreeMap<&'static str, VecDeque<AwsError>>,
    pub calls: Vec<String>,
}

#[derive(Debug, Default)]
pub struct FakeStackSets(pub Mutex<Sets>);

impl FakeStackSets {
    fn call(&self, op: &'static str) -> Result<std::sync::MutexGuard<'_, Sets>, AwsError> {
        let mut s = self.0.lock().expect("lock");
        s.calls.push(op.to_string());
        if let Some(e) = s.failures.get_mut(op).and_then(VecDeque::pop_front) {
            return Err(e);
        }
        Ok(s)
    }
}

#[async_trait]
impl StackSets for FakeStackSets {
    async fn instances(&self, _stack_set: &str, account: &str) -> Result<Vec<Instance>, AwsError> {
        let s = self.call("ListStackInstances")?;
        Ok(s.instances.get(account).cloned().unwrap_or_default())
    }
    async fn add_instances(
        &self,
        _stack_set: &str,
        account: &str,
        regions: &[String],
        _parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let mut s = self.call("CreateStackInstances")?;
        if s.operations.iter().any(|(id, _, _)| id == operation_id) {
            return Ok(operation_id.to_string());
        }
        s.operations.push((operation_id.to_string(), regions.to_vec(), preferences));
        let failing = s.failing_regions.clone();
        let list = s.instances.entry(account.to_string()).or_default();
        for r in regions {
            let failed = failing.get(r);
            list.push(Instance {
                region: r.clone(),
                status: if failed.is_some() { "OUTDATED".into() } else { "CURRENT".into() },
                detailed: Some(if failed.is_some() { "FAILED".into() } else { "SUCCEEDED".into() }),
                reason: failed.cloned(),
                stack_id: Some(format!("arn:aws:cloudformation:{r}:{account}:stack/StackSet-baseline/1")),
            });
        }
        Ok(operation_id.to_string())
    }
    async fn update_instances(
        &self,
        _stack_set: &str,
        account: &str,
        regions: &[String],
        _parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let mut s = self.call("UpdateStackInstances")?;
        if s.operations.iter().any(|(id, _, _)| id == operation_id) {
            return Ok(operation_id.to_string());
        }
        s.operations.push((operation_id.to_string(), regions.to_vec(), preferences));
        let failing = s.failing_regions.clone();
        for i in s.instances.get_mut(account).into_iter().flatten().filter(|i| regions.contains(&i.region)) {
            let failed = failing.get(&i.region);
            i.status = if failed.is_some() { "OUTDATED".into() } else { "CURRENT".into() };
            i.detailed = Some(if failed.is_some() { "FAILED".into() } else { "SUCCEEDED".into() });
            i.reason = failed.cloned();
        }
        Ok(operation_id.to_string())
    }
    async fn overrides(
        &self,
        _stack_set: &str,
        account: &str,
        region: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let s = self.call("DescribeStackInstance")?;
        let found = s.instances.get(account).is_some_and(|l| l.iter().any(|i| i.region == region));
        Ok(found.then(BTreeMap::new))
    }
    async fn operation(&self, _stack_set: &str, _operation_id: &str) -> Result<OperationStatus, AwsError> {
        let mut s = self.call("DescribeStackSetOperation")?;
        let failed = !s.failing_regions.is_empty();
        Ok(if s.operation_script.len() > 1 {
            s.operation_script.pop_front().expect("scripted")
        } else {
            s.operation_script.front().cloned().unwrap_or(if failed {
                OperationStatus::Failed
            } else {
                OperationStatus::Succeeded
            })
        })
    }
}

/// The baseline's exports, as every member account's stack writes them.
#[derive(Debug, Default)]
pub struct FakeMemberParameters {
    pub reads: Mutex<u32>,
}

#[async_trait]
impl MemberParameters for FakeMemberParameters {
    async fn get_by_path(&self, account: &str, region: &str, path: &str) -> Result<BTreeMap<String, String>, AwsError> {
        *self.reads.lock().expect("lock") += 1;
        let mut out = BTreeMap::from([
            (format!("{path}/vpc-id"), format!("vpc-{account}-{region}")),
            (format!("{path}/private-subnet-ids"), "subnet-a,subnet-b,subnet-c".to_string()),
        ]);
        if region == "us-east-1" {
            out.insert(format!("{path}/hosted-zone-id"), "Z123".into());
        }
        Ok(out)
    }
}

/// The vending ledger in memory, with the same lease rules; the peak of slot holders is measured,
/// and a refused slot can take real time so that concurrent executions overlap.
pub struct Fakes {
    pub deps: Deps,
    pub directory: Arc<MemoryOrganization>,
    pub stack_sets: Arc<FakeStackSets>,
    pub member: Arc<FakeMemberParameters>,
    pub parameters: Arc<FakeParameterStore>,
    pub ledger: Arc<MemoryLedger>,
}

pub async fn fakes() -> Fakes {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let parameters = Arc::new(FakeParameterStore::default());
    for (name, value) in config_parameters(&tree) {
        parameters.put(&name, &value, true).await.expect("put");
    }
    let directory = Arc::new(MemoryOrganization::new());
    let stack_sets = Arc::new(FakeStackSets::default());
    let member = Arc::new(FakeMemberParameters::default());
    let ledger = Arc::new(MemoryLedger::default());
    let deps = Deps {
        directory: directory.clone(),
        stack_sets: stack_sets.clone(),
        member_parameters: member.clone(),
        ledger: ledger.clone(),
        parameters: parameters.clone(),
        parameter_prefix: "/abc-trading".into(),
        central: Central {
            automation_account_id: "123456789012".into(),
            organization_id: "o-abcdefghij".into(),
            event_bus_arn: "arn:aws:events:us-east-1:123456789012:event-bus/abc-trading-dev".into(),
            log_destination_name: "abc-trading-dev-logs".into(),
        },
        config: Default::default(),
    };
    Fakes { deps, directory, stack_sets, member, parameters, ledger }
}

pub fn request(client: &str) -> serde_json::Value {
    serde_json::json!({"source": "abc.platform", "detail-type": "AccountRequested", "detail": {
        "accountName": format!("{client}-dev"), "email": format!("aws+{client}-dev@abc-trading.com"),
        "environment": "dev", "client": client, "costCenter": "cc-1042", "owner": "platform-team"}})
}
