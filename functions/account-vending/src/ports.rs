//! What vending needs from AWS: the organisation's directory, the baseline StackSet, member stacks.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

/// A member account as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub status: String,
}

/// Where a CreateAccount request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Creation {
    InProgress,
    Succeeded {
        account_id: String,
    },
    /// Organizations' `FailureReason` (EMAIL_ALREADY_EXISTS, ACCOUNT_LIMIT_EXCEEDED, ...).
    Failed {
        reason: String,
    },
}

/// AWS Organizations, from the management (or a delegated) account.
#[async_trait]
pub trait AccountDirectory: Send + Sync + std::fmt::Debug {
    /// The account with this e-mail, if the organisation has one (CreateAccount has no
    /// idempotency token: this lookup is what makes a repeated request reuse the account).
    async fn find_by_email(&self, email: &str) -> Result<Option<Account>, AwsError>;
    async fn account(&self, id: &str) -> Result<Account, AwsError>;
    /// Starts creating an account; returns the request id to poll.
    async fn create_account(
        &self,
        name: &str,
        email: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError>;
    async fn creation(&self, request_id: &str) -> Result<Creation, AwsError>;
    /// The id of a CreateAccount request for `name` still in progress (one whose response was
    /// lost), so it is followed instead of asked twice.
    async fn creation_in_progress(&self, name: &str) -> Result<Option<String>, AwsError>;
    /// The id of the OU named `name` directly under the root.
    async fn ou_id(&self, name: &str) -> Result<Option<String>, AwsError>;
    /// The account's parent (root or OU) id.
    async fn parent(&self, account: &str) -> Result<String, AwsError>;
    async fn move_account(&self, account: &str, from: &str, to: &str) -> Result<(), AwsError>;
    async fn tags(&self, account: &str) -> Result<BTreeMap<String, String>, AwsError>;
    async fn tag(&self, account: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError>;
    async fn untag(&self, account: &str, keys: &[String]) -> Result<(), AwsError>;
}

/// A stack instance of the baseline in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub region: String,
    /// `CURRENT`, `OUTDATED`, `INOPERABLE`.
    pub status: String,
    /// `SUCCEEDED`, `FAILED`, `PENDING`, `RUNNING`, `CANCELLED`, `INOPERABLE`.
    pub detailed: Option<String>,
    pub reason: Option<String>,
    pub stack_id: Option<String>,
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

/// The baseline StackSet (CloudFormation, administrator account).
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
}

/// Parameter Store in member accounts, read through the automation role: the baseline exports
/// its outputs there (`/abc-trading/<env>/baseline/...`).
#[async_trait]
pub trait MemberParameters: Send + Sync + std::fmt::Debug {
    /// Every parameter under `path` in the account's `region`, name to value.
    async fn get_by_path(&self, account: &str, region: &str, path: &str) -> Result<BTreeMap<String, String>, AwsError>;
}

/// The outcome of a claim in the vending ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Claim {
    Won,
    Taken,
}

/// How a vending ended, for its claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Finish {
    Done { account_id: String },
    Failed { step: String },
}

/// The vendings' ledger in the guard table: one claim per request, and the organisation-wide
/// slots. Every hold has a lease, so an execution that died (timed out, aborted) cannot hold a
/// claim or a slot for longer than an execution may run.
#[async_trait]
pub trait VendingLedger: Send + Sync + std::fmt::Debug {
    /// Won when the vending is unclaimed, failed, already this execution's, or its lease ran out.
    async fn claim(
        &self,
        vending: &str,
        execution: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Claim, AwsError>;
    /// Marks the claim done or failed, if `execution` still holds it.
    async fn finish(&self, vending: &str, execution: &str, finish: &Finish) -> Result<(), AwsError>;
    /// One of `max` slots: Won when the vending holds one already or one is free (holds whose
    /// lease ran out are freed first).
    async fn acquire_slot(
        &self,
        vending: &str,
        max: u32,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Claim, AwsError>;
    async fn release_slot(&self, vending: &str) -> Result<(), AwsError>;
}
