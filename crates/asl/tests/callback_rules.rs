//! What callbacks refuse and where they do not apply: bad answers, definitions, missing registries,
//! `$$.Task.Token` outside callbacks, heartbeats of plain tasks; and Fail states' intrinsics.

mod support;

use std::sync::Arc;
use std::time::Duration;

use asl::engine::{MAX_PAYLOAD_BYTES, errors};
use asl::{CallbackError, Start, StateMachine, Status, TaskTokens, execute};
use serde_json::json;
use support::{Calls, at, callback, single, start, start_with};

#[tokio::test]
async fn unknown_malformed_and_repeated_answers_are_refused() {
    let tokens = TaskTokens::new();
    let unknown = "0123456789abcdef".repeat(4);
    assert_eq!(
        tokens.send_success(&unknown, json!({}), at(0)),
        Err(CallbackError::TaskDoesNotExist { token: "01234567…".into() })
    );
    assert!(matches!(tokens.send_heartbeat("not-a-token", at(0)), Err(CallbackError::InvalidToken { .. })));
    assert!(matches!(tokens.send_failure("", "E", "c", at(0)), Err(CallbackError::InvalidToken { .. })));

    let run = start(single(callback(json!({"End": true}))), json!({}));
    let tokens = run.tokens.clone();
    let task = run.pending(1).await.remove(0);
    tokens.send_success(&task.token, json!({"first": true}), at(1)).expect("the first answer counts");
    // Step Functions answers a token whose task already ended with TaskTimedOut.
    let again = tokens.send_success(&task.token, json!({"second": true}), at(2));
    let Err(refused) = again else { panic!("a second answer must be refused") };
    assert!(matches!(refused, CallbackError::TaskTimedOut { .. }), "{refused:?}");
    let message = refused.to_string();
    assert!(message.contains(&task.token[..8]) && !message.contains(&task.token), "abbreviated: {message}");
    assert_eq!(message, message.to_lowercase(), "messages are lowercase");
    assert!(matches!(tokens.send_heartbeat(&task.token, at(3)), Err(CallbackError::TaskTimedOut { .. })));
    let e = run.finish().await;
    assert_eq!(e.output, Some(json!({"first": true})));
}

#[tokio::test]
async fn an_output_over_256_kib_is_refused_and_the_task_keeps_waiting() {
    let run = start(single(callback(json!({"End": true}))), json!({}));
    let task = run.pending(1).await.remove(0);
    let big = json!({"blob": "x".repeat(MAX_PAYLOAD_BYTES)});
    assert!(matches!(run.tokens.send_success(&task.token, big, at(1)), Err(CallbackError::InvalidOutput { .. })));
    assert!(matches!(
        run.tokens.send_success_text(&task.token, "{not json", at(1)),
        Err(CallbackError::InvalidOutput { .. })
    ));
    assert_eq!(run.tokens.pending().len(), 1, "a refused answer leaves the task waiting");
    run.tokens.send_success_text(&task.token, "{\"ok\": true}", at(2)).expect("answered");
    assert_eq!(run.finish().await.output, Some(json!({"ok": true})));
}

#[test]
fn heartbeat_seconds_must_be_smaller_than_timeout_seconds() {
    for (timeout, heartbeat) in [(60, 60), (60, 90)] {
        let definition =
            single(callback(json!({"TimeoutSeconds": timeout, "HeartbeatSeconds": heartbeat, "End": true})));
        let err = StateMachine::from_value(&definition).expect_err("refused");
        assert_eq!(err.at, "/States/S/HeartbeatSeconds", "{err}");
        assert!(err.message.contains(&heartbeat.to_string()), "{err}");
    }
    let fine = single(callback(json!({"TimeoutSeconds": 60, "HeartbeatSeconds": 59, "End": true})));
    assert!(StateMachine::from_value(&fine).is_ok());
}

