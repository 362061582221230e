//! Map states' MaxConcurrencyPath and ToleratedFailureCount/PercentagePath, loaded and run.

use std::sync::Arc;
use std::time::Duration;

use asl::engine::errors;
use asl::{Execution, NoTasks, Start, StateMachine, Status, execute};
use serde_json::{Value, json};

async fn run(definition: Value, input: Value) -> Execution {
    let machine = StateMachine::from_value(&definition).expect("definition loads");
    execute(&machine, input, Start::named("map-paths"), Arc::new(NoTasks)).await
}

/// A Map state named `M` with `fields` merged in, its items at `$.items`.
fn map(fields: Value, processor: Value) -> Value {
    let mut state = json!({"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": true});
    if let (Some(s), Value::Object(fields)) = (state.as_object_mut(), fields) {
        s.extend(fields);
    }
    json!({"StartAt": "M", "States": {"M": state}})
}

/// Each iteration waits as many seconds as its item.
fn waits() -> Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$", "End": true}}})
}

/// Item 0 fails with `Item.Bad`; any other item passes through.
fn zero_fails() -> Value {
    json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Bad"}], "Default": "Ok"},
        "Bad": {"Type": "Fail", "Error": "Item.Bad"},
        "Ok": {"Type": "Pass", "End": true}
    }})
}

fn started_iterations(e: &Execution) -> usize {
    e.history.iter().filter(|h| h.kind == "MapIterationStarted").count()
}

#[tokio::test]
async fn max_concurrency_path_reads_the_limit_from_the_effective_input() {
    let items = json!([3, 1, 1, 2]);
    let mut durations = Vec::new();
    for limit in [1, 2, 0] {
        // InputPath narrows the input first: the outer `limit` is not the one read.
        let e = run(
            map(json!({"InputPath": "$.job", "MaxConcurrencyPath": "$.limit"}), waits()),
            json!({"limit": 4, "job": {"limit": limit, "items": items}}),
        )
        .await;
        assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
        assert_eq!(e.output, Some(items.clone()));
        durations.push(e.duration);
    }
    // One worker: 3+1+1+2. Two: [3] and [1, 1, 2]. 0 sets no limit: the longest item.
    assert_eq!(durations, [Duration::from_secs(7), Duration::from_secs(4), Duration::from_secs(3)]);
}

