//! The Kubernetes adapter: server-side apply (field manager `platform-ops`) and rollout status, EKS token.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};

use crate::cluster::{ApplyError, ProxyAnswer, WorkloadApplier};
use crate::render::{FIELD_MANAGER, Manifest};
use crate::rollout::RolloutStatus;

/// The API server of one cluster.
#[derive(Clone)]
pub struct KubeApplier {
    client: Client,
}

impl std::fmt::Debug for KubeApplier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubeApplier")
    }
}

impl KubeApplier {
    pub fn new(client: Client) -> KubeApplier {
        KubeApplier { client }
    }

    /// A client for an EKS cluster as `DescribeCluster` gives it: the endpoint, the CA (base64 of
    /// a PEM certificate) and a bearer token (`token::eks_token`).
    pub fn for_eks(endpoint: &str, ca_base64: Option<&str>, token: String) -> Result<KubeApplier, ApplyError> {
        let invalid = |message: String| ApplyError::Invalid { kind: "Cluster".into(), name: endpoint.into(), message };
        let mut config = kube::Config::new(endpoint.parse().map_err(|e| invalid(format!("endpoint: {e}")))?);
        if let Some(ca) = ca_base64 {
            config.root_cert = Some(vec![pem_to_der(ca).map_err(invalid)?]);
        }
        config.auth_info.token = Some(secrecy::SecretString::from(token));
        // kube's own retry backs off for up to 15 tries on 429/503/504, minutes inside one Lambda
        // call, and would swallow a smoke check's 503. The state machine retries Transient with
        // bounded backoff instead: one retry layer, visible in the execution history.
        config.default_retry = false;
        let client = Client::try_from(config).map_err(|e| invalid(e.to_string()))?;
        Ok(KubeApplier { client })
    }
}

/// The DER bytes of the certificate in a base64-encoded PEM document.
fn pem_to_der(ca_base64: &str) -> Result<Vec<u8>, String> {
    let pem =
        base64_simd::STANDARD.decode_to_vec(ca_base64.trim()).map_err(|e| format!("certificate authority: {e}"))?;
    let pem = String::from_utf8(pem).map_err(|e| format!("certificate authority: {e}"))?;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect();
    if body.is_empty() {
        return Err("certificate authority: no PEM certificate".into());
    }
    base64_simd::STANDARD.decode_to_vec(body).map_err(|e| format!("certificate authority: {e}"))
}

/// The REST resource of each kind the deploy applies.
fn api_resource(api_version: &str, kind: &str) -> Result<ApiResource, ApplyError> {
    let plural = match kind {
        "Namespace" => "namespaces",
        "ServiceAccount" => "serviceaccounts",
        "Service" => "services",
        "Deployment" => "deployments",
        "StatefulSet" => "statefulsets",
        "Job" => "jobs",
        "StorageClass" => "storageclasses",
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers",
        "PodDisruptionBudget" => "poddisruptionbudgets",
        "NetworkPolicy" => "networkpolicies",
        other => {
            return Err(ApplyError::Invalid {
                kind: other.into(),
                name: String::new(),
                message: "a kind the deploy does not apply".into(),
            });
        }
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Ok(ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    })
}

fn classify(e: kube::Error, kind: &str, namespace: &str, name: &str) -> ApplyError {
    match e {
        kube::Error::Api(status) => {
            let message = status.message.clone();
            match status.code {
                401 | 403 => ApplyError::Forbidden(message),
                404 => ApplyError::NotFound { kind: kind.into(), namespace: namespace.into(), name: name.into() },
                409 | 429 | 500..=599 => ApplyError::Transient(message),
                _ => ApplyError::Invalid { kind: kind.into(), name: name.into(), message },
            }
        }
        // Connection refused, timeouts, TLS: the API server may be back in a moment.
        other => ApplyError::Unreachable {
            operation: "reaching",
            kind: kind.into(),
            name: format!("{namespace}/{name}"),
            source: Box::new(other),
        },
    }
}

