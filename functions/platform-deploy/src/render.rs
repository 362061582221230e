//! The Kubernetes manifests of a release in one environment, tier by tier, in rollout order.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction, Namespace,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, SecurityContext, Service as KubeService, ServiceAccount, ServicePort,
    ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use platform_core::config::{ConfigTree, Environment, Service, ServiceKind};
use serde::Serialize;
use serde_json::Value;

use crate::release::ResolvedRelease;

mod job;
mod policy;
mod storage;

pub use job::job_name;
pub use storage::{EBS_PROVISIONER, STORAGE_CLASS, storage_class};

/// The label every object of the platform carries; network policies admit its namespaces.
pub const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "abc-trading");
/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "platform-ops";
/// Horizontal autoscaling above the configured replicas, at most this many times as many.
const HPA_HEADROOM: i32 = 3;
/// Axon Server's event store volume.
const AXON_STORAGE: &str = "20Gi";

/// One object to apply, with where it belongs in the rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    pub tier: String,
    pub workload: Option<String>,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub body: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("environment `{0}` is not in the config")]
    NoEnvironment(String),
    #[error("the release has no tag for `{0}`")]
    NoTag(String),
}

/// Where a release's images come from: the organisation's central ECR (the registry's account,
/// in the home region), which every member's nodes pull from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub account: String,
    pub region: String,
}

impl Registry {
    /// `repository:tag@sha256:...` when Plan found the digest: the digest is what is pulled
    /// (what runs cannot change under the tag), the tag says which build it is. By tag only for
    /// a release recorded before digests were.
    pub fn image(&self, repository: &str, tag: &str, digest: Option<&str>) -> String {
        let host = format!("{}.dkr.ecr.{}.amazonaws.com", self.account, self.region);
        match digest {
            Some(digest) => format!("{host}/{repository}:{tag}@{digest}"),
            None => format!("{host}/{repository}:{tag}"),
        }
    }
}

/// The member account a release goes to, as the manifests need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub account: String,
    /// The RDS-managed secret's ARN (`/abc-trading/<env>/platform/database-secret-arn`), once
    /// known: database workloads are told where to read it with their own role.
    pub database_secret_arn: Option<String>,
}

/// The event store keeps state on a volume and has one writer: a StatefulSet; a job runs once per
/// release: a Job; the rest are Deployments.
pub fn workload_kind(s: &Service) -> &'static str {
    match s.kind {
        ServiceKind::Job => "Job",
        _ if s.name == "axon-server" => "StatefulSet",
        _ => "Deployment",
    }
}

/// The name of a workload's object in release `release`: a Job's is new per release (its pod
/// template is immutable), the others keep the service's name.
pub fn workload_name(s: &Service, release: &str) -> String {
    if s.kind == ServiceKind::Job { job_name(&s.name, release) } else { s.name.clone() }
}

