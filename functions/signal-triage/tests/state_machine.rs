//! `state-machines/signal-triage.asl.json` through the `asl` engine, path by path, triage and deploy scripted.

// The paths: notify, suppressed, a remediation deployed (and failed), a refused event, a
// throttled triage retried, a triage that cannot decide.

use std::sync::{Arc, Mutex};

use asl::{Failure, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use serde_json::{Value, json};

const DEPLOY: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:abc-trading-dev-platform-deploy";

fn machine() -> StateMachine {
    let path = emulator::workspace_root().join("state-machines/signal-triage.asl.json");
    let text = std::fs::read_to_string(path)
        .expect("definition")
        .replace(
            "${SignalTriageFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-signal-triage",
        )
        .replace("${NotificationsTopicArn}", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-notifications")
        .replace("${PlatformDeployStateMachineArn}", DEPLOY);
    StateMachine::parse(&text).expect("the definition loads in the engine")
}

/// Triage answers in order (the last repeats); the deploy answers once; publishes are kept.
#[derive(Debug)]
struct World {
    triage: Mutex<Vec<Result<Value, Failure>>>,
    deploy: Result<Value, Failure>,
    started: Mutex<Vec<(String, Value, bool)>>,
    published: Mutex<Vec<(String, String)>>,
    triaged: Mutex<usize>,
}

impl World {
    fn new(triage: Vec<Result<Value, Failure>>, deploy: Result<Value, Failure>) -> Arc<World> {
        Arc::new(World {
            triage: Mutex::new(triage),
            deploy,
            started: Mutex::default(),
            published: Mutex::default(),
            triaged: Mutex::default(),
        })
    }
    fn published(&self) -> Vec<(String, String)> {
        self.published.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Resolver for World {
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        match request {
            TaskRequest::Lambda { payload, .. } => {
                assert_eq!(payload["action"], "triage");
                assert!(payload["event"]["detail-type"].is_string(), "the whole event is triaged: {payload}");
                *self.triaged.lock().expect("lock") += 1;
                let mut answers = self.triage.lock().expect("lock");
                let answer = if answers.len() > 1 { answers.remove(0) } else { answers[0].clone() };
                answer.map(TaskOutput::now)
            }
            TaskRequest::StartExecution { state_machine_arn, input, sync, .. } => {
                self.started.lock().expect("lock").push((state_machine_arn, input, sync));
                self.deploy.clone().map(TaskOutput::now)
            }
            TaskRequest::Service { service, action, parameters } => {
                assert_eq!((service.as_str(), action.as_str()), ("sns", "publish"));
                let field = |k: &str| parameters[k].as_str().unwrap_or_default().to_string();
                self.published.lock().expect("lock").push((field("Subject"), field("Message")));
                Ok(TaskOutput::now(json!({"MessageId": "m-1"})))
            }
        }
    }
}

fn triaged(kind: &str) -> Value {
    let mut t = json!({"kind": kind, "environment": "dev", "account": "222233334444", "service": "risk-management",
        "signature": "OOMKilled", "severity": "high", "runbook": "docs/runbook.md#signature-oomkilled",
        "sample": "java.lang.OutOfMemoryError", "reason": "risk-management memory 1Gi -> 1536Mi"});
    if kind == "raise-memory" {
        t["deploy"] = json!({"environment": "dev", "accountId": "222233334444", "release": "2026.11.3",
            "resources": {"risk-management": {"memory": "1536Mi"}}});
    }
    if kind == "suppressed" {
        t["suppressed"] = json!(3);
    }
    t
}

async fn run(world: Arc<World>) -> asl::Execution {
    let event = json!({"detail-type": "FailureSignatureDetected", "source": "abc.platform", "account": "123456789012",
        "detail": {"signature": "OOMKilled"}});
    execute(&machine(), event, Start::named("t"), world).await
}

#[tokio::test]
async fn notify_escalate_and_frozen_tell_people_with_the_runbook() {
    for kind in ["notify", "escalate", "frozen"] {
        let world = World::new(vec![Ok(triaged(kind))], Err(Failure::new("x", "not started")));
        let e = run(world.clone()).await;
        assert_eq!(e.status, Status::Succeeded, "{kind}: {:?}", e.cause);
        assert_eq!(e.output.expect("output")["kind"], kind);
        let published = world.published();
        assert_eq!(published.len(), 1, "{kind}");
        assert_eq!(published[0].0, format!("abc-trading signal high: OOMKilled ({kind})"));
        assert!(published[0].1.contains("Runbook: docs/runbook.md#signature-oomkilled"), "{}", published[0].1);
        assert!(published[0].1.contains("account 222233334444"), "{}", published[0].1);
        assert!(world.started.lock().expect("lock").is_empty(), "{kind}: nothing deployed");
    }
}

#[tokio::test]
async fn a_suppressed_detection_ends_quietly() {
    let world = World::new(vec![Ok(triaged("suppressed"))], Err(Failure::new("x", "not started")));
    let e = run(world.clone()).await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.output.expect("output")["suppressed"], 3);
    assert!(world.published().is_empty(), "people were told of the first one");
}

#[tokio::test]
async fn a_remediation_runs_through_platform_deploy_then_tells_people() {
    // The deploy's output; the engine wraps it as `.sync:2` does (ExecutionArn, Output).
    let done = json!({"done": true, "release": {"name": "2026.11.3"}});
    let world = World::new(vec![Ok(triaged("raise-memory"))], Ok(done));
    let e = run(world.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    let output = e.output.expect("output");
    assert_eq!(output["outcome"]["deployed"], true);
    assert_eq!(output["outcome"]["release"], json!({"name": "2026.11.3"}));
    let execution = output["outcome"]["execution"].as_str().unwrap_or_default();
    assert!(execution.contains(":execution:abc-trading-dev-platform-deploy:"), "{output}");
    let started = world.started.lock().expect("lock").clone();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].0, DEPLOY);
    assert!(started[0].2, "waits for the deploy (.sync)");
    assert_eq!(started[0].1["resources"]["risk-management"]["memory"], "1536Mi");
    let published = world.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, "abc-trading signal high: OOMKilled remediated (raise-memory)");
    assert!(published[0].1.contains("platform deploy of release 2026.11.3 succeeded"), "{}", published[0].1);
}

