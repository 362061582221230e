//! The in-memory cluster, for the local runtime and tests: rollouts ready after a virtual delay, bad images and unbound claims never.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{AccessChange, ApplyError, ClusterAccess, Clusters, ProxyAnswer, WorkloadApplier};
use crate::render::{EBS_PROVISIONER, Manifest};
use crate::rollout::RolloutStatus;

/// In-memory clusters, one per account and environment as EKS has them (the local runtime and
/// tests): the first account given access gets `cluster`, every other a fresh one like it.
/// Access is granted on first use and remembered, like an access entry.
#[derive(Debug)]
pub struct MemoryClusters {
    pub cluster: Arc<MemoryCluster>,
    granted: Mutex<BTreeSet<String>>,
    /// By `<account>/<cluster name>`.
    clusters: Mutex<BTreeMap<String, Arc<MemoryCluster>>>,
}

impl MemoryClusters {
    pub fn new(cluster: Arc<MemoryCluster>) -> MemoryClusters {
        MemoryClusters { cluster, granted: Mutex::default(), clusters: Mutex::default() }
    }

    /// The cluster of `account` in `environment`, once it has been given access.
    pub fn cluster_of(&self, account: &str, environment: &str) -> Option<Arc<MemoryCluster>> {
        let key = format!("{account}/abc-trading-{environment}");
        self.clusters.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned()
    }
}

#[async_trait]
impl Clusters for MemoryClusters {
    async fn ensure_access(&self, account: &str, environment: &str, region: &str) -> Result<ClusterAccess, ApplyError> {
        let name = format!("abc-trading-{environment}");
        let key = format!("{account}/{name}");
        let first = self.granted.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone());
        let mut clusters = self.clusters.lock().unwrap_or_else(|e| e.into_inner());
        if !clusters.contains_key(&key) {
            let cluster = if clusters.is_empty() { self.cluster.clone() } else { Arc::new(self.cluster.like()) };
            clusters.insert(key, cluster);
        }
        Ok(ClusterAccess {
            endpoint: format!("https://{name}.memory.invalid"),
            region: region.to_string(),
            certificate_authority: None,
            principal: format!("arn:aws:iam::{account}:role/abc-trading-automation"),
            changed: if first { vec![AccessChange::Created, AccessChange::Associated] } else { Vec::new() },
            name,
        })
    }

    async fn cluster(
        &self,
        account: &str,
        environment: &str,
        _region: &str,
    ) -> Result<Arc<dyn WorkloadApplier>, ApplyError> {
        // As EKS would: a principal without an access entry on that cluster is not let in.
        let name = format!("abc-trading-{environment}");
        if !self.granted.lock().unwrap_or_else(|e| e.into_inner()).contains(&format!("{account}/{name}")) {
            return Err(ApplyError::Forbidden(format!("no access entry on cluster {name} of account {account}")));
        }
        let found = self.cluster_of(account, environment);
        Ok(found.ok_or_else(|| ApplyError::Forbidden(format!("no cluster {name} in account {account}")))?)
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
/// in ImagePullBackOff for ever (a Job with such an image fails, `BackoffLimitExceeded`). A
/// StatefulSet's claims bind only through a StorageClass that exists and whose provisioner is
/// installed; otherwise its pods stay Pending, as the scheduler leaves them.
#[derive(Debug)]
pub struct MemoryCluster {
    objects: Mutex<BTreeMap<(String, String, String), Object>>,
    ready_after: Duration,
    broken: Vec<String>,
    /// The volume provisioners installed: the EBS CSI driver, as the platform template's add-on.
    provisioners: BTreeSet<String>,
    /// `<service><path>` answering 503 through the proxy (a dependency down behind it).
    unhealthy: Mutex<BTreeSet<String>>,
}

impl MemoryCluster {
    /// `broken`: images, tags or `*-suffix` tag patterns that cannot be pulled.
    pub fn new(ready_after: Duration, broken: Vec<String>) -> MemoryCluster {
        MemoryCluster {
            objects: Mutex::new(BTreeMap::new()),
            ready_after,
            broken,
            provisioners: BTreeSet::from([EBS_PROVISIONER.to_string()]),
            unhealthy: Mutex::default(),
        }
    }

    /// An empty cluster set up as this one (another account's).
    pub fn like(&self) -> MemoryCluster {
        MemoryCluster {
            objects: Mutex::new(BTreeMap::new()),
            ready_after: self.ready_after,
            broken: self.broken.clone(),
            provisioners: self.provisioners.clone(),
            unhealthy: Mutex::default(),
        }
    }

    /// The cluster without `provisioner` (an EKS cluster without the EBS CSI add-on).
    pub fn without_provisioner(mut self, provisioner: &str) -> MemoryCluster {
        self.provisioners.remove(provisioner);
        self
    }

    /// The body of an object, as applied.
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = (kind.to_string(), namespace.to_string(), name.to_string());
        self.objects.lock().unwrap_or_else(|e| e.into_inner()).get(&key).map(|o| o.body.clone())
    }

    /// The container images of every workload (Deployment, StatefulSet) named `name`, in any
    /// namespace, as applied.
    pub fn images_of(&self, name: &str) -> Vec<String> {
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects
            .iter()
            .filter(|((kind, _, n), _)| n == name && (kind == "Deployment" || kind == "StatefulSet"))
            .flat_map(|(_, o)| {
                let containers = o.body.pointer("/spec/template/spec/containers").and_then(Value::as_array);
                containers.into_iter().flatten().filter_map(|c| c["image"].as_str().map(str::to_string))
            })
            .collect()
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
        // `repository:tag@sha256:...` pulls the digest; the tag still says which build it is.
        let image = image.split_once('@').map_or(image, |(named, _)| named);
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or_default();
        self.broken.iter().any(|b| match b.strip_prefix('*') {
            Some(suffix) => tag.ends_with(suffix),
            None => image == b || tag == b,
        })
    }
}

