//! Rollout health, judged the way `kubectl rollout status` judges it, and failing fast on pods that can never start.

use serde::{Deserialize, Serialize};

/// What the API server says of one workload's rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutStatus {
    /// `Deployment`, `StatefulSet` or `Job`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub generation: i64,
    pub observed_generation: i64,
    pub desired: i32,
    /// Pods (all revisions) the controller runs.
    pub replicas: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// A StatefulSet's `currentRevision == updateRevision`; always true for a Deployment.
    pub revision_current: bool,
    /// The Deployment's `Progressing` condition reason (`ProgressDeadlineExceeded` is final); a
    /// Job's final condition: `Complete`, or its `Failed` condition's reason
    /// (`BackoffLimitExceeded`, `DeadlineExceeded`), whose message is then `pod_waiting_message`.
    pub progressing_reason: Option<String>,
    /// The waiting reason of a pod of the new revision, when one is stuck (`ImagePullBackOff`),
    /// or `Unschedulable` for a pod the scheduler cannot place (its message says why).
    pub pod_waiting_reason: Option<String>,
    pub pod_waiting_message: Option<String>,
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "health", rename_all = "kebab-case")]
pub enum Health {
    Ready,
    /// Still moving; `why` says what it waits for.
    Progressing {
        why: String,
    },
    /// It will not get there by waiting: roll back.
    Failed {
        reason: String,
        message: String,
    },
}

/// Pod waiting reasons no amount of waiting cures.
const FATAL_WAITING: &[&str] =
    &["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff", "CreateContainerConfigError"];

/// An `Unschedulable` pod is final when its claim will never bind (no such class, or no
/// provisioner for it; the scheduler says `unbound [immediate] PersistentVolumeClaims`), unlike a
/// lack of capacity, which the node scaler cures.
fn unbound_claim(message: &str) -> bool {
    message.contains("unbound") && message.contains("PersistentVolumeClaim")
}

pub fn health(s: &RolloutStatus) -> Health {
    if s.pod_waiting_reason.as_deref() == Some("Unschedulable")
        && let Some(message) = s.pod_waiting_message.as_deref().filter(|m| unbound_claim(m))
    {
        return Health::Failed { reason: "Unschedulable".into(), message: message.to_string() };
    }
    if s.kind == "Job" {
        return job_health(s);
    }
    if let Some(reason) = s.pod_waiting_reason.as_deref().filter(|r| FATAL_WAITING.contains(r)) {
        return Health::Failed {
            reason: reason.to_string(),
            message: s.pod_waiting_message.clone().unwrap_or_else(|| format!("a pod of {} cannot start", s.name)),
        };
    }
    if s.progressing_reason.as_deref() == Some("ProgressDeadlineExceeded") {
        return Health::Failed {
            reason: "ProgressDeadlineExceeded".into(),
            message: format!("{} {} made no progress within its deadline", s.kind, s.name),
        };
    }
    let waiting = |why: String| Health::Progressing { why };
    if s.observed_generation < s.generation {
        return waiting(format!("the controller has not seen generation {} yet", s.generation));
    }
    if s.updated < s.desired {
        return waiting(format!("{} of {} replicas updated", s.updated, s.desired));
    }
    if s.replicas > s.updated {
        return waiting(format!("{} old replica(s) pending termination", s.replicas - s.updated));
    }
    let ok = if s.kind == "StatefulSet" { s.ready } else { s.available };
    if ok < s.updated {
        return waiting(format!("{ok} of {} updated replicas available", s.updated));
    }
    if !s.revision_current {
        return waiting("the set's current revision is not the update revision yet".into());
    }
    Health::Ready
}

/// A Job is done when complete, failed for good once it has a `Failed` condition, and a pod that
/// can never start fails it early.
fn job_health(s: &RolloutStatus) -> Health {
    match s.progressing_reason.as_deref() {
        Some("Complete") => Health::Ready,
        Some(reason) => Health::Failed {
            reason: reason.to_string(),
            message: s.pod_waiting_message.clone().unwrap_or_else(|| format!("Job {} failed", s.name)),
        },
        None => match s.pod_waiting_reason.as_deref().filter(|r| FATAL_WAITING.contains(r)) {
            Some(reason) => Health::Failed {
                reason: reason.to_string(),
                message: s.pod_waiting_message.clone().unwrap_or_else(|| format!("a pod of {} cannot start", s.name)),
            },
            None => Health::Progressing { why: format!("Job {} has not completed", s.name) },
        },
    }
}

/// A tier is ready when every workload is; it has failed as soon as one has.
pub fn tier_health(statuses: &[RolloutStatus]) -> Health {
    let mut waiting = Vec::new();
    for s in statuses {
        match health(s) {
            Health::Ready => {}
            Health::Progressing { why } => waiting.push(format!("{}: {why}", s.name)),
            Health::Failed { reason, message } => {
                return Health::Failed { reason, message: format!("{}: {message}", s.name) };
            }
        }
    }
    if waiting.is_empty() { Health::Ready } else { Health::Progressing { why: waiting.join("; ") } }
}
