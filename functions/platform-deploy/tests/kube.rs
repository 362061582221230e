//! The Kubernetes adapter against an HTTP server speaking the API's shapes for the resources the
//! deploy uses (server-side apply PATCH, GET of Deployments and StatefulSets, pod and service
//! lists), recorded from the Kubernetes API reference.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use platform_core::config;
use platform_deploy::cluster::{ApplyError, WorkloadApplier};
use platform_deploy::kube::KubeApplier;
use platform_deploy::release::Release;
use platform_deploy::render::{Registry, Target, render};
use platform_deploy::rollout::{Health, health};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    content_type: String,
    authorization: String,
    body: String,
}

/// Answers by `METHOD path` (query ignored); records every request.
struct ApiServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn api_server(routes: BTreeMap<String, (u16, Value)>) -> ApiServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (log, routes) = (seen.clone(), Arc::new(routes));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (log, routes) = (log.clone(), routes.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, mut body) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..i]).to_string(), buf[i + 4..].to_vec());
                    }
                };
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| {
                            l.split_once(':')
                                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                                .map(|(_, v)| v.trim().to_string())
                        })
                        .unwrap_or_default()
                };
                let length: usize = header("content-length").parse().unwrap_or(0);
                while body.len() < length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
                let method = request_line.next().unwrap_or_default().to_string();
                let target = request_line.next().unwrap_or_default().to_string();
                let path = target.split('?').next().unwrap_or_default().to_string();
                log.lock().expect("lock").push(Seen {
                    method: method.clone(),
                    target: target.clone(),
                    content_type: header("content-type"),
                    authorization: header("authorization"),
                    body: String::from_utf8_lossy(&body).to_string(),
                });
                let (status, answer) = routes.get(&format!("{method} {path}")).cloned().unwrap_or_else(|| {
                    (404, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": format!("{path} not found")}))
                });
                let text = answer.to_string();
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    ApiServer { url, seen }
}

fn deployment_status() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "authentication", "namespace": "trading-core", "generation": 3},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": "authentication"}},
                 "template": {"spec": {"containers": [{"name": "authentication", "image": "x"}]}}},
        "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
                                  {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}})
}

fn pods(waiting: Option<&str>) -> Value {
    let state = match waiting {
        Some(reason) => {
            json!({"waiting": {"reason": reason, "message": "Back-off pulling image \"x:2026.11.4-broken\""}})
        }
        None => json!({"running": {"startedAt": "2026-11-24T12:00:00Z"}}),
    };
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
        {"metadata": {"name": "authentication-1"}, "status": {"containerStatuses": [
            {"name": "authentication", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": state}]}}]})
}

#[tokio::test]
async fn apply_is_a_forced_server_side_apply_by_platform_ops() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let release = Release::uniform("2026.11.3").resolve(&tree.catalog).expect("release");
    let registry = Registry { account: "222233334444".into(), region: "us-east-1".into() };
    let manifests = render(&tree, "dev", &release, &registry, &Target::default()).expect("render");
    let pick =
        |kind: &str, name: &str| manifests.iter().find(|m| m.kind == kind && m.name == name).expect("manifest").clone();
    let routes = BTreeMap::from([
        (
            "PATCH /api/v1/namespaces/trading-core".to_string(),
            (200, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "trading-core"}})),
        ),
        (
            "PATCH /apis/apps/v1/namespaces/trading-core/deployments/authentication".to_string(),
            (200, deployment_status()),
        ),
        (
            "PATCH /apis/policy/v1/namespaces/trading-core/poddisruptionbudgets/authentication".to_string(),
            (
                403,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403, "message": "poddisruptionbudgets is forbidden"}),
            ),
        ),
    ]);
    let server = api_server(routes).await;
    let applier = KubeApplier::for_eks(&server.url, None, "k8s-aws-v1.token".into()).expect("client");
    applier.apply(&pick("Namespace", "trading-core"), Utc::now()).await.expect("namespace");
    applier.apply(&pick("Deployment", "authentication"), Utc::now()).await.expect("deployment");
    let err = applier.apply(&pick("PodDisruptionBudget", "authentication"), Utc::now()).await.expect_err("forbidden");
    assert!(matches!(err, ApplyError::Forbidden(_)) && err.error_type() == "AccessDenied", "{err}");

    let seen = server.seen.lock().expect("lock").clone();
    let deployment = seen.iter().find(|s| s.target.contains("/deployments/")).expect("deployment request");
    assert_eq!(deployment.method, "PATCH");
    assert!(
        deployment.target.contains("fieldManager=platform-ops") && deployment.target.contains("force=true"),
        "{}",
        deployment.target
    );
    assert_eq!(deployment.content_type, "application/apply-patch+yaml");
    assert_eq!(deployment.authorization, "Bearer k8s-aws-v1.token");
    let sent: Value = serde_json::from_str(&deployment.body).expect("json body");
    assert_eq!(sent, pick("Deployment", "authentication").body, "the rendered manifest, as it is");
    assert!(
        seen[0].target.starts_with("/api/v1/namespaces/trading-core?"),
        "cluster-scoped namespace: {}",
        seen[0].target
    );
}

