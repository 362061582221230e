//! The organisation's accounts: one account type, the ports vending and the schedules need, one adapter.

#[cfg(feature = "organizations")]
mod aws;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

#[cfg(feature = "organizations")]
pub use aws::Organizations;

/// A member account as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub state: AccountState,
    /// The OU's name when the listing asked for it (`MemberDirectory`); `None` directly under
    /// the root, or when not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
}

aws_status! {
    /// An account's state as Organizations reports it (`State`, or the older `Status`).
    AccountState { PendingActivation, Active, Suspended, PendingClosure, Closed }
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
    /// The id of the succeeded CreateAccount request that made `account`, if one did (kept 90
    /// days): an account found after a lost answer is told from one built by hand.
    async fn created_by(&self, account: &str) -> Result<Option<String>, AwsError>;
    /// The id of the OU named `name` directly under the root.
    async fn ou_id(&self, name: &str) -> Result<Option<String>, AwsError>;
    /// The account's parent (root or OU) id.
    async fn parent(&self, account: &str) -> Result<String, AwsError>;
    async fn move_account(&self, account: &str, from: &str, to: &str) -> Result<(), AwsError>;
    async fn tags(&self, account: &str) -> Result<BTreeMap<String, String>, AwsError>;
    async fn tag(&self, account: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError>;
    async fn untag(&self, account: &str, keys: &[String]) -> Result<(), AwsError>;
}

/// The organisation's member accounts with their OUs, read-only (the schedules' need).
#[async_trait]
pub trait MemberDirectory: Send + Sync + std::fmt::Debug {
    /// Every account of the organisation but the management account, with its OU, by id.
    async fn members(&self) -> Result<Vec<Account>, AwsError>;
}
