//! StackSets in memory: instances and operations kept as CloudFormation keeps them, scriptable for failure paths.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::error::{AwsError, ErrorClass};
use crate::stacksets::{
    DetailedStatus, DriftStatus, DriftedInstance, Instance, InstanceStatus, OperationStatus, Preferences,
    ResourceDrift, StackSetDrift, StackSets,
};

/// One instance of [`MemoryStackSets`].
#[derive(Debug, Clone)]
struct MemoryInstance {
    stack_set: String,
    account: String,
    region: String,
    /// Where the instance ends once its operation does.
    status: InstanceStatus,
    detailed: Option<DetailedStatus>,
    reason: Option<String>,
    stack_id: Option<String>,
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

/// An instance operation as it was started (`CreateStackInstances`, `UpdateStackInstances`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedOperation {
    pub id: String,
    /// The API call that started it.
    pub call: &'static str,
    pub stack_set: String,
    pub account: String,
    pub regions: Vec<String>,
    pub parameters: BTreeMap<String, String>,
    pub preferences: Preferences,
}

#[derive(Debug, Default)]
struct StackSetsState {
    instances: Vec<MemoryInstance>,
    operations: BTreeMap<String, MemoryOperation>,
    started: Vec<StartedOperation>,
    calls: Vec<String>,
    /// Regions where operations fail, with the reason their instances report.
    failing: BTreeMap<String, String>,
    /// Errors the next calls of an API operation answer instead of doing it, by operation name.
    failures: BTreeMap<String, VecDeque<AwsError>>,
    /// What the next DescribeStackSetOperation calls answer, whatever their operation did.
    script: VecDeque<OperationStatus>,
    /// Hand edits made behind CloudFormation's back, by (stack set, account, region).
    edits: BTreeMap<(String, String, String), Vec<ResourceDrift>>,
    /// What the last detection found, by stack set.
    detected: BTreeMap<String, Vec<(String, String)>>,
}

impl StackSetsState {
    /// Counts `call` as made (a refused call was still made), then answers its scripted failure.
    fn call(&mut self, call: &str) -> Result<(), AwsError> {
        self.calls.push(call.to_string());
        match self.failures.get_mut(call).and_then(VecDeque::pop_front) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn position(&self, stack_set: &str, account: &str, region: &str) -> Option<usize> {
        self.instances.iter().position(|i| i.stack_set == stack_set && i.account == account && i.region == region)
    }
}

/// StackSets in memory: an operation answers RUNNING for a set number of polls, then ends
/// (FAILED, its instance OUTDATED, in a region set to fail). It refuses what CloudFormation
/// refuses: creating an instance that exists, updating one that does not, an unknown operation.
/// Used where the emulator cannot build the template (it has no EKS) and in tests of the flows
/// that follow operations.
#[derive(Debug, Default)]
pub struct MemoryStackSets {
    state: Mutex<StackSetsState>,
    polls: u32,
}

impl MemoryStackSets {
    /// Operations that report RUNNING to `polls` DescribeStackSetOperation calls first.
    pub fn new(polls: u32) -> Self {
        MemoryStackSets { polls, ..Default::default() }
    }

    fn lock(&self) -> MutexGuard<'_, StackSetsState> {
        // A poisoned lock only means another test thread panicked; the state is intact.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Operations touching `region` from now on fail there with `reason` (`None` heals it).
    pub fn fail_region(&self, region: &str, reason: Option<&str>) {
        let mut s = self.lock();
        match reason {
            Some(r) => s.failing.insert(region.to_string(), r.to_string()),
            None => s.failing.remove(region),
        };
    }

    /// The next call of API operation `call` (`CreateStackInstances`, `ListStackInstances`, ...)
    /// answers `error` and does nothing; errors queued for the same call answer one call each.
    pub fn fail_next(&self, call: &str, error: AwsError) {
        self.lock().failures.entry(call.to_string()).or_default().push_back(error);
    }

    /// The next DescribeStackSetOperation calls answer `statuses` in order, the last one for
    /// every call after; the operations' own state no longer decides. An unknown operation is
    /// still refused.
    pub fn script_operations(&self, statuses: Vec<OperationStatus>) {
        self.lock().script = statuses.into();
    }

