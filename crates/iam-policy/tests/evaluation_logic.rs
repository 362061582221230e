//! The decision logic against the IAM User Guide's evaluation examples: same account, cross account, boundaries.

mod support;

use iam_policy::{AccessPolicies, Decision, Policy, evaluate, evaluate_access, evaluate_with_boundary};
use serde_json::json;
use support::{allow, deny, policy, request};

// IAM User Guide, "Policy evaluation logic" — "Example identity-based and resource-based policy evaluation".

fn carlos_identity_policy() -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowS3ListRead",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"],
                "Resource": "arn:aws:s3:::*"
            },
            {
                "Sid": "AllowS3Self",
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]
            },
            {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}
        ]
    }))
}

fn carlos_bucket_policy() -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:user/carlossalazar"},
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]
        }]
    }))
}

const CARLOS: &str = "arn:aws:iam::123456789012:user/carlossalazar";

#[test]
fn an_explicit_deny_for_log_buckets_overrides_every_allow() {
    let identity = [carlos_identity_policy()];
    let resource = [carlos_bucket_policy()];
    let policies = AccessPolicies { identity: &identity, resource: &resource, ..AccessPolicies::default() };
    // The bucket itself has "log" in its name, so DenyS3Logs applies on top of AllowS3ListRead.
    let to_logs = request(CARLOS, "s3:GetBucketLocation", "arn:aws:s3:::carlossalazar-logs");
    assert_eq!(evaluate_access(&policies, &to_logs), deny("DenyS3Logs"));
    let to_own = request(CARLOS, "s3:PutObject", "arn:aws:s3:::carlossalazar/report.csv");
    assert_eq!(evaluate_access(&policies, &to_own), allow("AllowS3Self"));
}

#[test]
fn within_one_account_either_the_identity_or_the_resource_policy_can_allow() {
    let identity = [carlos_identity_policy()];
    let resource = [carlos_bucket_policy()];
    let object = "arn:aws:s3:::carlossalazar/report.csv";
    let put = request(CARLOS, "s3:PutObject", object);
    let only_resource = AccessPolicies { resource: &resource, ..AccessPolicies::default() };
    assert_eq!(evaluate_access(&only_resource, &put), Decision::Allow(None));
    let only_identity = AccessPolicies { identity: &identity, ..AccessPolicies::default() };
    assert_eq!(evaluate_access(&only_identity, &put), allow("AllowS3Self"));
    // Another user of the account is named by neither policy.
    let other = request("arn:aws:iam::123456789012:user/akua", "s3:PutObject", object);
    let both = AccessPolicies { identity: &[], resource: &resource, ..AccessPolicies::default() };
    assert_eq!(evaluate_access(&both, &other), Decision::ImplicitDeny);
}

// IAM User Guide, "Policy evaluation logic" — "The difference between explicit and implicit denies".

#[test]
fn actions_not_allowed_are_implicitly_denied_and_reports_explicitly() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
            {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}
        ]
    }))];
    let user = "arn:aws:iam::123456789012:user/auditor";
    assert_eq!(evaluate(&policies, &request(user, "iam:GetRole", "*")), allow("AllowGetList"));
    assert_eq!(evaluate(&policies, &request(user, "iam:CreatePolicy", "*")), Decision::ImplicitDeny);
    assert_eq!(evaluate(&policies, &request(user, "iam:GetOrganizationsAccessReport", "*")), deny("DenyReports"));
    // A second policy granting reports changes nothing: the deny still wins.
    let granting = policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "Reports", "Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"}
    }));
    let with_grant = [granting, policies[0].clone()];
    assert_eq!(evaluate(&with_grant, &request(user, "iam:GenerateCredentialReport", "*")), deny("DenyReports"));
    assert_eq!(evaluate(&with_grant[..1], &request(user, "iam:GenerateCredentialReport", "*")), allow("Reports"));
}

// IAM User Guide, "Cross-account policy evaluation logic" — "Example cross-account policy evaluation".

