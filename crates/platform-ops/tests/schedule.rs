//! `platform-ops schedule run --aws` and `inventory --aws` on their AWS calls: the drift
//! execution and the report against the emulator, the scheduled-ops invocation on scripted
//! answers (the emulator runs no Lambda code without Docker).

use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use emulator::Emulator;
use platform_ops::schedule::{self, Started};
use serde_json::json;

#[tokio::test]
async fn a_manual_drift_run_starts_once_per_moment() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let sdk = emulator.remote().sdk_config();
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = iam
        .create_role()
        .role_name("drift-role")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .expect("role");
    let machine = sfn
        .create_state_machine()
        .name("abc-trading-dev-drift-detection")
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
        .role_arn(role.role().map(|r| r.arn()).unwrap_or_default())
        .send()
        .await
        .expect("state machine");
    let at = "2026-11-26T02:00:00Z".parse().expect("time");
    let name = schedule::manual_execution_name(schedule::Schedule::Drift, at);

    let first = schedule::start_execution(&sfn, machine.state_machine_arn(), &name, &json!({})).await.expect("start");
    let Started::Execution { arn, already: false } = first else { panic!("{first:?}") };
    assert!(arn.ends_with(":execution:abc-trading-dev-drift-detection:manual-drift-20261126t020000z"), "{arn}");
    // The same moment again is the same run, not a second detection: Step Functions answers a
    // repeated name and input with the first execution while it runs (as here)...
    let second = schedule::start_execution(&sfn, machine.state_machine_arn(), &name, &json!({})).await.expect("again");
    let Started::Execution { arn: again, .. } = second else { panic!("{second:?}") };
    assert_eq!(again, arn);
}

/// ... and with ExecutionAlreadyExists once it has ended: the same run, reported as already started.
#[tokio::test]
async fn a_manual_drift_run_that_already_ended_is_not_started_again() {
    let exists = mock!(aws_sdk_sfn::Client::start_execution).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"ExecutionAlreadyExists","message":"Execution Already Exists: 'manual-drift-x'"}"#,
            ),
        )
    });
    let interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential).with_rule(&exists);
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new("AKIDTEST", "s", None, None, "t"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    let sfn = aws_sdk_sfn::Client::from_conf(config);
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:abc-trading-dev-drift-detection";
    let started = schedule::start_execution(&sfn, machine, "manual-drift-x", &json!({})).await.expect("same run");
    assert_eq!(
        started,
        Started::Execution {
            arn: "arn:aws:states:us-east-1:123456789012:execution:abc-trading-dev-drift-detection:manual-drift-x"
                .into(),
            already: true
        }
    );
}

#[tokio::test]
async fn the_latest_report_is_read_from_the_report_bucket() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let sdk = emulator.remote().sdk_config();
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let bucket = schedule::Deployment::new("abc-trading-dev").report_bucket("123456789012");
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    s3.put_object()
        .bucket(&bucket)
        .key(schedule::latest_inventory("md"))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"# abc-trading inventory, 2026-11-25 06:00 UTC\n"))
        .send()
        .await
        .expect("put");
    let text = schedule::read_text(&s3, &bucket, &schedule::latest_inventory("md")).await.expect("read");
    assert_eq!(text, "# abc-trading inventory, 2026-11-25 06:00 UTC\n");
    let missing = schedule::read_text(&s3, &bucket, "inventory/none.md").await.expect_err("missing");
    assert!(missing.to_string().contains("GetObject"), "{missing}");
}

fn lambda(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_lambda::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("AKIDTEST", "s", None, None, "t"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

#[tokio::test]
async fn scheduled_ops_is_invoked_with_the_schedules_request() {
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use aws_sdk_lambda::primitives::Blob;
    let at = "2026-11-25T19:00:00Z".parse().expect("time");
    let request = schedule::Schedule::OffHours.input(at);
    let ok = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|r| {
            r.function_name() == Some("abc-trading-dev-scheduled-ops")
                && r.payload().is_some_and(|p| {
                    serde_json::from_slice::<serde_json::Value>(p.as_ref()).ok()
                        == Some(json!({"action": "off-hours", "now": "2026-11-25T19:00:00Z"}))
                })
        })
        .then_output(|| InvokeOutput::builder().status_code(200).payload(Blob::new(r#"{"scaled": 1}"#)).build());
    let failed = mock!(aws_sdk_lambda::Client::invoke).then_output(|| {
        InvokeOutput::builder()
            .status_code(200)
            .function_error("Unhandled")
            .payload(Blob::new(
                r#"{"errorType": "Throttled", "errorMessage": "rate exceeded on UpdateNodegroupConfig"}"#,
            ))
            .build()
    });
    let client = lambda(&[&ok, &failed]);
    let function = schedule::Deployment::new("abc-trading-dev").scheduled_ops_function();

    let output = schedule::invoke(&client, &function, &request).await.expect("invoked");
    assert_eq!(output, json!({"scaled": 1}));
    // A function error is an error here, in the function's words.
    let err = schedule::invoke(&client, &function, &request).await.expect_err("function error");
    let text = err.to_string();
    assert!(text.contains("abc-trading-dev-scheduled-ops failed (Unhandled): Throttled rate exceeded"), "{text}");
}