/// Kinds without a namespace.
const CLUSTER_SCOPED: &[&str] = &["Namespace", "StorageClass"];

impl MemoryCluster {
    /// Why the first claim of a StatefulSet's pod cannot bind, if it cannot: the class it names
    /// (or the default class, naming none) missing, or its provisioner not installed.
    fn unbound_claim(
        &self,
        objects: &BTreeMap<(String, String, String), Object>,
        set: &Value,
        name: &str,
    ) -> Option<String> {
        let templates = set.pointer("/spec/volumeClaimTemplates").and_then(Value::as_array)?;
        let classes: Vec<&Value> =
            objects.iter().filter(|((k, _, _), _)| k == "StorageClass").map(|(_, o)| &o.body).collect();
        templates.iter().find_map(|t| {
            let claim = format!("{}-{name}-0", t.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("data"));
            let named = t.pointer("/spec/storageClassName").and_then(Value::as_str);
            let class = match named {
                Some(wanted) => classes.iter().find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(wanted)),
                None => classes.iter().find(|c| {
                    c.pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class").and_then(Value::as_str)
                        == Some("true")
                }),
            };
            let why = match (class, named) {
                (None, Some(wanted)) => format!("storageclass.storage.k8s.io \"{wanted}\" not found"),
                (None, None) => "it names no StorageClass and the cluster has no default one".to_string(),
                (Some(c), _) => {
                    let provisioner = c.get("provisioner").and_then(Value::as_str).unwrap_or_default();
                    if self.provisioners.contains(provisioner) {
                        return None;
                    }
                    format!("waiting for a volume to be created by the external provisioner \"{provisioner}\", which is not installed")
                }
            };
            Some(format!("pod has unbound PersistentVolumeClaim {claim}: {why}"))
        })
    }

    /// A Job: running until `ready_after`, then complete, or failed when its image is broken.
    fn job(
        &self,
        o: &Object,
        kind: &str,
        namespace: &str,
        name: &str,
        image: &str,
        now: DateTime<Utc>,
    ) -> RolloutStatus {
        let done = now - o.applied_at >= self.ready_after;
        let failed = done && self.is_broken(image);
        let complete = done && !failed;
        RolloutStatus {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
            generation: o.generation,
            observed_generation: o.generation,
            desired: 1,
            replicas: i32::from(!done),
            updated: 1,
            ready: i32::from(complete),
            available: i32::from(complete),
            revision_current: true,
            progressing_reason: if complete {
                Some("Complete".into())
            } else if failed {
                Some("BackoffLimitExceeded".into())
            } else {
                None
            },
            pod_waiting_reason: None,
            pod_waiting_message: failed
                .then(|| format!("Job {name} has reached the specified backoff limit ({image})")),
        }
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
        let invalid = |message: &str| ApplyError::Invalid {
            kind: m.kind.clone(),
            name: m.name.clone(),
            message: message.to_string(),
        };
        match (CLUSTER_SCOPED.contains(&m.kind.as_str()), m.namespace.is_some()) {
            (true, true) => return Err(invalid("a cluster-scoped object has no namespace")),
            (false, false) => return Err(invalid("a namespaced object needs a namespace")),
            _ => {}
        }
        let key = (m.kind.clone(), m.namespace.clone().unwrap_or_default(), m.name.clone());
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        match objects.get_mut(&key) {
            // As the API server: a Job's pod template cannot change once created.
            Some(o) if m.kind == "Job" && o.body.get("spec") != m.body.get("spec") => {
                return Err(invalid("spec.template: field is immutable"));
            }
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
        if kind == "Job" {
            return Ok(self.job(o, kind, namespace, name, &image, now));
        }
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
        if let Some(why) = self.unbound_claim(&objects, &o.body, name) {
            // The scheduler places no pod whose claim cannot bind: every pod of the set Pending.
            status.ready = 0;
            status.available = 0;
            status.revision_current = false;
            status.pod_waiting_reason = Some("Unschedulable".into());
            status.pod_waiting_message = Some(why);
        } else if self.is_broken(&image) {
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
            (has_port && admits_vpc(&objects, namespace, service, port), kind)
        };
        if !has_port {
            // What the API server answers for a port the Service does not have, or whose
            // packets a NetworkPolicy drops (the proxy's dial times out).
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

/// Whether traffic from outside the pod network (the API server's proxy, the load balancer)
/// reaches `service`'s pods on `port`: no policy selects them (Kubernetes admits all), or one
/// that does has a rule with an `ipBlock` peer on that port (the VPC CNI enforces policies).
fn admits_vpc(objects: &BTreeMap<(String, String, String), Object>, namespace: &str, service: &str, port: u16) -> bool {
    let selecting: Vec<&Value> = objects
        .iter()
        .filter(|((k, ns, _), _)| k == "NetworkPolicy" && ns == namespace)
        .map(|(_, o)| &o.body)
        .filter(|p| {
            p.pointer("/spec/podSelector/matchLabels")
                .and_then(Value::as_object)
                .is_some_and(|m| m.iter().all(|(k, v)| k == "app.kubernetes.io/name" && v == service))
        })
        .collect();
    selecting.is_empty()
        || selecting.iter().any(|p| {
            p.pointer("/spec/ingress").and_then(Value::as_array).into_iter().flatten().any(|rule| {
                let from_ip = rule
                    .get("from")
                    .and_then(Value::as_array)
                    .is_some_and(|peers| peers.iter().any(|peer| peer.get("ipBlock").is_some()));
                let on_port = rule.get("ports").and_then(Value::as_array).is_none_or(|ports| {
                    ports.iter().any(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(port)))
                });
                from_ip && on_port
            })
        })
}
