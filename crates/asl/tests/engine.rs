//! The engine, feature by feature: data flow, every state type, retries and catches, the clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::engine::errors;
use asl::{
    Execution, Failure, NoTasks, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute,
};
use async_trait::async_trait;
use serde_json::{Value, json};

/// Lambda functions scripted per name: each call takes the next answer (the last one repeats).
#[derive(Debug, Default)]
struct Scripted {
    answers: Mutex<BTreeMap<String, Vec<Result<TaskOutput, Failure>>>>,
    calls: Mutex<Vec<(String, Value, u32)>>,
}

impl Scripted {
    fn with(self, function: &str, answers: Vec<Result<TaskOutput, Failure>>) -> Scripted {
        self.answers.lock().expect("lock").insert(function.to_string(), answers);
        self
    }

    fn calls(&self) -> Vec<(String, Value, u32)> {
        self.calls.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Resolver for Scripted {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        let (name, payload) = match request {
            TaskRequest::Lambda { function, payload } => (function, payload),
            TaskRequest::Service { service, action, parameters } => (format!("{service}:{action}"), parameters),
            TaskRequest::StartExecution { state_machine_arn, input, .. } => (state_machine_arn, input),
        };
        self.calls.lock().expect("lock").push((name.clone(), payload.clone(), context.attempt));
        let mut answers = self.answers.lock().expect("lock");
        match answers.get_mut(&name) {
            Some(list) if list.len() > 1 => list.remove(0),
            Some(list) if list.len() == 1 => list[0].clone(),
            // Unscripted functions echo their payload.
            _ => Ok(TaskOutput::now(payload)),
        }
    }
}

async fn run_with(definition: Value, input: Value, resolver: Arc<dyn Resolver>) -> Execution {
    let machine = StateMachine::from_value(&definition).expect("definition loads");
    execute(&machine, input, Start::named("test"), resolver).await
}

async fn run(definition: Value, input: Value) -> Execution {
    run_with(definition, input, Arc::new(NoTasks)).await
}

fn single(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

#[tokio::test]
async fn pass_applies_the_data_flow_fields_in_order() {
    let e = run(
        single(json!({
            "Type": "Pass",
            "InputPath": "$.in",
            "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)", "name.$": "$$.Execution.Name"},
            "ResultPath": "$.in.result",
            "OutputPath": "$.in",
            "End": true
        })),
        json!({"in": {"n": 21}, "other": true}),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.output, Some(json!({"n": 21, "result": {"doubled": 42, "name": "test"}})));
    assert_eq!(e.transitions, 1);
}

#[tokio::test]
async fn null_paths_mean_empty_input_and_discarded_results() {
    let e = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "Next": "B"},
            "B": {"Type": "Pass", "InputPath": null, "Next": "C"},
            "C": {"Type": "Pass", "Result": {"x": 1}, "OutputPath": null, "End": true}
        }}),
        json!({"keep": 1}),
    )
    .await;
    assert_eq!(e.output, Some(json!({})));
    let b_in =
        e.history.iter().find(|h| h.kind == "PassStateExited" && h.state.as_deref() == Some("A")).expect("A exits");
    assert_eq!(b_in.details["output"], json!("{\"keep\":1}"));
}

#[tokio::test]
async fn choice_routes_and_reports_no_match() {
    let definition = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"And": [{"Variable": "$.n", "IsPresent": true}, {"Variable": "$.n", "NumericLessThan": 0}], "Next": "Negative"}
        ]},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Negative": {"Type": "Pass", "Result": "negative", "End": true}
    }});
    assert_eq!(run(definition.clone(), json!({"n": 11})).await.output, Some(json!("big")));
    assert_eq!(run(definition.clone(), json!({"n": -1})).await.output, Some(json!("negative")));
    let none = run(definition, json!({"n": 5})).await;
    assert_eq!((none.status, none.error.as_deref()), (Status::Failed, Some(errors::NO_CHOICE)));
}

