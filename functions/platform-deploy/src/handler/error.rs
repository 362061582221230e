//! The deploy's typed failures and the stable names the state machine's Retry and Catch use.

use platform_core::error::AwsError;
use platform_core::trust::Untrusted;

use crate::cluster::ApplyError;
use crate::edge::EdgeError;
use crate::release::ReleaseError;
use crate::render::RenderError;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Cluster(#[from] ApplyError),
    #[error("services missing after the rollout: {}", .0.join(", "))]
    ServicesMissing(Vec<String>),
    #[error("smoke checks failed: {}", .0.join("; "))]
    SmokeFailed(Vec<String>),
    #[error("environment `{0}` is not in the published config")]
    UnknownEnvironment(String),
    #[error(
        "versions or resources given without a release name, and environment `{0}` has never had a release deployed"
    )]
    NoRelease(String),
    #[error("`{0}` needs a release: this deployment is infrastructure only")]
    NoReleaseToApply(&'static str),
    #[error("`{action}` runs after {needs}: the deployment has not been through it")]
    OutOfOrder { action: &'static str, needs: &'static str },
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    #[error("not a release request: {0}")]
    NotARequest(String),
    #[error("release `{release}` refused, nothing touched: {}", problems.join("; "))]
    ImagesRefused { release: String, problems: Vec<String> },
    /// The registry did not answer (denied, throttled): no verdict on the images.
    #[error("checking the release's images: {0}")]
    Registry(#[source] AwsError),
    /// The client's endpoint: the platform's exports, the load balancer's attachment and alias,
    /// or the public HTTPS check.
    #[error(transparent)]
    Edge(#[from] EdgeError),
    /// The restore test's probe was pointed at something other than an RDS endpoint.
    #[error(transparent)]
    Probe(#[from] crate::database_probe::ProbeError),
    /// Another release holds the account: this one waits (the state machine retries).
    #[error("account {account} is being deployed by {holder} (release {release}): waiting for it")]
    AccountBusy { account: String, holder: String, release: String },
    /// Another release holds the account and this one does not wait (config, or waited enough).
    #[error(
        "account {account} is held by {holder} (release {release}); refused after waiting {waited_minutes} minute(s)"
    )]
    AccountHeld { account: String, holder: String, release: String, waited_minutes: i64 },
}

/// The names [`DeployError::error_type`] reports besides the AWS error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    InvalidRelease,
    ConfigMissing,
    VerifyFailed,
    SmokeFailed,
    InvalidRequest,
    InvalidState,
    /// A sender, environment or account outside this deployment's boundary: never retried.
    Untrusted,
    /// An image of the release is missing from the registry, unscanned, or has findings at or
    /// above the organisation's threshold: refused before anything is touched.
    ImagesRefused,
    /// The client's public endpoint failed its check (name not resolving, certificate chain or
    /// name, TLS below 1.2, certificate too close to expiry, no HTTP -> HTTPS redirect, a
    /// non-2xx answer): rolled back like a failed smoke check.
    EndpointFailed,
    /// The platform stack exported no such parameter in the member account (not created yet, or
    /// its outputs changed): nothing to point the client's name at.
    ExportMissing,
    /// Vending published no client or hosted zone for the account: its name is unknown.
    ClientUnknown,
    /// Another release deploys the account: retried until it ends (one deploy per account).
    AccountBusy,
    /// Another release deploys the account and this one gave up or does not wait: nothing touched.
    AccountHeld,
}

impl DeployError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            DeployError::Cluster(e) => return e.error_type(),
            DeployError::Registry(e) => return e.error_type(),
            DeployError::Edge(e) => return e.error_type(),
            DeployError::Probe(_) => ErrorName::InvalidRequest,
            DeployError::ImagesRefused { .. } => ErrorName::ImagesRefused,
            DeployError::Release(_) => ErrorName::InvalidRelease,
            DeployError::Render(_) => ErrorName::ConfigMissing,
            DeployError::ServicesMissing(_) => ErrorName::VerifyFailed,
            DeployError::SmokeFailed(_) => ErrorName::SmokeFailed,
            DeployError::UnknownEnvironment(_) | DeployError::NoRelease(_) | DeployError::NotARequest(_) => {
                ErrorName::InvalidRequest
            }
            DeployError::Untrusted(_) => ErrorName::Untrusted,
            DeployError::OutOfOrder { .. } | DeployError::NoReleaseToApply(_) => ErrorName::InvalidState,
            DeployError::AccountBusy { .. } => ErrorName::AccountBusy,
            DeployError::AccountHeld { .. } => ErrorName::AccountHeld,
        };
        name.into()
    }
}
