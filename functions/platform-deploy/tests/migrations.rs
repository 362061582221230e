//! Schema migrations: a Job per release in the first tier, its own identity, no Service; the
//! in-memory cluster completes it after the delay, or fails it (`BackoffLimitExceeded`) when its
//! image is broken, and the gate says so.

use chrono::{Duration, Utc};
use platform_core::config::{self, ConfigTree};
use platform_deploy::cluster::{ApplyError, MemoryCluster, WorkloadApplier};
use platform_deploy::release::Release;
use platform_deploy::render::{Manifest, Registry, Target, job_name, render, workload_kind, workload_name};
use platform_deploy::rollout::{Health, tier_health};

fn tree() -> ConfigTree {
    config::load(&config::repository_config_dir()).expect("config")
}

fn manifests(release: &Release) -> Vec<Manifest> {
    let tree = tree();
    let release = release.resolve(&tree.catalog).expect("release");
    let registry = Registry { account: "123456789012".into(), region: "us-east-1".into() };
    render(&tree, "dev", &release, &registry, &Target { account: "222233334444".into(), ..Target::default() })
        .expect("render")
}

#[test]
fn a_job_is_named_per_release_as_a_dns_label() {
    let label = |s: &str| {
        s.len() <= 63
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    assert_eq!(job_name("schema-migrations", "r42"), "schema-migrations-r42");
    let dotted = job_name("schema-migrations", "2026.11.3");
    assert!(dotted.starts_with("schema-migrations-2026-11-3-") && label(&dotted), "{dotted}");
    assert_ne!(dotted, job_name("schema-migrations", "2026-11-3"), "two releases never share a Job");
    let long = job_name("schema-migrations", &"Release_".repeat(20));
    assert!(label(&long), "{long}");
    let tree = tree();
    let s = &tree.catalog.services["schema-migrations"];
    assert_eq!((workload_kind(s), workload_name(s, "r42").as_str()), ("Job", "schema-migrations-r42"));
}

#[test]
fn the_migrations_tier_is_first_and_holds_one_job_with_its_own_account_and_no_service() {
    let m = manifests(&Release::uniform("2026.11.3"));
    assert_eq!(m[0].kind, "Namespace");
    assert_eq!(m[0].name, "trading-migrations");
    let of: Vec<(&str, &str)> = m
        .iter()
        .filter(|x| x.workload.as_deref() == Some("schema-migrations"))
        .map(|x| (x.kind.as_str(), x.name.as_str()))
        .collect();
    let job = job_name("schema-migrations", "2026.11.3");
    assert_eq!(
        of,
        [("ServiceAccount", "schema-migrations"), ("Job", job.as_str()), ("NetworkPolicy", "schema-migrations")]
    );
    let body = &m.iter().find(|x| x.kind == "Job").expect("job").body;
    assert_eq!(body["apiVersion"], "batch/v1");
    assert_eq!(body["metadata"]["namespace"], "trading-migrations");
    assert_eq!(body["spec"]["backoffLimit"], 2);
    assert_eq!(body["spec"]["activeDeadlineSeconds"], 900);
    let pod = &body["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["serviceAccountName"], "schema-migrations");
    assert_eq!(
        pod["containers"][0]["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/abc-trading/schema-migrations:2026.11.3"
    );
    assert!(pod["containers"][0].get("ports").is_none() && pod["containers"][0].get("readinessProbe").is_none());
    // It admits no traffic at all.
    let policy = &m.iter().find(|x| x.kind == "NetworkPolicy" && x.name == "schema-migrations").expect("policy").body;
    assert_eq!(policy["spec"]["ingress"], serde_json::json!([]));
}

async fn gate(cluster: &MemoryCluster, release: &Release, at: Duration) -> Health {
    let now = Utc::now();
    for m in manifests(release).iter().filter(|m| m.tier == "migrations") {
        cluster.apply(m, now).await.expect("apply");
    }
    let name = job_name("schema-migrations", &release.name);
    tier_health(&[cluster.rollout("Job", "trading-migrations", &name, now + at).await.expect("status")])
}

#[tokio::test]
async fn a_migration_completes_after_the_delay() {
    let cluster = MemoryCluster::new(Duration::seconds(30), vec!["*-broken".into()]);
    let release = Release::uniform("2026.11.3");
    assert!(matches!(gate(&cluster, &release, Duration::seconds(10)).await, Health::Progressing { .. }));
    assert_eq!(gate(&cluster, &release, Duration::seconds(30)).await, Health::Ready);
}

#[tokio::test]
async fn a_broken_migration_fails_its_gate_with_the_reason() {
    let cluster = MemoryCluster::new(Duration::seconds(30), vec!["*-broken".into()]);
    let mut release = Release::uniform("2026.11.4");
    release.versions.insert("schema-migrations".into(), "2026.11.4-broken".into());
    assert!(matches!(gate(&cluster, &release, Duration::seconds(10)).await, Health::Progressing { .. }));
    let Health::Failed { reason, message } = gate(&cluster, &release, Duration::seconds(60)).await else {
        panic!("a failed migration fails its tier")
    };
    assert_eq!(reason, "BackoffLimitExceeded");
    assert!(message.starts_with("schema-migrations-2026-11-4-") && message.contains("backoff limit"), "{message}");
}

#[tokio::test]
async fn a_job_cannot_change_once_created() {
    let cluster = MemoryCluster::new(Duration::seconds(30), vec![]);
    let job = manifests(&Release::uniform("2026.11.3")).into_iter().find(|m| m.kind == "Job").expect("job");
    cluster.apply(&job, Utc::now()).await.expect("created");
    cluster.apply(&job, Utc::now()).await.expect("the same spec again changes nothing");
    let mut changed = job.clone();
    changed.body["spec"]["template"]["spec"]["containers"][0]["image"] = "elsewhere/x:1".into();
    assert!(matches!(cluster.apply(&changed, Utc::now()).await, Err(ApplyError::Invalid { .. })));
}
