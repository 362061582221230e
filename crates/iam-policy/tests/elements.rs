//! The statement elements against the IAM User Guide's element reference examples.

mod support;

use iam_policy::{Decision, Principal, Request, evaluate};
use serde_json::json;
use support::{allow, allows, aws, deny, policy, request};

// IAM User Guide, "IAM JSON policy elements: NotAction".

#[test]
fn not_action_with_allow_grants_everything_outside_the_listed_actions_on_its_resources() {
    let s3_but_delete = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"}
    }))];
    let user = "arn:aws:iam::123456789012:user/dev";
    assert!(allows(&s3_but_delete, &request(user, "s3:GetObject", "arn:aws:s3:::bucket/key")));
    assert!(!allows(&s3_but_delete, &request(user, "s3:DeleteBucket", "arn:aws:s3:::bucket")));
    // "This does not allow users to use the ListAllMyBuckets S3 API operation, because that action
    // requires the "*" resource."
    assert!(!allows(&s3_but_delete, &request(user, "s3:ListAllMyBuckets", "*")));

    let all_but_iam = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    }))];
    assert!(allows(&all_but_iam, &request(user, "ec2:RunInstances", "*")));
    assert!(!allows(&all_but_iam, &request(user, "iam:CreateUser", "*")));
}

#[test]
fn not_action_with_deny_denies_non_iam_actions_without_mfa() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyAllUsersNotUsingMFA",
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
        }]
    }))];
    let user = "arn:aws:iam::123456789012:user/dev";
    let describe = request(user, "ec2:DescribeInstances", "*");
    // Long-term access keys carry no MFA key at all: BoolIfExists then holds, and the deny applies.
    assert_eq!(evaluate(&policies, &describe), deny("DenyAllUsersNotUsingMFA"));
    let without_mfa = describe.clone().with_context("aws:MultiFactorAuthPresent", "false");
    assert_eq!(evaluate(&policies, &without_mfa), deny("DenyAllUsersNotUsingMFA"));
    // "If the user is signed in with MFA, then the Condition test fails": not denied, and not allowed either.
    let with_mfa = describe.with_context("aws:MultiFactorAuthPresent", "true");
    assert_eq!(evaluate(&policies, &with_mfa), Decision::ImplicitDeny);
    // IAM actions are never denied by it.
    assert_eq!(evaluate(&policies, &request(user, "iam:ChangePassword", "*")), Decision::ImplicitDeny);
}

// IAM User Guide, "IAM JSON policy elements: NotResource".

#[test]
fn not_resource_denies_every_s3_resource_but_the_payroll_folder() {
    let policies = [
        policy(json!({
            "Version": "2012-10-17",
            "Statement": {
                "Sid": "PayrollOnly",
                "Effect": "Deny",
                "Action": "s3:*",
                "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]
            }
        })),
        policy(
            json!({"Version": "2012-10-17", "Statement": {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}}),
        ),
    ];
    let user = "arn:aws:iam::123456789012:user/hr";
    assert_eq!(
        evaluate(&policies, &request(user, "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/2024.csv")),
        allow("All")
    );
    assert_eq!(
        evaluate(&policies, &request(user, "s3:GetObject", "arn:aws:s3:::HRBucket/Reviews/a.pdf")),
        deny("PayrollOnly")
    );
    // "If the action also included Amazon EC2 actions, then the policy would not deny access to any EC2 resources."
    assert_eq!(evaluate(&policies, &request(user, "ec2:StartInstances", "*")), allow("All"));
}

// IAM User Guide, "AWS JSON policy elements: NotPrincipal".

