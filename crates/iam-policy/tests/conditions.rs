//! The condition operators against the IAM User Guide's "Condition operators" examples.

mod support;

use iam_policy::{Decision, Policy};
use serde_json::{Value, json};
use support::{allows, deny, policy, request};

const USER: &str = "arn:aws:iam::123456789012:user/dev";

/// An `Allow` of everything under one condition block.
fn allow_when(condition: Value) -> [Policy; 1] {
    [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    }))]
}

/// Whether a request carrying `context` passes `condition`.
fn passes(condition: &Value, context: &[(&str, &[&str])]) -> bool {
    let mut request = request(USER, "s3:ListBucket", "*");
    for (key, values) in context {
        request = request.with_context_values(key, values.iter().copied());
    }
    allows(&allow_when(condition.clone()), &request)
}

// IAM User Guide, "IAM JSON policy elements: Condition operators" — String condition operators.

#[test]
fn string_equals_on_a_principal_tag() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "iam:*AccessKey*",
            "Resource": "arn:aws:iam::123456789012:user/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}
        }
    }))];
    let create = request(USER, "iam:CreateAccessKey", "arn:aws:iam::123456789012:user/ana");
    assert!(!allows(&policies, &create), "a user without the tag is implicitly denied");
    assert!(allows(&policies, &create.clone().with_context("aws:PrincipalTag/job-category", "iamuser-admin")));
    // Condition key names are case-insensitive; values under StringEquals are not.
    assert!(allows(&policies, &create.clone().with_context("AWS:PRINCIPALTAG/JOB-CATEGORY", "iamuser-admin")));
    assert!(!allows(&policies, &create.with_context("aws:PrincipalTag/job-category", "IAMUSER-ADMIN")));
}

