//! `state-machines/platform-deploy.asl.json` through the `asl` engine, with the real handler on
//! the in-memory cluster: a clean rollout tier by tier behind its gates, a broken image failing
//! the business tier and rolled back with the reason, a first deploy that has nothing to roll
//! back to, and a release refused before anything is touched.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{Failure, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use platform_core::config;
use platform_deploy::cluster::{ApplyError, MemoryCluster, WorkloadApplier};
use platform_deploy::handler::{Clusters, Deps, ReleaseLedger, Request, handle};
use platform_deploy::release::{Release, ResolvedRelease};
use serde_json::{Value, json};

fn machine() -> StateMachine {
    let path = emulator::workspace_root().join("state-machines/platform-deploy.asl.json");
    let text = std::fs::read_to_string(path)
        .expect("definition")
        .replace(
            "${PlatformDeployFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-platform-deploy",
        )
        .replace("${NotificationsTopicArn}", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-notifications");
    StateMachine::parse(&text).expect("the definition loads in the engine")
}

#[derive(Debug)]
struct OneCluster(Arc<MemoryCluster>);

#[async_trait]
impl Clusters for OneCluster {
    async fn cluster(&self, _account: &str, _environment: &str) -> Result<Arc<dyn WorkloadApplier>, ApplyError> {
        Ok(self.0.clone())
    }
}

#[derive(Debug, Default)]
struct Ledger(Mutex<BTreeMap<String, ResolvedRelease>>);

#[async_trait]
impl ReleaseLedger for Ledger {
    async fn published(&self, _environment: &str, _name: &str) -> Result<Option<Release>, ApplyError> {
        Ok(None)
    }
    async fn current(&self, environment: &str, account: &str) -> Result<Option<ResolvedRelease>, ApplyError> {
        Ok(self.0.lock().expect("lock").get(&format!("{environment}/{account}")).cloned())
    }
    async fn record(&self, environment: &str, account: &str, release: &ResolvedRelease) -> Result<(), ApplyError> {
        self.0.lock().expect("lock").insert(format!("{environment}/{account}"), release.clone());
        Ok(())
    }
}

struct World {
    deps: Deps,
    cluster: Arc<MemoryCluster>,
    ledger: Arc<Ledger>,
    notified: Mutex<Vec<(String, String)>>,
    actions: Mutex<Vec<String>>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("World")
    }
}

#[async_trait]
impl Resolver for World {
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        match request {
            TaskRequest::Lambda { payload, .. } => {
                self.actions.lock().expect("lock").push(payload["action"].as_str().unwrap_or("?").to_string());
                let request: Request =
                    serde_json::from_value(payload).map_err(|e| Failure::new("InvalidRequest", e.to_string()))?;
                handle(request, &self.deps)
                    .await
                    .map(TaskOutput::now)
                    .map_err(|e| Failure::new(e.error_type(), e.to_string()))
            }
            TaskRequest::Service { service, action, parameters } if service == "sns" && action == "publish" => {
                let text = |k: &str| parameters[k].as_str().unwrap_or_default().to_string();
                self.notified.lock().expect("lock").push((text("Subject"), text("Message")));
                Ok(TaskOutput::now(json!({"MessageId": "m-1"})))
            }
            other => panic!("unexpected task {other:?}"),
        }
    }
}

fn world() -> Arc<World> {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let cluster = Arc::new(MemoryCluster::new(chrono::Duration::seconds(20), vec!["2026.11.4-broken".into()]));
    let ledger = Arc::new(Ledger::default());
    Arc::new(World {
        deps: Deps { tree, clusters: Arc::new(OneCluster(cluster.clone())), ledger: ledger.clone() },
        cluster,
        ledger,
        notified: Mutex::default(),
        actions: Mutex::default(),
    })
}

fn request(release: &str, versions: Value) -> Value {
    json!({"environment": "dev", "accountId": "222233334444", "release": release, "versions": versions})
}

async fn run(w: &Arc<World>, name: &str, input: Value) -> asl::Execution {
    execute(&machine(), input, Start::named(name), w.clone()).await
}

fn image_of(w: &World, namespace: &str, name: &str) -> String {
    w.cluster.object("Deployment", namespace, name).expect("deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image")
        .to_string()
}

