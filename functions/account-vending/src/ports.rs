//! What vending needs from AWS: the organisation's directory, the baseline StackSet, member stacks.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

pub use platform_core::organization::{Account, AccountDirectory, Creation};
pub use platform_core::stacksets::{Instance, OperationStatus, Preferences, StackSets};

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
