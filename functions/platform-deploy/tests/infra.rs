//! The platform's infrastructure: its StackSet parameters match `stacksets/platform.yaml`, the
//! instance is created once, left alone while it matches config, re-applied when it does not;
//! and the deployer's EKS access through the real client on scripted answers (the emulator has
//! no access entries).

use std::collections::BTreeSet;

use aws_sdk_eks::types::{
    AccessConfigResponse, AccessScope, AccessScopeType, AssociatedAccessPolicy, AuthenticationMode, Certificate,
    Cluster, ClusterStatus,
};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use platform_core::config;
use platform_core::fakes::MemoryStackSets;
use platform_core::stacksets::StackSets;
use platform_deploy::aws::{DEPLOYER_POLICY, describe_cluster, ensure_access_entry};
use platform_deploy::cluster::AccessChange;
use platform_deploy::infra::{Change, OperationState, ensure, platform_parameters, status};

#[test]
fn the_parameters_are_exactly_those_platform_yaml_declares() {
    let text = std::fs::read_to_string(emulator::workspace_root().join("stacksets/platform.yaml")).expect("template");
    // The keys two spaces in under the top-level `Parameters:`, up to the next top-level key.
    let declared: BTreeSet<String> = text
        .lines()
        .skip_while(|l| *l != "Parameters:")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| l.strip_prefix("  ").filter(|k| !k.starts_with(' ')).and_then(|k| k.strip_suffix(':')))
        .map(str::to_string)
        .collect();
    let tree = config::load(&config::repository_config_dir()).expect("config");
    for env in tree.environments.values() {
        let given: BTreeSet<String> = platform_parameters(&tree, env, "acme.dev.abc-trading.com").into_keys().collect();
        assert_eq!(given, declared, "{}", env.name);
    }
    let prod = platform_parameters(&tree, tree.environment("prod").expect("prod"), "acme.abc-trading.com");
    assert_eq!(prod["DatabaseMultiAz"], "true");
    assert_eq!(prod["PrivateSubnetIds"], "/abc-trading/prod/baseline/private-subnet-ids");
}

/// Polls the operation until it ends, as the state machine's loop does.
async fn settle(
    sets: &MemoryStackSets,
    infra: &platform_deploy::infra::Infrastructure,
    account: &str,
) -> platform_deploy::infra::InfrastructureStatus {
    for _ in 0..5 {
        let s = status(sets, infra, account).await.expect("status");
        if s.status != OperationState::Running {
            return s;
        }
    }
    panic!("the operation never ended")
}

#[tokio::test]
async fn the_instance_is_created_once_then_reapplied_only_when_it_differs() {
    let mut tree = config::load(&config::repository_config_dir()).expect("config");
    // Operations run for one status poll.
    let sets = MemoryStackSets::new(1);
    let account = "222233334444";
    let env = tree.environment("dev").expect("dev").clone();
    let first = ensure(&sets, &tree, &env, account, "acme.dev.abc-trading.com", "exec-1").await.expect("create");
    assert_eq!((first.change, first.operation_id.as_deref()), (Change::Created, Some("platform-exec-1")));
    // A retried call in the same execution (the first request went through, its answer was
    // lost) follows the operation it started rather than asking again.
    let retried = ensure(&sets, &tree, &env, account, "acme.dev.abc-trading.com", "exec-1").await.expect("retried");
    assert_eq!((retried.change, retried.operation_id.as_deref()), (Change::Resumed, Some("platform-exec-1")));
    // (The retry's look at the operation was its one RUNNING answer.)
    assert_eq!(status(&sets, &first, account).await.expect("status").status, OperationState::Succeeded);

    let same = ensure(&sets, &tree, &env, account, "acme.dev.abc-trading.com", "exec-2").await.expect("current");
    assert_eq!((same.change, same.operation_id), (Change::Current, None));

    // Config grew the nodegroup: only that parameter differs, and the instance is re-applied.
    tree.environments.get_mut("dev").expect("dev").nodegroup.max_size = 6;
    let env = tree.environment("dev").expect("dev").clone();
    let grown = ensure(&sets, &tree, &env, account, "acme.dev.abc-trading.com", "exec-3").await.expect("update");
    assert_eq!((grown.change, grown.differing.clone()), (Change::Updated, vec!["NodeMaxSize".to_string()]));
    assert_eq!(settle(&sets, &grown, account).await.status, OperationState::Succeeded);
    let overrides = sets.overrides("abc-trading-platform", account, "us-east-1").await.expect("read").expect("there");
    assert_eq!(overrides["NodeMaxSize"], "6");

    // A failed operation says why, and leaves the instance OUTDATED: the next deploy re-applies.
    tree.environments.get_mut("dev").expect("dev").nodegroup.max_size = 8;
    let env = tree.environment("dev").expect("dev").clone();
    sets.fail_region("us-east-1", Some("Nodegroup: max size above the account's quota"));
    let failed = ensure(&sets, &tree, &env, account, "acme.dev.abc-trading.com", "exec-4").await.expect("update");
    let verdict = settle(&sets, &failed, account).await;
    assert_eq!(verdict.status, OperationState::Failed);
    assert!(verdict.reason.as_deref().is_some_and(|r| r.contains("quota")), "{verdict:?}");
    sets.fail_region("us-east-1", None);
    let retried = ensure(&sets, &tree, &env, account, "acme.dev.abc-trading.com", "exec-5").await.expect("update");
    assert_eq!((retried.change, retried.differing), (Change::Updated, vec![]), "OUTDATED, same parameters");
    let writes: Vec<String> =
        sets.calls().into_iter().filter(|c| c == "CreateStackInstances" || c == "UpdateStackInstances").collect();
    // The nodegroup change, the failed change, its re-application.
    assert_eq!(
        writes,
        ["CreateStackInstances", "UpdateStackInstances", "UpdateStackInstances", "UpdateStackInstances"]
    );
}

