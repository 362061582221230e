//! The local runtime's StackSets for readers of both: the platform StackSet in memory, every other in the emulator.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use platform_core::error::AwsError;
use platform_core::fakes::MemoryStackSets;
use platform_core::stacksets::{
    DriftedInstance, Instance, OperationStatus, Preferences, ResourceDrift, StackSetDrift, StackSets,
};

/// What a function that reads every StackSet (the inventory) sees in the local runtime: the
/// platform StackSet is the stand-in platform deploy applies (the emulator cannot build EKS), the
/// baseline the emulator's, as one CloudFormation would answer both.
#[derive(Debug)]
pub(super) struct SplitStackSets {
    pub platform_stack_set: String,
    pub platform: Arc<MemoryStackSets>,
    pub emulator: Arc<dyn StackSets>,
}

impl SplitStackSets {
    fn of(&self, stack_set: &str) -> &dyn StackSets {
        if stack_set == self.platform_stack_set { self.platform.as_ref() } else { self.emulator.as_ref() }
    }
}

#[async_trait]
impl StackSets for SplitStackSets {
    async fn instances(&self, stack_set: &str, account: &str) -> Result<Vec<Instance>, AwsError> {
        self.of(stack_set).instances(stack_set, account).await
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
        self.of(stack_set).add_instances(stack_set, account, regions, parameters, preferences, operation_id).await
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
        self.of(stack_set).update_instances(stack_set, account, regions, parameters, preferences, operation_id).await
    }

    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError> {
        self.of(stack_set).operation(stack_set, operation_id).await
    }

    async fn overrides(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        self.of(stack_set).overrides(stack_set, account, region).await
    }
}

/// Drift detection in the local runtime: on the platform StackSet it runs on the stand-in's
/// instances (hand edits made by a scenario's `drift` step are found, and re-applying the
/// instance puts them back); the emulator has no DetectStackSetDrift, so on every other StackSet
/// it runs on `other`, which holds no instances and so finds no drift.
#[derive(Debug)]
pub(super) struct SplitDrift {
    pub platform_stack_set: String,
    pub platform: Arc<MemoryStackSets>,
    pub other: Arc<MemoryStackSets>,
}

impl SplitDrift {
    fn of(&self, stack_set: &str) -> &dyn StackSetDrift {
        if stack_set == self.platform_stack_set { self.platform.as_ref() } else { self.other.as_ref() }
    }
}

#[async_trait]
impl StackSetDrift for SplitDrift {
    async fn detect_drift(&self, stack_set: &str, operation_id: &str) -> Result<String, AwsError> {
        self.of(stack_set).detect_drift(stack_set, operation_id).await
    }

    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError> {
        StackSetDrift::operation(self.of(stack_set), stack_set, operation_id).await
    }

    async fn drifted_instances(&self, stack_set: &str) -> Result<Vec<DriftedInstance>, AwsError> {
        self.of(stack_set).drifted_instances(stack_set).await
    }

    async fn resource_drifts(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
        operation_id: &str,
    ) -> Result<Vec<ResourceDrift>, AwsError> {
        self.of(stack_set).resource_drifts(stack_set, account, region, operation_id).await
    }
}