#[test]
fn not_principal_spares_bob_only_when_his_account_is_listed_too() {
    let documented = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllButBob",
            "Effect": "Deny",
            "NotPrincipal": {"AWS": ["arn:aws:iam::444455556666:user/Bob", "arn:aws:iam::444455556666:root"]},
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::BUCKETNAME", "arn:aws:s3:::BUCKETNAME/*"]
        }]
    }))];
    let object = "arn:aws:s3:::BUCKETNAME/key";
    assert_eq!(
        evaluate(&documented, &request("arn:aws:iam::444455556666:user/Bob", "s3:GetObject", object)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&documented, &request("arn:aws:iam::444455556666:user/Alice", "s3:GetObject", object)),
        deny("AllButBob")
    );
    assert_eq!(
        evaluate(&documented, &request("arn:aws:iam::111122223333:user/Bob", "s3:GetObject", object)),
        deny("AllButBob")
    );
    // "If the NotPrincipal element contained only Bob's ARN, the effect of the policy might be to
    // explicitly deny access to the AWS account that contains the user Bob": modelled as denied.
    let bob_only = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "AllButBob", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::444455556666:user/Bob"}, "Action": "s3:*", "Resource": "*"}
    }))];
    assert_eq!(
        evaluate(&bob_only, &request("arn:aws:iam::444455556666:user/Bob", "s3:GetObject", object)),
        deny("AllButBob")
    );
}

#[test]
fn not_principal_spares_a_role_session_listed_with_its_role_and_account() {
    let statement = |not_principals: serde_json::Value| {
        [policy(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "OnlyAudit",
                "Effect": "Deny",
                "NotPrincipal": {"AWS": not_principals},
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::Bucket_AccountAudit", "arn:aws:s3:::Bucket_AccountAudit/*"]
            }]
        }))]
    };
    let documented = statement(json!([
        "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app",
        "arn:aws:iam::444455556666:role/cross-account-read-only-role",
        "arn:aws:iam::444455556666:root"
    ]));
    let object = "arn:aws:s3:::Bucket_AccountAudit/report";
    let audit_app = "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app";
    assert_eq!(evaluate(&documented, &request(audit_app, "s3:GetObject", object)), Decision::ImplicitDeny);
    let other_session = "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/someone-else";
    assert_eq!(evaluate(&documented, &request(other_session, "s3:GetObject", object)), deny("OnlyAudit"));
    // "If the NotPrincipal element was missing the ARN of the role, the effect of the policy might be
    // to explicitly deny access to the role."
    let without_role = statement(json!([audit_app, "arn:aws:iam::444455556666:root"]));
    assert_eq!(evaluate(&without_role, &request(audit_app, "s3:GetObject", object)), deny("OnlyAudit"));
}

// IAM User Guide, "AWS JSON policy elements: Principal".

#[test]
fn an_account_principal_covers_its_identities_and_a_role_principal_covers_its_sessions() {
    let by_account_id = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sqs:SendMessage", "Resource": "*"}
    }))];
    let by_root_arn = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]}, "Action": "sqs:SendMessage", "Resource": "*"}
    }))];
    let by_role = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "Role", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/division/sender"}, "Action": "sqs:SendMessage", "Resource": "*"}
    }))];
    let session = "arn:aws:sts::123456789012:assumed-role/sender/run-7";
    let stranger = "arn:aws:sts::210987654321:assumed-role/sender/run-7";
    for policies in [&by_account_id, &by_root_arn, &by_role] {
        assert!(allows(policies, &request(session, "sqs:SendMessage", "*")));
        assert!(!allows(policies, &request(stranger, "sqs:SendMessage", "*")));
    }
    assert!(!allows(
        &by_role,
        &request("arn:aws:sts::123456789012:assumed-role/receiver/run-7", "sqs:SendMessage", "*")
    ));
    // With the role's path known, a role of the same name on another path is someone else.
    let elsewhere = Principal::role_session("arn:aws:iam::123456789012:role/other/sender", "run-7").expect("role arn");
    assert!(!allows(&by_role, &Request::new(elsewhere, "sqs:SendMessage", "*")));
    let there = Principal::role_session("arn:aws:iam::123456789012:role/division/sender", "run-7").expect("role arn");
    assert!(allows(&by_role, &Request::new(there, "sqs:SendMessage", "*")));
}

#[test]
fn everyone_and_service_principals() {
    let public = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}
    }))];
    assert!(allows(&public, &Request::new(Principal::Anonymous, "s3:GetObject", "arn:aws:s3:::site/index.html")));
    assert!(!allows(&public, &Request::new(Principal::Anonymous, "s3:PutObject", "arn:aws:s3:::site/index.html")));
    let invoke = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "scheduler.amazonaws.com"]}, "Action": "lambda:InvokeFunction", "Resource": "*"}
    }))];
    assert!(allows(&invoke, &Request::new(Principal::service("events.amazonaws.com"), "lambda:InvokeFunction", "*")));
    assert!(!allows(&invoke, &Request::new(Principal::service("sns.amazonaws.com"), "lambda:InvokeFunction", "*")));
    assert!(!allows(&invoke, &Request::new(aws("arn:aws:iam::123456789012:root"), "lambda:InvokeFunction", "*")));
}

// IAM User Guide, "IAM JSON policy elements: Action" and "IAM JSON policy elements: Resource".

#[test]
fn action_names_are_case_insensitive_and_resources_case_sensitive() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": ["SQS:SendMessage", "ec2:Describe*"], "Resource": "arn:aws:sqs:*:123456789012:Jobs-*"}
    }))];
    let user = "arn:aws:iam::123456789012:user/dev";
    assert!(allows(&policies, &request(user, "sqs:sendmessage", "arn:aws:sqs:us-east-2:123456789012:Jobs-high")));
    assert!(!allows(&policies, &request(user, "sqs:sendmessage", "arn:aws:sqs:us-east-2:123456789012:jobs-high")));
    assert!(!allows(&policies, &request(user, "sqs:SendMessageBatch", "arn:aws:sqs:us-east-2:123456789012:Jobs-high")));
}

#[test]
fn a_resource_wildcard_expands_across_slashes() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*"}
    }))];
    let user = "arn:aws:iam::123456789012:user/dev";
    for object in ["1/test/object.jpg", "1/2/test/object.jpg", "1/2/test/3/object.jpg"] {
        assert!(
            allows(&policies, &request(user, "s3:GetObject", &format!("arn:aws:s3:::DOC-EXAMPLE-BUCKET/{object}"))),
            "{object}"
        );
    }
    assert!(!allows(&policies, &request(user, "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/1/prod/object.jpg")));
}

#[test]
fn a_trust_policy_without_resource_applies_to_its_role() {
    let trust = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    }))];
    let role = "arn:aws:iam::123456789012:role/fn";
    assert!(allows(&trust, &Request::new(Principal::service("lambda.amazonaws.com"), "sts:AssumeRole", role)));
    assert!(!allows(&trust, &Request::new(Principal::service("lambda.amazonaws.com"), "sts:TagSession", role)));
}
