//! The deploy's own checks (issue 16): the sender of a ReleaseRequested, the environment, the ledger's accounts, the cluster reached.

use std::sync::Arc;

use platform_core::config;
use platform_core::fakes::MemoryStackSets;
use platform_core::trust::Boundary;
use platform_deploy::cluster::{ClusterAccess, MemoryCluster, MemoryClusters};
use platform_deploy::fakes::{MemoryImages, MemoryReleaseLedger};
use platform_deploy::handler::{Deps, Request, Response, handle};
use platform_deploy::render::Registry;
use serde_json::{Value, json};

const AUTOMATION: &str = "123456789012";
const MEMBER: &str = "222233334444";

fn deps() -> (Deps, Arc<MemoryReleaseLedger>, Arc<MemoryStackSets>) {
    let ledger = Arc::new(MemoryReleaseLedger::default());
    ledger.add_account("dev", MEMBER);
    let stack_sets = Arc::new(MemoryStackSets::new(0));
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let deps = Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: AUTOMATION.into(),
            management_account_id: "111111111111".into(),
        },
        tree: tree.clone(),
        clusters: Arc::new(MemoryClusters::new(Arc::new(MemoryCluster::new(chrono::Duration::seconds(1), vec![])))),
        ledger: ledger.clone(),
        stack_sets: stack_sets.clone(),
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
    (deps, ledger, stack_sets)
}

fn event(sender: &str, detail: Value) -> Value {
    json!({"version": "0", "id": "e-1", "detail-type": "ReleaseRequested", "source": "abc.platform",
        "account": sender, "time": "2026-11-24T09:00:00Z", "region": "us-east-1", "resources": [], "detail": detail})
}

async fn refused(deps: &Deps, request: Value) -> (String, String) {
    let request: Request = serde_json::from_value(request).expect("request");
    let e = handle(request, deps).await.expect_err("refused");
    (e.error_type().to_string(), e.to_string())
}

#[tokio::test]
async fn a_release_request_is_received_only_from_the_automation_account_for_its_environment() {
    let (deps, _, _) = deps();
    let good = event(AUTOMATION, json!({"environment": "dev", "release": "2026.11.3"}));
    let Response::Received(request) =
        handle(serde_json::from_value(json!({"action": "receive", "event": good})).expect("request"), &deps)
            .await
            .expect("received")
    else {
        panic!("receive answers the request");
    };
    // The account stays absent: the state machine routes on `$.accountId` being present.
    assert_eq!(serde_json::to_value(&request).expect("json"), json!({"environment": "dev", "release": "2026.11.3"}));

    let forged = event(MEMBER, json!({"environment": "dev", "release": "2026.11.3"}));
    let (name, message) = refused(&deps, json!({"action": "receive", "event": forged})).await;
    assert_eq!(name, "Untrusted");
    assert!(message.contains("`222233334444`") && message.contains("automation account"), "{message}");

    let prod = event(AUTOMATION, json!({"environment": "prod", "release": "2026.11.3"}));
    let (name, message) = refused(&deps, json!({"action": "receive", "event": prod})).await;
    assert_eq!((name.as_str(), message.as_str()), ("Untrusted", "environment `prod` is not this deployment's (`dev`)"));

    let mut other = event(AUTOMATION, json!({"environment": "dev"}));
    other["detail-type"] = json!("AccountRequested");
    assert_eq!(refused(&deps, json!({"action": "receive", "event": other})).await.0, "InvalidRequest");
}

#[tokio::test]
async fn only_accounts_in_the_environments_ledger_are_planned_for() {
    let (deps, _, stack_sets) = deps();
    let plan = |account: &str, environment: &str| json!({"action": "plan", "request": {"environment": environment, "accountId": account, "release": "2026.11.3"}});
    assert!(handle(serde_json::from_value(plan(MEMBER, "dev")).expect("request"), &deps).await.is_ok());
    let (name, message) = refused(&deps, plan("999988887777", "dev")).await;
    assert_eq!(
        (name.as_str(), message.as_str()),
        ("Untrusted", "account `999988887777` is not a vended account of environment `dev`")
    );
    // A payload naming prod's account for prod is refused by a dev deployment before the ledger.
    let (name, message) = refused(&deps, plan(MEMBER, "prod")).await;
    assert_eq!((name.as_str(), message.as_str()), ("Untrusted", "environment `prod` is not this deployment's (`dev`)"));
    assert!(stack_sets.calls().is_empty(), "nothing touched: {:?}", stack_sets.calls());
}

#[tokio::test]
async fn the_cluster_is_reached_only_where_access_was_ensured_never_at_a_payloads_endpoint() {
    let (deps, _, _) = deps();
    let access = deps.clusters.ensure_access(MEMBER, "dev", "us-east-1").await.expect("access");
    assert!(deps.clusters.cluster(MEMBER, "dev", "us-east-1").await.is_ok());
    // Another account, or another environment's cluster, has no access entry for the deployer.
    assert!(deps.clusters.cluster("999988887777", "dev", "us-east-1").await.is_err());
    assert!(deps.clusters.cluster(MEMBER, "prod", "us-east-1").await.is_err());
    // A deployment whose payload points the cluster elsewhere still reaches the ensured one: the
    // endpoint is not read from the payload.
    let tampered = ClusterAccess { endpoint: "https://attacker.example".into(), ..access };
    let deployment = json!({"environment": "dev", "account_id": MEMBER, "release": null, "label": "x",
        "previous": null, "tiers": [], "tier": 0, "touched": [], "done": true, "cluster": tampered});
    let verify: Request =
        serde_json::from_value(json!({"action": "verify", "deployment": deployment})).expect("request");
    let e = handle(verify, &deps).await.expect_err("no release to verify");
    assert_eq!(e.error_type(), "InvalidState", "refused for want of a release, not sent anywhere: {e}");
}

async fn received(deps: &Deps, detail: Value) -> Value {
    let request = json!({"action": "receive", "event": event(AUTOMATION, detail)});
    let Response::Received(r) =
        handle(serde_json::from_value(request).expect("request"), deps).await.expect("received")
    else {
        panic!("receive answers the request");
    };
    serde_json::to_value(&r).expect("json")
}

/// GIVEN a release for one account THEN where the environment has gates it is marked to go
/// through the fleet release (a fleet of one), where it has none it is deployed directly and an
/// emergency or force reason is refused; a sender cannot set the mark itself.
#[tokio::test]
async fn one_accounts_release_passes_the_environments_gates_and_cannot_say_otherwise() {
    let (mut deps, _, _) = deps();
    let one = json!({"environment": "dev", "accountId": "111122223333", "release": "2026.11.3"});
    assert!(received(&deps, one.clone()).await.get("gated").is_none(), "dev has no gates");
    let mut urgent = one.clone();
    urgent["emergency"] = json!("market outage");
    let (name, message) =
        refused(&deps, json!({"action": "receive", "event": event(AUTOMATION, urgent.clone())})).await;
    assert_eq!(name, "InvalidRequest");
    assert!(message.contains("environment dev has no release gates"), "{message}");
    let mut forged = one.clone();
    forged["gated"] = json!(false);
    let (_, message) = refused(&deps, json!({"action": "receive", "event": event(AUTOMATION, forged)})).await;
    assert!(message.contains("gated"), "{message}");

    deps.tree.environments.get_mut("dev").expect("dev").release.approval = true;
    assert_eq!(received(&deps, one).await["gated"], json!(true));
    assert_eq!(received(&deps, urgent).await["emergency"], json!("market outage"));
}