    /// The instance operations started, in order (a repeated operation id is not a new one).
    pub fn operations(&self) -> Vec<StartedOperation> {
        self.lock().started.clone()
    }

    /// An instance as an earlier run, or someone outside CloudFormation, left it: it replaces the
    /// instance in its region (whose parameter overrides it keeps) and no operation runs on it.
    pub fn seed_instance(&self, stack_set: &str, account: &str, instance: Instance) {
        let mut s = self.lock();
        let existing = s.position(stack_set, account, &instance.region);
        let seeded = MemoryInstance {
            stack_set: stack_set.to_string(),
            account: account.to_string(),
            region: instance.region,
            status: instance.status,
            detailed: instance.detailed,
            reason: instance.reason,
            stack_id: instance.stack_id,
            overrides: existing.map(|i| s.instances[i].overrides.clone()).unwrap_or_default(),
            operation: String::new(),
        };
        match existing {
            Some(i) => s.instances[i] = seeded,
            None => s.instances.push(seeded),
        }
    }

    /// The instance in `region` carries `overrides` (created CURRENT if missing), as an earlier
    /// deploy with those parameters left it.
    pub fn seed_parameters(&self, stack_set: &str, account: &str, region: &str, overrides: BTreeMap<String, String>) {
        let mut s = self.lock();
        match s.position(stack_set, account, region) {
            Some(i) => s.instances[i].overrides = overrides,
            None => s.instances.push(MemoryInstance {
                stack_set: stack_set.to_string(),
                account: account.to_string(),
                region: region.to_string(),
                status: InstanceStatus::Current,
                detailed: Some(DetailedStatus::Succeeded),
                reason: None,
                stack_id: None,
                overrides,
                operation: String::new(),
            }),
        }
    }

    /// `account`'s platform instance in `environment` as a deploy left it: config's parameters
    /// for its client, in the environment's primary region.
    pub fn seed_platform(&self, tree: &crate::config::ConfigTree, environment: &str, account: &str, client: &str) {
        use crate::platform_stack::{client_domain, platform_parameters};
        let Some(env) = tree.environment(environment) else { return };
        let parameters = platform_parameters(tree, env, &client_domain(client, &env.domain_name));
        self.seed_parameters(&tree.organization.deploy.platform_stack_set, account, env.primary_region(), parameters);
    }

    /// The instance is gone, as after DeleteStackInstances: a later create may add it again.
    pub fn remove_instance(&self, stack_set: &str, account: &str, region: &str) {
        let mut s = self.lock();
        if let Some(i) = s.position(stack_set, account, region) {
            s.instances.remove(i);
        }
    }

    /// Someone changed resources of the instance by hand: the next drift detection finds them,
    /// and re-applying the instance puts them back.
    pub fn edit_by_hand(&self, stack_set: &str, account: &str, region: &str, drifts: Vec<ResourceDrift>) {
        self.lock().edits.insert((stack_set.to_string(), account.to_string(), region.to_string()), drifts);
    }

