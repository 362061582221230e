//! The StackSet drift adapter through the real CloudFormation client on scripted answers.

// The emulator has no DetectStackSetDrift. Covered: a repeated operation id, the DRIFTED filter,
// resource drifts across pages.

use aws_sdk_cloudformation::types::{
    PropertyDifference, StackDriftStatus, StackInstanceResourceDriftsSummary, StackInstanceSummary,
    StackResourceDriftStatus,
};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use platform_core::aws::CloudFormationStackSets;
use platform_core::stacksets::StackSetDrift;

// Built by hand rather than with `mock_client!`, whose test defaults need the SDK's `test-util`
// feature (a second build of every SDK crate).
fn client(rules: &[&aws_smithy_mocks::Rule]) -> CloudFormationStackSets {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new("AKIDTEST", "s", None, None, "t"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    CloudFormationStackSets::new(aws_sdk_cloudformation::Client::from_conf(config))
}

fn cfn_error(code: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>told by the mock</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )
}

#[tokio::test]
async fn drift_is_started_once_and_its_findings_read_across_pages() {
    use aws_sdk_cloudformation::operation::list_stack_instance_resource_drifts::ListStackInstanceResourceDriftsOutput as Drifts;
    use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput as Instances;
    // A retried DetectStackSetDrift with the same id: the same operation.
    let taken = mock!(aws_sdk_cloudformation::Client::detect_stack_set_drift).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
            aws_smithy_types::body::SdkBody::from(cfn_error("OperationIdAlreadyExistsException")),
        )
    });
    let sets = client(&[&taken]);
    assert_eq!(sets.detect_drift("abc-trading-member-baseline", "drift-1").await.expect("same"), "drift-1");

    let listed = mock!(aws_sdk_cloudformation::Client::list_stack_instances)
        .match_requests(|r| r.filters().iter().any(|f| f.values() == Some("DRIFTED")))
        .then_output(|| {
            Instances::builder()
                .summaries(
                    StackInstanceSummary::builder()
                        .account("111111111111")
                        .region("us-west-2")
                        .drift_status(StackDriftStatus::Drifted)
                        .build(),
                )
                // An implementation that ignores the filter: an in-sync instance is not counted.
                .summaries(
                    StackInstanceSummary::builder()
                        .account("222222222222")
                        .region("us-east-1")
                        .drift_status(StackDriftStatus::InSync)
                        .build(),
                )
                .build()
        });
    let page = |token: Option<&'static str>, id: &'static str| {
        move || {
            Drifts::builder()
                .summaries(
                    StackInstanceResourceDriftsSummary::builder()
                        .logical_resource_id(id)
                        .resource_type("AWS::Logs::LogGroup")
                        .stack_id("s")
                        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                        .property_differences(
                            PropertyDifference::builder()
                                .property_path("/Properties/RetentionInDays")
                                .expected_value("365")
                                .actual_value("7")
                                .difference_type(aws_sdk_cloudformation::types::DifferenceType::NotEqual)
                                .build(),
                        )
                        .timestamp(aws_smithy_types::DateTime::from_secs(0))
                        .build(),
                )
                .set_next_token(token.map(str::to_string))
                .build()
        }
    };
    let first = mock!(aws_sdk_cloudformation::Client::list_stack_instance_resource_drifts)
        .match_requests(|r| r.next_token().is_none() && r.stack_instance_resource_drift_statuses().len() == 2)
        .then_output(page(Some("p2"), "FlowLogGroup"));
    let second = mock!(aws_sdk_cloudformation::Client::list_stack_instance_resource_drifts)
        .match_requests(|r| r.next_token() == Some("p2"))
        .then_output(page(None, "AppLogGroup"));
    let sets = client(&[&listed, &first, &second]);
    let drifted = sets.drifted_instances("abc-trading-member-baseline").await.expect("list");
    assert_eq!(drifted.len(), 1);
    assert_eq!((drifted[0].account.as_str(), drifted[0].region.as_str()), ("111111111111", "us-west-2"));
    let resources =
        sets.resource_drifts("abc-trading-member-baseline", "111111111111", "us-west-2", "drift-1").await.expect("r");
    assert_eq!(resources.iter().map(|r| r.logical_id.as_str()).collect::<Vec<_>>(), ["FlowLogGroup", "AppLogGroup"]);
    assert_eq!(resources[0].properties, ["/Properties/RetentionInDays"]);
    assert_eq!(resources[0].status, "MODIFIED");
}