#[tokio::test]
async fn max_concurrency_path_may_read_the_context_object() {
    let e = run(
        map(json!({"MaxConcurrencyPath": "$$.Execution.Input.limit"}), waits()),
        json!({"limit": 1, "items": [2, 2]}),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert_eq!(e.duration, Duration::from_secs(4));
}

#[tokio::test]
async fn tolerated_failure_count_path_tolerates_exactly_that_many_failures() {
    let definition = map(json!({"ToleratedFailureCountPath": "$.tolerated"}), zero_fails());
    let items = json!([0, 7, 0, 9]);
    let within = run(definition.clone(), json!({"tolerated": 2, "items": items})).await;
    assert_eq!(within.status, Status::Succeeded, "{:?}", within.cause);
    let failed = json!({"Error": "Item.Bad", "Cause": ""});
    assert_eq!(within.output, Some(json!([failed, 7, failed, 9])));
    for tolerated in [1, 0] {
        let beyond = run(definition.clone(), json!({"tolerated": tolerated, "items": items})).await;
        assert_eq!(beyond.status, Status::Failed);
        assert_eq!(beyond.error.as_deref(), Some(errors::TOLERATED_FAILURE), "tolerating {tolerated}");
    }
}

#[tokio::test]
async fn tolerated_failure_percentage_path_tolerates_up_to_that_share() {
    let definition = map(json!({"ToleratedFailurePercentagePath": "$.share"}), zero_fails());
    // One failure in four items: 25 %.
    let items = json!([5, 0, 6, 7]);
    for share in [json!(25), json!(100), json!(25.0)] {
        let e = run(definition.clone(), json!({"share": share, "items": items})).await;
        assert_eq!(e.status, Status::Succeeded, "{share}: {:?}", e.cause);
    }
    for share in [json!(24.9), json!(0)] {
        let e = run(definition.clone(), json!({"share": share, "items": items})).await;
        assert_eq!(e.error.as_deref(), Some(errors::TOLERATED_FAILURE), "{share}");
    }
}

#[tokio::test]
async fn a_map_fails_beyond_either_threshold_it_is_given() {
    // One failure in four: within a count of 3, beyond 10 %.
    let e = run(
        map(json!({"ToleratedFailureCountPath": "$.count", "ToleratedFailurePercentage": 10}), zero_fails()),
        json!({"count": 3, "items": [0, 1, 2, 3]}),
    )
    .await;
    assert_eq!(e.error.as_deref(), Some(errors::TOLERATED_FAILURE));
    let e = run(
        map(json!({"ToleratedFailureCount": 0, "ToleratedFailurePercentagePath": "$.share"}), zero_fails()),
        json!({"share": 50, "items": [0, 1, 2, 3]}),
    )
    .await;
    assert_eq!(e.error.as_deref(), Some(errors::TOLERATED_FAILURE));
    let e = run(
        map(json!({"ToleratedFailureCountPath": "$.count", "ToleratedFailurePercentagePath": "$.share"}), zero_fails()),
        json!({"count": 1, "share": 25, "items": [0, 1, 2, 3]}),
    )
    .await;
    assert_eq!(e.status, Status::Succeeded, "within both: {:?}", e.cause);
}

#[test]
fn a_setting_and_its_path_exclude_each_other_at_load_time() {
    let cases = [
        (json!({"MaxConcurrency": 2, "MaxConcurrencyPath": "$.limit"}), "/States/M", "MaxConcurrencyPath"),
        (
            json!({"ToleratedFailureCount": 1, "ToleratedFailureCountPath": "$.n"}),
            "/States/M",
            "ToleratedFailureCountPath",
        ),
        (
            json!({"ToleratedFailurePercentage": 5, "ToleratedFailurePercentagePath": "$.p"}),
            "/States/M",
            "ToleratedFailurePercentagePath",
        ),
        (json!({"MaxConcurrencyPath": null}), "/States/M/MaxConcurrencyPath", "null"),
        (json!({"ToleratedFailureCountPath": "$.items[*]"}), "/States/M/ToleratedFailureCountPath", "$.items[*]"),
        (json!({"ToleratedFailurePercentagePath": 50}), "/States/M/ToleratedFailurePercentagePath", "50"),
        (json!({"ToleratedFailurePercentage": 101}), "/States/M/ToleratedFailurePercentage", "101"),
    ];
    for (fields, at, named) in cases {
        let definition = map(fields.clone(), waits());
        let err = StateMachine::from_value(&definition).expect_err(&fields.to_string());
        assert_eq!(err.at, at, "{err} for {fields}");
        assert!(err.to_string().contains(named), "{err} should name {named}");
    }
    // Within a nested processor the place is the nested state's.
    let inner = map(json!({"MaxConcurrency": 1, "MaxConcurrencyPath": "$.m"}), waits());
    let outer = map(json!({}), inner);
    let err = StateMachine::from_value(&outer).expect_err("nested");
    assert_eq!(err.at, "/States/M/ItemProcessor/States/M");
}

#[tokio::test]
async fn a_path_to_a_bad_value_fails_the_map_with_states_runtime() {
    let cases = [
        ("MaxConcurrencyPath", json!("three"), "\"three\""),
        ("MaxConcurrencyPath", json!(-1), "-1"),
        ("MaxConcurrencyPath", json!(1.5), "1.5"),
        ("ToleratedFailureCountPath", json!("2"), "\"2\""),
        ("ToleratedFailureCountPath", json!(-3), "-3"),
        ("ToleratedFailurePercentagePath", json!(-0.5), "-0.5"),
        ("ToleratedFailurePercentagePath", json!(100.5), "100.5"),
        ("ToleratedFailurePercentagePath", json!(null), "null"),
    ];
    for (field, value, shown) in cases {
        let mut definition =
            map(json!({field: "$.v", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}), zero_fails());
        definition["States"]["Caught"] = json!({"Type": "Succeed"});
        let e = run(definition, json!({"v": value, "items": [1, 2]})).await;
        assert_eq!(e.status, Status::Failed, "{field} = {value}: States.Runtime is not caught");
        assert_eq!(e.error.as_deref(), Some(errors::RUNTIME), "{field} = {value}");
        let cause = e.cause.as_deref().unwrap_or_default();
        assert!(cause.contains(field) && cause.contains("`$.v`") && cause.contains(shown), "{cause}");
        assert_eq!(started_iterations(&e), 0, "{field} = {value}: no iteration starts");
    }
}

#[tokio::test]
async fn a_path_that_selects_nothing_fails_with_states_runtime() {
    for field in ["MaxConcurrencyPath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath"] {
        let e = run(map(json!({field: "$.absent"}), zero_fails()), json!({"items": [1]})).await;
        assert_eq!(e.error.as_deref(), Some(errors::RUNTIME), "{field}");
        let cause = e.cause.as_deref().unwrap_or_default();
        assert!(cause.contains(field) && cause.contains("`$.absent`"), "{cause}");
        assert_eq!(started_iterations(&e), 0, "{field}");
    }
}