    /// The calls made so far, by API operation name.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        call: &'static str,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
        create: bool,
    ) -> Result<String, AwsError> {
        let mut s = self.lock();
        s.call(call)?;
        // The same operation id again is the same operation, as on AWS.
        if s.operations.contains_key(operation_id) {
            return Ok(operation_id.to_string());
        }
        // Refused as a whole before any instance changes, as CloudFormation validates first.
        for region in regions {
            match (s.position(stack_set, account, region), create) {
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
        }
        let mut failed = false;
        for region in regions {
            let existing = s.position(stack_set, account, region);
            let reason = s.failing.get(region).cloned();
            failed |= reason.is_some();
            if reason.is_none() {
                s.edits.remove(&(stack_set.to_string(), account.to_string(), region.clone()));
            }
            let previous = existing.map(|i| s.instances[i].clone());
            let instance = MemoryInstance {
                stack_set: stack_set.to_string(),
                account: account.to_string(),
                region: region.clone(),
                status: if reason.is_some() { InstanceStatus::Outdated } else { InstanceStatus::Current },
                detailed: Some(if reason.is_some() { DetailedStatus::Failed } else { DetailedStatus::Succeeded }),
                reason,
                stack_id: previous.as_ref().and_then(|p| p.stack_id.clone()).or_else(|| {
                    Some(format!("arn:aws:cloudformation:{region}:{account}:stack/StackSet-{stack_set}/1"))
                }),
                // No overrides given keeps the instance's, as UpdateStackInstances does.
                overrides: match previous {
                    Some(p) if parameters.is_empty() => p.overrides,
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
        s.started.push(StartedOperation {
            id: operation_id.to_string(),
            call,
            stack_set: stack_set.to_string(),
            account: account.to_string(),
            regions: regions.to_vec(),
            parameters: parameters.clone(),
            preferences,
        });
        Ok(operation_id.to_string())
    }
}

#[async_trait]
impl StackSets for MemoryStackSets {
    async fn instances(&self, stack_set: &str, account: &str) -> Result<Vec<Instance>, AwsError> {
        let mut s = self.lock();
        s.call("ListStackInstances")?;
        let mut out: Vec<_> = s
            .instances
            .iter()
            .filter(|i| i.stack_set == stack_set && i.account == account)
            .map(|i| {
                let running = s.operations.get(&i.operation).is_some_and(|o| o.running_for > 0);
                Instance {
                    region: i.region.clone(),
                    status: if running { InstanceStatus::Outdated } else { i.status.clone() },
                    detailed: if running { Some(DetailedStatus::Running) } else { i.detailed.clone() },
                    reason: if running { None } else { i.reason.clone() },
                    stack_id: i.stack_id.clone(),
                }
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
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        self.start("CreateStackInstances", stack_set, account, regions, parameters, preferences, operation_id, true)
    }

    async fn update_instances(
        &self,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        self.start("UpdateStackInstances", stack_set, account, regions, parameters, preferences, operation_id, false)
    }

    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.call("DescribeStackSetOperation")?;
        let op = s.operations.get_mut(operation_id).filter(|o| o.stack_set == stack_set).ok_or_else(|| {
            AwsError::new(
                ErrorClass::NotFound,
                "DescribeStackSetOperation",
                format!("operation {operation_id} of {stack_set} does not exist"),
            )
        })?;
        let scripted = if s.script.len() > 1 { s.script.pop_front() } else { s.script.front().cloned() };
        // A scripted answer still counts as a poll, so the instances' view moves on with it.
        let running = op.running_for > 0;
        op.running_for = op.running_for.saturating_sub(1);
        Ok(match scripted {
            Some(status) => status,
            None if running => OperationStatus::Running,
            None if op.failed => OperationStatus::Failed,
            None => OperationStatus::Succeeded,
        })
    }

    async fn overrides(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let mut s = self.lock();
        s.call("DescribeStackInstance")?;
        Ok(s.position(stack_set, account, region).map(|i| s.instances[i].overrides.clone()))
    }
}

#[async_trait]
impl StackSetDrift for MemoryStackSets {
    async fn detect_drift(&self, stack_set: &str, operation_id: &str) -> Result<String, AwsError> {
        let mut s = self.lock();
        s.call("DetectStackSetDrift")?;
        if !s.operations.contains_key(operation_id) {
            let found: Vec<(String, String)> = s
                .edits
                .iter()
                .filter(|((set, account, region), drifts)| {
                    set == stack_set && !drifts.is_empty() && s.position(set, account, region).is_some()
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

    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError> {
        StackSets::operation(self, stack_set, operation_id).await
    }

    async fn drifted_instances(&self, stack_set: &str) -> Result<Vec<DriftedInstance>, AwsError> {
        let mut s = self.lock();
        s.call("ListStackInstances")?;
        Ok(s.detected
            .get(stack_set)
            .into_iter()
            .flatten()
            .map(|(account, region)| DriftedInstance {
                account: account.clone(),
                region: region.clone(),
                drift_status: DriftStatus::Drifted,
            })
            .collect())
    }

    async fn resource_drifts(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
        _operation_id: &str,
    ) -> Result<Vec<ResourceDrift>, AwsError> {
        let mut s = self.lock();
        s.call("ListStackInstanceResourceDrifts")?;
        Ok(s.edits.get(&(stack_set.to_string(), account.to_string(), region.to_string())).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = "baseline";
    const PREFS: Preferences = Preferences { failure_tolerance_count: 0, max_concurrent_count: 2 };

    fn regions(r: &[&str]) -> Vec<String> {
        r.iter().map(|r| r.to_string()).collect()
    }

    async fn add(sets: &MemoryStackSets, r: &[&str], id: &str) -> Result<String, AwsError> {
        sets.add_instances(SET, "111111111111", &regions(r), &BTreeMap::new(), PREFS, id).await
    }

    #[tokio::test]
    async fn what_cloudformation_refuses_is_refused() {
        let sets = MemoryStackSets::new(0);
        add(&sets, &["us-east-1"], "op-1").await.expect("created");
        let again = add(&sets, &["us-west-2", "us-east-1"], "op-2").await.expect_err("exists");
        assert_eq!(again.class, ErrorClass::AlreadyExists);
        let elsewhere = regions(&["eu-west-1"]);
        let update = sets.update_instances(SET, "111111111111", &elsewhere, &BTreeMap::new(), PREFS, "op-3").await;
        assert_eq!(update.expect_err("missing").class, ErrorClass::NotFound);
        let unknown = StackSets::operation(&sets, SET, "op-9").await.expect_err("unknown");
        assert_eq!(unknown.class, ErrorClass::NotFound);
        let listed = sets.instances(SET, "111111111111").await.expect("instances");
        assert_eq!(listed.len(), 1, "a refused call changes nothing: {listed:?}");
        assert_eq!(sets.operations().len(), 1, "only the operation that started");
    }

    #[tokio::test]
    async fn a_scripted_failure_answers_one_call_and_is_still_counted() {
        let sets = MemoryStackSets::new(0);
        let busy = AwsError::new(ErrorClass::OperationInProgress, "CreateStackInstances", "busy");
        sets.fail_next("CreateStackInstances", busy);
        let first = add(&sets, &["us-east-1"], "op-1").await.expect_err("scripted");
        assert_eq!(first.class, ErrorClass::OperationInProgress);
        assert_eq!(add(&sets, &["us-east-1"], "op-1").await.expect("retried"), "op-1");
        assert_eq!(add(&sets, &["us-east-1"], "op-1").await.expect("the same operation"), "op-1");
        assert_eq!(sets.calls(), ["CreateStackInstances"; 3]);
        let started = sets.operations();
        assert_eq!(
            (started.len(), started[0].regions.clone(), started[0].preferences),
            (1, regions(&["us-east-1"]), PREFS)
        );
    }

    #[tokio::test]
    async fn scripted_statuses_are_answered_in_order_and_the_last_repeats() {
        let sets = MemoryStackSets::new(0);
        add(&sets, &["us-east-1"], "op-1").await.expect("created");
        sets.script_operations(vec![OperationStatus::Running, OperationStatus::Failed]);
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(StackSets::operation(&sets, SET, "op-1").await.expect("status"));
        }
        assert_eq!(answers, [OperationStatus::Running, OperationStatus::Failed, OperationStatus::Failed]);
    }

    #[tokio::test]
    async fn a_seeded_instance_is_listed_as_given_and_a_removed_one_can_be_created_again() {
        let sets = MemoryStackSets::new(0);
        let inoperable = Instance {
            region: "us-west-2".into(),
            status: InstanceStatus::Inoperable,
            detailed: Some(DetailedStatus::Inoperable),
            reason: Some("stack deleted outside CloudFormation".into()),
            stack_id: None,
        };
        sets.seed_instance(SET, "111111111111", inoperable.clone());
        assert_eq!(sets.instances(SET, "111111111111").await.expect("listed"), [inoperable]);
        sets.remove_instance(SET, "111111111111", "us-west-2");
        assert!(sets.instances(SET, "111111111111").await.expect("listed").is_empty());
        add(&sets, &["us-west-2"], "op-1").await.expect("created again");
    }
}
