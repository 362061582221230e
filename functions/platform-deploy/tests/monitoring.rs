//! The account's alarms in the monitoring account, kept by every deploy: all of them on the first, none rewritten on the next, a throttled write retried by class, another environment refused.

use std::sync::Arc;

use platform_core::config;
use platform_core::error::ErrorClass;
use platform_core::fakes::{MemoryAlarms, MemoryStackSets};
use platform_core::monitoring::account_alarms;
use platform_core::trust::Boundary;
use platform_deploy::cluster::{MemoryCluster, MemoryClusters};
use platform_deploy::fakes::{MemoryImages, MemoryReleaseLedger};
use platform_deploy::handler::{Deps, Response, handle};
use platform_deploy::render::Registry;
use serde_json::{Value, json};

const MEMBER: &str = "222233334444";

fn deps() -> (Deps, Arc<MemoryAlarms>) {
    let ledger = Arc::new(MemoryReleaseLedger::default());
    ledger.add_account("dev", MEMBER);
    let alarms = Arc::new(MemoryAlarms::default());
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let deps = Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        tree: tree.clone(),
        clusters: Arc::new(MemoryClusters::new(Arc::new(MemoryCluster::new(chrono::Duration::seconds(1), vec![])))),
        ledger,
        stack_sets: Arc::new(MemoryStackSets::new(0)),
        alarms: alarms.clone(),
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
    (deps, alarms)
}

fn deployment(environment: &str) -> Value {
    json!({"environment": environment, "account_id": MEMBER, "release": null, "previous": null, "tiers": [],
        "tier": 0, "touched": [], "done": true})
}

async fn ensure(deps: &Deps, environment: &str) -> Result<Value, (String, String)> {
    let request = serde_json::from_value(json!({"action": "ensure-monitoring", "deployment": deployment(environment)}))
        .expect("request");
    match handle(request, deps).await {
        Ok(r @ Response::Deployment(_)) => Ok(serde_json::to_value(r).expect("json")),
        Ok(other) => panic!("ensure-monitoring answers the deployment, not {other:?}"),
        Err(e) => Err((e.error_type().to_string(), e.to_string())),
    }
}

#[tokio::test]
async fn the_first_deploy_writes_every_alarm_and_the_next_writes_none() {
    let (deps, alarms) = deps();
    let all = account_alarms(&deps.tree, "dev", MEMBER).len();
    let first = ensure(&deps, "dev").await.expect("ensured");
    assert_eq!(first["monitoring"], json!({"written": all, "deleted": 0, "unchanged": 0}));
    let second = ensure(&deps, "dev").await.expect("again");
    assert_eq!(second["monitoring"], json!({"written": 0, "deleted": 0, "unchanged": all}));
    assert_eq!(alarms.puts().len(), all, "nothing rewritten");
}

#[tokio::test]
async fn a_throttled_write_fails_by_its_class_for_the_state_machine_to_retry() {
    let (deps, alarms) = deps();
    alarms.fail_puts(Some(ErrorClass::Throttled));
    let (name, message) = ensure(&deps, "dev").await.expect_err("throttled");
    assert_eq!(name, "Throttled", "{message}");
    alarms.fail_puts(None);
    ensure(&deps, "dev").await.expect("the retry writes them");
}

#[tokio::test]
async fn another_environments_deployment_writes_no_alarm() {
    let (deps, alarms) = deps();
    let (name, _) = ensure(&deps, "prod").await.expect_err("refused");
    assert_eq!(name, "Untrusted");
    assert!(alarms.puts().is_empty());
}