/// The namespace of a tier.
pub fn namespace_of(tier: &str) -> String {
    format!("trading-{tier}")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn quantity(v: &str) -> Quantity {
    Quantity(v.to_string())
}

/// Every manifest of the release in `env`, tier by tier in rollout order: per tier its
/// namespace, then per workload its service account, workload, service(s), autoscaler,
/// disruption budget and network policy.
pub fn render(
    tree: &ConfigTree,
    env: &str,
    release: &ResolvedRelease,
    registry: &Registry,
    target: &Target,
) -> Result<Vec<Manifest>, RenderError> {
    let environment = tree.environment(env).ok_or_else(|| RenderError::NoEnvironment(env.to_string()))?;
    let mut out = Vec::new();
    let mut storage_rendered = false;
    for tier in &tree.catalog.tiers {
        let ns = namespace_of(&tier.name);
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.clone()),
                labels: Some(labels(&[
                    PART_OF,
                    ("abc-trading/tier", &tier.name),
                    // Pods of the platform meet the restricted Pod Security Standard.
                    ("pod-security.kubernetes.io/enforce", "restricted"),
                ])),
                ..Default::default()
            },
            ..Default::default()
        };
        out.push(manifest(&tier.name, None, "Namespace", None, &ns, &namespace));
        // The class the volumes claim, before the first workload that claims one.
        let claims = tier
            .services
            .iter()
            .any(|n| tree.catalog.services.get(n).is_some_and(|s| workload_kind(s) == "StatefulSet"));
        if claims && !storage_rendered {
            storage_rendered = true;
            let class = storage_class(environment, &target.account);
            out.push(manifest(&tier.name, None, "StorageClass", None, STORAGE_CLASS, &class));
        }
        for name in &tier.services {
            let mut service = tree.catalog.services[name].clone();
            // The release's override (signal triage's raise-memory) replaces the catalogue's limit.
            if let Some(memory) = release.resources.get(name).and_then(|o| o.memory.clone()) {
                service.resources.memory_limit = memory;
            }
            let tag = release.tags.get(name).ok_or_else(|| RenderError::NoTag(name.clone()))?;
            let ctx = Ctx {
                ns: &ns,
                env: &environment.name,
                image: &registry.image(&service.image, tag, release.digests.get(name).map(String::as_str)),
                tag,
                release: &release.name,
                database_secret_arn: target.database_secret_arn.as_deref().filter(|_| service.database),
                vpc_cidr: environment.network.vpc_cidr,
                vpc_ports: vpc_ports(tree, environment, &service),
                node_port: (*name == environment.edge.service).then_some(environment.edge.node_port),
            };
            workload(&mut out, &service, &ctx);
        }
    }
    Ok(out)
}

/// The ports of `s` reached from outside the pod network, sorted and once each.
fn vpc_ports(tree: &ConfigTree, env: &Environment, s: &Service) -> Vec<u16> {
    let edge = (s.name == env.edge.service).then_some(s.port);
    let smoke = tree.catalog.smoke_checks.iter().filter(|c| c.service == s.name).map(|c| c.port);
    let ports: std::collections::BTreeSet<u16> = edge.into_iter().chain(smoke).collect();
    ports.into_iter().collect()
}

fn manifest<T: Serialize>(
    tier: &str,
    workload: Option<&str>,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    object: &T,
) -> Manifest {
    Manifest {
        tier: tier.to_string(),
        workload: workload.map(str::to_string),
        kind: kind.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        body: serde_json::to_value(object).unwrap_or(Value::Null),
    }
}

/// What one workload's objects are rendered with.
struct Ctx<'a> {
    ns: &'a str,
    env: &'a str,
    image: &'a str,
    tag: &'a str,
    release: &'a str,
    database_secret_arn: Option<&'a str>,
    /// The environment's VPC, where the load balancer's and the smoke checks' traffic comes from.
    vpc_cidr: ipnet::Ipv4Net,
    /// Ports admitted from the VPC: the edge service's (the load balancer's target) and those
    /// the smoke checks call.
    vpc_ports: Vec<u16>,
    /// The fixed NodePort the load balancer forwards to, on the edge service only.
    node_port: Option<u16>,
}

impl Ctx<'_> {
    fn meta(&self, s: &Service, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.ns.to_string()),
            labels: Some(labels(&[("app.kubernetes.io/name", &s.name), PART_OF, ("abc-trading/tier", &s.tier)])),
            annotations: Some(labels(&[("abc-trading/release", self.release)])),
            ..Default::default()
        }
    }

    fn pod_labels(&self, s: &Service) -> BTreeMap<String, String> {
        labels(&[
            ("app.kubernetes.io/name", &s.name),
            PART_OF,
            ("abc-trading/tier", &s.tier),
            ("app.kubernetes.io/version", self.tag),
        ])
    }

    fn push(&self, out: &mut Vec<Manifest>, s: &Service, kind: &str, name: &str, object: &dyn erased::Json) {
        out.push(Manifest {
            tier: s.tier.clone(),
            workload: Some(s.name.clone()),
            kind: kind.to_string(),
            namespace: Some(self.ns.to_string()),
            name: name.to_string(),
            body: object.json(),
        });
    }

    /// The environment, and for a database workload where its credentials are: an ARN its own
    /// role may read, never the secret.
    fn env_vars(&self) -> Vec<EnvVar> {
        let var = |name: &str, value: String| EnvVar { name: name.into(), value: Some(value), ..Default::default() };
        let mut vars = vec![
            var("ABC_TRADING_ENVIRONMENT", self.env.to_string()),
            var("SPRING_PROFILES_ACTIVE", self.env.to_string()),
        ];
        if let Some(arn) = self.database_secret_arn {
            vars.push(var("DATABASE_SECRET_ARN", arn.to_string()));
            vars.push(var("SPRING_CONFIG_IMPORT", format!("aws-secretsmanager:{arn}")));
        }
        vars
    }
}