#[tokio::test]
async fn waits_advance_the_virtual_clock_only() {
    let started = std::time::Instant::now();
    let e = run(
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
            "P": {"Type": "Wait", "SecondsPath": "$.s", "End": true}
        }}),
        json!({"s": 60}),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.duration, Duration::from_secs(3660));
    assert!(started.elapsed() < Duration::from_secs(1), "no real time passes");
    let exited = e.history.iter().filter(|h| h.kind == "WaitStateExited").map(|h| h.timestamp).collect::<Vec<_>>();
    assert_eq!((exited[1] - exited[0]).num_seconds(), 60);
}

#[tokio::test]
async fn wait_until_a_timestamp() {
    let machine = StateMachine::from_value(&single(json!({"Type": "Wait", "TimestampPath": "$.at", "End": true})))
        .expect("loads");
    let mut start = Start::named("t");
    start.started =
        chrono::DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").expect("ts").with_timezone(&chrono::Utc);
    let e = execute(&machine, json!({"at": "2026-11-24T10:05:00Z"}), start, Arc::new(NoTasks)).await;
    assert_eq!(e.duration, Duration::from_secs(300));
}

#[tokio::test]
async fn fail_states_report_error_and_cause_from_paths() {
    let e = run(single(json!({"Type": "Fail", "ErrorPath": "$.e", "Cause": "it broke"})), json!({"e": "Custom.Error"}))
        .await;
    assert_eq!(
        (e.status, e.error.as_deref(), e.cause.as_deref()),
        (Status::Failed, Some("Custom.Error"), Some("it broke"))
    );
}

#[tokio::test]
async fn lambda_invoke_results_are_wrapped_and_plain_arns_are_not() {
    let resolver = Arc::new(Scripted::default().with("deploy", vec![Ok(TaskOutput::now(json!({"ok": true})))]));
    let e = run_with(
        json!({"StartAt": "Wrapped", "States": {
            "Wrapped": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "deploy", "Payload.$": "$"},
                        "ResultSelector": {"ok.$": "$.Payload.ok", "status.$": "$.StatusCode"}, "ResultPath": "$.wrapped", "Next": "Plain"},
            "Plain": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "ResultPath": "$.plain", "End": true}
        }}),
        json!({"a": 1}),
        resolver.clone(),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    let out = e.output.expect("output");
    assert_eq!(out["wrapped"], json!({"ok": true, "status": 200}));
    assert_eq!(out["plain"], json!({"a": 1, "wrapped": {"ok": true, "status": 200}}));
    let kinds: Vec<&str> = e.history.iter().map(|h| h.kind.as_str()).collect();
    assert!(kinds.contains(&"TaskScheduled") && kinds.contains(&"LambdaFunctionSucceeded"), "{kinds:?}");
}

#[tokio::test]
async fn retries_back_off_on_the_virtual_clock_then_succeed() {
    let flaky = vec![
        Err(Failure::lambda("Lambda.TooManyRequestsException", "slow down")),
        Err(Failure::lambda("Lambda.TooManyRequestsException", "slow down")),
        Ok(TaskOutput::now(json!("done"))),
    ];
    let resolver = Arc::new(Scripted::default().with("f", flaky));
    let e = run_with(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f"}, "OutputPath": "$.Payload",
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 5}],
            "End": true})),
        json!({}),
        resolver.clone(),
    )
    .await;
    assert_eq!(e.output, Some(json!("done")));
    // 2 s, then 2 * 3 = 6 s of backoff.
    assert_eq!(e.duration, Duration::from_secs(8));
    assert_eq!(resolver.calls().iter().map(|c| c.2).collect::<Vec<_>>(), [0, 1, 2]);
}

#[tokio::test]
async fn each_retry_sees_its_retry_count() {
    let flaky = vec![Err(Failure::lambda("Flaky", "once")), Ok(TaskOutput::now(json!("ok")))];
    let resolver = Arc::new(Scripted::default().with("f", flaky));
    let e = run_with(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload": {"retry.$": "$$.State.RetryCount"}},
            "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 1}], "End": true})),
        json!({}),
        resolver.clone(),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded);
    let payloads: Vec<Value> = resolver.calls().into_iter().map(|c| c.1).collect();
    assert_eq!(payloads, [json!({"retry": 0}), json!({"retry": 1})]);
}

