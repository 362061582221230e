//! The vending's failures, and the names the state machine's Retry and Catch know them by.

use platform_core::error::AwsError;

use crate::request::RequestError;

#[derive(Debug, thiserror::Error)]
pub enum VendingError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Untrusted(#[from] platform_core::trust::Untrusted),
    #[error("config: {0}")]
    Config(String),
    #[error("the published config cannot be used")]
    Published(#[source] platform_core::config::PublishedError),
    #[error("account {account} is not ours to vend into: {why}")]
    NotOurs { account: String, why: String },
    #[error("account creation for {email} failed: {reason}")]
    CreationFailed { email: String, reason: String },
    #[error("account {account} is {status}: not vending into it")]
    NotActive { account: String, status: platform_core::organization::AccountState },
    #[error("organizational unit `{0}` does not exist under the root")]
    NoSuchOu(String),
    #[error("baseline of {account} {outcome}: {}", regions.join(", "))]
    BaselineFailed { account: String, outcome: String, regions: Vec<String> },
    #[error("`{0}` needs an account id the vending does not have yet")]
    NoAccountYet(&'static str),
    #[error("`{name}` is delegated to another account of the environment ({other}): client names must be unique")]
    DelegationConflict { name: String, other: String },
    #[error("the parent zone `{0}` is not one public hosted zone of this account")]
    NoParentZone(String),
    #[error("all {max} vending slots are taken: {vending} waits for one")]
    NoSlot { vending: String, max: u32 },
}

/// The names [`VendingError::error_type`] reports besides the AWS error classes: with those, every
/// name the state machine may catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    InvalidRequest,
    ConfigMissing,
    EmailAlreadyExists,
    AccountLimitExceeded,
    ConcurrentAccountModification,
    AccountCreationFailed,
    BaselineFailed,
    NoSlot,
    /// The client's DNS name is already delegated to another account: never retried.
    DelegationConflict,
    /// A sender, environment or target outside this deployment's boundary: never retried.
    Untrusted,
}

impl VendingError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            VendingError::Aws(e) => return e.error_type(),
            VendingError::Request(_)
            | VendingError::NotOurs { .. }
            | VendingError::NotActive { .. }
            | VendingError::NoAccountYet(_) => ErrorName::InvalidRequest,
            VendingError::DelegationConflict { .. } => ErrorName::DelegationConflict,
            VendingError::Config(_)
            | VendingError::Published(_)
            | VendingError::NoSuchOu(_)
            | VendingError::NoParentZone(_) => ErrorName::ConfigMissing,
            VendingError::CreationFailed { reason, .. } => match reason.as_str() {
                "EMAIL_ALREADY_EXISTS" => ErrorName::EmailAlreadyExists,
                "ACCOUNT_LIMIT_EXCEEDED" => ErrorName::AccountLimitExceeded,
                "CONCURRENT_ACCOUNT_MODIFICATION" => ErrorName::ConcurrentAccountModification,
                // INTERNAL_FAILURE reaches here only once CreateAccount was asked again as often as
                // allowed: terminal, not `Transient` (a retried poll of a request that already
                // failed only fails again).
                _ => ErrorName::AccountCreationFailed,
            },
            VendingError::BaselineFailed { .. } => ErrorName::BaselineFailed,
            VendingError::NoSlot { .. } => ErrorName::NoSlot,
            VendingError::Untrusted(_) => ErrorName::Untrusted,
        };
        name.into()
    }
}
