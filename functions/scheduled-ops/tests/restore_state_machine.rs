//! `state-machines/restore-test.asl.json` through the `asl` engine with the real handler: every path ends deleted and reported.

// Platform deploy's `probe-database` is scripted here (its TCP probe is tested in that crate);
// what matters is what the machine sends it and does with each answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{Failure, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::config;
use platform_core::fakes::{CapturedMetrics, FakeParameterStore, MemoryGroups, MemoryGuard, MemoryStackSets};
use scheduled_ops::fakes::{MemoryRds, MemoryReports};
use scheduled_ops::handler::{Deps, Request, handle};
use scheduled_ops::ports::Snapshot;
use serde_json::{Value, json};

const DEV: &str = "111111111111";
const DOMAIN: &str = "cxyz.us-east-1.rds.amazonaws.com";

/// What `probe-database` answers.
#[derive(Debug, Clone)]
enum ProbeAnswer {
    Answers,
    Garbage,
    /// The Lambda itself fails (refused host, or platform deploy down).
    Errors(&'static str),
}

struct World {
    deps: Deps,
    rds: Arc<MemoryRds>,
    reports: Arc<MemoryReports>,
    probe: ProbeAnswer,
    probes: Mutex<Vec<Value>>,
    subjects: Mutex<Vec<String>>,
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
            TaskRequest::Lambda { function, payload, .. } if function.contains("platform-deploy") => {
                assert_eq!(payload["action"], "probe-database", "{payload}");
                self.probes.lock().expect("lock").push(payload.clone());
                let now = payload["now"].clone();
                let answer = match self.probe {
                    ProbeAnswer::Answers => json!({"state": "answered", "answer": "S", "reason": null, "at": now}),
                    ProbeAnswer::Garbage => json!({"state": "failed", "answer": null, "at": now,
                        "reason": "db:5432 answered 0x48, not a PostgreSQL answer to an SSLRequest (S or N)"}),
                    ProbeAnswer::Errors(name) => return Err(Failure::new(name, "refused")),
                };
                Ok(TaskOutput::now(answer))
            }
            TaskRequest::Lambda { payload, .. } => {
                let r: Request = serde_json::from_value(payload).map_err(|e| Failure::new("Invalid", e.to_string()))?;
                let response = handle(r, &self.deps).await.map_err(|e| Failure::new(e.error_type(), e.to_string()))?;
                Ok(TaskOutput::now(serde_json::to_value(response).expect("the answer is JSON")))
            }
            TaskRequest::Service { service, parameters, .. } => {
                assert_eq!(service, "sns");
                self.subjects.lock().expect("lock").push(parameters["Subject"].as_str().unwrap_or("").to_string());
                Ok(TaskOutput::now(json!({})))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn started() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T04:00:00Z").expect("time").with_timezone(&Utc)
}

/// Dev's account with a 30-minute-old recovery point, restored in `ready_after` reads.
fn world(rds: MemoryRds, probe: ProbeAnswer, with_snapshot: bool) -> Arc<World> {
    let rds = Arc::new(rds);
    rds.add_source(DEV, "abc-trading-dev");
    if with_snapshot {
        let at = started() - chrono::Duration::minutes(30);
        let snapshot = Snapshot {
            id: "awsbackup:job-1".into(),
            kind: "awsbackup".into(),
            status: "available".into(),
            created_at: Some(at),
        };
        rds.add_snapshot(DEV, "abc-trading-dev", snapshot);
    }
    let parameters = FakeParameterStore::default();
    parameters.insert(&format!("/abc-trading/accounts/dev/{DEV}/id"), DEV);
    let reports = Arc::new(MemoryReports::default());
    let sets = Arc::new(MemoryStackSets::new(1));
    let mut tree = config::load(&config::repository_config_dir()).expect("config");
    tree.environments.retain(|name, _| name == "dev");
    Arc::new(World {
        deps: Deps {
            tree,
            directory: Arc::new(platform_core::fakes::MemoryOrganization::new()),
            stack_sets: sets.clone(),
            drift: sets,
            groups: Arc::new(MemoryGroups::default()),
            guard: Arc::new(MemoryGuard::default()),
            parameters: Arc::new(parameters),
            reports: reports.clone(),
            indicators: Arc::new(platform_core::fakes::MemoryIndicators::default()),
            metrics: Arc::new(CapturedMetrics::default()),
            inventory_prefix: "inventory".into(),
            recovery_points: rds.clone(),
            databases: rds.clone(),
        },
        rds,
        reports,
        probe,
        probes: Mutex::default(),
        subjects: Mutex::default(),
    })
}

fn machine() -> StateMachine {
    let text = std::fs::read_to_string(emulator::workspace_root().join("state-machines/restore-test.asl.json"))
        .expect("definition")
        .replace(
            "${ScheduledOpsFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-scheduled-ops",
        )
        .replace(
            "${PlatformDeployFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-platform-deploy",
        )
        .replace("${NotificationsTopicArn}", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-notifications");
    StateMachine::parse(&text).expect("loads")
}

async fn run(w: &Arc<World>) -> (asl::Execution, Value, Value) {
    let mut start = Start::named("weekly");
    start.started = started();
    let e = execute(&machine(), json!({}), start, w.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let out = e.output.clone().expect("output");
    assert_eq!(out["accounts"], 1, "{out}");
    let line = out["runs"][0].clone();
    let key = line["key"].as_str().unwrap_or_else(|| panic!("reported: {out}")).to_string();
    let report: Value = serde_json::from_str(&w.reports.get(&key).expect("the report").body).expect("json");
    (e, line, report)
}

fn subjects(w: &World) -> Vec<String> {
    w.subjects.lock().expect("lock").clone()
}

#[tokio::test]
async fn a_restore_that_answers_in_time_passes_quietly_and_is_deleted() {
    let w = world(MemoryRds::new(2, DOMAIN), ProbeAnswer::Answers, true);
    let (e, line, report) = run(&w).await;
    assert_eq!((line["verdict"].clone(), line["scratch_deleted"].clone()), (json!("passed"), json!(true)), "{line}");
    assert_eq!(report["reasons"], json!([]), "{report}");
    // Creating for two reads: polled three times, a sixtieth of dev's 720-minute RTO apart.
    assert_eq!(e.duration, Duration::from_secs(2 * 720));
    assert_eq!(report["restore_minutes"], 24);
    let probes = w.probes.lock().expect("lock").clone();
    assert_eq!(probes.len(), 1);
    let scratch = report["scratch_instance"].as_str().expect("scratch").to_string();
    assert_eq!(probes[0]["host"], format!("{scratch}.{DOMAIN}"));
    assert_eq!((probes[0]["port"].clone(), probes[0]["account_id"].clone()), (json!(5432), json!(DEV)));
    assert_eq!(w.rds.deletes(), [scratch]);
    assert!(subjects(&w).is_empty(), "nothing to tell: {:?}", subjects(&w));
    // The tag is the execution's id, which the scratch name is derived from.
    assert!(report["execution"].as_str().is_some_and(|x| x.ends_with(":execution:local:weekly")), "{report}");
}

#[tokio::test]
async fn a_database_that_does_not_answer_fails_the_test_and_is_still_deleted() {
    let w = world(MemoryRds::new(1, DOMAIN), ProbeAnswer::Garbage, true);
    let (_, line, report) = run(&w).await;
    assert_eq!((line["verdict"].clone(), line["scratch_deleted"].clone()), (json!("failed"), json!(true)));
    assert!(
        report["reasons"][0].as_str().is_some_and(|r| r.contains("did not answer") && r.contains("0x48")),
        "{report}"
    );
    assert_eq!(w.rds.deletes().len(), 1);
    assert_eq!(subjects(&w), [format!("abc-trading restore test FAILED in dev ({DEV})")]);
}

#[tokio::test]
async fn a_probe_that_errors_is_caught_deleted_and_reported() {
    let w = world(MemoryRds::new(1, DOMAIN), ProbeAnswer::Errors("Untrusted"), true);
    let (_, line, report) = run(&w).await;
    assert_eq!(line["verdict"], "failed");
    assert!(
        report["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.starts_with("Untrusted"))),
        "{report}"
    );
    assert_eq!(w.rds.deletes().len(), 1);
}

#[tokio::test]
async fn a_restore_that_never_ends_is_overdue_at_twice_the_rto_and_deleted() {
    let w = world(MemoryRds::new(u32::MAX, DOMAIN), ProbeAnswer::Answers, true);
    let (e, line, report) = run(&w).await;
    assert_eq!((line["verdict"].clone(), line["scratch_deleted"].clone()), (json!("failed"), json!(true)));
    assert!(report["reasons"][0].as_str().is_some_and(|r| r.contains("overdue")), "{report}");
    assert!(w.probes.lock().expect("lock").is_empty(), "nothing to probe");
    assert_eq!(w.rds.deletes().len(), 1);
    // 2 x 720 minutes, polled every 12: bounded, whatever the environment.
    assert!(e.duration <= Duration::from_secs(2 * 720 * 60 + 720), "{:?}", e.duration);
    assert_eq!(subjects(&w).len(), 1);
}

#[tokio::test]
async fn a_restore_rds_gives_up_on_is_deleted_and_reported() {
    let w = world(MemoryRds::new(1, DOMAIN).failing_restores(), ProbeAnswer::Answers, true);
    let (_, line, report) = run(&w).await;
    assert_eq!(line["verdict"], "failed");
    assert!(report["reasons"][0].as_str().is_some_and(|r| r.contains("incompatible-restore")), "{report}");
    assert_eq!(w.rds.deletes().len(), 1);
}

#[tokio::test]
async fn no_recovery_point_is_reported_without_a_restore() {
    let w = world(MemoryRds::new(1, DOMAIN), ProbeAnswer::Answers, false);
    let (_, line, report) = run(&w).await;
    assert_eq!(line["verdict"], "failed");
    assert_eq!(report["reasons"], json!(["no completed recovery point of the database"]));
    assert_eq!((w.rds.restores(), w.rds.deletes().len()), (0, 0));
    assert_eq!(subjects(&w).len(), 1);
}

#[tokio::test]
async fn a_name_taken_by_someone_elses_instance_is_left_alone_and_reported() {
    let w = world(MemoryRds::new(1, DOMAIN), ProbeAnswer::Answers, true);
    let id = "arn:aws:states:us-east-1:123456789012:execution:local:weekly";
    let scratch = scheduled_ops::restore::scratch_name(&w.deps.tree, "dev", id);
    w.rds.add_source(DEV, &scratch);
    let (_, line, report) = run(&w).await;
    assert_eq!((line["verdict"].clone(), line["scratch_deleted"].clone()), (json!("failed"), json!(false)));
    let reasons = report["reasons"].to_string();
    assert!(reasons.contains("NotOurs") && reasons.contains("was not deleted"), "{reasons}");
    assert!(w.rds.deletes().is_empty() && w.rds.peek(DEV, &scratch).is_some());
}