#[tokio::test]
async fn a_failed_remediation_deploy_is_told_and_fails_the_execution() {
    let world =
        World::new(vec![Ok(triaged("raise-memory"))], Err(Failure::new("States.TaskFailed", "smoke checks failed")));
    let e = run(world.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("RemediationFailed")));
    let published = world.published();
    assert_eq!(published[0].0, "abc-trading signal high: OOMKilled remediation FAILED");
    assert!(published[0].1.contains("smoke checks failed"), "{}", published[0].1);
}

#[tokio::test]
async fn a_refused_event_is_told_and_not_retried() {
    let world = World::new(
        vec![Err(Failure::lambda("Untrusted", "account `999988887777` is not a vended account of environment `dev`"))],
        Err(Failure::new("x", "not started")),
    );
    let e = run(world.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("Untrusted")));
    assert_eq!(*world.triaged.lock().expect("lock"), 1, "never retried");
    let published = world.published();
    assert_eq!(published[0].0, "abc-trading signal REJECTED");
    assert!(published[0].1.contains("`999988887777`"), "{}", published[0].1);
}

#[tokio::test]
async fn a_throttled_triage_is_retried() {
    let world = World::new(
        vec![Err(Failure::new("Throttled", "Rate exceeded")), Ok(triaged("notify"))],
        Err(Failure::new("x", "not started")),
    );
    let e = run(world.clone()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert_eq!(*world.triaged.lock().expect("lock"), 2);
}

#[tokio::test]
async fn a_triage_that_cannot_decide_is_still_told() {
    let world = World::new(
        vec![Err(Failure::lambda("ConfigMissing", "environment `dev` is not in the published config"))],
        Err(Failure::new("x", "not started")),
    );
    let e = run(world.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("ConfigMissing")));
    let published = world.published();
    assert_eq!(published[0].0, "abc-trading signal triage FAILED");
    assert!(published[0].1.contains("OOMKilled"), "the event is in the message: {}", published[0].1);
}