#[test]
fn string_like_with_a_policy_variable_for_a_home_directory() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::*"},
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::BUCKET-NAME",
                "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}
            },
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::BUCKET-NAME/home/${aws:username}", "arn:aws:s3:::BUCKET-NAME/home/${aws:username}/*"]
            }
        ]
    }))];
    let david = "arn:aws:iam::123456789012:user/David";
    let list =
        |prefix: &str| request(david, "s3:ListBucket", "arn:aws:s3:::BUCKET-NAME").with_context("s3:prefix", prefix);
    assert!(allows(&policies, &list("home/David/")));
    assert!(allows(&policies, &list("")));
    assert!(!allows(&policies, &list("home/Ana/")));
    assert!(allows(&policies, &request(david, "s3:PutObject", "arn:aws:s3:::BUCKET-NAME/home/David/notes.txt")));
    assert!(!allows(&policies, &request(david, "s3:PutObject", "arn:aws:s3:::BUCKET-NAME/home/Ana/notes.txt")));
    // A role session has no aws:username: the variable resolves to nothing and matches no resource.
    let session = "arn:aws:sts::123456789012:assumed-role/David/David";
    assert!(!allows(&policies, &request(session, "s3:PutObject", "arn:aws:s3:::BUCKET-NAME/home/David/notes.txt")));
}

// Numeric, Date, Boolean, IP address and ARN condition operators.

#[test]
fn numeric_less_than_equals_on_max_keys() {
    let condition = json!({"NumericLessThanEquals": {"s3:max-keys": "10"}});
    assert!(passes(&condition, &[("s3:max-keys", &["10"])]));
    assert!(passes(&condition, &[("s3:max-keys", &["2.5"])]));
    assert!(!passes(&condition, &[("s3:max-keys", &["11"])]));
    assert!(!passes(&condition, &[("s3:max-keys", &["ten"])]));
    assert!(!passes(&condition, &[]), "a missing key does not match");
}

#[test]
fn date_greater_than_on_the_token_issue_time() {
    let condition = json!({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}});
    assert!(passes(&condition, &[("aws:TokenIssueTime", &["2020-06-30T12:00:00Z"])]));
    assert!(passes(&condition, &[("aws:TokenIssueTime", &["1593518400"])]), "epoch seconds compare too");
    assert!(!passes(&condition, &[("aws:TokenIssueTime", &["2020-01-01T00:00:01Z"])]));
    assert!(!passes(&condition, &[("aws:TokenIssueTime", &["2019-12-31T23:59:59Z"])]));
    // "if an IAM user attempts to view or edit an access key, the request is denied" (no token, no key).
    assert!(!passes(&condition, &[]));
}

#[test]
fn bool_denies_requests_not_over_tls() {
    let policies = [
        policy(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "BooleanExample",
                "Action": "s3:*",
                "Effect": "Deny",
                "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }]
        })),
        policy(json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})),
    ];
    let get = request(USER, "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a");
    assert_eq!(
        iam_policy::evaluate(&policies, &get.clone().with_context("aws:SecureTransport", "false")),
        deny("BooleanExample")
    );
    assert!(allows(&policies, &get.clone().with_context("aws:SecureTransport", "true")));
    assert!(allows(&policies, &get.with_context("aws:SecureTransport", "TRUE")), "booleans ignore case");
}

#[test]
fn ip_address_ranges_in_both_families() {
    let condition = json!({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}});
    assert!(passes(&condition, &[("aws:SourceIp", &["203.0.113.10"])]));
    assert!(passes(&condition, &[("aws:SourceIp", &["2001:db8:1234:5678::beef"])]));
    assert!(!passes(&condition, &[("aws:SourceIp", &["198.51.100.1"])]));
    // "except when the requester uses a VPC endpoint ... the condition returns false".
    assert!(!passes(&condition, &[]));
    let outside = json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}});
    assert!(passes(&outside, &[("aws:SourceIp", &["198.51.100.1"])]));
    assert!(!passes(&outside, &[("aws:SourceIp", &["203.0.113.10"])]));
}

#[test]
fn arn_equals_on_the_source_topic() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": "123456789012"},
            "Action": "SQS:SendMessage",
            "Resource": "arn:aws:sqs:REGION:123456789012:QUEUE-ID",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:REGION:123456789012:TOPIC-ID"}}
        }
    }))];
    let send = request("arn:aws:iam::123456789012:root", "sqs:SendMessage", "arn:aws:sqs:REGION:123456789012:QUEUE-ID");
    assert!(allows(&policies, &send.clone().with_context("aws:SourceArn", "arn:aws:sns:REGION:123456789012:TOPIC-ID")));
    assert!(!allows(&policies, &send.clone().with_context("aws:SourceArn", "arn:aws:sns:REGION:123456789012:OTHER")));
    // "If an IAM user attempts to perform this operation directly, the condition returns false".
    assert!(!allows(&policies, &send));
}

#[test]
fn arn_like_matches_part_by_part_where_string_like_does_not() {
    let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
    let pattern = "arn:aws:someservice:*:111122223333:finance/*";
    assert!(passes(&json!({"StringLike": {"aws:SourceArn": pattern}}), &[("aws:SourceArn", &[value])]));
    assert!(!passes(&json!({"ArnLike": {"aws:SourceArn": pattern}}), &[("aws:SourceArn", &[value])]));
    let own = "arn:aws:someservice:us-east-2:111122223333:finance/document.txt";
    assert!(passes(&json!({"ArnLike": {"aws:SourceArn": pattern}}), &[("aws:SourceArn", &[own])]));
    assert!(!passes(&json!({"ArnNotLike": {"aws:SourceArn": pattern}}), &[("aws:SourceArn", &[own])]));
}

// ...IfExists condition operators, and the Null check.

#[test]
fn string_like_if_exists_lets_resources_without_the_key_through() {
    let documented = |operator: &str| {
        [policy(json!({
            "Version": "2012-10-17",
            "Statement": {
                "Sid": "RunInstance",
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "Resource": "*",
                "Condition": {operator: {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}
            }
        }))]
    };
    let image = request(USER, "ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1");
    let instance = |kind: &str| {
        request(USER, "ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:instance/*")
            .with_context("ec2:InstanceType", kind)
    };
    // "THISPOLICYDOESNOTWORK": the image has no instance type, so StringLike fails for it.
    assert!(!allows(&documented("StringLike"), &image));
    assert!(allows(&documented("StringLike"), &instance("t2.micro")));
    assert!(allows(&documented("StringLikeIfExists"), &image));
    assert!(allows(&documented("StringLikeIfExists"), &instance("t2.micro")));
    assert!(!allows(&documented("StringLikeIfExists"), &instance("p4d.24xlarge")));
}

#[test]
fn null_tells_temporary_from_long_term_credentials() {
    let condition = json!({"Null": {"aws:TokenIssueTime": "true"}});
    assert!(passes(&condition, &[]));
    assert!(!passes(&condition, &[("aws:TokenIssueTime", &["2024-01-01T00:00:00Z"])]));
    let present = json!({"Null": {"aws:TokenIssueTime": false}});
    assert!(passes(&present, &[("aws:TokenIssueTime", &["2024-01-01T00:00:00Z"])]));
    assert!(!passes(&present, &[]));
}

#[test]
fn a_missing_key_fails_positive_operators_and_satisfies_negated_ones() {
    // "If the policy condition requires that the key is not matched, such as StringNotLike or
    // ArnNotLike, and the right key is not present, the condition is true."
    for operator in ["StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase", "ArnNotLike", "ArnNotEquals"] {
        let condition = json!({operator: {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}});
        assert!(passes(&condition, &[]), "{operator} without the key");
        let positive =
            json!({operator.replacen("Not", "", 1): {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}});
        assert!(!passes(&positive, &[]), "{operator} un-negated without the key");
    }
    // "If you are using an Effect: Deny element with a negated condition operator like
    // StringNotEqualsIfExists, the request is still denied even if the tag is missing."
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "OnlyFinance",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalTag/department": "finance"}}
        }
    }))];
    let call = request(USER, "s3:GetObject", "*");
    assert_eq!(iam_policy::evaluate(&policies, &call), deny("OnlyFinance"));
    assert_eq!(
        iam_policy::evaluate(&policies, &call.with_context("aws:PrincipalTag/department", "finance")),
        Decision::ImplicitDeny
    );
}

// IAM User Guide, "Conditions with multiple context keys or values" — evaluation logic.

#[test]
fn operators_and_keys_are_anded_and_a_keys_values_ored() {
    let condition = json!({
        "StringEqualsIgnoreCase": {
            "aws:PrincipalTag/department": ["finance", "hr", "legal"],
            "aws:PrincipalTag/role": ["audit", "security"]
        },
        "StringEquals": {"aws:PrincipalAccount": "123456789012"}
    });
    let tags: [(&str, &[&str]); 2] = [("aws:PrincipalTag/department", &["HR"]), ("aws:PrincipalTag/role", &["audit"])];
    assert!(passes(&condition, &tags));
    assert!(!passes(&condition, &tags[..1]), "both tag keys are required");
    assert!(!passes(&condition, &[("aws:PrincipalTag/department", &["it"]), ("aws:PrincipalTag/role", &["audit"])]));
    let other_account = [tags[0], tags[1], ("aws:PrincipalAccount", &["210987654321"][..])];
    assert!(!passes(&condition, &other_account));
}

#[test]
fn a_negated_operators_values_are_nored() {
    // "if there are multiple aws:PrincipalAccount values in a StringNotEquals condition operator, the
    // string cannot match any of the aws:PrincipalAccount values listed to resolve the condition to true."
    let condition = json!({"StringNotEquals": {"aws:PrincipalAccount": ["111122223333", "444455556666"]}});
    assert!(passes(&condition, &[("aws:PrincipalAccount", &["777788889999"])]));
    assert!(!passes(&condition, &[("aws:PrincipalAccount", &["444455556666"])]));
    assert!(!passes(&condition, &[("aws:PrincipalAccount", &["111122223333"])]));
}
