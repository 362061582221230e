//! Callback tasks (`.waitForTaskToken`): answers, retries, catches, deadlines and heartbeats.

mod support;

use std::time::Duration;

use asl::engine::errors;
use asl::{CallbackError, Failure, Status, TaskRequest};
use serde_json::json;
use support::{Calls, at, callback, kinds, single, start, start_with, t0, when};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_answered_from_another_task_is_the_output() {
    let run = start(single(callback(json!({"End": true}))), json!({"account": "1234"}));
    let pending = run.pending(1).await;
    let task = &pending[0];
    assert_eq!((task.execution.as_str(), task.state.as_str(), task.attempt), ("callback-test", "S", 0));
    assert_eq!(task.issued, t0());
    assert_eq!(task.timeout_at, at(99_999_999), "the default TimeoutSeconds bounds the wait");
    assert_eq!(task.heartbeat_at, None);
    let (request, token) = run.calls.made(1).await.remove(0);
    assert!(
        matches!(&request, TaskRequest::Service { service, action, .. } if service == "sqs" && action == "sendMessage"),
        "the resolver gets the plain action: {request:?}"
    );
    assert_eq!(token.as_deref(), Some(task.token.as_str()), "the resolver knows the call is a callback");
    assert_eq!(run.calls.body(0), json!({"token": task.token, "item": {"account": "1234"}}));

    let tokens = run.tokens.clone();
    let token = task.token.clone();
    let answered = tokio::spawn(async move { tokens.send_success(&token, json!({"approved": true}), at(90)) });
    assert_eq!(answered.await.expect("answer task"), Ok(()));
    let e = run.finish().await;
    assert_eq!((e.status, e.output.clone()), (Status::Succeeded, Some(json!({"approved": true}))));
    assert_eq!(e.duration, Duration::from_secs(90), "the answer's instant ends the task");
    let task_events: Vec<&str> =
        kinds(&e).into_iter().filter(|k| k.starts_with("Task") && *k != "TaskStateEntered").collect();
    assert_eq!(task_events, ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited"]);
    assert_eq!(when(&e, "TaskSucceeded"), Some(90));
    assert!(e.history.iter().any(|h| h.kind == "TaskSubmitted" && h.details["output"] == "{\"MessageId\":\"m-1\"}"));
}

#[tokio::test]
async fn a_lambda_callback_invokes_the_function_and_takes_the_answer_unwrapped() {
    let run = start(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "approve", "Payload": {"token.$": "$$.Task.Token"}}, "End": true})),
        json!({}),
    );
    let task = run.pending(1).await.remove(0);
    assert!(matches!(&run.calls.made(1).await[0].0, TaskRequest::Lambda { function, .. } if function == "approve"));
    assert_eq!(run.calls.body(0), json!({"token": task.token}));
    run.tokens.send_success(&task.token, json!("yes"), at(5)).expect("answered");
    let e = run.finish().await;
    assert_eq!(e.output, Some(json!("yes")), "a callback's result is the answer, not a Lambda response");
}

#[tokio::test]
async fn a_failure_answered_goes_to_the_catcher() {
    let run = start(
        json!({"StartAt": "Ask", "States": {
            "Ask": callback(json!({"Catch": [{"ErrorEquals": ["Approval.Rejected"], "ResultPath": "$.error", "Next": "Rejected"}], "End": true})),
            "Rejected": {"Type": "Pass", "End": true}
        }}),
        json!({"account": "1234"}),
    );
    let task = run.pending(1).await.remove(0);
    run.tokens.send_failure(&task.token, "Approval.Rejected", "the owner said no", at(30)).expect("answered");
    let e = run.finish().await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(
        e.output,
        Some(json!({"account": "1234", "error": {"Error": "Approval.Rejected", "Cause": "the owner said no"}}))
    );
    assert_eq!(when(&e, "TaskFailed"), Some(30));
    assert_eq!(e.duration, Duration::from_secs(30));
}

