//! Axon Server's volume: the encrypted gp3 class rendered before it, and the in-memory cluster
//! leaving its claim Pending (failing the foundation gate) when the class or its provisioner is
//! missing, as Kubernetes would.

use chrono::{Duration, Utc};
use platform_core::config::{self, ConfigTree};
use platform_deploy::cluster::{ApplyError, MemoryCluster, WorkloadApplier};
use platform_deploy::release::Release;
use platform_deploy::render::{EBS_PROVISIONER, Manifest, Registry, STORAGE_CLASS, Target, render};
use platform_deploy::rollout::{Health, health, tier_health};
use serde_json::json;

fn tree() -> ConfigTree {
    config::load(&config::repository_config_dir()).expect("config")
}

fn manifests(target: &Target) -> Vec<Manifest> {
    let tree = tree();
    let release = Release::uniform("2026.11.3").resolve(&tree.catalog).expect("release");
    let registry = Registry { account: "123456789012".into(), region: "us-east-1".into() };
    render(&tree, "dev", &release, &registry, target).expect("render")
}

fn target() -> Target {
    Target { account: "222233334444".into(), ..Target::default() }
}

#[test]
fn the_class_is_encrypted_gp3_on_the_baseline_key_and_rendered_before_axon_server() {
    let m = manifests(&target());
    let classes: Vec<&Manifest> = m.iter().filter(|m| m.kind == "StorageClass").collect();
    assert_eq!(classes.len(), 1);
    let class = classes[0];
    assert_eq!(
        (class.tier.as_str(), class.namespace.as_deref(), class.name.as_str()),
        ("foundation", None, STORAGE_CLASS)
    );
    assert!(class.body["metadata"].get("namespace").is_none(), "cluster-scoped");
    assert_eq!(class.body["apiVersion"], "storage.k8s.io/v1");
    assert_eq!(class.body["provisioner"], EBS_PROVISIONER);
    assert_eq!(
        class.body["parameters"],
        json!({
            "type": "gp3",
            "encrypted": "true",
            "kmsKeyId": "arn:aws:kms:us-east-1:222233334444:alias/abc-trading-dev",
            "tagSpecification_1": "abc-trading:backup=platform",
        })
    );
    assert_eq!(class.body["volumeBindingMode"], "WaitForFirstConsumer");
    assert_eq!(class.body["reclaimPolicy"], "Retain");
    assert_eq!(class.body["allowVolumeExpansion"], true);
    let at = |kind: &str| m.iter().position(|x| x.kind == kind).expect(kind);
    assert!(at("StorageClass") < at("StatefulSet"), "the class exists before the claim");
    let axon = &m[at("StatefulSet")];
    assert_eq!(axon.body["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], STORAGE_CLASS);
}

#[test]
fn every_workload_runs_as_its_own_account_without_a_token_and_only_database_ones_learn_the_secret() {
    let arn = "arn:aws:secretsmanager:us-east-1:222233334444:secret:rds!db-1234-AbCdEf";
    let m = manifests(&Target { database_secret_arn: Some(arn.into()), ..target() });
    let tree = tree();
    for s in tree.catalog.services.values() {
        let account = m.iter().find(|x| x.kind == "ServiceAccount" && x.name == s.name).expect("account");
        assert_eq!(account.body["automountServiceAccountToken"], false, "{}", s.name);
        let workload = m
            .iter()
            .find(|x| {
                matches!(x.kind.as_str(), "Deployment" | "StatefulSet" | "Job")
                    && x.workload.as_deref() == Some(&s.name)
            })
            .expect("workload");
        let pod = &workload.body["spec"]["template"]["spec"];
        assert_eq!(
            (pod["serviceAccountName"].as_str(), &pod["automountServiceAccountToken"]),
            (Some(s.name.as_str()), &json!(false))
        );
        let env = pod["containers"][0]["env"].as_array().expect("env");
        let value = |name: &str| env.iter().find(|e| e["name"] == name).map(|e| e["value"].clone());
        if s.database {
            assert_eq!(value("DATABASE_SECRET_ARN"), Some(json!(arn)), "{}", s.name);
            assert_eq!(value("SPRING_CONFIG_IMPORT"), Some(json!(format!("aws-secretsmanager:{arn}"))));
        } else {
            assert_eq!(value("DATABASE_SECRET_ARN"), None, "{} has no business with the database", s.name);
        }
    }
    // Without the ARN known, nobody is told anything.
    let none = manifests(&target());
    assert!(
        !serde_json::to_string(&none.iter().map(|m| &m.body).collect::<Vec<_>>())
            .expect("json")
            .contains("DATABASE_SECRET_ARN")
    );
}

/// The foundation tier applied to `cluster` (without the objects `skip` names), and its gate
/// once the virtual delay has long passed.
async fn foundation_gate(cluster: &MemoryCluster, skip: &[&str], edit: impl Fn(&mut Manifest)) -> Health {
    let now = Utc::now();
    for mut m in manifests(&target()).into_iter().filter(|m| m.tier == "foundation" && !skip.contains(&m.kind.as_str()))
    {
        edit(&mut m);
        cluster.apply(&m, now).await.expect("apply");
    }
    let status = cluster
        .rollout("StatefulSet", "trading-foundation", "axon-server", now + Duration::hours(1))
        .await
        .expect("status");
    tier_health(&[status])
}

#[tokio::test]
async fn the_claim_binds_through_the_class_when_its_provisioner_is_installed() {
    let cluster = MemoryCluster::new(Duration::seconds(20), vec![]);
    assert_eq!(foundation_gate(&cluster, &[], |_| {}).await, Health::Ready);
}

#[tokio::test]
async fn a_claim_whose_class_is_missing_stays_pending_and_fails_the_foundation_gate() {
    let cluster = MemoryCluster::new(Duration::seconds(20), vec![]);
    let Health::Failed { reason, message } = foundation_gate(&cluster, &["StorageClass"], |_| {}).await else {
        panic!("a claim without its class must fail the gate")
    };
    assert_eq!(reason, "Unschedulable");
    assert_eq!(
        message,
        "axon-server: pod has unbound PersistentVolumeClaim data-axon-server-0: storageclass.storage.k8s.io \"gp3-encrypted\" not found"
    );
}

#[tokio::test]
async fn a_claim_whose_provisioner_is_not_installed_stays_pending() {
    let cluster = MemoryCluster::new(Duration::seconds(20), vec![]).without_provisioner(EBS_PROVISIONER);
    let Health::Failed { reason, message } = foundation_gate(&cluster, &[], |_| {}).await else {
        panic!("no EBS CSI driver, no volume")
    };
    assert_eq!(reason, "Unschedulable");
    assert!(
        message.contains("unbound PersistentVolumeClaim data-axon-server-0")
            && message.contains("\"ebs.csi.aws.com\", which is not installed"),
        "{message}"
    );
}

#[tokio::test]
async fn a_claim_naming_no_class_binds_only_through_a_default_one() {
    let unnamed = |m: &mut Manifest| {
        if m.kind == "StatefulSet" {
            m.body["spec"]["volumeClaimTemplates"][0]["spec"].as_object_mut().expect("spec").remove("storageClassName");
        }
    };
    let cluster = MemoryCluster::new(Duration::seconds(20), vec![]);
    let Health::Failed { message, .. } = foundation_gate(&cluster, &[], unnamed).await else {
        panic!("no default class")
    };
    assert!(message.contains("names no StorageClass and the cluster has no default one"), "{message}");

    let default = |m: &mut Manifest| {
        unnamed(m);
        if m.kind == "StorageClass" {
            m.body["metadata"]["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
    };
    let cluster = MemoryCluster::new(Duration::seconds(20), vec![]);
    assert_eq!(foundation_gate(&cluster, &[], default).await, Health::Ready);
}

#[tokio::test]
async fn a_cluster_scoped_object_with_a_namespace_is_refused() {
    let cluster = MemoryCluster::new(Duration::seconds(20), vec![]);
    let mut class = manifests(&target()).into_iter().find(|m| m.kind == "StorageClass").expect("class");
    class.namespace = Some("trading-foundation".into());
    assert!(matches!(cluster.apply(&class, Utc::now()).await, Err(ApplyError::Invalid { .. })));
    // And the unbound claim is final, not something to wait for.
    let status = platform_deploy::rollout::RolloutStatus {
        kind: "StatefulSet".into(),
        namespace: "trading-foundation".into(),
        name: "axon-server".into(),
        generation: 1,
        observed_generation: 1,
        desired: 1,
        replicas: 1,
        updated: 1,
        ready: 0,
        available: 0,
        revision_current: false,
        progressing_reason: None,
        pod_waiting_reason: Some("Unschedulable".into()),
        pod_waiting_message: Some("0/3 nodes are available: 3 Insufficient cpu.".into()),
    };
    assert!(matches!(health(&status), Health::Progressing { .. }), "capacity is the scaler's to add");
}
