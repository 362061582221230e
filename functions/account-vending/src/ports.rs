//! What vending needs from AWS: the organisation's directory, the baseline StackSet, member stacks.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::error::AwsError;

pub use platform_core::organization::{Account, AccountDirectory, AccountState, Creation};
pub use platform_core::stacksets::{DetailedStatus, Instance, InstanceStatus, OperationStatus, Preferences, StackSets};

/// Parameter Store in member accounts, read through the automation role: the baseline exports
/// its outputs there (`/abc-trading/<env>/baseline/...`).
#[async_trait]
pub trait MemberParameters: Send + Sync + std::fmt::Debug {
    /// Every parameter under `path` in the account's `region`, name to value.
    async fn get_by_path(&self, account: &str, region: &str, path: &str) -> Result<BTreeMap<String, String>, AwsError>;
}

pub use platform_core::claims::{Claim, Finish, VendingLedger};