#[tokio::test]
async fn each_retry_waits_on_a_new_token() {
    let run = start(
        single(callback(
            json!({"Retry": [{"ErrorEquals": ["Approval.Later"], "IntervalSeconds": 10, "MaxAttempts": 2}], "End": true}),
        )),
        json!({}),
    );
    let first = run.attempt(0).await;
    run.tokens.send_failure(&first.token, "Approval.Later", "ask again", at(5)).expect("answered");
    let second = run.attempt(1).await;
    assert_ne!(first.token, second.token);
    assert_eq!(second.issued, at(15), "the retry starts after the failure and the backoff");
    run.calls.made(2).await;
    assert_eq!(run.calls.body(1)["token"], json!(second.token), "the retry's Parameters carry its own token");
    assert!(matches!(
        run.tokens.send_success(&first.token, json!({}), at(16)),
        Err(CallbackError::TaskTimedOut { .. })
    ));
    run.tokens.send_success(&second.token, json!({"ok": 1}), at(20)).expect("answered");
    let e = run.finish().await;
    assert_eq!(
        (e.status, e.output.clone(), e.duration),
        (Status::Succeeded, Some(json!({"ok": 1})), Duration::from_secs(20))
    );
}

#[tokio::test]
async fn no_answer_times_out_at_the_deadline_not_when_the_clock_is_moved() {
    let run = start(single(callback(json!({"TimeoutSeconds": 300, "End": true}))), json!({}));
    let tokens = run.tokens.clone();
    let task = run.pending(1).await.remove(0);
    assert_eq!(task.timeout_at, at(300));
    tokens.advance(at(299));
    assert_eq!(tokens.pending().len(), 1, "the deadline has not passed yet");
    tokens.advance(at(1000));
    let e = run.finish().await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some(errors::TIMEOUT)));
    assert_eq!(e.duration, Duration::from_secs(300));
    assert_eq!(when(&e, "TaskTimedOut"), Some(300));
    assert!(matches!(tokens.send_success(&task.token, json!({}), at(200)), Err(CallbackError::TaskTimedOut { .. })));
}

#[tokio::test]
async fn heartbeats_keep_a_task_alive_until_they_stop() {
    let run = start(single(callback(json!({"TimeoutSeconds": 600, "HeartbeatSeconds": 60, "End": true}))), json!({}));
    let task = run.pending(1).await.remove(0);
    assert_eq!(task.heartbeat_at, Some(at(60)));
    run.tokens.send_heartbeat(&task.token, at(50)).expect("alive");
    run.tokens.send_heartbeat(&task.token, at(100)).expect("alive");
    assert_eq!(run.tokens.pending()[0].heartbeat_at, Some(at(160)));
    run.tokens.advance(at(150));
    assert_eq!(run.tokens.pending().len(), 1, "the last heartbeat keeps it alive past its first deadline");
    run.tokens.advance(at(200));
    let e = run.finish().await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some(errors::HEARTBEAT_TIMEOUT)));
    assert_eq!(e.duration, Duration::from_secs(160));
    let timed_out = e.history.iter().find(|h| h.kind == "TaskTimedOut").expect("TaskTimedOut event");
    assert_eq!(timed_out.details["error"], errors::HEARTBEAT_TIMEOUT);
}

