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

/// The client's DNS: its zone in the member account, delegated from the environment's parent
/// zone (a public zone named as config's `domain_name`, in this account).
#[async_trait]
pub trait ZoneDelegation: Send + Sync + std::fmt::Debug {
    /// The name servers Route 53 gave the member's hosted zone `zone_id`.
    async fn member_name_servers(&self, account: &str, zone_id: &str) -> Result<Vec<String>, AwsError>;
    /// The id of this account's one public hosted zone named `domain`; none when there is none,
    /// or more than one (which one would be served is then not ours to guess).
    async fn parent_zone(&self, domain: &str) -> Result<Option<String>, AwsError>;
    /// The NS record `name` in the zone `zone_id`, if there is one.
    async fn delegation(&self, zone_id: &str, name: &str) -> Result<Option<Vec<String>>, AwsError>;
    /// Writes (UPSERT) the NS record `name` in the zone `zone_id`.
    async fn delegate(&self, zone_id: &str, name: &str, name_servers: &[String]) -> Result<(), AwsError>;
}
