//! `state-machines/drift-detection.asl.json` through the `asl` engine with the real handler.

// A detection polled to its end, drift reported, audited and notified; nothing drifted ends quietly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{Failure, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use platform_core::config;
use platform_core::fakes::{FakeParameterStore, MemoryStackSets};
use platform_core::stacksets::{Preferences, ResourceDrift, StackSets};
use scheduled_ops::fakes::MemoryReports;
use scheduled_ops::handler::{Deps, Request, handle};

use platform_core::fakes::{CapturedMetrics, MemoryGroups, MemoryGuard};
use serde_json::{Value, json};

struct World {
    deps: Deps,
    sets: Arc<MemoryStackSets>,
    metrics: Arc<CapturedMetrics>,
    calls: Mutex<Vec<String>>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("World")
    }
}

#[async_trait]
impl Resolver for World {
    async fn run(&self, request: TaskRequest, _c: &TaskContext) -> Result<TaskOutput, Failure> {
        match request {
            TaskRequest::Lambda { payload, .. } => {
                self.calls.lock().expect("lock").push(payload["action"].as_str().unwrap_or("?").to_string());
                let r: Request = serde_json::from_value(payload).map_err(|e| Failure::new("Invalid", e.to_string()))?;
                let response = handle(r, &self.deps).await.map_err(|e| Failure::new(e.error_type(), e.to_string()))?;
                Ok(TaskOutput::now(serde_json::to_value(response).expect("the answer is JSON")))
            }
            TaskRequest::Service { service, action, parameters } => {
                self.calls.lock().expect("lock").push(format!("{service}:{action}"));
                if service == "sns" {
                    self.calls.lock().expect("lock").push(parameters["Subject"].as_str().unwrap_or("").to_string());
                }
                Ok(TaskOutput::now(json!({})))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn world() -> Arc<World> {
    let sets = Arc::new(MemoryStackSets::new(2));
    let prefs = Preferences { failure_tolerance_count: 0, max_concurrent_count: 1 };
    sets.add_instances(
        "abc-trading-member-baseline",
        "111111111111",
        &["us-east-1".into()],
        &Default::default(),
        prefs,
        "c",
    )
    .await
    .expect("add");
    let metrics = Arc::new(CapturedMetrics::default());
    Arc::new(World {
        deps: Deps {
            tree: config::load(&config::repository_config_dir()).expect("config"),
            directory: {
                let org = platform_core::fakes::MemoryOrganization::new();
                org.add_member("111111111111", "acme-dev", "Development");
                Arc::new(org)
            },
            stack_sets: sets.clone(),
            drift: sets.clone(),
            groups: Arc::new(MemoryGroups::default()),
            guard: Arc::new(MemoryGuard::default()),
            parameters: Arc::new(FakeParameterStore::default()),
            reports: Arc::new(MemoryReports::default()),
            indicators: Arc::new(platform_core::fakes::MemoryIndicators::default()),
            metrics: metrics.clone(),
            inventory_prefix: "inventory".into(),
            recovery_points: Arc::new(scheduled_ops::fakes::MemoryRds::new(1, "cxyz.us-east-1.rds.amazonaws.com")),
            databases: Arc::new(scheduled_ops::fakes::MemoryRds::new(1, "cxyz.us-east-1.rds.amazonaws.com")),
        },
        sets,
        metrics,
        calls: Mutex::default(),
    })
}

fn machine() -> StateMachine {
    let text = std::fs::read_to_string(emulator::workspace_root().join("state-machines/drift-detection.asl.json"))
        .expect("definition")
        .replace(
            "${ScheduledOpsFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-scheduled-ops",
        )
        .replace("${GuardTableName}", "abc-trading-dev-guard")
        .replace("${NotificationsTopicArn}", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-notifications");
    StateMachine::parse(&text).expect("loads")
}

fn role_edited(w: &World) {
    w.sets.edit_by_hand(
        "abc-trading-member-baseline",
        "111111111111",
        "us-east-1",
        vec![ResourceDrift {
            logical_id: "AutomationRole".into(),
            resource_type: "AWS::IAM::Role".into(),
            status: "MODIFIED".into(),
            properties: vec!["/Properties/Policies/0".into()],
        }],
    );
}

#[tokio::test]
async fn drift_is_polled_reported_audited_and_notified() {
    let w = world().await;
    role_edited(&w);
    let e = execute(&machine(), json!({}), Start::named("night"), w.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let out: Value = e.output.expect("output");
    assert_eq!((out["drifted"].clone(), out["remediated"].clone()), (json!(1), json!(1)), "dev re-applies: {out}");
    assert_eq!(out["reapplied"], json!({"status": "done", "failed": []}), "the re-apply followed to its end: {out}");
    assert_eq!(
        e.duration,
        Duration::from_secs(6 * 60),
        "detection and re-apply: each two polls RUNNING, the third done"
    );
    let calls = w.calls.lock().expect("lock").clone();
    assert!(calls.contains(&"dynamodb:putItem".to_string()), "audited: {calls:?}");
    assert!(calls.iter().any(|c| c == "abc-trading drift: 1 instance(s) drifted, 1 re-applied"), "{calls:?}");
    assert!(w.metrics.text().contains("\"DriftedInstances\":1"));

    // Re-applied: the next night finds nothing, and says nothing.
    w.calls.lock().expect("lock").clear();
    let e = execute(&machine(), json!({}), Start::named("night-2"), w.clone()).await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.output.expect("output")["drifted"], 0);
    assert!(!w.calls.lock().expect("lock").iter().any(|c| c == "sns:publish"));
}

/// GIVEN a drifted instance whose re-apply fails (its region refuses the operation) WHEN the
/// night's run follows the re-apply THEN it reports the instance as not back and tells people so,
/// and the next night finds the drift still there.
#[tokio::test]
async fn a_re_apply_that_fails_is_reported_and_notified_not_counted_as_fixed() {
    let w = world().await;
    role_edited(&w);
    w.sets.fail_region("us-east-1", Some("the role is in use"));
    let e = execute(&machine(), json!({}), Start::named("night"), w.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let out: Value = e.output.expect("output");
    assert_eq!(out["reapplied"]["status"], "done");
    let failed = out["reapplied"]["failed"].to_string();
    assert!(failed.contains("abc-trading-member-baseline 111111111111/us-east-1 (Failed)"), "{out}");
    let calls = w.calls.lock().expect("lock").clone();
    assert!(calls.iter().any(|c| c.starts_with("abc-trading drift: 1 instance(s) drifted")), "{calls:?}");

    let e = execute(&machine(), json!({}), Start::named("night-2"), w.clone()).await;
    assert_eq!(e.output.expect("output")["drifted"], 1, "still drifted: the failed re-apply fixed nothing");
}