#[tokio::test]
async fn a_states_timeout_catcher_takes_a_heartbeat_timeout() {
    let run = start(
        json!({"StartAt": "Ask", "States": {
            "Ask": callback(json!({"HeartbeatSeconds": 30, "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}], "End": true})),
            "Late": {"Type": "Pass", "End": true}
        }}),
        json!({}),
    );
    run.pending(1).await;
    run.tokens.advance(at(45));
    let e = run.finish().await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(e.output.as_ref().map(|o| o["Error"].clone()), Some(json!(errors::HEARTBEAT_TIMEOUT)));
}

#[tokio::test]
async fn an_answer_after_a_deadline_is_refused_and_the_task_times_out_there() {
    let run = start(single(callback(json!({"TimeoutSeconds": 100, "HeartbeatSeconds": 60, "End": true}))), json!({}));
    let task = run.pending(1).await.remove(0);
    let late = run.tokens.send_success(&task.token, json!({}), at(61));
    assert!(matches!(&late, Err(CallbackError::TaskTimedOut { why, .. }) if why.contains("heartbeat")), "{late:?}");
    let e = run.finish().await;
    assert_eq!((e.error.as_deref(), e.duration), (Some(errors::HEARTBEAT_TIMEOUT), Duration::from_secs(60)));

    let run = start(single(callback(json!({"TimeoutSeconds": 100, "End": true}))), json!({}));
    let task = run.pending(1).await.remove(0);
    let early = run.tokens.send_success(&task.token, json!({"early": true}), t0() - chrono::Duration::seconds(30));
    assert_eq!(early, Ok(()));
    let e = run.finish().await;
    assert_eq!(e.duration, Duration::ZERO, "an answer from before the task started counts at its start");

    let run = start(single(callback(json!({"TimeoutSeconds": 100, "End": true}))), json!({}));
    let task = run.pending(1).await.remove(0);
    let late = run.tokens.send_failure(&task.token, "X", "", at(150));
    assert!(matches!(late, Err(CallbackError::TaskTimedOut { .. })));
    let e = run.finish().await;
    assert_eq!((e.error.as_deref(), e.duration), (Some(errors::TIMEOUT), Duration::from_secs(100)));
}

#[tokio::test]
async fn the_execution_timeout_ends_a_waiting_task_and_no_retrier_or_catcher_takes_it() {
    let run = start(
        json!({"StartAt": "Ask", "TimeoutSeconds": 100, "States": {
            "Ask": callback(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}], "End": true})),
            "Fallback": {"Type": "Pass", "End": true}
        }}),
        json!({}),
    );
    let calls = run.calls.clone();
    run.pending(1).await;
    run.tokens.advance(at(500));
    let e = run.finish().await;
    assert_eq!((e.status, e.duration), (Status::TimedOut, Duration::from_secs(100)));
    assert!(!kinds(&e).contains(&"TaskTimedOut"), "the execution timed out, not the task: {:?}", kinds(&e));
    assert_eq!(when(&e, "ExecutionTimedOut"), Some(100));
    assert_eq!(calls.seen().len(), 1, "nothing is retried after the execution's end");
}

