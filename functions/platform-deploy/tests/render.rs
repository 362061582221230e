//! Releases resolve completely or are refused; the manifests hold every workload in its tier,
//! in rollout order, and are valid Kubernetes for the environment's version.

use std::collections::BTreeMap;

use platform_core::config::{self, ConfigTree, ServiceKind};
use platform_deploy::release::{Release, ReleaseError};
use platform_deploy::render::{Registry, Target, namespace_of, render, to_yaml_stream};

fn tree() -> ConfigTree {
    config::load(&config::repository_config_dir()).expect("config")
}

fn registry() -> Registry {
    Registry { account: "222233334444".into(), region: "us-east-1".into() }
}

fn target() -> Target {
    Target { account: "333344445555".into(), ..Target::default() }
}

#[test]
fn a_release_names_a_valid_tag_for_every_workload() {
    let tree = tree();
    let uniform = Release::uniform("2026.11.3").resolve(&tree.catalog).expect("uniform");
    assert_eq!(uniform.tags.len(), 24, "23 workloads and the migrations job");
    assert!(uniform.tags.values().all(|t| t == "2026.11.3"));

    let mut pinned = Release::uniform("2026.11.4");
    pinned.versions.insert("frontend".into(), "2026.11.4-hotfix.1".into());
    assert_eq!(pinned.resolve(&tree.catalog).expect("pinned").tags["frontend"], "2026.11.4-hotfix.1");

    let partial =
        Release { name: "r".into(), default_tag: None, versions: BTreeMap::from([("frontend".into(), "1".into())]) };
    let Err(ReleaseError::Incomplete { missing, .. }) = partial.resolve(&tree.catalog) else { panic!("incomplete") };
    assert_eq!(missing.len(), 23);
    let mut unknown = Release::uniform("r");
    unknown.versions.insert("mobile".into(), "1".into());
    assert!(matches!(unknown.resolve(&tree.catalog), Err(ReleaseError::Unknown { .. })));
    for (tag, bad) in [("latest", true), ("-x", true), ("a b", true), (".x", true), ("v1.2.3_rc-1", false)] {
        let mut r = Release::uniform("r");
        r.versions.insert("audit".into(), tag.into());
        assert_eq!(r.resolve(&tree.catalog).is_err(), bad, "{tag}");
    }
}

#[test]
fn every_workload_is_rendered_in_its_tier_in_rollout_order() {
    let tree = tree();
    let release = Release::uniform("2026.11.3").resolve(&tree.catalog).expect("release");
    let manifests = render(&tree, "dev", &release, &registry(), &target()).expect("render");

    // Tiers in rollout order, each opening with its namespace.
    let namespaces: Vec<&str> = manifests.iter().filter(|m| m.kind == "Namespace").map(|m| m.name.as_str()).collect();
    let expected: Vec<String> = tree.catalog.tiers.iter().map(|t| namespace_of(&t.name)).collect();
    assert_eq!(namespaces, expected);
    let order: Vec<&str> = manifests
        .iter()
        .filter(|m| m.kind == "Deployment" || m.kind == "StatefulSet")
        .map(|m| m.name.as_str())
        .collect();
    let rollout: Vec<&str> =
        tree.catalog.in_rollout_order().filter(|s| s.kind != ServiceKind::Job).map(|s| s.name.as_str()).collect();
    assert_eq!(order, rollout, "workloads in rollout order");
    assert_eq!(order.first(), Some(&"axon-server"), "Axon Server before core");

    let trading = tree.catalog.services.values().filter(|s| s.kind == ServiceKind::Trading).count();
    assert_eq!(trading, 20);
    for s in tree.catalog.serving() {
        let of =
            |kind: &str| manifests.iter().filter(|m| m.kind == kind && m.workload.as_deref() == Some(&s.name)).count();
        let (workload, hpa) = if s.name == "axon-server" { ("StatefulSet", 0) } else { ("Deployment", 1) };
        assert_eq!(of(workload), 1, "{} {workload}", s.name);
        assert_eq!(
            (of("ServiceAccount"), of("PodDisruptionBudget"), of("NetworkPolicy"), of("HorizontalPodAutoscaler")),
            (1, 1, 1, hpa),
            "{}",
            s.name
        );
        let w = manifests.iter().find(|m| m.kind == workload && m.name == s.name).expect("workload");
        assert_eq!(w.namespace.as_deref(), Some(namespace_of(&s.tier).as_str()));
        let container = &w.body["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["image"], format!("222233334444.dkr.ecr.us-east-1.amazonaws.com/{}:2026.11.3", s.image));
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], s.health_path.as_str());
        assert_eq!(container["resources"]["limits"]["memory"], s.resources.memory_limit.as_str());
        assert_eq!(w.body["spec"]["replicas"], s.replicas);
        assert_eq!(w.body["apiVersion"], "apps/v1");
    }
    // Axon Server: its store on a volume, its gRPC port served.
    let axon = manifests.iter().find(|m| m.kind == "StatefulSet").expect("axon");
    assert_eq!(axon.body["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], "20Gi");
    let services: Vec<&str> = manifests
        .iter()
        .filter(|m| m.kind == "Service" && m.workload.as_deref() == Some("axon-server"))
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(services, ["axon-server", "axon-server-headless"]);
    // The Services the seed counted by hand: one per workload, and Axon Server's headless one.
    assert_eq!(manifests.iter().filter(|m| m.kind == "Service").count(), 24);
}

/// The manifests are what the environment's Kubernetes accepts: kubernetes-validate, strict
/// (no unknown field), for the version each environment runs.
#[test]
fn the_manifests_are_valid_kubernetes_for_each_environment() {
    let tree = tree();
    let release = Release::uniform("2026.11.3").resolve(&tree.catalog).expect("release");
    let validator = emulator::workspace_root().join(".venv-k8s/bin/kubernetes-validate");
    assert!(validator.exists(), "{} is missing: run scripts/bootstrap.sh", validator.display());
    let dir = tempfile::tempdir().expect("tmp");
    for (name, env) in &tree.environments {
        let manifests = render(&tree, name, &release, &registry(), &target()).expect("render");
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, to_yaml_stream(&manifests)).expect("write");
        let version = format!("{}.0", env.kubernetes.version);
        let out = std::process::Command::new(&validator)
            .args(["-k", &version, "--strict", "--quiet"])
            .arg(&file)
            .output()
            .expect("run kubernetes-validate");
        assert!(
            out.status.success(),
            "{name} (Kubernetes {version}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And the validator does refuse a broken manifest (the check can fail).
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "two"}}"#,
    )
    .expect("write");
    let out = std::process::Command::new(&validator)
        .args(["-k", "1.35.0", "--strict", "--quiet"])
        .arg(&broken)
        .output()
        .expect("run");
    assert!(!out.status.success(), "a broken manifest must be refused");
}
