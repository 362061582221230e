//! `state-machines/account-vending.asl.json` through the `asl` engine, with the real handler on
//! in-memory Organizations, StackSets and vending ledger: the happy path, slow
//! creation, each named failure (quarantined, notified), retries, duplicates, resumption, and the
//! in-flight limit measured over concurrent requests.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use account_vending::handler::{Request, handle};
use account_vending::ports::{Creation, Instance, InstanceStatus, OperationStatus, StackSets as _};
use asl::{Failure, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use common::{Fakes, fakes, request};
use platform_core::error::{AwsError, ErrorClass};
use serde_json::{Value, json};

fn machine() -> StateMachine {
    let path = emulator::workspace_root().join("state-machines/account-vending.asl.json");
    let text = std::fs::read_to_string(path)
        .expect("definition")
        .replace(
            "${AccountVendingFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-account-vending",
        )
        .replace("${GuardTableName}", "abc-trading-dev-guard")
        .replace("${PlatformEventBusName}", "abc-trading-dev")
        .replace("${NotificationsTopicArn}", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-notifications")
        .replace(
            "${PlatformDeployStateMachineArn}",
            "arn:aws:states:us-east-1:123456789012:stateMachine:abc-trading-dev-platform-deploy",
        );
    StateMachine::parse(&text).expect("the definition loads in the engine")
}

/// The audit records the state machine writes to the guard table (claims and slots are the
/// function's, in the fakes' ledger).
#[derive(Debug, Default)]
struct Guard {
    audits: Vec<Value>,
}

struct World {
    fakes: Fakes,
    guard: Mutex<Guard>,
    published: Mutex<Vec<Value>>,
    notified: Mutex<Vec<String>>,
    /// Inputs of the platform deploys started by the hand-over.
    deploys: Mutex<Vec<Value>>,
    deploy_fails: Mutex<bool>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("World")
    }
}

impl World {
    fn dynamodb(&self, action: &str, p: &Value) -> Result<Value, Failure> {
        assert_eq!(action, "putItem", "the state machine only writes audit records itself");
        self.guard.lock().expect("lock").audits.push(p["Item"].clone());
        Ok(json!({}))
    }
}

#[async_trait]
impl Resolver for World {
    async fn run(&self, request: TaskRequest, _context: &TaskContext) -> Result<TaskOutput, Failure> {
        match request {
            TaskRequest::Lambda { payload, .. } => {
                let request: Request =
                    serde_json::from_value(payload).map_err(|e| Failure::new("InvalidRequest", e.to_string()))?;
                handle(request, &self.fakes.deps)
                    .await
                    .map(|r| TaskOutput::now(serde_json::to_value(r).expect("a response serialises")))
                    .map_err(|e| Failure::new(e.error_type(), e.to_string()))
            }
            TaskRequest::Service { service, action, parameters } => match (service.as_str(), action.as_str()) {
                ("dynamodb", a) => self.dynamodb(a, &parameters).map(TaskOutput::now),
                ("events", "putEvents") => {
                    self.published.lock().expect("lock").push(parameters["Entries"][0].clone());
                    Ok(TaskOutput::now(json!({"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]})))
                }
                ("sns", "publish") => {
                    self.notified
                        .lock()
                        .expect("lock")
                        .push(parameters["Subject"].as_str().unwrap_or_default().to_string());
                    Ok(TaskOutput::now(json!({"MessageId": "m-1"})))
                }
                other => panic!("unexpected integration {other:?}"),
            },
            // The hand-over: platform deploy's own tests cover it; here it answers as a deploy of
            // a new account before the environment's first release does, or fails when told to.
            TaskRequest::StartExecution { state_machine_arn, input, sync, .. } => {
                assert!(sync && state_machine_arn.ends_with(":stateMachine:abc-trading-dev-platform-deploy"));
                self.deploys.lock().expect("lock").push(input.clone());
                if *self.deploy_fails.lock().expect("lock") {
                    return Err(Failure::new("States.TaskFailed", "InfrastructureFailed"));
                }
                Ok(TaskOutput::now(
                    json!({"environment": input["environment"], "account_id": input["accountId"], "release": null}),
                ))
            }
        }
    }
}

async fn world() -> Arc<World> {
    Arc::new(World {
        fakes: fakes().await,
        guard: Mutex::default(),
        published: Mutex::default(),
        notified: Mutex::default(),
        deploys: Mutex::default(),
        deploy_fails: Mutex::default(),
    })
}

async fn run(world: &Arc<World>, name: &str, input: Value) -> asl::Execution {
    execute(&machine(), input, Start::named(name), world.clone()).await
}

/// Whether the hand-over to platform deploy ended with `kind` (TaskSucceeded, TaskFailed).
fn handed_over(e: &asl::Execution, kind: &str) -> bool {
    e.history.iter().any(|h| h.kind == kind && h.state.as_deref() == Some("DeployPlatform"))
}

fn account_of(e: &asl::Execution) -> String {
    e.output.as_ref().and_then(|o| o["account_id"].as_str()).expect("account id").to_string()
}

#[tokio::test]
async fn a_request_becomes_a_placed_baselined_account_handed_over() {
    let w = world().await;
    let e = run(&w, "acme", request("acme")).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let account = account_of(&e);
    {
        let org = w.fakes.directory.0.lock().expect("lock");
        assert_eq!(org.parents[&account], "ou-development");
        assert_eq!(org.tags[&account]["client"], "acme");
    }
    let published = w.published.lock().expect("lock").clone();
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0]["DetailType"].as_str(), published[0]["Detail"]["accountId"].as_str()),
        (Some("AccountReady"), Some(account.as_str()))
    );
    assert_eq!(published[0]["Detail"]["regions"], json!(["us-east-1", "us-west-2"]));
    {
        let operations = w.fakes.stack_sets.operations();
        let (regions, prefs) = (&operations[0].regions, operations[0].preferences);
        assert_eq!(regions, &["us-east-1", "us-west-2"]);
        assert_eq!(
            (prefs.failure_tolerance_count, prefs.max_concurrent_count),
            (0, 2),
            "operation preferences from config"
        );
    }
    {
        let l = w.fakes.ledger.0.lock().expect("lock");
        assert!(l.holders.is_empty(), "the slot is released");
        assert_eq!(l.claims.values().next().map(|c| c.0.as_str()), Some("done"));
        assert_eq!(w.guard.lock().expect("lock").audits.len(), 1);
    }
    assert_eq!(w.notified.lock().expect("lock").len(), 1);
    let facts = w.fakes.parameters.get_by_path(&format!("/abc-trading/accounts/dev/{account}")).await.expect("facts");
    assert!(facts.contains_key(&format!("/abc-trading/accounts/dev/{account}/us-west-2/vpc-id")), "{facts:?}");
    // Handed over to platform deploy for this account (the environment's release, if any).
    assert_eq!(w.deploys.lock().expect("lock").clone(), [json!({"environment": "dev", "accountId": account})]);
    assert!(handed_over(&e, "TaskSucceeded"), "the deploy ran and succeeded");
    // The figures the README reports: state transitions and time on the virtual clock.
    println!("vended in {} transitions, {:?} on the virtual clock", e.transitions, e.duration);
    assert!(e.transitions < 40, "{}", e.transitions);
}

#[tokio::test]
async fn a_failed_platform_deploy_does_not_undo_the_vending() {
    let w = world().await;
    *w.deploy_fails.lock().expect("lock") = true;
    let e = run(&w, "acme", request("acme")).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    assert!(handed_over(&e, "TaskFailed"), "the deploy ran and failed");
    let account = account_of(&e);
    assert_eq!(w.fakes.directory.0.lock().expect("lock").parents[&account], "ou-development", "not quarantined");
    assert!(w.fakes.ledger.0.lock().expect("lock").holders.is_empty(), "the slot is released");
}

use platform_core::ports::ParameterStore as _;

#[tokio::test]
async fn slow_creation_is_polled_with_backoff() {
    let w = world().await;
    w.fakes.directory.0.lock().expect("lock").creation_script = [
        Creation::InProgress,
        Creation::InProgress,
        Creation::InProgress,
        Creation::Succeeded { account_id: String::new() },
    ]
    .into();
    let e = run(&w, "slow", request("slow")).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let polls = w.fakes.directory.calls().iter().filter(|c| *c == "DescribeCreateAccountStatus").count();
    assert_eq!(polls, 4);
    // 10 + 20 + 40 + 80 s of account polls, then one 30 s baseline poll.
    assert_eq!(e.duration, Duration::from_secs(150 + 30));
}

#[tokio::test]
async fn creation_failures_are_named_notified_and_leave_nothing_to_quarantine() {
    for (reason, name) in [
        ("EMAIL_ALREADY_EXISTS", "EmailAlreadyExists"),
        ("ACCOUNT_LIMIT_EXCEEDED", "AccountLimitExceeded"),
        ("CONCURRENT_ACCOUNT_MODIFICATION", "ConcurrentAccountModification"),
    ] {
        let w = world().await;
        w.fakes.directory.0.lock().expect("lock").creation_script = [Creation::Failed { reason: reason.into() }].into();
        let e = run(&w, reason, request("acme")).await;
        assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some(name)), "{reason}");
        let notified = w.notified.lock().expect("lock").clone();
        assert_eq!(notified.len(), 1);
        assert!(notified[0].contains("FAILED at AwaitAccount"), "{notified:?}");
        let l = w.fakes.ledger.0.lock().expect("lock");
        assert_eq!(l.claims.values().next().map(|c| c.0.as_str()), Some("failed"));
        assert!(l.holders.is_empty(), "the slot is released on failure too");
    }
}