// Built by hand rather than with `mock_client!`, whose test defaults need the SDK's `test-util`
// feature (a second build of every SDK crate).
fn eks(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_eks::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    let config = aws_sdk_eks::Config::builder()
        .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
        .region(aws_sdk_eks::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eks::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    aws_sdk_eks::Client::from_conf(config)
}

fn cluster(status: ClusterStatus, mode: AuthenticationMode) -> Cluster {
    Cluster::builder()
        .name("abc-trading-dev")
        .arn("arn:aws:eks:us-east-1:222233334444:cluster/abc-trading-dev")
        .status(status)
        .endpoint("https://ABC.gr7.us-east-1.eks.amazonaws.com")
        .certificate_authority(Certificate::builder().data("LS0tLS1CRUdJTg==").build())
        .access_config(AccessConfigResponse::builder().authentication_mode(mode).build())
        .build()
}

const PRINCIPAL: &str = "arn:aws:iam::222233334444:role/abc-trading-automation";

#[tokio::test]
async fn access_is_granted_once_and_then_only_read() {
    use aws_sdk_eks::operation::associate_access_policy::AssociateAccessPolicyOutput;
    use aws_sdk_eks::operation::create_access_entry::CreateAccessEntryOutput;
    use aws_sdk_eks::operation::describe_access_entry::DescribeAccessEntryOutput;
    use aws_sdk_eks::operation::list_associated_access_policies::ListAssociatedAccessPoliciesOutput;
    let policy = format!("arn:aws:eks::aws:cluster-access-policy/{DEPLOYER_POLICY}");

    // First deploy: no entry, no policy: both written.
    let missing = mock!(aws_sdk_eks::Client::describe_access_entry).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(404).expect("status"),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type": "ResourceNotFoundException", "message": "The specified access entry resource is not found."}"#,
            ),
        )
    });
    let create = mock!(aws_sdk_eks::Client::create_access_entry)
        .match_requests(|r| r.principal_arn() == Some(PRINCIPAL) && r.r#type() == Some("STANDARD"))
        .then_output(|| CreateAccessEntryOutput::builder().build());
    let none = mock!(aws_sdk_eks::Client::list_associated_access_policies)
        .then_output(|| ListAssociatedAccessPoliciesOutput::builder().build());
    let p = policy.clone();
    let associate = mock!(aws_sdk_eks::Client::associate_access_policy)
        .match_requests(move |r| {
            r.policy_arn() == Some(p.as_str())
                && r.access_scope().and_then(|s| s.r#type()) == Some(&AccessScopeType::Cluster)
        })
        .then_output(|| AssociateAccessPolicyOutput::builder().build());
    let client = eks(&[&missing, &create, &none, &associate]);
    let changed = ensure_access_entry(&client, "abc-trading-dev", PRINCIPAL, "aws").await.expect("granted");
    assert_eq!(changed, [AccessChange::Created, AccessChange::Associated]);
    assert_eq!((create.num_calls(), associate.num_calls()), (1, 1));

    // Next deploy: both there: reads only.
    let present =
        mock!(aws_sdk_eks::Client::describe_access_entry).then_output(|| DescribeAccessEntryOutput::builder().build());
    let p = policy.clone();
    let listed = mock!(aws_sdk_eks::Client::list_associated_access_policies).then_output(move || {
        ListAssociatedAccessPoliciesOutput::builder()
            .associated_access_policies(
                AssociatedAccessPolicy::builder()
                    .policy_arn(&p)
                    .access_scope(AccessScope::builder().r#type(AccessScopeType::Cluster).build())
                    .build(),
            )
            .build()
    });
    let client = eks(&[&present, &listed]);
    let changed = ensure_access_entry(&client, "abc-trading-dev", PRINCIPAL, "aws").await.expect("present");
    assert!(changed.is_empty());
}

#[tokio::test]
async fn a_cluster_that_is_not_ready_or_takes_no_access_entries_is_named() {
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput;
    let answer = |status: ClusterStatus, mode: AuthenticationMode| {
        mock!(aws_sdk_eks::Client::describe_cluster).then_output(move || {
            DescribeClusterOutput::builder().cluster(cluster(status.clone(), mode.clone())).build()
        })
    };
    let active = answer(ClusterStatus::Active, AuthenticationMode::ApiAndConfigMap);
    let facts = describe_cluster(&eks(&[&active]), "abc-trading-dev").await.expect("active");
    assert_eq!(facts.endpoint, "https://ABC.gr7.us-east-1.eks.amazonaws.com");
    assert_eq!(facts.certificate_authority.as_deref(), Some("LS0tLS1CRUdJTg=="));

    let creating = answer(ClusterStatus::Creating, AuthenticationMode::Api);
    let e = describe_cluster(&eks(&[&creating]), "abc-trading-dev").await.expect_err("creating");
    assert_eq!(e.error_type(), "Transient", "worth waiting for: {e}");

    let config_map = answer(ClusterStatus::Active, AuthenticationMode::ConfigMap);
    let e = describe_cluster(&eks(&[&config_map]), "abc-trading-dev").await.expect_err("config map");
    assert_eq!(e.error_type(), "InvalidRequest");
    assert!(e.to_string().contains("authentication mode CONFIG_MAP"), "{e}");
}
