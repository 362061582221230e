//! EventBridge bus and rule policies against the EventBridge User Guide's examples (`events:source`, `events:detail-type`).

mod support;

use iam_policy::{AccessPolicies, Decision, Policy, Principal, Request, evaluate, evaluate_access};
use serde_json::{Value, json};
use support::{allow, allows, deny, policy, request};

const USER: &str = "arn:aws:iam::123456789012:user/dev";
const BUS: &str = "arn:aws:events:us-east-1:123456789012:event-bus/central-event-bus";

// EventBridge User Guide, "Example policy: Send events to a custom bus in a different account".

fn central_bus_policy() -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "WebStoreCrossAccountPublish",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Resource": BUS,
            "Condition": {
                "ForAllValues:StringEquals": {"events:source": "com.exampleCorp.webStore"},
                "StringEquals": {"events:detail-type": "newOrderCreated"}
            }
        }]
    }))
}

fn put_events(principal: &str, source: &str, detail_type: &str) -> Request {
    request(principal, "events:PutEvents", BUS)
        .with_context("events:source", source)
        .with_context("events:detail-type", detail_type)
}

#[test]
fn the_central_bus_takes_only_web_store_order_events_from_its_principal() {
    // The published policy names account 123456789012 (the bus owner) while its text speaks of
    // 111122223333: evaluated as written, the named account is the one let in.
    let policies = [central_bus_policy()];
    let publisher = "arn:aws:sts::123456789012:assumed-role/web-store/publish";
    assert_eq!(
        evaluate(&policies, &put_events(publisher, "com.exampleCorp.webStore", "newOrderCreated")),
        allow("WebStoreCrossAccountPublish")
    );
    assert_eq!(
        evaluate(&policies, &put_events(publisher, "com.exampleCorp.webStore", "orderShipped")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&policies, &put_events(publisher, "com.exampleCorp.payments", "newOrderCreated")),
        Decision::ImplicitDeny
    );
    let outsider = "arn:aws:sts::111122223333:assumed-role/web-store/publish";
    assert_eq!(
        evaluate(&policies, &put_events(outsider, "com.exampleCorp.webStore", "newOrderCreated")),
        Decision::ImplicitDeny
    );
}

#[test]
fn a_cross_account_publisher_also_needs_its_own_identity_policy() {
    let bus_policy = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "WebStoreCrossAccountPublish",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Resource": BUS,
            "Condition": {"StringEquals": {"events:source": "com.exampleCorp.webStore"}}
        }]
    }))];
    let identity = [policy(json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "Publish", "Effect": "Allow", "Action": "events:PutEvents", "Resource": BUS}
    }))];
    let publisher = "arn:aws:sts::111122223333:assumed-role/web-store/publish";
    let event = put_events(publisher, "com.exampleCorp.webStore", "newOrderCreated");
    let both = AccessPolicies { identity: &identity, resource: &bus_policy, ..AccessPolicies::default() };
    assert_eq!(evaluate_access(&both, &event), allow("WebStoreCrossAccountPublish"));
    let resource_only = AccessPolicies { resource: &bus_policy, ..AccessPolicies::default() };
    assert_eq!(evaluate_access(&resource_only, &event), Decision::ImplicitDeny);
    let wrong_source = put_events(publisher, "com.exampleCorp.other", "newOrderCreated");
    assert_eq!(evaluate_access(&both, &wrong_source), Decision::ImplicitDeny);
}

// EventBridge User Guide, "Example policy: Send events to an event bus in the same account".

#[test]
fn a_bus_policy_without_principal_admits_its_own_account() {
    let bus = "arn:aws:events:us-east-1:111122223333:event-bus/CustomBus1";
    let bus_policy = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "SameAccount", "Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [bus]}]
    }))];
    let policies = AccessPolicies { resource: &bus_policy, ..AccessPolicies::default() };
    let own = request("arn:aws:iam::111122223333:user/dev", "events:PutEvents", bus);
    assert_eq!(evaluate_access(&policies, &own), allow("SameAccount"));
    let other_bus = request(
        "arn:aws:iam::111122223333:user/dev",
        "events:PutEvents",
        "arn:aws:events:us-east-1:111122223333:event-bus/default",
    );
    assert_eq!(evaluate_access(&policies, &other_bus), Decision::ImplicitDeny);
}

