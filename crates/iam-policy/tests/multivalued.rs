//! The set operators `ForAllValues:` and `ForAnyValue:` against the IAM User Guide's multivalued-key examples.

mod support;

use iam_policy::{Decision, Policy, evaluate};
use serde_json::{Value, json};
use support::{allow, deny, policy, request};

const USER: &str = "arn:aws:iam::123456789012:user/dev";

// IAM User Guide, "Conditions with multiple context keys or values" — "Examples of using multiple
// values with condition set operators" and "Evaluation logic for multiple values with condition set
// operators" (the DynamoDB Thread table).

fn for_all_values_get_item(attributes: Value) -> [Policy; 1] {
    [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadSomeAttributes",
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": "arn:aws:dynamodb:*:*:table/Thread",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": attributes}}
        }]
    }))]
}

fn get_item(attributes: &[&str]) -> iam_policy::Request {
    request(USER, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/Thread")
        .with_context_values("dynamodb:Attributes", attributes.iter().copied())
}

#[test]
fn for_all_values_needs_every_requested_attribute_listed() {
    let policies = for_all_values_get_item(json!(["ID", "Message", "Tags"]));
    assert_eq!(evaluate(&policies, &get_item(&["ID", "Message", "Tags"])), allow("ReadSomeAttributes"));
    assert_eq!(evaluate(&policies, &get_item(&["Message", "ID"])), allow("ReadSomeAttributes"));
    assert_eq!(evaluate(&policies, &get_item(&["ID", "UserName"])), Decision::ImplicitDeny);
}

#[test]
fn for_all_values_fails_on_the_unlisted_user_name() {
    // The evaluation table: PostDateTime matches, UserName matches nothing, so the condition is false.
    let policies = for_all_values_get_item(json!(["PostDateTime", "Message", "Tags"]));
    assert_eq!(evaluate(&policies, &get_item(&["PostDateTime", "UserName"])), Decision::ImplicitDeny);
    assert_eq!(evaluate(&policies, &get_item(&["PostDateTime", "Tags"])), allow("ReadSomeAttributes"));
}

#[test]
fn for_all_values_holds_for_an_empty_or_missing_key() {
    // "It also returns true if there are no keys in the request, or if the key values resolve to a
    // null data set": the reason not to use ForAllValues with Allow on its own.
    let policies = for_all_values_get_item(json!(["ID"]));
    let bare = request(USER, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/Thread");
    assert_eq!(evaluate(&policies, &bare), allow("ReadSomeAttributes"));
    assert_eq!(evaluate(&policies, &get_item(&[])), allow("ReadSomeAttributes"));
    assert_eq!(evaluate(&policies, &get_item(&["UserName"])), Decision::ImplicitDeny);
}

#[test]
fn for_any_value_denies_a_put_touching_a_protected_attribute() {
    let policies = [
        policy(json!({
            "Version": "2012-10-17",
            "Statement": {
                "Sid": "ProtectKeys",
                "Effect": "Deny",
                "Action": "dynamodb:PutItem",
                "Resource": "arn:aws:dynamodb:*:*:table/Thread",
                "Condition": {"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["ID", "PostDateTime"]}}
            }
        })),
        policy(
            json!({"Version": "2012-10-17", "Statement": {"Sid": "Writes", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}}),
        ),
    ];
    let put = |attributes: &[&str]| {
        request(USER, "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/Thread")
            .with_context_values("dynamodb:Attributes", attributes.iter().copied())
    };
    assert_eq!(evaluate(&policies, &put(&["PostDateTime", "Message"])), deny("ProtectKeys"));
    assert_eq!(evaluate(&policies, &put(&["UserName", "Message", "PostDateTime"])), deny("ProtectKeys"));
    // "None of the attributes in the request ... match ... The condition returns false".
    assert_eq!(evaluate(&policies, &put(&["UserName"])), allow("Writes"));
    // "For no matching key or a null dataset, the condition returns false."
    let bare = request(USER, "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/Thread");
    assert_eq!(evaluate(&policies, &bare), allow("Writes"));
}

// IAM User Guide, "Multivalued context key examples" — "Example: Deny policy with condition set
// operator ForAllValues".

#[test]
fn deny_restricted_tag_keys_only_when_tag_keys_are_present() {
    let policies = [
        policy(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyRestrictedTags",
                "Effect": "Deny",
                "Action": ["iam:Tag*", "iam:UnTag*"],
                "Resource": ["*"],
                "Condition": {
                    "Null": {"aws:TagKeys": "false"},
                    "ForAllValues:StringLike": {"aws:TagKeys": ["key1*", "key2*", "key3*"]}
                }
            }]
        })),
        policy(
            json!({"Version": "2012-10-17", "Statement": {"Sid": "Tagging", "Effect": "Allow", "Action": "iam:*Tag*", "Resource": "*"}}),
        ),
    ];
    let tag = |keys: &[&str]| {
        request(USER, "iam:TagRole", "arn:aws:iam::123456789012:role/app")
            .with_context_values("aws:TagKeys", keys.iter().copied())
    };
    assert_eq!(evaluate(&policies, &tag(&["key1-owner"])), deny("DenyRestrictedTags"));
    assert_eq!(evaluate(&policies, &tag(&["key1-owner", "key3"])), deny("DenyRestrictedTags"));
    assert_eq!(evaluate(&policies, &tag(&["key1-owner", "team"])), allow("Tagging"));
    // The Null check keeps a request without tag keys from being denied through ForAllValues' vacuous truth.
    let untag_nothing = request(USER, "iam:UntagRole", "arn:aws:iam::123456789012:role/app");
    assert_eq!(evaluate(&policies, &untag_nothing), allow("Tagging"));
}

