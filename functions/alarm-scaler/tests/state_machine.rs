//! `state-machines/alarm-remediation.asl.json` through the `asl` engine, path by path, the scaler scripted.

// The paths: act, refuse, defer, dry run, throttled act, busy group, verify timeout, failure, unrecorded act.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{Failure, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use serde_json::{Value, json};

fn machine() -> StateMachine {
    let path = emulator::workspace_root().join("state-machines/alarm-remediation.asl.json");
    let text = std::fs::read_to_string(path)
        .expect("definition")
        .replace(
            "${AlarmScalerFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-alarm-scaler",
        )
        .replace("${NotificationsTopicArn}", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-notifications");
    StateMachine::parse(&text).expect("the definition loads in the engine")
}

/// Answers per action, in order (the last repeats); SNS publishes are counted.
#[derive(Debug, Default)]
struct Scaler {
    answers: Mutex<BTreeMap<String, Vec<Result<Value, Failure>>>>,
    calls: Mutex<Vec<String>>,
}

impl Scaler {
    fn with(self, action: &str, answers: Vec<Result<Value, Failure>>) -> Self {
        self.answers.lock().expect("lock").insert(action.into(), answers);
        self
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Resolver for Scaler {
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        let action = match &request {
            TaskRequest::Lambda { payload, .. } => payload["action"].as_str().unwrap_or("?").to_string(),
            TaskRequest::Service { service, action, .. } => format!("{service}:{action}"),
            TaskRequest::StartExecution { .. } => "start".into(),
        };
        self.calls.lock().expect("lock").push(action.clone());
        if action == "sns:publish" {
            return Ok(TaskOutput::now(json!({"MessageId": "m-1"})));
        }
        let mut answers = self.answers.lock().expect("lock");
        let list = answers.get_mut(&action).unwrap_or_else(|| panic!("unscripted action {action}"));
        let answer = if list.len() > 1 { list.remove(0) } else { list[0].clone() };
        answer.map(TaskOutput::now)
    }
}

fn plan(kind: &str) -> Value {
    json!({"kind": kind, "owner": "evt@1", "alarm": "abc-trading-dev-remediate-nodes-cpu-high", "account": "222222222222",
           "summary": format!("{kind}: nodegroup 2 -> 3"), "after": {"min": 1, "desired": 3, "max": 4}, "until": "2026-11-24T20:10:00Z"})
}

fn settled(yes: bool) -> Result<Value, Failure> {
    Ok(
        json!({"settled": yes, "status": if yes { "ACTIVE" } else { "UPDATING" }, "capacity": {"min": 1, "desired": if yes { 3 } else { 2 }, "max": 4}}),
    )
}

fn audit() -> Result<Value, Failure> {
    Ok(json!({"decision": "scale", "from": 2, "to": 3}))
}

async fn run(scaler: Arc<Scaler>) -> asl::Execution {
    let mut start = Start::named("t");
    start.started =
        chrono::DateTime::parse_from_rfc3339("2026-11-24T20:00:00Z").expect("t").with_timezone(&chrono::Utc);
    execute(&machine(), json!({"detail": {"alarmName": "x"}}), start, scaler).await
}

#[tokio::test]
async fn a_scale_out_acts_verifies_records_and_notifies() {
    let scaler = Arc::new(
        Scaler::default()
            .with("decide", vec![Ok(plan("scale"))])
            .with("act", vec![Ok(json!({"update_id": "u-1"}))])
            .with("verify", vec![settled(false), settled(true)])
            .with("record", vec![audit()]),
    );
    let e = run(scaler.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert_eq!(e.output.expect("output")["kind"], "scale");
    assert_eq!(scaler.calls(), ["decide", "act", "verify", "verify", "record", "sns:publish"]);
    assert_eq!(e.duration, Duration::from_secs(60), "two verify rounds of 30 s");
}

#[tokio::test]
async fn refusals_and_dry_runs_are_recorded_without_acting() {
    for kind in ["refuse", "dry-run"] {
        let scaler = Arc::new(Scaler::default().with("decide", vec![Ok(plan(kind))]).with("record", vec![audit()]));
        let e = run(scaler.clone()).await;
        assert_eq!(e.status, Status::Succeeded);
        assert_eq!(scaler.calls(), ["decide", "record", "sns:publish"], "{kind}");
    }
}

#[tokio::test]
async fn duplicates_and_busy_targets_end_quietly() {
    for kind in ["duplicate", "busy"] {
        let scaler = Arc::new(Scaler::default().with("decide", vec![Ok(plan(kind))]));
        let e = run(scaler.clone()).await;
        assert_eq!((e.status, scaler.calls()), (Status::Succeeded, vec!["decide".to_string()]), "{kind}");
    }
}

#[tokio::test]
async fn a_deferred_scale_in_waits_then_decides_again() {
    let scaler = Arc::new(
        Scaler::default().with("decide", vec![Ok(plan("defer")), Ok(plan("refuse"))]).with("record", vec![audit()]),
    );
    let e = run(scaler.clone()).await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(scaler.calls(), ["decide", "decide", "record", "sns:publish"]);
    assert_eq!(e.duration, Duration::from_secs(600), "waited until the plan's time");
}

#[tokio::test]
async fn a_throttled_resize_is_retried_with_backoff() {
    let throttled = || Err(Failure::new("Throttled", "Rate exceeded"));
    let scaler = Arc::new(
        Scaler::default()
            .with("decide", vec![Ok(plan("scale"))])
            .with("act", vec![throttled(), throttled(), Ok(json!({"update_id": "u-1"}))])
            .with("verify", vec![settled(true)])
            .with("record", vec![audit()]),
    );
    let e = run(scaler.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert_eq!(scaler.calls().iter().filter(|c| *c == "act").count(), 3);
}

#[tokio::test]
async fn a_resize_that_never_settles_escalates() {
    let scaler = Arc::new(
        Scaler::default()
            .with("decide", vec![Ok(plan("scale"))])
            .with("act", vec![Ok(json!({"update_id": "u-1"}))])
            .with("verify", vec![settled(false)]),
    );
    let e = run(scaler.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("RemediationFailed")));
    assert!(e.cause.as_deref().is_some_and(|c| c.contains("did not reach 3 nodes")), "{:?}", e.cause);
    assert_eq!(scaler.calls().iter().filter(|c| *c == "verify").count(), 21);
    assert_eq!(scaler.calls().last().map(String::as_str), Some("sns:publish"), "people are told");
}

#[tokio::test]
async fn a_decision_that_fails_is_reported() {
    let scaler =
        Arc::new(Scaler::default().with("decide", vec![Err(Failure::lambda("InvalidAlarm", "alarm names no target"))]));
    let e = run(scaler.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("RemediationFailed")));
    assert_eq!(scaler.calls(), ["decide", "sns:publish"]);
}

/// GIVEN a group with another update in progress WHEN act answers `OperationInProgress` twice
/// THEN act is retried and the remediation goes on; WHEN the group stays busy THEN act is tried
/// once and retried six times (Act's Retry), the remediation fails and people are told last.
#[tokio::test]
async fn a_busy_group_is_retried_then_escalated() {
    let busy = || Err(Failure::new("OperationInProgress", "an update is in progress"));
    let scaler = Arc::new(
        Scaler::default()
            .with("decide", vec![Ok(plan("scale"))])
            .with("act", vec![busy(), busy(), Ok(json!({"update_id": "u-1"}))])
            .with("verify", vec![settled(true)])
            .with("record", vec![audit()]),
    );
    let e = run(scaler.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert_eq!(scaler.calls().iter().filter(|c| *c == "act").count(), 3);

    let scaler = Arc::new(Scaler::default().with("decide", vec![Ok(plan("scale"))]).with("act", vec![busy()]));
    let e = run(scaler.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("RemediationFailed")));
    assert_eq!(scaler.calls().iter().filter(|c| *c == "act").count(), 1 + 6);
    assert!(!scaler.calls().iter().any(|c| c == "verify" || c == "record"), "{:?}", scaler.calls());
    assert_eq!(scaler.calls().last().map(String::as_str), Some("sns:publish"), "people are told");
}

/// GIVEN a resize that went through WHEN its audit record can never be written THEN record is
/// tried once and retried four times (Record's Retry), and the remediation fails and is told:
/// nothing ends quietly with an action missing from the trail.
#[tokio::test]
async fn a_record_that_keeps_failing_escalates() {
    let scaler = Arc::new(
        Scaler::default()
            .with("decide", vec![Ok(plan("scale"))])
            .with("act", vec![Ok(json!({"update_id": "u-1"}))])
            .with("verify", vec![settled(true)])
            .with("record", vec![Err(Failure::new("Transient", "connection reset"))]),
    );
    let e = run(scaler.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("RemediationFailed")));
    assert_eq!(e.cause.as_deref(), Some("connection reset"));
    let calls = scaler.calls();
    assert_eq!(calls, [&["decide", "act", "verify"][..], &["record"; 5], &["sns:publish"]].concat());
}
