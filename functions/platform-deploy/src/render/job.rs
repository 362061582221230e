//! A workload that runs once per release (schema migrations): a Job named for the release, no Service.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodTemplateSpec, VolumeMount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::networking::v1::NetworkPolicySpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use platform_core::config::Service;

use super::{Ctx, Manifest, labels, requirements, restricted_container, restricted_pod};

/// Retries of a failed pod before the Job fails (`BackoffLimitExceeded`): a migration that fails
/// three times will not pass on the fourth.
const BACKOFF_LIMIT: i32 = 2;
/// A migration running longer than this is stuck on a lock: the Job fails (`DeadlineExceeded`).
const ACTIVE_DEADLINE_SECONDS: i64 = 900;
const DNS_LABEL_MAX: usize = 63;

/// `<service>-<release as a DNS label>`: a Job's pod template cannot change, so each release has
/// its own. A release name that is not already a label (dots, capitals) gets a short hash of the
/// name, so two releases never share a Job.
pub fn job_name(service: &str, release: &str) -> String {
    let clean: String = release
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let suffix = if clean == release { String::new() } else { format!("-{:08x}", fnv1a(release)) };
    let room = DNS_LABEL_MAX.saturating_sub(service.len() + 1 + suffix.len());
    let head = clean.get(..room.min(clean.len())).unwrap_or_default().trim_end_matches('-');
    if head.is_empty() { format!("{service}{suffix}") } else { format!("{service}-{head}{suffix}") }
}

/// 32-bit FNV-1a: stable across builds, which std's hasher is not.
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The Job (pods never restarted in place: the Job retries with new pods) and a policy that
/// admits no traffic to it.
pub(super) fn render(out: &mut Vec<Manifest>, s: &Service, ctx: &Ctx) {
    let name = job_name(&s.name, ctx.release);
    let container = Container {
        name: s.name.clone(),
        image: Some(ctx.image.to_string()),
        image_pull_policy: Some("IfNotPresent".into()),
        env: Some(ctx.env_vars()),
        resources: Some(requirements(s)),
        security_context: Some(restricted_container()),
        volume_mounts: Some(vec![VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..Default::default() }]),
        ..Default::default()
    };
    let mut pod = restricted_pod(s, vec![container]);
    pod.restart_policy = Some("Never".into());
    let job = Job {
        metadata: ctx.meta(s, &name),
        spec: Some(JobSpec {
            backoff_limit: Some(BACKOFF_LIMIT),
            active_deadline_seconds: Some(ACTIVE_DEADLINE_SECONDS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(ctx.pod_labels(s)), ..Default::default() }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    ctx.push(out, s, "Job", &name, &job);
    let policy = NetworkPolicy {
        metadata: ctx.meta(s, &s.name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels(&[("app.kubernetes.io/name", &s.name)])),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(Vec::new()),
            ..Default::default()
        }),
    };
    ctx.push(out, s, "NetworkPolicy", &s.name, &policy);
}
