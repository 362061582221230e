//! The cluster as the deploy needs it (`WorkloadApplier`), with its in-memory stand-in behind `fakes`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use platform_core::{AwsError, ErrorClass};

use crate::render::Manifest;
use crate::rollout::RolloutStatus;

#[cfg(feature = "fakes")]
mod memory;
#[cfg(feature = "fakes")]
pub use memory::{MemoryCluster, MemoryClusters};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the API server is unreachable or busy: {0}")]
    Transient(String),
    /// The Kubernetes client failed before the API server answered (connection, TLS, timeout).
    #[error("{operation} {kind} {name}: the API server could not be reached")]
    Unreachable {
        operation: &'static str,
        kind: String,
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("the API server refused {kind} {name}: {message}")]
    Invalid { kind: String, name: String, message: String },
    #[error("{kind} {namespace}/{name} does not exist")]
    NotFound { kind: String, namespace: String, name: String },
    /// An AWS call (EKS, the ledger's Parameter Store) failed: its class is the error's name, so
    /// the state machine still tells throttling from an operation in progress.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A ledger entry that is not the JSON the deploy wrote.
    #[error("ledger entry {name} is not a readable record")]
    Ledger {
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ApplyError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApplyError::Transient(_) | ApplyError::Unreachable { .. } => ErrorClass::Transient.as_str(),
            ApplyError::Forbidden(_) => ErrorClass::AccessDenied.as_str(),
            ApplyError::Invalid { .. } | ApplyError::Ledger { .. } => ErrorClass::InvalidRequest.as_str(),
            ApplyError::NotFound { .. } => ErrorClass::NotFound.as_str(),
            ApplyError::Aws(e) => e.error_type(),
        }
    }
}

/// What the deploy needs from a cluster.
#[async_trait]
pub trait WorkloadApplier: Send + Sync + std::fmt::Debug {
    /// Server-side apply of one object (field manager `platform-ops`); applying what is already
    /// there changes nothing.
    async fn apply(&self, manifest: &Manifest, now: DateTime<Utc>) -> Result<(), ApplyError>;
    /// The rollout of a Deployment or StatefulSet, and the waiting reason of a stuck new pod.
    async fn rollout(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<RolloutStatus, ApplyError>;
    /// The Services of a namespace, by name.
    async fn services(&self, namespace: &str) -> Result<Vec<String>, ApplyError>;
    /// A GET through the API server's service proxy
    /// (`/api/v1/namespaces/<ns>/services/<name>:<port>/proxy<path>`): the answer's status and body.
    async fn proxy_get(&self, namespace: &str, service: &str, port: u16, path: &str)
    -> Result<ProxyAnswer, ApplyError>;
}

/// What a service answered through the API server's proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyAnswer {
    pub status: u16,
    pub body: String,
}

/// What `ensure-access` had to do on the cluster (nothing, on every deploy but the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessChange {
    /// The deployer's access entry was created.
    Created,
    /// The cluster-admin access policy was associated with it.
    Associated,
}

/// How the deploy reaches an environment's cluster: found by `ensure_access`, carried in the
/// deployment so later states do not ask again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterAccess {
    pub name: String,
    /// The cluster's region (the environment's primary region).
    #[serde(default)]
    pub region: String,
    pub endpoint: String,
    /// Base64 PEM of the cluster's certificate authority, as DescribeCluster gives it.
    pub certificate_authority: Option<String>,
    /// The IAM principal the access entry is for (the automation role).
    pub principal: String,
    /// What `ensure_access` had to change: `created`, `associated`, or nothing.
    pub changed: Vec<AccessChange>,
}

/// The cluster of an account's environment, and the deployer's way into it.
#[async_trait]
pub trait Clusters: Send + Sync + std::fmt::Debug {
    /// An access entry for the deployer with cluster-admin associated (created only when missing),
    /// and the cluster's endpoint and certificate authority.
    async fn ensure_access(&self, account: &str, environment: &str, region: &str) -> Result<ClusterAccess, ApplyError>;
    /// The deployer's client for the cluster of `environment` in `account`, its endpoint found
    /// again (never taken from a payload: a bearer token goes to it).
    async fn cluster(
        &self,
        account: &str,
        environment: &str,
        region: &str,
    ) -> Result<Arc<dyn WorkloadApplier>, ApplyError>;
}