#[tokio::test]
async fn a_release_rolls_out_tier_by_tier_behind_its_gates() {
    let w = world();
    let e = run(&w, "clean", request("2026.11.3", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    // Each tier applied, then gated, in rollout order; one 30 s poll each (ready after 20 s).
    let actions = w.actions.lock().expect("lock").clone();
    let gates: Vec<&str> =
        actions.iter().filter(|a| *a == "apply-tier" || *a == "tier-health").map(String::as_str).collect();
    assert_eq!(gates, ["apply-tier", "tier-health"].repeat(5));
    assert_eq!(e.duration, Duration::from_secs(5 * 30));
    let applied: Vec<String> = e
        .history
        .iter()
        .filter(|h| h.kind == "TaskStateEntered" && h.state.as_deref() == Some("ApplyTier"))
        .map(|h| h.timestamp.to_rfc3339())
        .collect();
    assert_eq!(applied.len(), 5, "five tiers");
    assert_eq!(w.ledger.0.lock().expect("lock")["dev/222233334444"].name, "2026.11.3", "recorded as current");
    assert!(image_of(&w, "trading-business", "trade-execution").ends_with("abc-trading/trade-execution:2026.11.3"));
    let notified = w.notified.lock().expect("lock").clone();
    assert_eq!(notified[0].0, "abc-trading release 2026.11.3 deployed to dev");
    assert!(notified[0].1.contains("24 services verified"), "{notified:?}");
    println!("deployed in {} transitions, {:?} on the virtual clock", e.transitions, e.duration);
}

#[tokio::test]
async fn a_broken_image_fails_its_tier_and_the_touched_tiers_roll_back() {
    let w = world();
    assert_eq!(run(&w, "first", request("2026.11.3", json!({}))).await.status, Status::Succeeded);
    let e = run(&w, "broken", request("2026.11.4", json!({"order-management": "2026.11.4-broken"}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("ImagePullBackOff")), "{:?}", e.cause);
    assert!(
        e.cause.as_deref().is_some_and(|c| c.starts_with("order-management: Back-off pulling image")),
        "{:?}",
        e.cause
    );
    // Foundation, core and dependent went to 2026.11.4, business failed: all four go back.
    assert!(image_of(&w, "trading-core", "authentication").ends_with(":2026.11.3"));
    assert!(image_of(&w, "trading-business", "order-management").ends_with(":2026.11.3"));
    assert!(w.cluster.object("Deployment", "trading-edge", "frontend").expect("edge")["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .is_some_and(|i| i.ends_with(":2026.11.3")), "the edge tier was never touched");
    let actions = w.actions.lock().expect("lock").clone();
    assert!(actions.ends_with(&["rollback".to_string(), "rollback-health".to_string()]), "{actions:?}");
    assert_eq!(
        w.ledger.0.lock().expect("lock")["dev/222233334444"].name,
        "2026.11.3",
        "the failed release is not recorded"
    );
    let (subject, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert_eq!(subject, "abc-trading release 2026.11.4 FAILED in dev");
    assert!(
        message.contains("order-management")
            && message.contains("ImagePullBackOff")
            && message.contains("\"rolled_back\":true"),
        "{message}"
    );
}

#[tokio::test]
async fn a_failing_first_deploy_has_nothing_to_roll_back_to_and_a_bad_release_touches_nothing() {
    let w = world();
    let e = run(&w, "first-broken", request("2026.11.4-broken", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("ImagePullBackOff")));
    let (_, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert!(message.contains("a first deploy: nothing ran before it"), "{message}");

    let w = world();
    let e = run(&w, "latest", request("latest", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("InvalidRelease")));
    assert!(w.cluster.is_empty(), "nothing applied");
    assert_eq!(w.notified.lock().expect("lock")[0].0, "abc-trading release REJECTED");
}

/// An execution that died mid-rollout (timed out, aborted: nothing recorded it) is resumed by
/// requesting the release again: applying what is already applied changes nothing, the rest
/// rolls out, and the rollback target stays the last release recorded as good.
#[tokio::test]
async fn a_deploy_that_died_half_way_is_resumed_by_asking_again() {
    let w = world();
    assert_eq!(run(&w, "first", request("2026.11.3", json!({}))).await.status, Status::Succeeded);

    // The crashed execution: planned, two tiers applied, then nothing more.
    let plan: Request =
        serde_json::from_value(json!({"action": "plan", "request": request("2026.11.4", json!({}))})).expect("plan");
    let mut deployment = handle(plan, &w.deps).await.expect("plan");
    // An hour before the resumed execution starts (its clock starts at the wall clock).
    let now = chrono::Utc::now() - chrono::Duration::hours(1);
    for _ in 0..2 {
        let apply: Request =
            serde_json::from_value(json!({"action": "apply-tier", "deployment": deployment, "now": now}))
                .expect("apply");
        deployment = handle(apply, &w.deps).await.expect("apply");
        let advance: Request =
            serde_json::from_value(json!({"action": "advance", "deployment": deployment})).expect("advance");
        deployment = handle(advance, &w.deps).await.expect("advance");
    }
    assert!(image_of(&w, "trading-core", "authentication").ends_with(":2026.11.4"));
    assert!(image_of(&w, "trading-business", "settlement").ends_with(":2026.11.3"), "the crash left the rest behind");

    let e = run(&w, "resumed", request("2026.11.4", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let output = e.output.expect("output");
    assert_eq!(output["previous"]["name"], "2026.11.3", "the rollback target is the last good release");
    assert!(image_of(&w, "trading-business", "settlement").ends_with(":2026.11.4"));
    assert_eq!(w.ledger.0.lock().expect("lock")["dev/222233334444"].name, "2026.11.4");
    // Re-applying the tiers the crash had applied changed nothing: their generation is still 2.
    let status = w.cluster.rollout("Deployment", "trading-core", "authentication", now).await.expect("status");
    assert_eq!(status.generation, 2);
}