#[tokio::test]
async fn a_failed_region_quarantines_the_account_and_a_rerun_resumes() {
    let w = world().await;
    w.fakes.stack_sets.fail_region("us-west-2", Some("Resource handler returned message: VPC limit exceeded"));
    let e = run(&w, "first", request("acme")).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("BaselineFailed")));
    assert!(
        e.cause.as_deref().is_some_and(|c| c.contains("us-west-2 OUTDATED (FAILED): Resource handler")),
        "{:?}",
        e.cause
    );
    let account = w.fakes.directory.0.lock().expect("lock").accounts[0].id.clone();
    assert_eq!(w.fakes.directory.0.lock().expect("lock").parents[&account], "ou-quarantine");
    assert!(w.notified.lock().expect("lock")[0].contains("FAILED at Baseline"));

    // The cause is fixed; the same request again takes over the failed claim and resumes with
    // the same account: out of quarantine, the OUTDATED region re-applied (not created again).
    w.fakes.stack_sets.fail_region("us-west-2", None);
    let e = run(&w, "rerun", request("acme")).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    assert_eq!(account_of(&e), account);
    assert_eq!(w.fakes.directory.0.lock().expect("lock").parents[&account], "ou-development");
    assert_eq!(w.fakes.directory.0.lock().expect("lock").accounts.len(), 1, "never a second account");
    let calls = w.fakes.stack_sets.calls();
    assert_eq!(calls.iter().filter(|c| *c == "CreateStackInstances").count(), 1, "{calls:?}");
    assert_eq!(calls.iter().filter(|c| *c == "UpdateStackInstances").count(), 1, "{calls:?}");
}

