//! The adapters through the real clients, on what the emulator never answers: failures, retries, unknown statuses.

use account_vending::aws::{CloudFormationStackSets, Organizations};
use account_vending::ports::{AccountDirectory, Creation, Preferences, StackSets};
use aws_sdk_organizations::types::{CreateAccountFailureReason, CreateAccountState, CreateAccountStatus};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use platform_core::error::ErrorClass;

// Built by hand rather than with `mock_client!`, whose test defaults need the SDK's `test-util`
// feature (a second build of every SDK crate).
macro_rules! client {
    ($sdk:ident, $($rule:expr),+) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        $(interceptor = interceptor.with_rule(&$rule);)+
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .credentials_provider($sdk::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        $sdk::Client::from_conf(config)
    }};
}

fn status(
    state: CreateAccountState,
    reason: Option<CreateAccountFailureReason>,
    account: Option<&str>,
) -> CreateAccountStatus {
    CreateAccountStatus::builder()
        .id("car-1")
        .state(state)
        .set_failure_reason(reason)
        .set_account_id(account.map(str::to_string))
        .build()
}

#[tokio::test]
async fn creation_in_progress_for_several_polls_then_each_outcome() {
    use aws_sdk_organizations::operation::describe_create_account_status::DescribeCreateAccountStatusOutput as Out;
    let rule = mock!(aws_sdk_organizations::Client::describe_create_account_status)
        .sequence()
        .output(|| Out::builder().create_account_status(status(CreateAccountState::InProgress, None, None)).build())
        .times(3)
        .output(|| {
            Out::builder()
                .create_account_status(status(
                    CreateAccountState::Failed,
                    Some(CreateAccountFailureReason::EmailAlreadyExists),
                    None,
                ))
                .build()
        })
        .output(|| {
            Out::builder()
                .create_account_status(status(CreateAccountState::Succeeded, None, Some("222233334444")))
                .build()
        })
        .build();
    let org = Organizations::new(client!(aws_sdk_organizations, rule));
    for _ in 0..3 {
        assert_eq!(org.creation("car-1").await.expect("poll"), Creation::InProgress);
    }
    assert_eq!(org.creation("car-1").await.expect("poll"), Creation::Failed { reason: "EMAIL_ALREADY_EXISTS".into() });
    assert_eq!(org.creation("car-1").await.expect("poll"), Creation::Succeeded { account_id: "222233334444".into() });
}

#[tokio::test]
async fn organizations_throttling_is_named_throttled() {
    let rule = mock!(aws_sdk_organizations::Client::list_accounts)
        .sequence()
        .http_status(400, Some(r#"{"__type":"TooManyRequestsException","Message":"slow down"}"#.into()))
        .build();
    let org = Organizations::new(client!(aws_sdk_organizations, rule));
    let err = org.find_by_email("a@b.co").await.expect_err("throttled");
    assert_eq!((err.class, err.operation), (ErrorClass::Throttled, "ListAccounts"), "{err}");
}

fn cfn_error(code: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>told by the mock</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )
}

#[tokio::test]
async fn a_retried_operation_id_is_the_same_operation_and_a_busy_stack_set_is_named() {
    let taken = mock!(aws_sdk_cloudformation::Client::create_stack_instances)
        .sequence()
        .http_status(400, Some(cfn_error("OperationIdAlreadyExistsException")))
        .http_status(400, Some(cfn_error("OperationInProgressException")))
        .http_status(400, Some(cfn_error("StackSetNotFoundException")))
        .build();
    let sets = CloudFormationStackSets::new(client!(aws_sdk_cloudformation, taken));
    let prefs = Preferences { failure_tolerance_count: 0, max_concurrent_count: 2 };
    let regions = ["us-east-1".to_string(), "us-west-2".to_string()];
    let params = Default::default();
    let add = || sets.add_instances("baseline", "222233334444", &regions, &params, prefs, "vend-dev-acme-1");
    assert_eq!(add().await.expect("the same operation"), "vend-dev-acme-1");
    let busy = add().await.expect_err("busy");
    assert_eq!(busy.class, ErrorClass::OperationInProgress, "{busy}");
    let missing = add().await.expect_err("no stack set");
    assert_eq!(missing.class, ErrorClass::NotFound, "{missing}");
}

#[tokio::test]
async fn statuses_become_the_ports_enums_and_one_aws_adds_later_is_kept_as_sent() {
    use account_vending::ports::{AccountState, DetailedStatus, InstanceStatus};
    use aws_sdk_cloudformation::types::{
        StackInstanceComprehensiveStatus, StackInstanceDetailedStatus, StackInstanceStatus, StackInstanceSummary,
    };
    use aws_sdk_organizations::types::{Account, AccountStatus};
    let summary = |region: &str, status: StackInstanceStatus, detailed: Option<StackInstanceDetailedStatus>| {
        StackInstanceSummary::builder()
            .account("222233334444")
            .region(region)
            .status(status)
            .stack_instance_status(StackInstanceComprehensiveStatus::builder().set_detailed_status(detailed).build())
            .build()
    };
    let listed = mock!(aws_sdk_cloudformation::Client::list_stack_instances).then_output(move || {
        aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput::builder()
            .summaries(summary("us-east-1", StackInstanceStatus::Current, Some(StackInstanceDetailedStatus::Succeeded)))
            .summaries(summary("us-west-2", StackInstanceStatus::from("PARTIAL"), Some("PAUSED".into())))
            .summaries(summary("eu-west-1", StackInstanceStatus::Outdated, None))
            .build()
    });
    let sets = CloudFormationStackSets::new(client!(aws_sdk_cloudformation, listed));
    let found: Vec<_> = sets
        .instances("baseline", "222233334444")
        .await
        .expect("listed")
        .into_iter()
        .map(|i| (i.region, i.status, i.detailed))
        .collect();
    assert_eq!(
        found,
        [
            ("eu-west-1".to_string(), InstanceStatus::Outdated, None),
            ("us-east-1".to_string(), InstanceStatus::Current, Some(DetailedStatus::Succeeded)),
            (
                "us-west-2".to_string(),
                InstanceStatus::Other("PARTIAL".into()),
                Some(DetailedStatus::Other("PAUSED".into()))
            ),
        ]
    );

    // `Status` only, as an endpoint older than `State` answers; then neither.
    let described = mock!(aws_sdk_organizations::Client::describe_account)
        .sequence()
        .output(|| {
            let account = Account::builder().id("222233334444").status(AccountStatus::Suspended).build();
            aws_sdk_organizations::operation::describe_account::DescribeAccountOutput::builder()
                .account(account)
                .build()
        })
        .output(|| {
            let account = Account::builder().id("222233334444").build();
            aws_sdk_organizations::operation::describe_account::DescribeAccountOutput::builder()
                .account(account)
                .build()
        })
        .build();
    let org = Organizations::new(client!(aws_sdk_organizations, described));
    assert_eq!(org.account("222233334444").await.expect("described").state, AccountState::Suspended);
    assert_eq!(org.account("222233334444").await.expect("described").state.as_str(), "UNKNOWN");
}
