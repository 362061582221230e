//! The StackSet port: instances in one account added or re-applied under an operation id, operations followed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

/// A stack instance in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub region: String,
    pub status: InstanceStatus,
    pub detailed: Option<DetailedStatus>,
    pub reason: Option<String>,
    pub stack_id: Option<String>,
}

aws_status! {
    /// A stack instance's status: CURRENT once the StackSet's latest template is applied there.
    InstanceStatus { Current, Outdated, Inoperable }
}

aws_status! {
    /// What the instance's last operation did there (`StackInstanceStatus.DetailedStatus`).
    DetailedStatus { Pending, Running, Succeeded, Failed, Cancelled, Inoperable, SkippedSuspendedAccount, FailedImport }
}

aws_status! {
    /// Whether an instance's resources match the StackSet's template, as the last detection found.
    DriftStatus { Drifted, InSync, Unknown, NotChecked }
}

/// How the StackSet rolls instances out (CloudFormation operation preferences).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub failure_tolerance_count: u32,
    pub max_concurrent_count: u32,
}

/// Where a StackSet operation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationStatus {
    Queued,
    Running,
    Stopping,
    Succeeded,
    Failed,
    Stopped,
}

impl OperationStatus {
    pub fn from_api(s: &str) -> Option<OperationStatus> {
        Some(match s {
            "QUEUED" => OperationStatus::Queued,
            "RUNNING" => OperationStatus::Running,
            "STOPPING" => OperationStatus::Stopping,
            "SUCCEEDED" => OperationStatus::Succeeded,
            "FAILED" => OperationStatus::Failed,
            "STOPPED" => OperationStatus::Stopped,
            _ => return None,
        })
    }

    pub fn finished(&self) -> bool {
        matches!(self, OperationStatus::Succeeded | OperationStatus::Failed | OperationStatus::Stopped)
    }
}

/// A StackSet (CloudFormation, administrator account).
#[async_trait]
pub trait StackSets: Send + Sync + std::fmt::Debug {
    /// The stack set's instances in `account`, one per region.
    async fn instances(&self, stack_set: &str, account: &str) -> Result<Vec<Instance>, AwsError>;
    /// Adds instances in `regions` under `operation_id` (a repeat of the same id is the same
    /// operation); returns the operation id.
    async fn add_instances(
        &self,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError>;
    /// Re-applies the stack set to existing instances in `regions` (OUTDATED after a failure),
    /// under `operation_id`; returns the operation id.
    async fn update_instances(
        &self,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError>;
    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError>;
    /// The parameter overrides of the instance in `account` and `region` (`None`: no instance).
    async fn overrides(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError>;
}

/// A stack instance whose resources differ from the StackSet's template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftedInstance {
    pub account: String,
    pub region: String,
    pub drift_status: DriftStatus,
}

/// One resource of a drifted instance, as drift detection found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    /// `MODIFIED`, `DELETED`.
    pub status: String,
    /// The property paths that differ (`/Properties/RetentionInDays`).
    pub properties: Vec<String>,
}

/// Drift detection on a StackSet (administrator account).
#[async_trait]
pub trait StackSetDrift: Send + Sync + std::fmt::Debug {
    /// Starts drift detection on every instance under `operation_id` (a repeat of the id is the
    /// same operation); returns the operation id.
    async fn detect_drift(&self, stack_set: &str, operation_id: &str) -> Result<String, AwsError>;
    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError>;
    /// The instances the last detection found DRIFTED.
    async fn drifted_instances(&self, stack_set: &str) -> Result<Vec<DriftedInstance>, AwsError>;
    /// The modified and deleted resources of one instance, as detection `operation_id` found them.
    async fn resource_drifts(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
        operation_id: &str,
    ) -> Result<Vec<ResourceDrift>, AwsError>;
}
