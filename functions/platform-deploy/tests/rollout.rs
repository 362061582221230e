//! Rollout health as `kubectl rollout status` judges it (fast failure on pods that cannot
//! start), and the in-memory cluster's rollouts: ready after the virtual delay, bad images never.

use chrono::{DateTime, Duration, Utc};
use platform_core::config;
use platform_deploy::cluster::{MemoryCluster, WorkloadApplier};
use platform_deploy::release::Release;
use platform_deploy::render::{Registry, Target, render};
use platform_deploy::rollout::{Health, RolloutStatus, health, tier_health};

fn status(generation: i64, observed: i64, desired: i32, replicas: i32, updated: i32, available: i32) -> RolloutStatus {
    RolloutStatus {
        kind: "Deployment".into(),
        namespace: "trading-core".into(),
        name: "authentication".into(),
        generation,
        observed_generation: observed,
        desired,
        replicas,
        updated,
        ready: available,
        available,
        revision_current: true,
        progressing_reason: None,
        pod_waiting_reason: None,
        pod_waiting_message: None,
    }
}

#[test]
fn health_follows_kubectl_rollout_status() {
    let progressing = |s: &RolloutStatus| matches!(health(s), Health::Progressing { .. });
    assert!(progressing(&status(2, 1, 2, 2, 2, 2)), "controller behind");
    assert!(progressing(&status(2, 2, 2, 3, 1, 2)), "1 of 2 updated");
    assert!(progressing(&status(2, 2, 2, 3, 2, 2)), "an old replica still running");
    assert!(progressing(&status(2, 2, 2, 2, 2, 1)), "1 of 2 available");
    assert_eq!(health(&status(2, 2, 2, 2, 2, 2)), Health::Ready);

    let mut stuck = status(2, 2, 2, 3, 1, 2);
    stuck.pod_waiting_reason = Some("ImagePullBackOff".into());
    stuck.pod_waiting_message = Some("Back-off pulling image \"x:broken\"".into());
    assert_eq!(
        health(&stuck),
        Health::Failed { reason: "ImagePullBackOff".into(), message: "Back-off pulling image \"x:broken\"".into() }
    );
    let mut slow = status(2, 2, 2, 3, 1, 2);
    slow.pod_waiting_reason = Some("ContainerCreating".into());
    assert!(progressing(&slow), "creating is not failing");
    let mut deadline = status(2, 2, 2, 3, 1, 2);
    deadline.progressing_reason = Some("ProgressDeadlineExceeded".into());
    assert!(matches!(health(&deadline), Health::Failed { reason, .. } if reason == "ProgressDeadlineExceeded"));
    let mut set = status(2, 2, 1, 1, 1, 1);
    set.kind = "StatefulSet".into();
    set.revision_current = false;
    assert!(progressing(&set), "a set waits for its revision");

    // A tier: failed as soon as one workload has, ready when all are.
    assert_eq!(tier_health(&[status(1, 1, 2, 2, 2, 2), status(1, 1, 1, 1, 1, 1)]), Health::Ready);
    assert!(
        matches!(tier_health(&[status(1, 1, 2, 2, 2, 2), stuck.clone()]), Health::Failed { message, .. } if message.starts_with("authentication: "))
    );
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").expect("t").with_timezone(&Utc) + Duration::seconds(seconds)
}

#[tokio::test]
async fn the_memory_cluster_rolls_out_after_its_delay_and_never_pulls_a_bad_image() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let registry = Registry { account: "222233334444".into(), region: "us-east-1".into() };
    let good = render(
        &tree,
        "dev",
        &Release::uniform("2026.11.3").resolve(&tree.catalog).expect("r"),
        &registry,
        &Target::default(),
    )
    .expect("render");
    let cluster = MemoryCluster::new(Duration::seconds(90), vec!["2026.11.4-broken".into()]);
    for m in &good {
        cluster.apply(m, at(0)).await.expect("apply");
    }
    assert_eq!(cluster.len(), good.len());
    let rollout = |name: &'static str, t: i64| {
        let cluster = &cluster;
        async move { cluster.rollout("Deployment", "trading-core", name, at(t)).await.expect("status") }
    };
    assert!(matches!(health(&rollout("authentication", 30).await), Health::Progressing { .. }));
    assert_eq!(health(&rollout("authentication", 90).await), Health::Ready);
    // The same manifests again: nothing to roll.
    for m in &good {
        cluster.apply(m, at(200)).await.expect("apply");
    }
    assert_eq!(health(&rollout("authentication", 200).await), Health::Ready);
    assert_eq!(rollout("authentication", 200).await.generation, 1);

    // A release with a bad image: the new pods never start; the old revision keeps serving.
    let broken = render(
        &tree,
        "dev",
        &Release::uniform("2026.11.4-broken").resolve(&tree.catalog).expect("r"),
        &registry,
        &Target::default(),
    )
    .expect("render");
    let deployment = broken.iter().find(|m| m.kind == "Deployment" && m.name == "authentication").expect("deployment");
    cluster.apply(deployment, at(300)).await.expect("apply");
    let stuck = rollout("authentication", 10_000).await;
    assert_eq!((stuck.generation, stuck.available), (2, 2));
    assert!(matches!(health(&stuck), Health::Failed { reason, .. } if reason == "ImagePullBackOff"));
    // Rolled back: the previous manifest again, ready after the delay.
    let previous = good.iter().find(|m| m.kind == "Deployment" && m.name == "authentication").expect("previous");
    cluster.apply(previous, at(400)).await.expect("apply");
    assert_eq!(health(&rollout("authentication", 490).await), Health::Ready);

    let services = cluster.services("trading-foundation").await.expect("services");
    assert_eq!(services, ["axon-server", "axon-server-headless"]);
    assert!(cluster.rollout("Deployment", "trading-core", "nope", at(0)).await.is_err());
}