#[tokio::test]
async fn advancing_to_the_end_times_out_waiting_and_later_tokens() {
    let run = start(
        single(callback(
            json!({"TimeoutSeconds": 60, "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 5, "MaxAttempts": 1}], "End": true}),
        )),
        json!({}),
    );
    let (tokens, calls) = (run.tokens.clone(), run.calls.clone());
    run.pending(1).await;
    tokens.advance_to_end();
    let e = run.finish().await;
    assert_eq!((e.error.as_deref(), e.duration), (Some(errors::TIMEOUT), Duration::from_secs(125)));
    assert_eq!(calls.seen().len(), 2, "the retry ran, and timed out as soon as it waited");
    assert!(tokens.pending().is_empty());
}

#[tokio::test]
async fn a_failed_call_fails_the_task_without_waiting() {
    let calls = Calls::failing(Failure::new("SQS.QueueDoesNotExist", "no queue"));
    let run = start_with(single(callback(json!({"End": true}))), json!({}), calls);
    let tokens = run.tokens.clone();
    let e = run.finish().await;
    assert_eq!(e.error.as_deref(), Some("SQS.QueueDoesNotExist"));
    assert!(!kinds(&e).contains(&"TaskSubmitted"));
    assert!(tokens.pending().is_empty(), "the token closed with the task");
}

#[tokio::test]
async fn map_iterations_wait_on_their_own_tokens_answered_out_of_order() {
    let run = start(
        single(
            json!({"Type": "Map", "ItemProcessor": {"StartAt": "Ask", "States": {"Ask": callback(json!({"End": true}))}}, "End": true}),
        ),
        json!(["a", "b", "c"]),
    );
    let pending = run.pending(3).await;
    assert_eq!(pending.len(), 3);
    run.calls.made(3).await;
    let token_of = |item: &str| {
        (0..3)
            .map(|i| run.calls.body(i))
            .find(|b| b["item"] == item)
            .map(|b| b["token"].as_str().unwrap_or_default().to_string())
    };
    let mut answers = Vec::new();
    for (item, second) in [("c", 30), ("a", 10), ("b", 20)] {
        let (tokens, token) = (run.tokens.clone(), token_of(item).expect("item was sent"));
        answers.push(tokio::spawn(async move { tokens.send_success(&token, json!({"done": item}), at(second)) }));
    }
    for a in answers {
        assert_eq!(a.await.expect("answer task"), Ok(()));
    }
    let e = run.finish().await;
    assert_eq!(e.output, Some(json!([{"done": "a"}, {"done": "b"}, {"done": "c"}])));
    assert_eq!(e.duration, Duration::from_secs(30));
}

#[tokio::test]
async fn a_map_with_one_worker_issues_each_token_when_the_previous_item_ends() {
    let run = start(
        single(
            json!({"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": {"StartAt": "Ask", "States": {"Ask": callback(json!({"End": true}))}}, "End": true}),
        ),
        json!(["a", "b"]),
    );
    let first = run.pending(1).await.remove(0);
    run.tokens.send_success(&first.token, json!(1), at(10)).expect("answered");
    let second = run.attempt(0).await;
    assert_eq!(second.issued, at(10), "the second item starts when the only worker is free");
    run.tokens.send_success(&second.token, json!(2), at(25)).expect("answered");
    let e = run.finish().await;
    assert_eq!((e.output, e.duration), (Some(json!([1, 2])), Duration::from_secs(25)));
}

#[tokio::test]
async fn a_failed_map_closes_the_tokens_of_its_other_iterations() {
    let run = start(
        single(
            json!({"Type": "Map", "ItemProcessor": {"StartAt": "Ask", "States": {"Ask": callback(json!({"End": true}))}}, "End": true}),
        ),
        json!(["a", "b"]),
    );
    let tokens = run.tokens.clone();
    let pending = run.pending(2).await;
    tokens.send_failure(&pending[0].token, "Item.Bad", "no", at(5)).expect("answered");
    let e = run.finish().await;
    assert_eq!(e.error.as_deref(), Some("Item.Bad"));
    assert!(tokens.pending().is_empty(), "the other iteration stopped waiting with the Map");
    let late = tokens.send_success(&pending[1].token, json!({}), at(6));
    assert!(matches!(late, Err(CallbackError::TaskTimedOut { .. })), "{late:?}");
}

#[tokio::test]
async fn a_failure_behind_a_waiting_iteration_fails_the_map_at_once() {
    let run = start(
        single(
            json!({"Type": "Map", "ItemProcessor": {"StartAt": "Ask", "States": {"Ask": callback(json!({"End": true}))}}, "End": true}),
        ),
        json!(["a", "b"]),
    );
    run.calls.made(2).await;
    // The second item fails while the first still waits for its answer.
    let (first, second) = if run.calls.body(0)["item"] == "a" { (0, 1) } else { (1, 0) };
    let token = |i: usize| run.calls.body(i)["token"].as_str().unwrap_or_default().to_string();
    run.tokens.send_failure(&token(second), "Item.Bad", "b broke", at(5)).expect("answered");
    let tokens = run.tokens.clone();
    let first = token(first);
    let e = run.finish().await;
    assert_eq!((e.error.as_deref(), e.duration), (Some("Item.Bad"), Duration::from_secs(5)));
    assert!(tokens.pending().is_empty(), "the first item stopped waiting with the Map");
    let late = tokens.send_success(&first, json!({}), at(6));
    assert!(matches!(late, Err(CallbackError::TaskTimedOut { .. })), "{late:?}");
}