#[tokio::test]
async fn rollout_status_reads_the_controller_and_its_stuck_pods() {
    let routes = BTreeMap::from([
        (
            "GET /apis/apps/v1/namespaces/trading-core/deployments/authentication".to_string(),
            (200, deployment_status()),
        ),
        ("GET /api/v1/namespaces/trading-core/pods".to_string(), (200, pods(None))),
        (
            "GET /api/v1/namespaces/trading-core/services".to_string(),
            (
                200,
                json!({"apiVersion": "v1", "kind": "ServiceList", "metadata": {},
            "items": [{"metadata": {"name": "authentication"}}, {"metadata": {"name": "authorization"}}]}),
            ),
        ),
        (
            "GET /apis/apps/v1/namespaces/trading-foundation/statefulsets/axon-server".to_string(),
            (
                200,
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "axon-server", "generation": 1},
            "spec": {"replicas": 1, "serviceName": "axon-server-headless", "selector": {"matchLabels": {}}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                       "currentRevision": "axon-server-7d9", "updateRevision": "axon-server-7d9"}}),
            ),
        ),
        ("GET /api/v1/namespaces/trading-foundation/pods".to_string(), (200, pods(None))),
    ]);
    let server = api_server(routes).await;
    let applier = KubeApplier::for_eks(&server.url, None, "t".into()).expect("client");
    let status = applier.rollout("Deployment", "trading-core", "authentication", Utc::now()).await.expect("status");
    assert_eq!(
        (status.generation, status.observed_generation, status.desired, status.updated, status.available),
        (3, 3, 2, 1, 2)
    );
    assert_eq!(status.progressing_reason.as_deref(), Some("ReplicaSetUpdated"));
    assert!(matches!(health(&status), Health::Progressing { .. }));
    let listed =
        server.seen.lock().expect("lock").iter().find(|s| s.target.contains("/pods")).cloned().expect("pods listed");
    assert!(listed.target.contains("labelSelector=app.kubernetes.io%2Fname%3Dauthentication"), "{}", listed.target);

    let axon = applier.rollout("StatefulSet", "trading-foundation", "axon-server", Utc::now()).await.expect("status");
    assert_eq!(health(&axon), Health::Ready);
    assert_eq!(applier.services("trading-core").await.expect("services"), ["authentication", "authorization"]);
    let missing = applier.rollout("Deployment", "trading-core", "nope", Utc::now()).await.expect_err("404");
    assert_eq!(missing.error_type(), "NotFound");
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_the_rollout_with_the_pods_reason() {
    let routes = BTreeMap::from([
        (
            "GET /apis/apps/v1/namespaces/trading-core/deployments/authentication".to_string(),
            (200, deployment_status()),
        ),
        ("GET /api/v1/namespaces/trading-core/pods".to_string(), (200, pods(Some("ImagePullBackOff")))),
    ]);
    let server = api_server(routes).await;
    let applier = KubeApplier::for_eks(&server.url, None, "t".into()).expect("client");
    let status = applier.rollout("Deployment", "trading-core", "authentication", Utc::now()).await.expect("status");
    match health(&status) {
        Health::Failed { reason, message } => {
            assert_eq!(reason, "ImagePullBackOff");
            assert!(message.contains("2026.11.4-broken"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // An unreachable API server is transient (retried), not a failed rollout.
    let gone = KubeApplier::for_eks("http://127.0.0.1:9", None, "t".into()).expect("client");
    let err = gone.services("trading-core").await.expect_err("unreachable");
    assert_eq!(err.error_type(), "Transient", "{err}");
}

#[test]
fn the_cluster_ca_is_read_from_describe_clusters_base64_pem() {
    assert!(KubeApplier::for_eks("https://example.eks.amazonaws.com", Some("bm90IGEgcGVt"), "t".into()).is_err());
}

/// Smoke checks go through the API server's service proxy: the service's own answer (a 503 from
/// a DOWN actuator) comes back as the result, a 403 from the API server as an error.
#[tokio::test]
async fn the_service_proxy_returns_the_services_answer() {
    let routes = BTreeMap::from([
        (
            "GET /api/v1/namespaces/trading-foundation/services/axon-server:8024/proxy/actuator/health".to_string(),
            (200, json!({"status": "UP", "components": {"diskSpace": {"status": "UP"}}})),
        ),
        (
            "GET /api/v1/namespaces/trading-edge/services/backend-services:8080/proxy/actuator/health/db".to_string(),
            (503, json!({"status": "DOWN", "details": {"error": "Connection to database:5432 refused"}})),
        ),
        (
            "GET /api/v1/namespaces/trading-edge/services/frontend:80/proxy/".to_string(),
            (403, json!({"kind": "Status", "code": 403, "message": "services \"frontend\" is forbidden"})),
        ),
    ]);
    let server = api_server(routes).await;
    let applier = KubeApplier::for_eks(&server.url, None, "k8s-aws-v1.token".into()).expect("client");
    let up = applier.proxy_get("trading-foundation", "axon-server", 8024, "/actuator/health").await.expect("up");
    assert_eq!(up.status, 200);
    assert!(up.body.contains("\"UP\""));
    let down = applier.proxy_get("trading-edge", "backend-services", 8080, "/actuator/health/db").await.expect("down");
    assert_eq!(down.status, 503);
    assert!(down.body.contains("5432 refused"), "{}", down.body);
    let denied = applier.proxy_get("trading-edge", "frontend", 80, "/").await.expect_err("forbidden");
    assert_eq!(denied.error_type(), "AccessDenied");
    let seen = server.seen.lock().expect("lock").clone();
    assert!(seen.iter().all(|s| s.method == "GET" && s.authorization == "Bearer k8s-aws-v1.token"), "{seen:?}");
}