#[tokio::test]
async fn max_delay_caps_the_backoff_and_exhausted_retries_fall_to_catch() {
    let resolver = Arc::new(Scripted::default().with("f", vec![Err(Failure::lambda("Boom", "always"))]));
    let e = run_with(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
                  "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 3, "MaxDelaySeconds": 30}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}],
                  "End": true},
            "Handled": {"Type": "Pass", "End": true}
        }}),
        json!({"input": 1}),
        resolver.clone(),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded);
    let out = e.output.expect("output");
    assert_eq!(out["input"], 1);
    assert_eq!(out["error"]["Error"], "Boom");
    assert!(out["error"]["Cause"].as_str().expect("cause").contains("always"));
    assert_eq!(resolver.calls().len(), 4);
    assert_eq!(e.duration, Duration::from_secs(10 + 30 + 30));
}

#[tokio::test]
async fn task_timeouts_use_the_reported_duration() {
    let slow = vec![Ok(TaskOutput { value: json!(1), duration: Duration::from_secs(120) })];
    let resolver = Arc::new(Scripted::default().with("slow", slow));
    let e = run_with(
        single(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "slow"},
            "TimeoutSeconds": 60, "End": true}),
        ),
        json!({}),
        resolver,
    )
    .await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some(errors::TIMEOUT)));
    assert_eq!(e.duration, Duration::from_secs(60));
}

/// GIVEN a task that fails after running a while (a `.sync` child that failed 25 minutes in)
/// THEN the failure lands then: the parent's clock includes the child's run, and its timeout
/// still cuts it short.
#[tokio::test]
async fn a_task_that_fails_late_fails_at_its_own_time() {
    let late = || vec![Err(Failure::new("States.TaskFailed", "the child failed").after(Duration::from_secs(1500)))];
    let task = |timeout: u64| {
        single(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "late"},
            "TimeoutSeconds": timeout, "End": true}),
        )
    };
    let e = run_with(task(3600), json!({}), Arc::new(Scripted::default().with("late", late()))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("States.TaskFailed")));
    assert_eq!(e.duration, Duration::from_secs(1500));
    let e = run_with(task(600), json!({}), Arc::new(Scripted::default().with("late", late()))).await;
    assert_eq!((e.error.as_deref(), e.duration), (Some(errors::TIMEOUT), Duration::from_secs(600)));
}

#[tokio::test]
async fn the_execution_timeout_stops_a_long_run() {
    let e = run(
        json!({"StartAt": "W", "TimeoutSeconds": 10, "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
        json!({}),
    )
    .await;
    assert_eq!(e.status, Status::TimedOut);
}

#[tokio::test]
async fn runtime_errors_are_not_caught_by_states_all() {
    let e = run(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.missing"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": true},
            "Handled": {"Type": "Succeed"}
        }}),
        json!({}),
    )
    .await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some(errors::RUNTIME)));
}

#[tokio::test]
async fn parallel_branches_run_together_and_the_longest_sets_the_pace() {
    let e = run(
        single(json!({"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 5, "Next": "A2"}, "A2": {"Type": "Pass", "Result": "a", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 9, "Next": "B2"}, "B2": {"Type": "Pass", "Result": "b", "End": true}}}
        ]})),
        json!({}),
    )
    .await;
    assert_eq!(e.output, Some(json!(["a", "b"])));
    assert_eq!(e.duration, Duration::from_secs(9));
    assert_eq!(e.transitions, 5);
}

#[tokio::test]
async fn a_failed_branch_fails_the_parallel_state() {
    let e = run(
        single(json!({"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "Branch.Broke"}}}
        ]})),
        json!({}),
    )
    .await;
    assert_eq!(e.error.as_deref(), Some("Branch.Broke"));
}