// Negated operators under set operators apply the negation to each request value (the value
// must match none of the policy's). The AWS pages state the rule but give no truth table; the
// table below follows the operator reference of cloud-copilot's iam-simulate (npm), read, not copied.

#[test]
fn negated_operators_under_set_operators() {
    let all_not_like = json!({"ForAllValues:StringNotLike": {"aws:TagKeys": ["Owner:*", "State:??"]}});
    let any_not_like = json!({"ForAnyValue:StringNotLike": {"aws:TagKeys": ["Owner:*", "State:??"]}});
    let cases: [(&[&str], bool, bool); 5] = [
        // request tag keys, ForAllValues result, ForAnyValue result
        (&[], true, false),
        (&["Owner:Legal", "State:NY"], false, false),
        (&["Owner:Legal", "owner:Legal"], false, true),
        (&["owner:Legal"], true, true),
        (&["owner:Legal", "State:NewYork"], true, true),
    ];
    for (keys, for_all, for_any) in cases {
        let tag = request(USER, "iam:TagRole", "*").with_context_values("aws:TagKeys", keys.iter().copied());
        let tag = if keys.is_empty() { tag.without_context("aws:TagKeys") } else { tag };
        assert_eq!(support::allows(&allow_when(&all_not_like), &tag), for_all, "ForAllValues {keys:?}");
        assert_eq!(support::allows(&allow_when(&any_not_like), &tag), for_any, "ForAnyValue {keys:?}");
    }
}

#[test]
fn if_exists_on_a_set_operator_lets_a_missing_key_through() {
    let strict = json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}});
    let lenient = json!({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["team"]}});
    let bare = request(USER, "iam:TagRole", "*");
    assert!(!support::allows(&allow_when(&strict), &bare));
    assert!(support::allows(&allow_when(&lenient), &bare));
    let other = bare.with_context_values("aws:TagKeys", ["cost-centre"]);
    assert!(!support::allows(&allow_when(&lenient), &other));
}

fn allow_when(condition: &Value) -> [Policy; 1] {
    [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    }))]
}