// EventBridge User Guide, "Using IAM policy conditions in Amazon EventBridge".

fn allow_put_rule(sid: &str, condition: Value) -> [Policy; 1] {
    [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "events:PutRule", "Resource": "*", "Condition": condition}]
    }))]
}

/// A `PutRule` whose event pattern lists these sources and detail types (absent when empty).
fn put_rule(sources: &[&str], detail_types: &[&str]) -> Request {
    let mut rule = request(USER, "events:PutRule", "arn:aws:events:us-east-1:123456789012:rule/r");
    if !sources.is_empty() {
        rule = rule.with_context_values("events:source", sources.iter().copied());
    }
    if !detail_types.is_empty() {
        rule = rule.with_context_values("events:detail-type", detail_types.iter().copied());
    }
    rule
}

#[test]
fn deny_put_rule_for_ec2_events() {
    let policies = [
        policy(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyPutRuleForAllEC2Events",
                "Effect": "Deny",
                "Action": "events:PutRule",
                "Resource": "*",
                "Condition": {"StringEquals": {"events:source": "aws.ec2"}}
            }]
        })),
        policy(
            json!({"Version": "2012-10-17", "Statement": {"Sid": "Rules", "Effect": "Allow", "Action": "events:*", "Resource": "*"}}),
        ),
    ];
    assert_eq!(evaluate(&policies, &put_rule(&["aws.ec2"], &[])), deny("DenyPutRuleForAllEC2Events"));
    assert_eq!(evaluate(&policies, &put_rule(&["aws.s3"], &[])), allow("Rules"));
}

#[test]
fn limiting_access_to_a_specific_source() {
    // Policy B; the table: ec2 yes, ec2+s3 no, ec2 with a detail type yes, a detail type alone no.
    let policies = allow_put_rule("AllowPutRuleForAllEC2Events", json!({"StringEquals": {"events:source": "aws.ec2"}}));
    assert!(allows(&policies, &put_rule(&["aws.ec2"], &[])));
    assert!(!allows(&policies, &put_rule(&["aws.ec2", "aws.s3"], &[])));
    assert!(allows(&policies, &put_rule(&["aws.ec2"], &["EC2 Instance State-change Notification"])));
    assert!(!allows(&policies, &put_rule(&[], &["EC2 Instance State-change Notification"])));
}

#[test]
fn multiple_sources_that_can_be_used_individually() {
    let policies = allow_put_rule(
        "AllowPutRuleIfSourceIsEC2OrECS",
        json!({"StringEquals": {"events:source": ["aws.ec2", "aws.ecs"]}}),
    );
    assert!(allows(&policies, &put_rule(&["aws.ec2"], &[])));
    assert!(allows(&policies, &put_rule(&["aws.ecs"], &[])));
    assert!(!allows(&policies, &put_rule(&["aws.s3"], &[])));
    // Both listed, yet refused: a plain operator does not compare several request values.
    assert!(!allows(&policies, &put_rule(&["aws.ec2", "aws.ecs"], &[])));
    assert!(!allows(&policies, &put_rule(&[], &["AWS API Call via CloudTrail"])));
}

#[test]
fn a_source_and_a_detail_type_together() {
    let policies = allow_put_rule(
        "AllowPutRuleIfSourceIsEC2AndDetailTypeIsInstanceStateChangeNotification",
        json!({"StringEquals": {"events:source": "aws.ec2", "events:detail-type": "EC2 Instance State-change Notification"}}),
    );
    assert!(!allows(&policies, &put_rule(&["aws.ec2"], &[])));
    assert!(!allows(&policies, &put_rule(&["aws.ecs"], &[])));
    assert!(allows(&policies, &put_rule(&["aws.ec2"], &["EC2 Instance State-change Notification"])));
    assert!(!allows(&policies, &put_rule(&["aws.ec2"], &["EC2 Instance Health Failed"])));
    assert!(!allows(&policies, &put_rule(&[], &["EC2 Instance State-change Notification"])));
}

