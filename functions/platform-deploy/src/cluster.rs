//! The cluster as the deploy needs it (`WorkloadApplier`), and an in-memory cluster for the local
//! runtime and the tests: rollouts become ready after a virtual delay, bad images never do.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use platform_core::{AwsError, ErrorClass};

use crate::render::Manifest;
use crate::rollout::RolloutStatus;

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
    pub changed: Vec<String>,
}

/// The cluster of an account's environment, and the deployer's way into it.
#[async_trait]
pub trait Clusters: Send + Sync + std::fmt::Debug {
    /// An access entry for the deployer with cluster-admin associated (created only when missing),
    /// and the cluster's endpoint and certificate authority.
    async fn ensure_access(&self, account: &str, environment: &str, region: &str) -> Result<ClusterAccess, ApplyError>;
    async fn cluster(&self, account: &str, access: &ClusterAccess) -> Result<Arc<dyn WorkloadApplier>, ApplyError>;
}

/// One in-memory cluster for every account (the local runtime and tests): access is granted on
/// first use and remembered, like an access entry.
#[derive(Debug)]
pub struct MemoryClusters {
    pub cluster: Arc<MemoryCluster>,
    granted: Mutex<BTreeSet<String>>,
}

impl MemoryClusters {
    pub fn new(cluster: Arc<MemoryCluster>) -> MemoryClusters {
        MemoryClusters { cluster, granted: Mutex::default() }
    }
}

#[async_trait]
impl Clusters for MemoryClusters {
    async fn ensure_access(&self, account: &str, environment: &str, region: &str) -> Result<ClusterAccess, ApplyError> {
        let name = format!("abc-trading-{environment}");
        let first = self.granted.lock().unwrap_or_else(|e| e.into_inner()).insert(format!("{account}/{name}"));
        Ok(ClusterAccess {
            endpoint: format!("https://{name}.memory.invalid"),
            region: region.to_string(),
            certificate_authority: None,
            principal: format!("arn:aws:iam::{account}:role/abc-trading-automation"),
            changed: if first { vec!["created".into(), "associated".into()] } else { Vec::new() },
            name,
        })
    }

    async fn cluster(&self, _account: &str, _access: &ClusterAccess) -> Result<Arc<dyn WorkloadApplier>, ApplyError> {
        Ok(self.cluster.clone())
    }
}

#[derive(Debug, Clone)]
struct Object {
    body: Value,
    generation: i64,
    applied_at: DateTime<Utc>,
}

/// A cluster in memory: objects are kept as applied; a workload's new revision is ready
/// `ready_after` after it was applied, unless its image is one `broken` names, whose pods wait
/// in ImagePullBackOff for ever.
#[derive(Debug)]
pub struct MemoryCluster {
    objects: Mutex<BTreeMap<(String, String, String), Object>>,
    ready_after: Duration,
    broken: Vec<String>,
    /// `<service><path>` answering 503 through the proxy (a dependency down behind it).
    unhealthy: Mutex<BTreeSet<String>>,
}

impl MemoryCluster {
    /// `broken`: images, tags or `*-suffix` tag patterns that cannot be pulled.
    pub fn new(ready_after: Duration, broken: Vec<String>) -> MemoryCluster {
        MemoryCluster { objects: Mutex::new(BTreeMap::new()), ready_after, broken, unhealthy: Mutex::default() }
    }

    /// The body of an object, as applied.
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = (kind.to_string(), namespace.to_string(), name.to_string());
        self.objects.lock().unwrap_or_else(|e| e.into_inner()).get(&key).map(|o| o.body.clone())
    }

    pub fn len(&self) -> usize {
        self.objects.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// From now on `service` answers `path` with 503 `DOWN` through the proxy.
    pub fn make_unhealthy(&self, service: &str, path: &str) {
        self.unhealthy.lock().unwrap_or_else(|e| e.into_inner()).insert(format!("{service}{path}"));
    }

    /// `broken` entries name a whole image, a tag, or (`*-suffix`) every tag ending so.
    fn is_broken(&self, image: &str) -> bool {
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or_default();
        self.broken.iter().any(|b| match b.strip_prefix('*') {
            Some(suffix) => tag.ends_with(suffix),
            None => image == b || tag == b,
        })
    }
}

