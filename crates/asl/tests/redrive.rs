//! Executions stopped mid-way and redriven: what finished is kept, what did not runs again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use asl::{
    Execution, Failure, RedriveError, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest,
    execute, redrive,
};
use async_trait::async_trait;
use serde_json::{Value, json};

/// Lambda tasks that echo their payload, counted by (function, payload); functions named in
/// `failing` fail while they are there.
#[derive(Debug, Default)]
struct Counted {
    calls: Mutex<BTreeMap<String, u32>>,
    failing: Mutex<Vec<String>>,
}

impl Counted {
    fn calls(&self) -> BTreeMap<String, u32> {
        self.calls.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Resolver for Counted {
    async fn run(&self, request: TaskRequest, _: &TaskContext) -> Result<TaskOutput, Failure> {
        let TaskRequest::Lambda { function, payload } = request else {
            return Err(Failure::new("States.Runtime", "only Lambda tasks here"));
        };
        // Keys sorted whatever serde_json's map order (`preserve_order` may be on in a workspace build).
        let sorted: BTreeMap<String, Value> =
            payload.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
        let key = format!("{function} {}", serde_json::to_string(&sorted).unwrap_or_default());
        *self.calls.lock().expect("lock").entry(key).or_default() += 1;
        if self.failing.lock().expect("lock").contains(&function) {
            return Err(Failure::new("Boom", format!("{function} failed")));
        }
        Ok(TaskOutput::now(payload))
    }
}

fn lambda(function: &str, payload: Value, next: Option<&str>) -> Value {
    let mut state = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload": payload}, "OutputPath": "$.Payload"});
    match next {
        Some(n) => state["Next"] = json!(n),
        None => state["End"] = json!(true),
    }
    state
}

fn machine(definition: Value) -> StateMachine {
    StateMachine::from_value(&definition).expect("definition loads")
}

async fn first(machine: &StateMachine, stop_after: Option<&str>, tasks: &Arc<Counted>) -> Execution {
    let mut start = Start::named("redriven");
    start.stop_after = stop_after.map(str::to_string);
    execute(machine, json!({"n": 1}), start, tasks.clone()).await
}

fn kinds(e: &Execution) -> Vec<&str> {
    e.history.iter().map(|h| h.kind.as_str()).collect()
}

fn linear() -> StateMachine {
    machine(json!({"StartAt": "A", "States": {
        "A": lambda("a", json!({"step": "a"}), Some("B")),
        "B": lambda("b", json!({"step": "b"}), Some("C")),
        "C": lambda("c", json!({"step": "c", "redrives.$": "$$.Execution.RedriveCount"}), None),
    }}))
}

/// GIVEN an execution stopped after B ran WHEN it is redriven THEN B runs again, A does not,
/// and the execution ends as an uninterrupted one would, its history continued.
#[tokio::test]
async fn a_stopped_execution_redriven_runs_the_unfinished_state_again_and_nothing_before_it() {
    let tasks = Arc::new(Counted::default());
    let stopped = first(&linear(), Some("B"), &tasks).await;
    assert_eq!(stopped.status, Status::Aborted);
    assert!(stopped.cause.as_deref().is_some_and(|c| c.contains("`B`")), "{:?}", stopped.cause);
    assert_eq!(tasks.calls().len(), 2, "A and B ran; C did not: {:?}", tasks.calls());
    let events = stopped.history.len();

    let done = redrive(&linear(), stopped, Start::named("ignored"), tasks.clone()).await.expect("redrivable");
    assert_eq!(done.status, Status::Succeeded);
    assert_eq!(done.name, "redriven", "the same execution");
    assert_eq!(done.output, Some(json!({"step": "c", "redrives": 1})));
    let calls = tasks.calls();
    assert_eq!(calls[r#"a {"step":"a"}"#], 1, "A finished: not run again");
    assert_eq!(calls[r#"b {"step":"b"}"#], 2, "B had not recorded its result: run again");
    assert_eq!(calls[r#"c {"redrives":1,"step":"c"}"#], 1);
    let kinds = kinds(&done);
    assert_eq!(kinds[events - 1], "ExecutionAborted");
    assert_eq!(kinds[events], "ExecutionRedriven");
    assert_eq!(kinds.iter().filter(|k| **k == "TaskStateEntered").count(), 4, "A, B, then B and C");
    assert_eq!(done.transitions, 2, "a redrive counts only the states it runs");
}

/// GIVEN a failed execution WHEN the cause is mended and it is redriven THEN it continues from
/// the failed state; a succeeded execution cannot be redriven.
#[tokio::test]
async fn a_failed_execution_continues_from_the_failed_state_and_a_succeeded_one_is_refused() {
    let tasks = Arc::new(Counted::default());
    tasks.failing.lock().expect("lock").push("b".into());
    let failed = first(&linear(), None, &tasks).await;
    assert_eq!((failed.status, failed.error.as_deref()), (Status::Failed, Some("Boom")));
    tasks.failing.lock().expect("lock").clear();
    let done = redrive(&linear(), failed, Start::named("x"), tasks.clone()).await.expect("redrivable");
    assert_eq!(done.status, Status::Succeeded);
    assert_eq!(tasks.calls()[r#"a {"step":"a"}"#], 1);
    assert_eq!(tasks.calls()[r#"b {"step":"b"}"#], 2);

    let refused = redrive(&linear(), done, Start::named("x"), tasks.clone()).await;
    assert_eq!(refused.err(), Some(RedriveError::NotRedrivable("redriven".into())));
}

/// GIVEN a stop point inside a state with a catch-all Retry and Catch WHEN the execution stops
/// there THEN nothing retries or catches it: a stop is not a failure of the state.
#[tokio::test]
async fn a_stop_is_neither_retried_nor_caught() {
    let mut guarded = lambda("a", json!({}), Some("Done"));
    guarded["Retry"] = json!([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]);
    guarded["Catch"] = json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]);
    let m = machine(json!({"StartAt": "A", "States": {
        "A": guarded, "Done": {"Type": "Succeed"}, "Caught": {"Type": "Fail", "Error": "Caught"}}}));
    let tasks = Arc::new(Counted::default());
    let stopped = first(&m, Some("A"), &tasks).await;
    assert_eq!(stopped.status, Status::Aborted);
    assert_eq!(tasks.calls().values().sum::<u32>(), 1, "not retried");
    assert!(!kinds(&stopped).contains(&"FailStateEntered"), "not caught");
}

/// GIVEN a Map whose second iteration stops after its task ran WHEN redriven THEN only that
/// iteration runs again, from that task; the others' results are kept, in order.
#[tokio::test]
async fn a_map_redrives_only_the_iteration_that_did_not_finish() {
    let m = machine(json!({"StartAt": "Tiers", "States": {"Tiers": {
    "Type": "Map", "ItemsPath": "$.tiers", "MaxConcurrency": 1, "End": true,
    "ItemProcessor": {"StartAt": "Which", "States": {
        "Which": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "Risky"}],
            "Default": "Apply"},
        "Apply": lambda("apply", json!({"tier.$": "$"}), None),
        "Risky": lambda("risky", json!({"tier.$": "$"}), Some("Verify")),
        "Verify": lambda("verify", json!({"tier.$": "$.tier"}), None),
    }}}}}));
    let tasks = Arc::new(Counted::default());
    let mut start = Start::named("tiers");
    start.stop_after = Some("Risky".into());
    let stopped = execute(&m, json!({"tiers": [0, 1, 2]}), start, tasks.clone()).await;
    assert_eq!(stopped.status, Status::Aborted);
    assert_eq!(tasks.calls().keys().cloned().collect::<Vec<_>>(), [r#"apply {"tier":0}"#, r#"risky {"tier":1}"#]);

    let done = redrive(&m, stopped, Start::named("x"), tasks.clone()).await.expect("redrivable");
    assert_eq!(done.status, Status::Succeeded);
    assert_eq!(done.output, Some(json!([{"tier": 0}, {"tier": 1}, {"tier": 2}])));
    let calls = tasks.calls();
    assert_eq!(calls[r#"apply {"tier":0}"#], 1, "iteration 0 finished: kept");
    assert_eq!(calls[r#"risky {"tier":1}"#], 2, "iteration 1 stopped after its task: the task runs again");
    assert_eq!(calls[r#"verify {"tier":1}"#], 1);
    assert_eq!(calls[r#"apply {"tier":2}"#], 1, "iteration 2 had not started: runs once");
}

/// GIVEN a Parallel whose second branch stops WHEN redriven THEN the first branch is not run again.
#[tokio::test]
async fn a_parallel_redrives_only_the_branch_that_did_not_finish() {
    let m = machine(json!({"StartAt": "Both", "States": {"Both": {
    "Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "L", "States": {"L": lambda("left", json!({"side": "l"}), None)}},
        {"StartAt": "R", "States": {"R": lambda("right", json!({"side": "r"}), Some("R2")),
            "R2": lambda("right2", json!({"side": "r2"}), None)}},
    ]}}}));
    let tasks = Arc::new(Counted::default());
    let stopped = first(&m, Some("R2"), &tasks).await;
    assert_eq!(stopped.status, Status::Aborted);
    let done = redrive(&m, stopped, Start::named("x"), tasks.clone()).await.expect("redrivable");
    assert_eq!(done.output, Some(json!([{"side": "l"}, {"side": "r2"}])));
    let calls = tasks.calls();
    assert_eq!(
        (calls[r#"left {"side":"l"}"#], calls[r#"right {"side":"r"}"#], calls[r#"right2 {"side":"r2"}"#]),
        (1, 1, 2)
    );
}