#[tokio::test]
async fn throttling_and_a_busy_stack_set_are_retried() {
    let w = world().await;
    w.fakes
        .directory
        .0
        .lock()
        .expect("lock")
        .failures
        .insert("ListAccounts", [common::throttled("ListAccounts"), common::throttled("ListAccounts")].into());
    w.fakes.stack_sets.fail_next(
        "CreateStackInstances",
        AwsError::new(ErrorClass::OperationInProgress, "CreateStackInstances", "another operation is in progress"),
    );
    w.fakes.stack_sets.script_operations(vec![
        OperationStatus::Running,
        OperationStatus::Running,
        OperationStatus::Succeeded,
    ]);
    let e = run(&w, "busy", request("acme")).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let calls = w.fakes.directory.calls();
    assert_eq!(calls.iter().filter(|c| *c == "ListAccounts").count(), 3, "two throttles, then through");
    let calls = w.fakes.stack_sets.calls();
    assert_eq!(calls.iter().filter(|c| *c == "CreateStackInstances").count(), 2);
    assert_eq!(calls.iter().filter(|c| *c == "DescribeStackSetOperation").count(), 3);
}

#[tokio::test]
async fn a_duplicate_delivery_joins_and_an_invalid_request_is_rejected() {
    let w = world().await;
    let first = run(&w, "first", request("acme")).await;
    assert_eq!(first.status, Status::Succeeded);
    let second = run(&w, "second", request("acme")).await;
    assert_eq!(second.status, Status::Succeeded);
    assert!(second.history.iter().any(|h| h.state.as_deref() == Some("Joined")), "joined: {:?}", second.history);
    assert_eq!(w.fakes.directory.0.lock().expect("lock").accounts.len(), 1);
    assert_eq!(w.published.lock().expect("lock").len(), 1, "one hand-over");

    let mut bad = request("acme");
    bad["detail"]["email"] = json!("nope");
    let e = run(&w, "bad", bad).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("InvalidRequest")));
    assert!(w.notified.lock().expect("lock").iter().any(|s| s.contains("REJECTED")));
}

