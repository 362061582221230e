//! The fleet release's errors and the stable names its state machine retries and catches by.

use platform_core::approvals::{DecisionRefused, Verdict};
use platform_core::error::AwsError;
use platform_core::release::ReleaseError;
use platform_core::trust::Untrusted;

use crate::gate::GateError;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("environment `{0}` is not in the published config")]
    UnknownEnvironment(String),
    #[error("no release named and environment {0} has none deployed yet")]
    NoRelease(String),
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error("environment {0} has no vended account to release to")]
    NoAccounts(String),
    #[error("account {account} is not one vending published for {environment}")]
    NotInFleet { account: String, environment: String },
    #[error("release {release} was {verdict} by {by}: {reason}")]
    Rejected { release: String, verdict: Verdict, by: String, reason: String },
    #[error("the answer to approval `{id}` is not what was recorded: {why}")]
    AnswerMismatch { id: String, why: String },
    #[error(transparent)]
    Decision(#[from] DecisionRefused),
}

/// The names [`FleetError::error_type`] reports besides the AWS error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    /// A sender, environment or account outside this deployment's boundary: never retried.
    Untrusted,
    ConfigMissing,
    /// The release is not published, names workloads the catalogue lacks, or misses tags.
    InvalidRelease,
    NoAccounts,
    /// Prod only gets what staging had.
    NotPromoted,
    /// Inside or into a trading session, and the environment refuses rather than waits.
    Frozen,
    /// A person said no, or nobody said yes in time.
    Rejected,
}

impl FleetError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            FleetError::Aws(e) => return e.error_type(),
            FleetError::Untrusted(_) | FleetError::AnswerMismatch { .. } | FleetError::NotInFleet { .. } => {
                ErrorName::Untrusted
            }
            FleetError::Gate(GateError::NotPromoted { .. }) => ErrorName::NotPromoted,
            FleetError::Gate(GateError::Frozen { .. }) => ErrorName::Frozen,
            FleetError::Gate(GateError::NoReason) => ErrorName::InvalidRelease,
            FleetError::UnknownEnvironment(_) => ErrorName::ConfigMissing,
            FleetError::NoRelease(_) | FleetError::Release(_) => ErrorName::InvalidRelease,
            FleetError::NoAccounts(_) => ErrorName::NoAccounts,
            FleetError::Rejected { .. } | FleetError::Decision(_) => ErrorName::Rejected,
        };
        name.into()
    }
}
