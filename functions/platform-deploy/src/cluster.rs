//! The cluster as the deploy needs it (`WorkloadApplier`), and an in-memory cluster for the local
//! runtime and the tests: rollouts become ready after a virtual delay, bad images never do.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::render::Manifest;
use crate::rollout::RolloutStatus;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("the API server is unreachable or busy: {0}")]
    Transient(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("the API server refused {kind} {name}: {message}")]
    Invalid { kind: String, name: String, message: String },
    #[error("{kind} {namespace}/{name} does not exist")]
    NotFound { kind: String, namespace: String, name: String },
}

impl ApplyError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApplyError::Transient(_) => "Transient",
            ApplyError::Forbidden(_) => "AccessDenied",
            ApplyError::Invalid { .. } => "InvalidRequest",
            ApplyError::NotFound { .. } => "NotFound",
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
}

impl MemoryCluster {
    /// `broken`: images, tags or `*-suffix` tag patterns that cannot be pulled.
    pub fn new(ready_after: Duration, broken: Vec<String>) -> MemoryCluster {
        MemoryCluster { objects: Mutex::new(BTreeMap::new()), ready_after, broken }
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
}