/// Releases in Parameter Store: a published release pins versions, the request's override
/// them, and the account's current release is what the next deploy rolls back to.
#[tokio::test]
async fn releases_are_published_and_recorded_in_parameter_store() {
    use platform_core::fakes::FakeParameterStore;
    use platform_core::ports::ParameterStore;
    use platform_deploy::cluster::MemoryClusters;
    use platform_deploy::fakes::MemoryImages;
    use platform_deploy::handler::{DeployError, Deployment, Deps, ReleaseLedger, Request};
    use platform_deploy::ledger::SsmReleaseLedger;
    use std::sync::Arc;

    async fn handle(request: Request, deps: &Deps) -> Result<serde_json::Value, DeployError> {
        Ok(serde_json::to_value(platform_deploy::handler::handle(request, deps).await?).expect("serialises"))
    }

    let store = Arc::new(FakeParameterStore::default());
    store
        .put(
            "/abc-trading/dev/releases/2026.11.5",
            r#"{"name": "2026.11.5", "default_tag": "2026.11.5", "versions": {"frontend": "2026.11.5-ui.2", "audit": "2026.11.4"}}"#,
            true,
        )
        .await
        .expect("publish");
    // Vending published the account for dev: the deploy plans only for such accounts.
    store.put("/abc-trading/accounts/dev/222233334444/id", "222233334444", true).await.expect("vended");
    let ledger = Arc::new(SsmReleaseLedger::new(store.clone(), "/abc-trading"));
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let deps = Deps {
        boundary: platform_core::trust::Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        tree: tree.clone(),
        clusters: Arc::new(MemoryClusters::new(Arc::new(MemoryCluster::new(Duration::seconds(1), vec![])))),
        ledger: ledger.clone(),
        stack_sets: Arc::new(platform_core::fakes::MemoryStackSets::new(0)),
        alarms: Arc::new(platform_core::fakes::MemoryAlarms::default()),
        images: Arc::new(MemoryImages::default().with_tags(
            &config::load(&config::repository_config_dir()).expect("config"),
            &["2026.11.3", "2026.11.4", "2026.11.4-broken", "2026.11.5", "2026.11.5-ui.2"],
        )),
        registry: Registry { account: "123456789012".into(), region: "us-east-1".into() },
        edge: platform_deploy::fakes::idle_edge(&tree).expect("an idle edge"),
        leases: Arc::new(platform_core::fakes::MemoryLeases::default()),
        database_probe: Arc::new(platform_deploy::database_probe::TcpDatabaseProbe::new(
            std::time::Duration::from_secs(1),
        )),
    };
    let plan = |versions: serde_json::Value| {
        serde_json::from_value::<Request>(serde_json::json!({"action": "plan", "request": {
            "environment": "dev", "accountId": "222233334444", "release": "2026.11.5", "versions": versions}}))
        .expect("request")
    };
    let d: Deployment =
        serde_json::from_value(handle(plan(serde_json::json!({"audit": "2026.11.5"})), &deps).await.expect("plan"))
            .expect("d");
    assert_eq!(
        d.release.as_ref().expect("release").tags["frontend"],
        "2026.11.5-ui.2",
        "pinned by the published release"
    );
    assert_eq!(d.release.as_ref().expect("release").tags["audit"], "2026.11.5", "the request's version wins");
    assert_eq!(d.release.as_ref().expect("release").tags["trade-execution"], "2026.11.5");
    assert_eq!(d.previous, None, "a first deploy");
    handle(serde_json::from_value(serde_json::json!({"action": "record", "deployment": d})).expect("r"), &deps)
        .await
        .expect("record");
    let again: Deployment =
        serde_json::from_value(handle(plan(serde_json::json!({})), &deps).await.expect("plan")).expect("d");
    assert_eq!(
        again.previous.map(|p| p.tags["audit"].clone()).as_deref(),
        Some("2026.11.5"),
        "the recorded release is the rollback target"
    );
    let stored = store.get_by_path("/abc-trading/accounts/dev/222233334444").await.expect("read");
    assert!(stored.contains_key("/abc-trading/accounts/dev/222233334444/release"));
    assert_eq!(ledger.environment_release("dev").await.expect("read").as_deref(), Some("2026.11.5"));
    assert_eq!(ledger.environment_release("prod").await.expect("read"), None);

    // The environment's accounts are those vending published facts for (`.../<id>/id`).
    for (name, value) in [
        ("/abc-trading/accounts/dev/222233334444/id", "222233334444"),
        ("/abc-trading/accounts/dev/333344445555/id", "333344445555"),
        ("/abc-trading/accounts/dev/333344445555/name", "acme-dev"),
        ("/abc-trading/accounts/staging/444455556666/id", "444455556666"),
    ] {
        store.put(name, value, true).await.expect("put");
    }
    assert_eq!(ledger.accounts("dev").await.expect("accounts"), ["222233334444", "333344445555"]);
    assert!(ledger.vended("dev", "333344445555").await.expect("read"), "one read of its id");
    assert!(!ledger.vended("dev", "444455556666").await.expect("read"), "staging's account is not dev's");
}