/// Many requests at once: never more than `max_in_flight` (2) vendings past the slot; every
/// one finishes. The peak is measured, not assumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vendings_in_flight_never_exceed_the_limit() {
    let w = world().await;
    w.fakes.ledger.0.lock().expect("lock").refusal_delay = Duration::from_millis(20);
    let clients = ["acme", "globex", "initech", "hooli", "umbrella", "wonka"];
    let runs = clients.iter().map(|c| {
        let w = w.clone();
        let name = c.to_string();
        tokio::spawn(async move { run(&w, &name, request(&name)).await })
    });
    let mut succeeded = 0;
    for r in runs.collect::<Vec<_>>() {
        let e = r.await.expect("task");
        assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
        succeeded += 1;
    }
    let peak = w.fakes.ledger.0.lock().expect("lock").peak;
    println!("{succeeded} vendings, peak in flight {peak} (limit 2)");
    assert_eq!(succeeded, clients.len());
    assert_eq!(peak, 2, "the limit is reached and never passed");
}

/// A re-run that finds one region OUTDATED and another never created creates the second, then
/// goes round once more to re-apply the first.
#[tokio::test]
async fn outdated_and_missing_regions_take_two_baseline_rounds() {
    let w = world().await;
    let first = run(&w, "first", request("acme")).await;
    assert_eq!(first.status, Status::Succeeded);
    let account = account_of(&first);
    // As an earlier run may leave them: us-east-1 OUTDATED, us-west-2 never created.
    let sets = &w.fakes.stack_sets;
    let instances = sets.instances(&w.fakes.baseline, &account).await.expect("instances");
    let east = instances.into_iter().find(|i| i.region == "us-east-1").expect("us-east-1");
    sets.remove_instance(&w.fakes.baseline, &account, "us-west-2");
    sets.seed_instance(&w.fakes.baseline, &account, Instance { status: InstanceStatus::Outdated, ..east });
    // A failed claim lets the same request run again.
    w.fakes.ledger.0.lock().expect("lock").claims.values_mut().for_each(|c| c.0 = "failed".into());
    let e = run(&w, "again", request("acme")).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let calls = sets.calls();
    let kinds: Vec<&String> =
        calls.iter().filter(|c| *c == "CreateStackInstances" || *c == "UpdateStackInstances").collect();
    assert_eq!(kinds, ["CreateStackInstances", "CreateStackInstances", "UpdateStackInstances"]);
    let instances = sets.instances(&w.fakes.baseline, &account).await.expect("instances");
    let regions: Vec<(&str, &str)> = instances.iter().map(|i| (i.region.as_str(), i.status.as_str())).collect();
    assert_eq!(regions, [("us-east-1", "CURRENT"), ("us-west-2", "CURRENT")]);
}

/// GIVEN Organizations failing every CreateAccount inside itself (INTERNAL_FAILURE) WHEN the
/// vending runs THEN it asks three times in all, each request polled once, and then fails
/// `AccountCreationFailed`, not retried by AwaitAccount: no further poll of a request that has
/// already failed; the failure is notified as AwaitAccount's and the claim marked failed.
#[tokio::test]
async fn internal_failures_ask_three_times_then_fail_without_polling_again() {
    let w = world().await;
    w.fakes.directory.0.lock().expect("lock").creation_script =
        [Creation::Failed { reason: "INTERNAL_FAILURE".into() }].into();
    let e = run(&w, "internal", request("acme")).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("AccountCreationFailed")), "{:?}", e.cause);
    let calls = w.fakes.directory.calls();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(count("CreateAccount"), 3, "{calls:?}");
    assert_eq!(count("DescribeCreateAccountStatus"), 3, "one poll per request, none retried: {calls:?}");
    let notified = w.notified.lock().expect("lock").clone();
    assert_eq!(notified.len(), 1);
    assert!(notified[0].contains("FAILED at AwaitAccount"), "{notified:?}");
    let l = w.fakes.ledger.0.lock().expect("lock");
    assert_eq!(l.claims.values().next().map(|c| c.0.as_str()), Some("failed"));
    assert!(l.holders.is_empty(), "the slot is released");
}