fn cross_account_identity_policy() -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllowS3ListRead", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
            {"Sid": "AllowS3ProductionObjectActions", "Effect": "Allow", "Action": "s3:*Object*", "Resource": "arn:aws:s3:::Production/*"},
            {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::*log*", "arn:aws:s3:::*log*/*"]}
        ]
    }))
}

fn production_bucket_policy() -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CarlosObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject*", "s3:PutObject*", "s3:ReplicateObject", "s3:RestoreObject"],
            "Principal": {"AWS": "arn:aws:iam::111111111111:user/carlossalazar"},
            "Resource": "arn:aws:s3:::Production/*"
        }]
    }))
}

#[test]
fn across_accounts_both_the_identity_and_the_resource_policy_must_allow() {
    let carlos = "arn:aws:iam::111111111111:user/carlossalazar";
    let identity = [cross_account_identity_policy()];
    let resource = [production_bucket_policy()];
    let both = AccessPolicies {
        identity: &identity,
        resource: &resource,
        resource_account: Some("222222222222"),
        ..AccessPolicies::default()
    };
    let put = request(carlos, "s3:PutObject", "arn:aws:s3:::Production/file.txt");
    assert_eq!(evaluate_access(&both, &put), allow("CarlosObjects"));
    let to_logs = request(carlos, "s3:PutObject", "arn:aws:s3:::Production-logs/file.txt");
    assert_eq!(evaluate_access(&both, &to_logs), deny("DenyS3Logs"));
    // The bucket policy does not grant deletes, though the identity policy does.
    let delete = request(carlos, "s3:DeleteObject", "arn:aws:s3:::Production/file.txt");
    assert_eq!(evaluate_access(&both, &delete), Decision::ImplicitDeny);
    // Either policy alone is not enough across accounts.
    let identity_only = AccessPolicies { resource: &[], ..both };
    assert_eq!(evaluate_access(&identity_only, &put), Decision::ImplicitDeny);
    let resource_only = AccessPolicies { identity: &[], ..both };
    assert_eq!(evaluate_access(&resource_only, &put), Decision::ImplicitDeny);
    // The same two policies within one account: the resource policy alone would do, had it named him.
    let same_account = AccessPolicies { identity: &[], resource_account: Some("111111111111"), ..both };
    assert_eq!(evaluate_access(&same_account, &put), allow("CarlosObjects"));
}

#[test]
fn a_resource_policy_naming_only_the_account_delegates_to_the_identity_policies() {
    // IAM User Guide, "Policy evaluation logic": naming the account grants nothing on its own in that
    // account (the KMS default key policy's "Enable IAM policies" statement relies on it).
    let key_policy = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "Enable IAM policies",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:*",
            "Resource": "*"
        }
    }))];
    let identity = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "UseTheKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    }))];
    let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let decrypt = request("arn:aws:sts::111122223333:assumed-role/app/run", "kms:Decrypt", key);
    let without_identity = AccessPolicies { resource: &key_policy, ..AccessPolicies::default() };
    assert_eq!(evaluate_access(&without_identity, &decrypt), Decision::ImplicitDeny);
    let with_identity = AccessPolicies { identity: &identity, resource: &key_policy, ..AccessPolicies::default() };
    assert_eq!(evaluate_access(&with_identity, &decrypt), allow("UseTheKey"));
    // The account root user needs no identity policy in its own account.
    let root = request("arn:aws:iam::111122223333:root", "kms:Decrypt", key);
    assert!(evaluate_access(&without_identity, &root).is_allowed());
    assert!(
        !evaluate_access(&without_identity, &request("arn:aws:iam::999999999999:root", "kms:Decrypt", key))
            .is_allowed()
    );
}

// IAM User Guide, "Permissions boundaries for IAM entities" — "Delegating responsibility to others using
// permissions boundaries" (María, Zhang and the XCompanyBoundaries policy).

fn delegated_user_boundary() -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateOrChangeOnlyWithBoundary",
                "Effect": "Allow",
                "Action": ["iam:AttachUserPolicy", "iam:CreateUser", "iam:DeleteUserPolicy", "iam:DetachUserPolicy", "iam:PutUserPermissionsBoundary", "iam:PutUserPolicy"],
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/XCompanyBoundaries"}}
            },
            {
                "Sid": "CloudWatchAndOtherIAMTasks",
                "Effect": "Allow",
                "Action": ["cloudwatch:*", "iam:CreateAccessKey", "iam:GetUser", "iam:ListUsers", "iam:UpdateLoginProfile", "iam:DeletePolicy"],
                "NotResource": "arn:aws:iam::123456789012:user/Maria"
            },
            {
                "Sid": "NoBoundaryPolicyEdit",
                "Effect": "Deny",
                "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
                "Resource": ["arn:aws:iam::123456789012:policy/XCompanyBoundaries", "arn:aws:iam::123456789012:policy/DelegatedUserBoundary"]
            },
            {"Sid": "NoBoundaryUserDelete", "Effect": "Deny", "Action": "iam:DeleteUserPermissionsBoundary", "Resource": "*"}
        ]
    }))
}

fn delegated_user_permissions() -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "IAM", "Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {
                "Sid": "CloudWatchLimited",
                "Effect": "Allow",
                "Action": ["cloudwatch:GetDashboard", "cloudwatch:GetMetricData", "cloudwatch:ListDashboards", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"],
                "Resource": "*"
            },
            {"Sid": "S3BucketContents", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::ZhangBucket"}
        ]
    }))
}

const ZHANG: &str = "arn:aws:iam::123456789012:user/Zhang";

#[test]
fn zhang_creates_users_only_with_the_company_boundary() {
    let identity = [delegated_user_permissions()];
    let boundary = [delegated_user_boundary()];
    let nikhil = "arn:aws:iam::123456789012:user/Nikhil";
    let forgot = request(ZHANG, "iam:CreateUser", nikhil);
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &forgot), Decision::ImplicitDeny);
    let other = forgot.clone().with_context("iam:PermissionsBoundary", "arn:aws:iam::123456789012:policy/AdminAccess");
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &other), Decision::ImplicitDeny);
    let with_boundary =
        forgot.with_context("iam:PermissionsBoundary", "arn:aws:iam::123456789012:policy/XCompanyBoundaries");
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &with_boundary), allow("IAM"));
}

#[test]
fn the_boundary_limits_what_the_permissions_policy_grants() {
    let identity = [delegated_user_permissions()];
    let boundary = [delegated_user_boundary()];
    // Allowed by his permissions policy, not by his boundary.
    let list = request(ZHANG, "s3:ListBucket", "arn:aws:s3:::ZhangBucket");
    assert_eq!(evaluate(&identity, &list), allow("S3BucketContents"));
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &list), Decision::ImplicitDeny);
    // Allowed by both.
    let metrics = request(ZHANG, "cloudwatch:GetMetricData", "*");
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &metrics), allow("CloudWatchLimited"));
    // Allowed by his boundary, not by his permissions policy.
    let alarm = request(ZHANG, "cloudwatch:PutMetricAlarm", "*");
    assert_eq!(evaluate(&boundary, &alarm), allow("CloudWatchAndOtherIAMTasks"));
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &alarm), Decision::ImplicitDeny);
    // A deny in the boundary wins over the permissions policy's iam:*.
    let edit = request(ZHANG, "iam:DeletePolicy", "arn:aws:iam::123456789012:policy/XCompanyBoundaries");
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &edit), deny("NoBoundaryPolicyEdit"));
    let delete_other = request(ZHANG, "iam:DeletePolicy", "arn:aws:iam::123456789012:policy/TeamPolicy");
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &delete_other), allow("IAM"));
    // NotResource spares María's user from the password and key resets.
    let reset_maria = request(ZHANG, "iam:UpdateLoginProfile", "arn:aws:iam::123456789012:user/Maria");
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &reset_maria), Decision::ImplicitDeny);
    let reset_nikhil = request(ZHANG, "iam:UpdateLoginProfile", "arn:aws:iam::123456789012:user/Nikhil");
    assert_eq!(evaluate_with_boundary(&identity, &boundary, &reset_nikhil), allow("IAM"));
}

#[test]
fn a_boundary_also_limits_same_account_resource_grants_to_roles_but_not_to_the_exact_session() {
    // IAM User Guide, "Policy evaluation logic": resource-policy grants to a role ARN are limited by
    // the role's boundary; grants to the role session ARN are not.
    let boundary = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}
    }))];
    let queue_policy = |principal: &str| {
        [policy(json!({
            "Version": "2012-10-17",
            "Statement": {"Sid": "Send", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sqs:SendMessage", "Resource": "*"}
        }))]
    };
    let send = request(
        "arn:aws:sts::111122223333:assumed-role/worker/run-1",
        "sqs:SendMessage",
        "arn:aws:sqs:eu-west-1:111122223333:jobs",
    );
    let to_role = queue_policy("arn:aws:iam::111122223333:role/worker");
    let to_session = queue_policy("arn:aws:sts::111122223333:assumed-role/worker/run-1");
    for (resource, bounded, expected) in
        [(&to_role, false, allow("Send")), (&to_role, true, Decision::ImplicitDeny), (&to_session, true, allow("Send"))]
    {
        let policies = AccessPolicies {
            resource: resource.as_slice(),
            permissions_boundary: bounded.then_some(boundary.as_slice()),
            ..AccessPolicies::default()
        };
        assert_eq!(evaluate_access(&policies, &send), expected, "bounded: {bounded}");
    }
}