#[test]
fn the_source_must_be_defined() {
    let policies = allow_put_rule("AllowPutRuleIfSourceIsSpecified", json!({"Null": {"events:source": "false"}}));
    assert!(allows(&policies, &put_rule(&["aws.ec2"], &["EC2 Instance State-change Notification"])));
    assert!(allows(&policies, &put_rule(&["aws.ecs", "aws.ec2"], &[])));
    assert!(!allows(&policies, &put_rule(&[], &["EC2 Instance State-change Notification"])));
}

#[test]
fn a_list_of_allowed_sources_for_patterns_with_several() {
    let policies = allow_put_rule(
        "AllowPutRuleIfSourceIsSpecifiedAndIsEitherS3OrEC2OrBoth",
        json!({"ForAllValues:StringEquals": {"events:source": ["aws.ec2", "aws.s3"]}, "Null": {"events:source": "false"}}),
    );
    assert!(allows(&policies, &put_rule(&["aws.ec2"], &[])));
    assert!(allows(&policies, &put_rule(&["aws.ec2", "aws.s3"], &[])));
    assert!(!allows(&policies, &put_rule(&["aws.ec2", "aws.autoscaling"], &[])));
    assert!(!allows(&policies, &put_rule(&[], &["EC2 Instance State-change Notification"])));
}

#[test]
fn cloudtrail_events_only_from_one_principal_id() {
    let policies = allow_put_rule(
        "AllowPutRuleOnlyForCloudTrailEventsWhereUserIsASpecificIAMUser",
        json!({"StringEquals": {
            "events:detail-type": ["AWS API Call via CloudTrail"],
            "events:detail.userIdentity.principalId": ["AIDAJ45Q7YFFAREXAMPLE"]
        }}),
    );
    let rule = put_rule(&[], &["AWS API Call via CloudTrail"]);
    assert!(!allows(&policies, &rule));
    assert!(allows(
        &policies,
        &rule.clone().with_context("events:detail.userIdentity.principalId", "AIDAJ45Q7YFFAREXAMPLE")
    ));
    let session = "AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName";
    assert!(!allows(&policies, &rule.with_context("events:detail.userIdentity.principalId", session)));
}

#[test]
fn creator_account_compared_with_the_principal_account_variable() {
    let policies = allow_put_rule(
        "AllowPutRuleForOwnedRules",
        json!({"StringEqualsIfExists": {"events:creatorAccount": "${aws:PrincipalAccount}"}}),
    );
    assert!(allows(&policies, &put_rule(&[], &[])));
    assert!(allows(&policies, &put_rule(&[], &[]).with_context("events:creatorAccount", "123456789012")));
    assert!(!allows(&policies, &put_rule(&[], &[]).with_context("events:creatorAccount", "111122223333")));
}

#[test]
fn cross_account_invocations_only() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowCrossAccountInvocationEventsOnly",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"events:eventBusInvocation": "true"}}
        }]
    }))];
    let put = Request::new(Principal::service("events.amazonaws.com"), "events:PutEvents", BUS);
    assert!(allows(&policies, &put.clone().with_context("events:eventBusInvocation", "true")));
    assert!(!allows(&policies, &put.clone().with_context("events:eventBusInvocation", "false")));
    assert!(allows(&policies, &put));
}

#[test]
fn targets_limited_to_lambda_functions_on_one_rule() {
    let policies = [policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowPutTargetsOnASpecificRuleAndOnlyLambdaFunctions",
            "Effect": "Allow",
            "Action": "events:PutTargets",
            "Resource": "arn:aws:events:us-east-1:123456789012:rule/MyRule",
            "Condition": {"ArnLike": {"events:TargetArn": "arn:aws:lambda:*:*:function:*"}}
        }]
    }))];
    let put = |rule: &str, target: &str| {
        request(USER, "events:PutTargets", &format!("arn:aws:events:us-east-1:123456789012:rule/{rule}"))
            .with_context("events:TargetArn", target)
    };
    assert!(allows(&policies, &put("MyRule", "arn:aws:lambda:us-east-1:123456789012:function:handler")));
    assert!(!allows(&policies, &put("MyRule", "arn:aws:sqs:us-east-1:123456789012:queue")));
    assert!(!allows(&policies, &put("OtherRule", "arn:aws:lambda:us-east-1:123456789012:function:handler")));
}