#[tokio::test]
async fn heartbeat_seconds_path_is_read_from_the_input() {
    let run = start(
        single(callback(json!({"TimeoutSecondsPath": "$.timeout", "HeartbeatSecondsPath": "$.beat", "End": true}))),
        json!({"timeout": 600, "beat": 45}),
    );
    let task = run.pending(1).await.remove(0);
    assert_eq!((task.timeout_at, task.heartbeat_at), (at(600), Some(at(45))));
    run.tokens.advance(at(45));
    let e = run.finish().await;
    assert_eq!((e.error.as_deref(), e.duration), (Some(errors::HEARTBEAT_TIMEOUT), Duration::from_secs(45)));

    let run =
        start(single(callback(json!({"TimeoutSecondsPath": "$.timeout", "End": true}))), json!({"timeout": u64::MAX}));
    let task = run.pending(1).await.remove(0);
    assert_eq!(task.timeout_at, chrono::DateTime::<chrono::Utc>::MAX_UTC, "a timeout past the calendar is forever");
    run.tokens.send_success(&task.token, json!(1), at(7)).expect("answered");
    assert_eq!(run.finish().await.duration, Duration::from_secs(7));
}

#[tokio::test]
async fn without_a_registry_a_callback_task_fails_with_states_runtime() {
    let machine = StateMachine::from_value(&json!({"StartAt": "S", "States": {
        "S": callback(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true})),
        "Caught": {"Type": "Pass", "End": true}
    }}))
    .expect("loads");
    let calls = Arc::new(Calls::default());
    let e = execute(&machine, json!({}), Start::named("no-registry"), calls.clone()).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some(errors::RUNTIME)));
    assert!(e.cause.as_deref().is_some_and(|c| c.contains("no one can answer callbacks")), "{:?}", e.cause);
    assert!(calls.seen().is_empty(), "nothing is called for a task no one could answer");
}

#[tokio::test]
async fn only_callback_tasks_have_a_task_token() {
    let plain = single(json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}));
    let run = start(plain, json!({}));
    let e = run.finish().await;
    assert_eq!(e.error.as_deref(), Some(errors::RUNTIME), "{:?}", e.cause);
    assert!(e.cause.as_deref().is_some_and(|c| c.contains("$$.Task.Token")), "{:?}", e.cause);

    let untokened = single(json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "q", "MessageBody": "hi"}, "End": true}));
    let run = start(untokened, json!({}));
    let calls = run.calls.clone();
    assert_eq!(run.finish().await.status, Status::Succeeded);
    assert_eq!(calls.seen()[0].1, None, "a plain task's resolver gets no token");
}

#[tokio::test]
async fn a_callback_whose_parameters_omit_the_token_still_runs() {
    let run = start(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {"TopicArn": "t", "Message": "approve?"}, "End": true})),
        json!({}),
    );
    let task = run.pending(1).await.remove(0);
    assert_eq!(run.calls.made(1).await[0].1.as_deref(), Some(task.token.as_str()));
    run.tokens.send_success(&task.token, json!("ok"), at(3)).expect("answered");
    assert_eq!(run.finish().await.output, Some(json!("ok")));
}

#[tokio::test]
async fn a_plain_task_slower_than_its_heartbeat_times_out_with_heartbeat_timeout() {
    let calls = Calls::taking(Duration::from_secs(90));
    let run = start_with(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "q", "MessageBody": "hi"}, "TimeoutSeconds": 300, "HeartbeatSeconds": 60, "End": true})),
        json!({}),
        calls,
    );
    let e = run.finish().await;
    assert_eq!((e.error.as_deref(), e.duration), (Some(errors::HEARTBEAT_TIMEOUT), Duration::from_secs(60)));
}

#[tokio::test]
async fn fail_paths_take_intrinsic_functions_and_must_give_strings() {
    let run = start(
        single(
            json!({"Type": "Fail", "ErrorPath": "$.code", "CausePath": "States.Format('account {} failed', $.account)"}),
        ),
        json!({"code": "Vend.Failed", "account": "1234"}),
    );
    let e = run.finish().await;
    assert_eq!(
        (e.status, e.error.as_deref(), e.cause.as_deref()),
        (Status::Failed, Some("Vend.Failed"), Some("account 1234 failed"))
    );

    let run = start(single(json!({"Type": "Fail", "ErrorPath": "$.code", "Cause": "c"})), json!({"code": 42}));
    let e = run.finish().await;
    assert_eq!(e.error.as_deref(), Some(errors::RUNTIME));
    assert!(e.cause.as_deref().is_some_and(|c| c.contains("$.code") && c.contains("42")), "{:?}", e.cause);

    let run = start(single(json!({"Type": "Fail", "CausePath": "States.ArrayLength($.list)"})), json!({"list": [1]}));
    let e = run.finish().await;
    assert_eq!(e.error.as_deref(), Some(errors::RUNTIME), "an intrinsic giving a number is no cause");
}
