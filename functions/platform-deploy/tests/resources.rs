//! Resource overrides (signal triage's raise-memory) through plan, render and the ledger, and the record's time and previous release that triage reads.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use platform_core::config;
use platform_core::fakes::FakeParameterStore;
use platform_core::ports::ParameterStore;
use platform_deploy::cluster::{MemoryCluster, MemoryClusters};
use platform_deploy::fakes::MemoryImages;
use platform_deploy::handler::{DeployError, Deployment, Deps, Request, handle};
use platform_deploy::ledger::SsmReleaseLedger;
use platform_deploy::render::{Registry, Target, render};
use serde_json::{Value, json};

const ACCOUNT: &str = "222233334444";
const RECORD: &str = "/abc-trading/accounts/dev/222233334444/release";

fn deps(store: Arc<FakeParameterStore>) -> Deps {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    Deps {
        boundary: platform_core::trust::Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        tree: tree.clone(),
        clusters: Arc::new(MemoryClusters::new(Arc::new(MemoryCluster::new(Duration::seconds(1), vec![])))),
        ledger: Arc::new(SsmReleaseLedger::new(store, "/abc-trading")),
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
    }
}

async fn store() -> Arc<FakeParameterStore> {
    let store = Arc::new(FakeParameterStore::default());
    store.put(&format!("/abc-trading/accounts/dev/{ACCOUNT}/id"), ACCOUNT, true).await.expect("vended");
    store
}

async fn plan(deps: &Deps, release: &str, resources: Value) -> Result<Deployment, DeployError> {
    let request = json!({"action": "plan", "request": {"environment": "dev", "accountId": ACCOUNT,
        "release": release, "resources": resources}});
    let out = handle(serde_json::from_value::<Request>(request).expect("request"), deps).await?;
    Ok(serde_json::from_value(serde_json::to_value(out).expect("json")).expect("deployment"))
}

async fn record(deps: &Deps, d: &Deployment, now: DateTime<Utc>) {
    let request = json!({"action": "record", "deployment": d, "now": now});
    handle(serde_json::from_value::<Request>(request).expect("request"), deps).await.expect("record");
}

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-11-24T22:00:00Z".parse::<DateTime<Utc>>().expect("time") + Duration::minutes(minutes)
}

fn memory_limit(d: &Deps, deployment: &Deployment, workload: &str) -> Value {
    let registry = Registry { account: ACCOUNT.into(), region: "us-east-1".into() };
    let manifests =
        render(&d.tree, "dev", deployment.release.as_ref().expect("release"), &registry, &Target::default())
            .expect("render");
    let m = manifests
        .iter()
        .find(|m| m.name == workload && (m.kind == "Deployment" || m.kind == "StatefulSet"))
        .expect("workload");
    m.body["spec"]["template"]["spec"]["containers"][0]["resources"].clone()
}

/// GIVEN a deploy asking risk-management for 1536Mi THEN only its container's limit changes
/// (its request and every other workload stay the catalogue's), and the next deploy of any
/// release keeps the override it recorded.
#[tokio::test]
async fn an_override_is_rendered_recorded_and_kept() {
    let store = store().await;
    let deps = deps(store.clone());
    let d = plan(&deps, "2026.11.3", json!({"risk-management": {"memory": "1536Mi"}})).await.expect("plan");
    let risk = memory_limit(&deps, &d, "risk-management");
    assert_eq!(risk["limits"]["memory"], "1536Mi");
    assert_eq!(risk["requests"]["memory"], "512Mi", "the request stays the catalogue's");
    assert_eq!(memory_limit(&deps, &d, "settlement")["limits"]["memory"], "1Gi");
    record(&deps, &d, at(0)).await;
    let written: Value = serde_json::from_str(&store.snapshot()[RECORD]).expect("json");
    assert_eq!(written["resources"], json!({"risk-management": {"memory": "1536Mi"}}));

    let next = plan(&deps, "2026.11.5", json!({})).await.expect("plan");
    assert_eq!(memory_limit(&deps, &next, "risk-management")["limits"]["memory"], "1536Mi", "kept");
    let more = plan(&deps, "2026.11.5", json!({"risk-management": {"memory": "2Gi"}})).await.expect("plan");
    assert_eq!(memory_limit(&deps, &more, "risk-management")["limits"]["memory"], "2Gi", "the request's wins");

    // Once the catalogue gives the workload as much, the override is not kept any more.
    let mut caught_up = deps;
    let service = caught_up.tree.catalog.services.get_mut("risk-management").expect("service");
    service.resources.memory_limit = "1536Mi".into();
    let d = plan(&caught_up, "2026.11.5", json!({})).await.expect("plan");
    assert!(d.release.expect("release").resources.is_empty(), "the catalogue's limit applies");
}

/// GIVEN overrides naming no workload, no quantity, or less than the request THEN the plan is
/// refused with the value named.
#[tokio::test]
async fn a_bad_override_is_refused() {
    let deps = deps(store().await);
    for (resources, named) in [
        (json!({"mystery": {"memory": "1Gi"}}), "`mystery`"),
        (json!({"risk-management": {"memory": "lots"}}), "`lots`"),
        (json!({"risk-management": {"memory": "256Mi"}}), "`256Mi` is below the request `512Mi`"),
    ] {
        let e = plan(&deps, "2026.11.3", resources).await.expect_err("refused");
        assert_eq!(e.error_type(), "InvalidRelease", "{e}");
        assert!(e.to_string().contains(named), "{e}");
    }
}

/// GIVEN 2026.11.3, then 2026.11.5, then a rollback to 2026.11.3 THEN each record carries its
/// time and the release it replaced; the rollback's has none (2026.11.5 is never rolled back
/// to), and deploying the same release again keeps its previous.
#[tokio::test]
async fn each_record_carries_its_time_and_the_release_it_replaced() {
    let store = store().await;
    let deps = deps(store.clone());
    let recorded = || -> Value { serde_json::from_str(&store.snapshot()[RECORD]).expect("json") };
    for (minute, release, previous) in [
        (0, "2026.11.3", Value::Null),
        (30, "2026.11.5", json!("2026.11.3")),
        (40, "2026.11.5", json!("2026.11.3")),
        (45, "2026.11.3", Value::Null),
    ] {
        let d = plan(&deps, release, json!({})).await.expect("plan");
        record(&deps, &d, at(minute)).await;
        let r = recorded();
        assert_eq!(r["name"], release);
        assert_eq!(r["recorded_at"], json!(at(minute)));
        assert_eq!(r["previous"], previous, "{release} at +{minute}m");
    }
}