#[async_trait::async_trait]
impl WorkloadApplier for KubeApplier {
    async fn apply(&self, m: &Manifest, _now: chrono::DateTime<chrono::Utc>) -> Result<(), ApplyError> {
        let api_version = m.body.get("apiVersion").and_then(|v| v.as_str()).unwrap_or_default();
        let resource = api_resource(api_version, &m.kind)?;
        let api: Api<DynamicObject> = match &m.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        // Server-side apply, forced: platform-ops owns the fields it sets, whoever set them last.
        api.patch(&m.name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&m.body))
            .await
            .map_err(|e| classify(e, &m.kind, m.namespace.as_deref().unwrap_or_default(), &m.name))?;
        Ok(())
    }

    async fn rollout(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<RolloutStatus, ApplyError> {
        let fail = |e| classify(e, kind, namespace, name);
        let mut status = match kind {
            "Deployment" => {
                let d = Api::<Deployment>::namespaced(self.client.clone(), namespace).get(name).await.map_err(fail)?;
                let spec = d.spec.clone().unwrap_or_default();
                let st = d.status.clone().unwrap_or_default();
                RolloutStatus {
                    kind: kind.into(),
                    namespace: namespace.into(),
                    name: name.into(),
                    generation: d.metadata.generation.unwrap_or(0),
                    observed_generation: st.observed_generation.unwrap_or(0),
                    desired: spec.replicas.unwrap_or(1),
                    replicas: st.replicas.unwrap_or(0),
                    updated: st.updated_replicas.unwrap_or(0),
                    ready: st.ready_replicas.unwrap_or(0),
                    available: st.available_replicas.unwrap_or(0),
                    revision_current: true,
                    progressing_reason: st
                        .conditions
                        .unwrap_or_default()
                        .into_iter()
                        .find(|c| c.type_ == "Progressing")
                        .and_then(|c| c.reason),
                    pod_waiting_reason: None,
                    pod_waiting_message: None,
                }
            }
            "StatefulSet" => {
                let s = Api::<StatefulSet>::namespaced(self.client.clone(), namespace).get(name).await.map_err(fail)?;
                let spec = s.spec.clone().unwrap_or_default();
                let st = s.status.clone().unwrap_or_default();
                RolloutStatus {
                    kind: kind.into(),
                    namespace: namespace.into(),
                    name: name.into(),
                    generation: s.metadata.generation.unwrap_or(0),
                    observed_generation: st.observed_generation.unwrap_or(0),
                    desired: spec.replicas.unwrap_or(1),
                    replicas: st.replicas,
                    updated: st.updated_replicas.unwrap_or(0),
                    ready: st.ready_replicas.unwrap_or(0),
                    available: st.available_replicas.unwrap_or(0),
                    revision_current: st.current_revision.is_some() && st.current_revision == st.update_revision,
                    progressing_reason: None,
                    pod_waiting_reason: None,
                    pod_waiting_message: None,
                }
            }
            "Job" => {
                let j = Api::<Job>::namespaced(self.client.clone(), namespace).get(name).await.map_err(fail)?;
                let st = j.status.clone().unwrap_or_default();
                // A Job's outcome is its final condition: `Complete`, or `Failed` with the reason.
                let last = st
                    .conditions
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed"));
                let complete = last.as_ref().is_some_and(|c| c.type_ == "Complete");
                RolloutStatus {
                    kind: kind.into(),
                    namespace: namespace.into(),
                    name: name.into(),
                    generation: j.metadata.generation.unwrap_or(0),
                    observed_generation: j.metadata.generation.unwrap_or(0),
                    desired: 1,
                    replicas: st.active.unwrap_or(0),
                    updated: 1,
                    ready: i32::from(complete),
                    available: i32::from(complete),
                    revision_current: true,
                    progressing_reason: last.as_ref().map(|c| {
                        if complete {
                            "Complete".to_string()
                        } else {
                            c.reason.clone().unwrap_or_else(|| "Failed".into())
                        }
                    }),
                    pod_waiting_reason: None,
                    pod_waiting_message: last.filter(|_| !complete).and_then(|c| c.message),
                }
            }
            other => {
                return Err(ApplyError::Invalid {
                    kind: other.into(),
                    name: name.into(),
                    message: "only Deployments, StatefulSets and Jobs roll out".into(),
                });
            }
        };
        // A pod that waits for a reason waiting cannot cure says why the rollout will fail. A
        // Job's pods carry its name in the label the Job controller sets.
        let selector = if kind == "Job" {
            format!("batch.kubernetes.io/job-name={name}")
        } else {
            format!("app.kubernetes.io/name={name}")
        };
        let pods = Api::<Pod>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(fail)?;
        for pod in pods.items {
            let pod_status = pod.status.unwrap_or_default();
            // A pod the scheduler cannot place (a claim that cannot bind): why, as the scheduler says.
            if let Some(c) = pod_status.conditions.iter().flatten().find(|c| {
                c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable")
            }) {
                status.pod_waiting_reason = c.reason.clone();
                status.pod_waiting_message = c.message.clone();
            }
            for c in pod_status.container_statuses.unwrap_or_default() {
                if let Some(waiting) = c.state.and_then(|s| s.waiting)
                    && waiting.reason.is_some()
                    && waiting.reason.as_deref() != Some("ContainerCreating")
                {
                    status.pod_waiting_reason = waiting.reason;
                    status.pod_waiting_message = waiting.message;
                }
            }
        }
        Ok(status)
    }

    async fn services(&self, namespace: &str) -> Result<Vec<String>, ApplyError> {
        let list = Api::<Service>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map_err(|e| classify(e, "Service", namespace, ""))?;
        Ok(list.items.into_iter().filter_map(|s| s.metadata.name).collect())
    }

    async fn proxy_get(
        &self,
        namespace: &str,
        service: &str,
        port: u16,
        path: &str,
    ) -> Result<ProxyAnswer, ApplyError> {
        let uri = proxy_path(namespace, service, port, path);
        let request = http::Request::get(&uri).body(kube::client::Body::empty()).map_err(|e| ApplyError::Invalid {
            kind: "Service".into(),
            name: service.into(),
            message: e.to_string(),
        })?;
        // Sent raw: the service's own answer (a 503 from a DOWN actuator) is the result, not an error.
        let response = self.client.send(request).await.map_err(|e| classify(e, "Service", namespace, service))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect_bytes().await.map_err(|e| ApplyError::Unreachable {
            operation: "reading the answer of",
            kind: "Service".into(),
            name: format!("{namespace}/{service}"),
            source: Box::new(e),
        })?;
        if matches!(status, 401 | 403) {
            return Err(ApplyError::Forbidden(format!("{uri}: {}", String::from_utf8_lossy(&body))));
        }
        // Long error pages are cut: the answer travels in the state machine's payload.
        let mut body = String::from_utf8_lossy(&body).into_owned();
        if body.len() > 512 {
            let cut = (0..=512).rev().find(|i| body.is_char_boundary(*i)).unwrap_or(0);
            body.truncate(cut);
        }
        Ok(ProxyAnswer { status, body })
    }
}

/// The API server's proxy path to a service port; `path` keeps its own query, if any.
pub fn proxy_path(namespace: &str, service: &str, port: u16, path: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy{path}")
}
