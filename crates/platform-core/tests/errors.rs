//! Error classification: SDK errors become stable classes, once, with the SDK error kept as source.

use std::error::Error as _;

use aws_sdk_ssm::Client;
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};

/// GIVEN SSM answers every call with `status` and an awsJson error body carrying `code`
/// WHEN GetParameter is called through the real client THEN the error has `class`.
async fn classify_response(status: u16, code: Option<&str>) -> AwsError {
    let body = code.map(|c| format!(r#"{{"__type":"{c}","message":"told by the mock"}}"#));
    let rule = mock!(Client::get_parameter).sequence().http_status(status, body).repeatedly().build();
    // Built by hand rather than with `mock_client!`, whose test defaults need the SDK's
    // `test-util` feature: that feature would make the test build compile every SDK crate twice.
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(&rule))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let client = Client::from_conf(config);
    client.get_parameter().name("/abc-trading/x").send().await.classify("GetParameter").expect_err("mock fails")
}

#[tokio::test]
async fn service_codes_map_to_their_class() {
    for (status, code, class) in [
        (400, "ThrottlingException", ErrorClass::Throttled),
        (400, "ParameterNotFound", ErrorClass::NotFound),
        (400, "ParameterAlreadyExists", ErrorClass::AlreadyExists),
        (400, "AccessDeniedException", ErrorClass::AccessDenied),
        (400, "ValidationException", ErrorClass::InvalidRequest),
        (400, "ParameterLimitExceeded", ErrorClass::LimitExceeded),
        (500, "InternalServerError", ErrorClass::Transient),
    ] {
        let err = classify_response(status, Some(code)).await;
        assert_eq!(err.class, class, "{code}: {err}");
        assert_eq!(err.code.as_deref(), Some(code));
        assert_eq!(err.operation, "GetParameter");
        assert_eq!(err.error_type(), class.as_str());
        assert!(err.to_string().contains("told by the mock"), "{err}");
    }
}

#[tokio::test]
async fn unknown_codes_fall_back_to_the_http_status() {
    assert_eq!(classify_response(503, None).await.class, ErrorClass::Transient);
    assert_eq!(classify_response(429, Some("SomethingNew")).await.class, ErrorClass::Throttled);
    assert_eq!(classify_response(400, Some("SomethingNew")).await.class, ErrorClass::Unclassified);
}

#[tokio::test]
async fn the_sdk_error_stays_the_source() {
    let err = classify_response(400, Some("ThrottlingException")).await;
    let source = err.source().expect("source kept");
    let sdk = source
        .downcast_ref::<aws_sdk_ssm::error::SdkError<aws_sdk_ssm::operation::get_parameter::GetParameterError>>()
        .expect("the source is the SDK error");
    assert!(matches!(sdk, aws_sdk_ssm::error::SdkError::ServiceError(_)));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
        // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let err = Client::from_conf(config)
        .get_parameter()
        .name("/x")
        .send()
        .await
        .classify("GetParameter")
        .expect_err("refused");
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
    assert!(err.code.is_none());
}

#[test]
fn codes_from_every_service_the_flows_call_are_known() {
    for (code, class) in [
        ("Throttling", ErrorClass::Throttled),
        ("TooManyRequestsException", ErrorClass::Throttled),
        ("RequestLimitExceeded", ErrorClass::Throttled),
        ("OperationInProgressException", ErrorClass::OperationInProgress),
        ("ResourceInUseException", ErrorClass::OperationInProgress),
        ("ScalingActivityInProgress", ErrorClass::OperationInProgress),
        ("ConcurrentModificationException", ErrorClass::ConcurrentModification),
        ("StackSetNotFoundException", ErrorClass::NotFound),
        ("NoSuchEntity", ErrorClass::NotFound),
        ("AWSOrganizationsNotInUseException", ErrorClass::NotFound),
        ("EntityAlreadyExists", ErrorClass::AlreadyExists),
        ("DuplicateOrganizationalUnitException", ErrorClass::AlreadyExists),
        ("ConditionalCheckFailedException", ErrorClass::ConditionFailed),
        ("UnauthorizedOperation", ErrorClass::AccessDenied),
        ("ExpiredToken", ErrorClass::AccessDenied),
        ("InvalidParameterException", ErrorClass::InvalidRequest),
        ("LimitExceededException", ErrorClass::LimitExceeded),
        ("ServiceQuotaExceededException", ErrorClass::LimitExceeded),
    ] {
        assert_eq!(ErrorClass::from_code(code), Some(class), "{code}");
    }
    assert_eq!(ErrorClass::from_code("NeverHeardOfIt"), None);
}

#[test]
fn class_names_are_the_stable_pascal_case_asl_names() {
    let names: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names,
        [
            "Throttled",
            "Transient",
            "OperationInProgress",
            "ConcurrentModification",
            "NotFound",
            "AlreadyExists",
            "ConditionFailed",
            "AccessDenied",
            "InvalidRequest",
            "LimitExceeded",
            "Unclassified"
        ]
    );
    let retryable: Vec<&str> = ErrorClass::ALL.iter().filter(|c| c.is_retryable()).map(|c| c.as_str()).collect();
    assert_eq!(retryable, ["Throttled", "Transient", "OperationInProgress", "ConcurrentModification"]);
}

#[tokio::test]
async fn one_code_can_mean_different_things_per_operation() {
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    use aws_smithy_types::error::ErrorMetadata;
    let err = |code: &str, message: &str| {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        aws_sdk_ssm::error::SdkError::service_error(
            GetParameterError::generic(meta),
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
                aws_smithy_types::body::SdkBody::empty(),
            ),
        )
    };
    let classify = |op, code, message| platform_core::error::classify(op, err(code, message)).class;
    assert_eq!(classify("CreateNodegroup", "ResourceInUseException", "exists"), ErrorClass::AlreadyExists);
    assert_eq!(classify("UpdateNodegroupConfig", "ResourceInUseException", "busy"), ErrorClass::OperationInProgress);
    assert_eq!(classify("DescribeStacks", "ValidationError", "Stack with id x does not exist"), ErrorClass::NotFound);
    assert_eq!(classify("CreateStack", "ValidationError", "Template format error"), ErrorClass::InvalidRequest);
    assert_eq!(classify("CreateStackInstances", "OperationIdAlreadyExistsException", "x"), ErrorClass::AlreadyExists);
    assert_eq!(classify("CreateAccount", "FinalizingOrganizationException", "x"), ErrorClass::Transient);
}