/// Requests and limits as configured.
fn requirements(s: &Service) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), quantity(&s.resources.cpu_request)),
            ("memory".to_string(), quantity(&s.resources.memory_request)),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_string(), quantity(&s.resources.cpu_limit)),
            ("memory".to_string(), quantity(&s.resources.memory_limit)),
        ])),
        ..Default::default()
    }
}

/// The restricted Pod Security Standard, container side.
fn restricted_container() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Default::default() }),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
        ..Default::default()
    }
}

/// The pod side of the restricted standard, its own ServiceAccount, and no API token mounted.
fn restricted_pod(s: &Service, containers: Vec<Container>) -> PodSpec {
    PodSpec {
        service_account_name: Some(s.name.clone()),
        automount_service_account_token: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
            ..Default::default()
        }),
        containers,
        volumes: Some(vec![Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn workload(out: &mut Vec<Manifest>, s: &Service, ctx: &Ctx) {
    let selector = labels(&[("app.kubernetes.io/name", &s.name)]);
    let pod_labels = ctx.pod_labels(s);
    let meta = |name: &str| ctx.meta(s, name);
    let push = |out: &mut Vec<Manifest>, kind: &str, name: &str, object: &dyn erased::Json| {
        ctx.push(out, s, kind, name, object);
    };

    // Its own identity (Pod Identity associations name it); the pod never needs the API's token.
    let account =
        ServiceAccount { metadata: meta(&s.name), automount_service_account_token: Some(false), ..Default::default() };
    push(out, "ServiceAccount", &s.name, &account);
    if s.kind == ServiceKind::Job {
        return job::render(out, s, ctx);
    }

    let mut ports =
        vec![ContainerPort { name: Some("http".into()), container_port: i32::from(s.port), ..Default::default() }];
    if let Some(grpc) = s.grpc_port {
        ports.push(ContainerPort { name: Some("grpc".into()), container_port: i32::from(grpc), ..Default::default() });
    }
    let probe = |initial: i32, period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(s.health_path.clone()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(failures),
        ..Default::default()
    };
    let mut mounts = vec![VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..Default::default() }];
    let stateful = workload_kind(s) == "StatefulSet";
    if stateful {
        mounts.push(VolumeMount { name: "data".into(), mount_path: "/axonserver/data".into(), ..Default::default() });
    }
    let container = Container {
        name: s.name.clone(),
        image: Some(ctx.image.to_string()),
        image_pull_policy: Some("IfNotPresent".into()),
        ports: Some(ports),
        env: Some(ctx.env_vars()),
        readiness_probe: Some(probe(10, 10, 3)),
        // A slow start is not a failure: liveness begins well after readiness.
        liveness_probe: Some(probe(60, 20, 3)),
        resources: Some(requirements(s)),
        security_context: Some(restricted_container()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let pod = PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(pod_labels), ..Default::default() }),
        spec: Some(restricted_pod(s, vec![container])),
    };
    let replicas = i32::try_from(s.replicas).unwrap_or(1);
    let selector_of = || LabelSelector { match_labels: Some(selector.clone()), ..Default::default() };
    let (kind, api_version) = if stateful {
        let set = StatefulSet {
            metadata: meta(&s.name),
            spec: Some(StatefulSetSpec {
                replicas: Some(replicas),
                service_name: Some(format!("{}-headless", s.name)),
                selector: selector_of(),
                template: pod,
                volume_claim_templates: Some(vec![PersistentVolumeClaim {
                    metadata: ObjectMeta { name: Some("data".into()), ..Default::default() },
                    spec: Some(PersistentVolumeClaimSpec {
                        access_modes: Some(vec!["ReadWriteOnce".into()]),
                        storage_class_name: Some(STORAGE_CLASS.into()),
                        resources: Some(VolumeResourceRequirements {
                            requests: Some(BTreeMap::from([("storage".to_string(), quantity(AXON_STORAGE))])),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        push(out, "StatefulSet", &s.name, &set);
        ("StatefulSet", "apps/v1")
    } else {
        let deployment = Deployment {
            metadata: meta(&s.name),
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                selector: selector_of(),
                template: pod,
                // Never below the configured replicas while a release rolls: one extra pod at a time.
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(IntOrString::Int(1)),
                        max_unavailable: Some(IntOrString::Int(0)),
                    }),
                }),
                progress_deadline_seconds: Some(600),
                revision_history_limit: Some(5),
                ..Default::default()
            }),
            ..Default::default()
        };
        push(out, "Deployment", &s.name, &deployment);
        ("Deployment", "apps/v1")
    };

    let mut service_ports = vec![ServicePort {
        name: Some("http".into()),
        port: i32::from(s.port),
        target_port: Some(IntOrString::String("http".into())),
        node_port: ctx.node_port.map(i32::from),
        ..Default::default()
    }];
    if let Some(grpc) = s.grpc_port {
        service_ports.push(ServicePort {
            name: Some("grpc".into()),
            port: i32::from(grpc),
            target_port: Some(IntOrString::String("grpc".into())),
            ..Default::default()
        });
    }
    let service = KubeService {
        metadata: meta(&s.name),
        spec: Some(ServiceSpec {
            // The edge service is the load balancer's target, on the same NodePort every node.
            type_: Some(if ctx.node_port.is_some() { "NodePort" } else { "ClusterIP" }.into()),
            selector: Some(selector.clone()),
            ports: Some(service_ports.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    push(out, "Service", &s.name, &service);
    if stateful {
        let headless = format!("{}-headless", s.name);
        let service = KubeService {
            metadata: meta(&headless),
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                selector: Some(selector.clone()),
                ports: Some(service_ports),
                ..Default::default()
            }),
            ..Default::default()
        };
        push(out, "Service", &headless, &service);
    }

    // The event store is one writer: it does not scale horizontally.
    if !stateful {
        let hpa = HorizontalPodAutoscaler {
            metadata: meta(&s.name),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some(api_version.into()),
                    kind: kind.into(),
                    name: s.name.clone(),
                },
                min_replicas: Some(replicas),
                max_replicas: replicas.saturating_mul(HPA_HEADROOM).max(2),
                metrics: Some(vec![MetricSpec {
                    type_: "Resource".into(),
                    resource: Some(ResourceMetricSource {
                        name: "cpu".into(),
                        target: MetricTarget {
                            type_: "Utilization".into(),
                            average_utilization: Some(70),
                            ..Default::default()
                        },
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        push(out, "HorizontalPodAutoscaler", &s.name, &hpa);
    }

    // Voluntary disruptions (node drains, the scaler's scale-in) keep all but one pod; a single
    // replica may still be drained, or no node could ever be.
    let budget = if replicas > 1 {
        PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(replicas - 1)),
            selector: Some(selector_of()),
            ..Default::default()
        }
    } else {
        PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector_of()),
            ..Default::default()
        }
    };
    push(
        out,
        "PodDisruptionBudget",
        &s.name,
        &PodDisruptionBudget { metadata: meta(&s.name), spec: Some(budget), ..Default::default() },
    );

    push(out, "NetworkPolicy", &s.name, &policy::network_policy(s, ctx));
}

/// Type erasure for the objects of one workload (each serialises with its apiVersion and kind).
mod erased {
    pub trait Json {
        fn json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

/// A YAML stream of the manifests (each document is JSON, which YAML reads as it is).
pub fn to_yaml_stream(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n");
        out.push_str(&serde_json::to_string_pretty(&m.body).unwrap_or_default());
        out.push('\n');
    }
    out
}
