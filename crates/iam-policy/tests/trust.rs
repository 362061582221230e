//! Role trust policies: web-identity federation (GitHub Actions OIDC), services, and other accounts.

mod support;

use iam_policy::{Policy, Principal, Request, evaluate};
use serde_json::json;
use support::{allow, allows, policy, request};

const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
const GITHUB: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

// GitHub Docs, "Configuring OpenID Connect in Amazon Web Services" — "Configuring the role and trust policy";
// IAM User Guide, "Creating a role for web identity or OpenID Connect Federation".

fn github_trust() -> [Policy; 1] {
    [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:octo-org/octo-repo:*"}
            }
        }]
    }))]
}

fn assume(provider: &str, sub: &str) -> Request {
    Request::new(Principal::federated(provider), "sts:AssumeRoleWithWebIdentity", ROLE)
        .with_context("token.actions.githubusercontent.com:aud", "sts.amazonaws.com")
        .with_context("token.actions.githubusercontent.com:sub", sub)
}

#[test]
fn only_the_named_repository_assumes_the_role() {
    let trust = github_trust();
    assert_eq!(
        evaluate(&trust, &assume(GITHUB, "repo:octo-org/octo-repo:ref:refs/heads/main")),
        allow("GitHubActions")
    );
    assert_eq!(evaluate(&trust, &assume(GITHUB, "repo:octo-org/octo-repo:environment:prod")), allow("GitHubActions"));
    assert!(!allows(&trust, &assume(GITHUB, "repo:octo-org/other-repo:ref:refs/heads/main")));
    // Prefix tricks: the repository name must end where the pattern's colon says.
    assert!(!allows(&trust, &assume(GITHUB, "repo:octo-org/octo-repo-fork:ref:refs/heads/main")));
    let other_provider = "arn:aws:iam::123456789012:oidc-provider/gitlab.com";
    assert!(!allows(&trust, &assume(other_provider, "repo:octo-org/octo-repo:ref:refs/heads/main")));
    let wrong_audience = assume(GITHUB, "repo:octo-org/octo-repo:ref:refs/heads/main")
        .with_context("token.actions.githubusercontent.com:aud", "https://github.com/octo-org");
    assert!(!allows(&trust, &wrong_audience));
    let plain_assume = Request::new(Principal::federated(GITHUB), "sts:AssumeRole", ROLE)
        .with_context("token.actions.githubusercontent.com:aud", "sts.amazonaws.com")
        .with_context("token.actions.githubusercontent.com:sub", "repo:octo-org/octo-repo:ref:refs/heads/main");
    assert!(!allows(&trust, &plain_assume));
}

#[test]
fn a_subject_condition_left_out_trusts_every_repository() {
    // The misconfiguration the sub condition exists to prevent: the test must tell the two apart.
    let loose = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
        }
    }))];
    let stranger = assume(GITHUB, "repo:someone/else:ref:refs/heads/main");
    assert!(allows(&loose, &stranger));
    assert!(!allows(&github_trust(), &stranger));
}

// IAM User Guide, "IAM tutorial: Delegate access across AWS accounts using IAM roles" and the
// "aws:PrincipalOrgID" entry of "AWS global condition context keys".

#[test]
fn another_account_assumes_the_role_only_from_the_organisation_with_mfa() {
    let trust = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "Operators",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
                "Bool": {"aws:MultiFactorAuthPresent": "true"}
            }
        }
    }))];
    let operator = "arn:aws:sts::111122223333:assumed-role/operator/ana";
    let assume = |principal: &str| {
        request(principal, "sts:AssumeRole", ROLE)
            .with_context("aws:PrincipalOrgID", "o-a1b2c3d4e5")
            .with_context("aws:MultiFactorAuthPresent", "true")
    };
    assert!(allows(&trust, &assume(operator)));
    assert!(!allows(&trust, &assume(operator).with_context("aws:MultiFactorAuthPresent", "false")));
    assert!(!allows(&trust, &assume(operator).without_context("aws:MultiFactorAuthPresent")));
    assert!(!allows(&trust, &assume(operator).with_context("aws:PrincipalOrgID", "o-zzzzzzzzzz")));
    assert!(!allows(&trust, &assume("arn:aws:sts::444455556666:assumed-role/operator/ana")));
}

#[test]
fn a_principal_arn_condition_narrows_an_account_principal() {
    // IAM User Guide, "AWS global condition context keys" — aws:PrincipalArn: for a role session it is
    // the role's ARN, so ArnLike on role paths works for sessions.
    let trust = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": "111122223333"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/platform-*"}}
        }
    }))];
    assert!(allows(
        &trust,
        &request("arn:aws:sts::111122223333:assumed-role/platform-deploy/run", "sts:AssumeRole", ROLE)
    ));
    assert!(!allows(&trust, &request("arn:aws:sts::111122223333:assumed-role/app-deploy/run", "sts:AssumeRole", ROLE)));
    assert!(!allows(&trust, &request("arn:aws:iam::111122223333:user/platform-admin", "sts:AssumeRole", ROLE)));
}
