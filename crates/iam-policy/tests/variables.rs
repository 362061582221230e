//! Policy variables against the IAM User Guide's "IAM policy elements: Variables and tags" page.

mod support;

use iam_policy::Policy;
use serde_json::{Value, json};
use support::{allows, policy, request};

const USER: &str = "arn:aws:iam::123456789012:user/dev";

fn with_version(version: &str, statement: Value) -> [Policy; 1] {
    [policy(json!({"Version": version, "Statement": statement}))]
}

#[test]
fn a_principal_tag_names_the_team_bucket_with_a_default_for_the_untagged() {
    let policies = with_version(
        "2012-10-17",
        json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}"}),
    );
    let yellow = |bucket: &str| request(USER, "s3:ListBucket", bucket).with_context("aws:PrincipalTag/team", "yellow");
    assert!(allows(&policies, &yellow("arn:aws:s3:::DOC-EXAMPLE-BUCKET-yellow")));
    assert!(!allows(&policies, &yellow("arn:aws:s3:::DOC-EXAMPLE-BUCKET-blue")));
    assert!(!allows(&policies, &yellow("arn:aws:s3:::DOC-EXAMPLE-BUCKET-company-wide")));
    let untagged = |bucket: &str| request(USER, "s3:ListBucket", bucket);
    assert!(allows(&policies, &untagged("arn:aws:s3:::DOC-EXAMPLE-BUCKET-company-wide")));
    assert!(!allows(&policies, &untagged("arn:aws:s3:::DOC-EXAMPLE-BUCKET-yellow")));
}

#[test]
fn a_variable_with_no_value_matches_no_resource_and_no_positive_condition() {
    // "Policy variables with no value": the resource that includes it will not match any resource;
    // StringEquals does not match, StringNotEquals does.
    let resource = with_version(
        "2012-10-17",
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*"}),
    );
    let object = "arn:aws:s3:::bucket/red/file";
    assert!(!allows(&resource, &request(USER, "s3:GetObject", object)));
    assert!(allows(&resource, &request(USER, "s3:GetObject", object).with_context("aws:PrincipalTag/team", "red")));

    let same_team = |operator: &str| {
        with_version(
            "2012-10-17",
            json!({
                "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                "Condition": {operator: {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}}
            }),
        )
    };
    let get = request(USER, "s3:GetObject", object).with_context("s3:ExistingObjectTag/team", "red");
    assert!(!allows(&same_team("StringEquals"), &get));
    assert!(allows(&same_team("StringNotEquals"), &get));
    let tagged = get.with_context("aws:PrincipalTag/team", "red");
    assert!(allows(&same_team("StringEquals"), &tagged));
    assert!(!allows(&same_team("StringNotEquals"), &tagged));
}

#[test]
fn substituted_values_and_escapes_are_literal_not_wildcards() {
    // "Special characters": ${*}, ${?} and ${$} stand for the characters themselves.
    let escaped = with_version(
        "2012-10-17",
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${*}${?}${$}/*"}),
    );
    assert!(allows(&escaped, &request(USER, "s3:GetObject", "arn:aws:s3:::bucket/*?$/file")));
    assert!(!allows(&escaped, &request(USER, "s3:GetObject", "arn:aws:s3:::bucket/ab$/file")));
    // A tag value holding "*" must not widen the resource to every prefix.
    let by_tag = with_version(
        "2012-10-17",
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*"}),
    );
    let star_team = |object: &str| request(USER, "s3:GetObject", object).with_context("aws:PrincipalTag/team", "*");
    assert!(!allows(&by_tag, &star_team("arn:aws:s3:::bucket/red/file")));
    assert!(allows(&by_tag, &star_team("arn:aws:s3:::bucket/*/file")));
}

#[test]
fn the_2008_version_takes_variables_literally() {
    let statement =
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${aws:username}/*"});
    let literal = request(USER, "s3:GetObject", "arn:aws:s3:::bucket/${aws:username}/file");
    let substituted = request(USER, "s3:GetObject", "arn:aws:s3:::bucket/dev/file");
    assert!(allows(&with_version("2008-10-17", statement.clone()), &literal));
    assert!(!allows(&with_version("2008-10-17", statement.clone()), &substituted));
    assert!(allows(&with_version("2012-10-17", statement.clone()), &substituted));
    assert!(!allows(&with_version("2012-10-17", statement), &literal));
}

#[test]
fn a_multivalued_key_is_no_variable() {
    // "You cannot use a multivalued context key as a policy variable."
    let policies = with_version(
        "2012-10-17",
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${aws:TagKeys}/*"}),
    );
    let single = request(USER, "s3:GetObject", "arn:aws:s3:::bucket/a/file").with_context_values("aws:TagKeys", ["a"]);
    assert!(allows(&policies, &single));
    let several =
        request(USER, "s3:GetObject", "arn:aws:s3:::bucket/a/file").with_context_values("aws:TagKeys", ["a", "b"]);
    assert!(!allows(&policies, &several));
}

#[test]
fn variable_names_are_case_insensitive_like_condition_keys() {
    let policies = with_version(
        "2012-10-17",
        json!({"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "arn:aws:iam::*:user/${AWS:UserName}"}),
    );
    assert!(allows(&policies, &request(USER, "iam:ChangePassword", "arn:aws:iam::123456789012:user/dev")));
    assert!(!allows(&policies, &request(USER, "iam:ChangePassword", "arn:aws:iam::123456789012:user/ops")));
}