#[tokio::test]
async fn map_selects_items_keeps_order_and_schedules_by_concurrency() {
    let e = run(
        single(json!({"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "env.$": "$.env"},
            "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.value", "End": true}}},
            "End": true})),
        json!({"items": [3, 1, 1, 2], "env": "dev"}),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded);
    let out = e.output.expect("output");
    assert_eq!(out[0], json!({"value": 3, "index": 0, "env": "dev"}));
    assert_eq!(out[3]["index"], 3);
    // Two workers: [3] and [1, 1, 2] -> 4 s.
    assert_eq!(e.duration, Duration::from_secs(4));
}

#[tokio::test]
async fn map_tolerates_failures_up_to_the_threshold() {
    let processor = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Bad"}], "Default": "Ok"},
        "Bad": {"Type": "Fail", "Error": "Item.Bad"},
        "Ok": {"Type": "Pass", "End": true}
    }});
    let tolerant = run(
        single(json!({"Type": "Map", "ToleratedFailureCount": 1, "ItemProcessor": processor.clone(), "End": true})),
        json!([1, 0, 2]),
    )
    .await;
    assert_eq!(tolerant.output, Some(json!([1, {"Error": "Item.Bad", "Cause": ""}, 2])));
    let strict =
        run(single(json!({"Type": "Map", "ItemProcessor": processor.clone(), "End": true})), json!([1, 0, 2])).await;
    assert_eq!(strict.error.as_deref(), Some("Item.Bad"));
    let beyond = run(
        single(json!({"Type": "Map", "ToleratedFailurePercentage": 10, "ItemProcessor": processor, "End": true})),
        json!([0, 0, 2]),
    )
    .await;
    assert_eq!(beyond.error.as_deref(), Some(errors::TOLERATED_FAILURE));
}

#[tokio::test]
async fn payloads_over_256_kib_fail_with_data_limit_exceeded() {
    let big = "x".repeat(300 * 1024);
    let e = run(single(json!({"Type": "Pass", "Result": big, "End": true})), json!({})).await;
    assert_eq!(e.error.as_deref(), Some(errors::DATA_LIMIT));
}

#[tokio::test]
async fn nested_sync_executions_get_the_step_functions_shape() {
    let resolver = Arc::new(Scripted::default().with(
        "arn:aws:states:us-east-1:123456789012:stateMachine:child",
        vec![Ok(TaskOutput::now(json!({"done": 1})))],
    ));
    let e = run_with(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child", "Input": {"x.$": "$.x"}, "Name": "child-1"},
            "OutputPath": "$.Output", "End": true})),
        json!({"x": 5}),
        resolver.clone(),
    )
    .await;
    assert_eq!(e.output, Some(json!({"done": 1})));
    assert_eq!(resolver.calls()[0].1, json!({"x": 5}));
    let v1 = run_with(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child", "Input": {"x": 1}},
            "OutputPath": "$.Output", "End": true})),
        json!({}),
        resolver,
    )
    .await;
    assert_eq!(v1.output, Some(json!("{\"done\":1}")), ".sync returns the output as JSON text");
}

#[tokio::test]
async fn history_has_the_aws_event_types_in_order() {
    let e = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "S"}, "S": {"Type": "Succeed"}}}),
        json!({}),
    )
    .await;
    let kinds: Vec<&str> = e.history.iter().map(|h| h.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert!(e.history.windows(2).all(|w| w[1].id == w[0].id + 1));
}

#[tokio::test]
async fn an_untolerated_map_failure_starts_no_further_iterations() {
    let processor = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}}});
    let scripted = Arc::new(Scripted::default().with(
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        vec![
            Ok(TaskOutput::now(json!("ok"))),
            Err(Failure::new("Item.Bad", "second")),
            Ok(TaskOutput::now(json!("ok"))),
        ],
    ));
    let e = run_with(
        single(json!({"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor, "End": true})),
        json!([1, 2, 3]),
        scripted.clone(),
    )
    .await;
    assert_eq!(e.error.as_deref(), Some("Item.Bad"));
    assert_eq!(scripted.calls().len(), 2, "the third item is never started");
}