#[async_trait]
impl WorkloadApplier for MemoryCluster {
    async fn apply(&self, m: &Manifest, now: DateTime<Utc>) -> Result<(), ApplyError> {
        if m.body.get("apiVersion").is_none() || m.body.get("kind").is_none() {
            return Err(ApplyError::Invalid {
                kind: m.kind.clone(),
                name: m.name.clone(),
                message: "no apiVersion or kind".into(),
            });
        }
        let key = (m.kind.clone(), m.namespace.clone().unwrap_or_default(), m.name.clone());
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        match objects.get_mut(&key) {
            // The same spec again: the API server keeps the generation (and the rollout).
            Some(o) if o.body.get("spec") == m.body.get("spec") => o.body = m.body.clone(),
            Some(o) => {
                o.body = m.body.clone();
                o.generation += 1;
                o.applied_at = now;
            }
            None => {
                objects.insert(key, Object { body: m.body.clone(), generation: 1, applied_at: now });
            }
        }
        Ok(())
    }

    async fn rollout(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<RolloutStatus, ApplyError> {
        let key = (kind.to_string(), namespace.to_string(), name.to_string());
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let o = objects.get(&key).ok_or_else(|| ApplyError::NotFound {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        })?;
        let desired = o.body.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1) as i32;
        let image = o
            .body
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut status = RolloutStatus {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
            generation: o.generation,
            observed_generation: o.generation,
            desired,
            replicas: desired,
            updated: desired,
            ready: desired,
            available: desired,
            revision_current: true,
            progressing_reason: Some("NewReplicaSetAvailable".into()),
            pod_waiting_reason: None,
            pod_waiting_message: None,
        };
        if self.is_broken(&image) {
            // One surge pod of the new revision, stuck; the old revision keeps serving (or, on a
            // first rollout, nothing does).
            let old = if o.generation > 1 { desired } else { 0 };
            status.replicas = old + 1;
            status.updated = 1;
            status.ready = old;
            status.available = old;
            status.revision_current = false;
            status.progressing_reason = Some("ReplicaSetUpdated".into());
            status.pod_waiting_reason = Some("ImagePullBackOff".into());
            status.pod_waiting_message = Some(format!("Back-off pulling image \"{image}\""));
        } else if now - o.applied_at < self.ready_after {
            status.ready = 0;
            status.available = 0;
            status.revision_current = false;
            status.progressing_reason = Some("ReplicaSetUpdated".into());
        }
        Ok(status)
    }

    async fn services(&self, namespace: &str) -> Result<Vec<String>, ApplyError> {
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(objects.keys().filter(|(k, ns, _)| k == "Service" && ns == namespace).map(|(_, _, n)| n.clone()).collect())
    }

    async fn proxy_get(
        &self,
        namespace: &str,
        service: &str,
        port: u16,
        path: &str,
    ) -> Result<ProxyAnswer, ApplyError> {
        let down = |why: &str| ProxyAnswer { status: 503, body: format!(r#"{{"status":"DOWN","why":"{why}"}}"#) };
        let (has_port, workload) = {
            let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
            let Some(svc) = objects.get(&("Service".to_string(), namespace.to_string(), service.to_string())) else {
                return Err(ApplyError::NotFound {
                    kind: "Service".into(),
                    namespace: namespace.into(),
                    name: service.into(),
                });
            };
            let ports = svc.body.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
            let has_port = ports.iter().any(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(port)));
            let kind = ["Deployment", "StatefulSet"]
                .into_iter()
                .find(|k| objects.contains_key(&(k.to_string(), namespace.to_string(), service.to_string())));
            (has_port, kind)
        };
        if !has_port {
            // What the API server answers for a port the Service does not have.
            return Ok(ProxyAnswer {
                status: 503,
                body: format!("no endpoints available for service \"{service}:{port}\""),
            });
        }
        let Some(kind) = workload else { return Ok(down("no pods behind the service")) };
        // The proxy reaches ready endpoints only. Smoke checks run after every gate, when the
        // virtual delay has long passed: only pods that can never start leave none.
        let far_future = Utc::now() + Duration::days(3650);
        let status = self.rollout(kind, namespace, service, far_future).await?;
        if status.available == 0 {
            return Ok(ProxyAnswer { status: 503, body: format!("no endpoints available for service \"{service}\"") });
        }
        if self.unhealthy.lock().unwrap_or_else(|e| e.into_inner()).contains(&format!("{service}{path}")) {
            return Ok(down("a dependency is unreachable"));
        }
        Ok(ProxyAnswer { status: 200, body: r#"{"status":"UP"}"#.into() })
    }
}
