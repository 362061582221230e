//! The templates' IAM policies evaluated offline (crate iam-policy): what each environment's roles may and may not do.

use iam_policy::{Decision, Policy, Principal, Request, evaluate, evaluate_with_boundary};
use serde_json::json;

#[path = "support/iam_stacks.rs"]
mod iam_stacks;
use iam_stacks::*;

// ---------------------------------------------------------------- finding 2: the pipeline

/// GIVEN dev's execution role THEN a role is created only with dev's boundary, only under dev's
/// names, and the boundary never comes off.
#[test]
fn the_dev_execution_role_creates_only_bounded_dev_roles() {
    let dev = pipeline("dev");
    let policies = exec_role_policies(&dev);
    let exec = session("abc-trading-dev-platform-ops-cfn-exec", AUTOMATION);
    let role = |name: &str| format!("arn:aws:iam::{AUTOMATION}:role/{name}");
    let create = |name: &str| Request::new(exec.clone(), "iam:CreateRole", role(name));
    let bounded =
        create("abc-trading-dev-platform-ops-Fn").with_context("iam:PermissionsBoundary", boundary_arn("dev"));
    assert!(allowed(&evaluate(&policies, &bounded)));
    let unbounded = create("abc-trading-dev-platform-ops-Fn");
    assert_eq!(
        evaluate(&policies, &unbounded),
        Decision::ExplicitDeny(Some("NoPolicyOnARoleWithoutTheBoundary".into()))
    );
    let prods_boundary =
        create("abc-trading-dev-platform-ops-Fn").with_context("iam:PermissionsBoundary", boundary_arn("prod"));
    assert!(!allowed(&evaluate(&policies, &prods_boundary)));
    let prod_named =
        create("abc-trading-prod-platform-ops-Fn").with_context("iam:PermissionsBoundary", boundary_arn("dev"));
    assert!(!allowed(&evaluate(&policies, &prod_named)));
    let unbound =
        Request::new(exec.clone(), "iam:DeleteRolePermissionsBoundary", role("abc-trading-dev-platform-ops-Fn"));
    assert_eq!(evaluate(&policies, &unbound), Decision::ExplicitDeny(Some("TheBoundaryStays".into())));
    let inline_on_unbounded = Request::new(exec, "iam:PutRolePolicy", role("abc-trading-dev-by-hand"));
    assert!(!allowed(&evaluate(&policies, &inline_on_unbounded)));
}

/// GIVEN dev's execution role THEN only SAM's managed policies attach, and roles pass only to the
/// services that run them.
#[test]
fn managed_policies_and_passed_roles_are_allow_listed() {
    let dev = pipeline("dev");
    let policies = exec_role_policies(&dev);
    let exec = session("abc-trading-dev-platform-ops-cfn-exec", AUTOMATION);
    let role = format!("arn:aws:iam::{AUTOMATION}:role/abc-trading-dev-platform-ops-Fn");
    let attach = |policy: &str| {
        Request::new(exec.clone(), "iam:AttachRolePolicy", role.clone())
            .with_context("iam:PolicyARN", policy)
            .with_context("iam:PermissionsBoundary", boundary_arn("dev"))
    };
    assert!(allowed(&evaluate(&policies, &attach("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"))));
    assert!(!allowed(&evaluate(&policies, &attach("arn:aws:iam::aws:policy/AdministratorAccess"))));
    let pass = |service: &str| {
        Request::new(exec.clone(), "iam:PassRole", role.clone()).with_context("iam:PassedToService", service)
    };
    assert!(allowed(&evaluate(&policies, &pass("lambda.amazonaws.com"))));
    assert!(!allowed(&evaluate(&policies, &pass("ec2.amazonaws.com"))));
}

/// GIVEN keys told apart by their environment tag THEN dev's execution role neither uses nor tags
/// prod's key, tags a new key only as dev's, and cannot move its own key to prod.
#[test]
fn the_dev_execution_role_cannot_touch_prods_key() {
    let dev = pipeline("dev");
    let policies = exec_role_policies(&dev);
    let exec = session("abc-trading-dev-platform-ops-cfn-exec", AUTOMATION);
    let key = format!("arn:aws:kms:us-east-1:{AUTOMATION}:key/prod-key");
    let of = |env: &str, action: &str| {
        Request::new(exec.clone(), action, key.clone())
            .with_context("aws:ResourceTag/environment", env)
            .with_context("aws:ResourceTag/project", "abc-trading")
    };
    assert!(allowed(&evaluate(&policies, &of("dev", "kms:PutKeyPolicy"))));
    assert!(!allowed(&evaluate(&policies, &of("prod", "kms:PutKeyPolicy"))));
    let retag_prods = of("prod", "kms:TagResource").with_context("aws:RequestTag/environment", "dev");
    assert!(!allowed(&evaluate(&policies, &retag_prods)));
    let move_own = of("dev", "kms:TagResource").with_context("aws:RequestTag/environment", "prod");
    assert!(!allowed(&evaluate(&policies, &move_own)));
    let new_key = |env: &str| {
        Request::new(exec.clone(), "kms:TagResource", format!("arn:aws:kms:us-east-1:{AUTOMATION}:key/new"))
            .with_context("aws:RequestTag/environment", env)
            .with_context("aws:RequestTag/project", "abc-trading")
    };
    assert!(allowed(&evaluate(&policies, &new_key("dev"))));
    assert!(!allowed(&evaluate(&policies, &new_key("prod"))));
}

/// GIVEN a dev role whose template granted it everything THEN dev's boundary still keeps it off
/// prod's table, bus and member roles.
#[test]
fn the_boundary_keeps_a_dev_role_in_dev() {
    let boundary = [pipeline("dev").managed_policy("PermissionsBoundary")];
    let admin = [Policy::from_value(
        &json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
    )
    .expect("policy")];
    let role = session("abc-trading-dev-platform-ops-AnyRole-1", AUTOMATION);
    let call = |action: &str, resource: &str| {
        evaluate_with_boundary(&admin, &boundary, &Request::new(role.clone(), action, resource))
    };
    let table = |env: &str| format!("arn:aws:dynamodb:us-east-1:{AUTOMATION}:table/abc-trading-{env}-guard");
    assert!(allowed(&call("dynamodb:PutItem", &table("dev"))));
    assert!(!allowed(&call("dynamodb:PutItem", &table("prod"))));
    let bus = |env: &str| format!("arn:aws:events:us-east-1:{AUTOMATION}:event-bus/abc-trading-{env}");
    assert!(allowed(&call("events:PutEvents", &bus("dev"))));
    assert!(!allowed(&call("events:PutEvents", &bus("prod"))));
    assert!(!allowed(&call("iam:CreateRole", &format!("arn:aws:iam::{AUTOMATION}:role/abc-trading-dev-x"))));
    let assume = |env: &str| {
        let request =
            Request::new(role.clone(), "sts:AssumeRole", format!("arn:aws:iam::{MEMBER}:role/abc-trading-automation"))
                .with_context("aws:ResourceTag/environment", env);
        evaluate_with_boundary(&admin, &boundary, &request)
    };
    assert!(allowed(&assume("dev")));
    assert!(!allowed(&assume("prod")));
}

/// GIVEN the OIDC trust THEN only the deploy workflow at main, in the environment, gets the deploy
/// role: not a pull request's run, not another workflow of the repository.
#[test]
fn only_the_deploy_workflow_at_main_assumes_the_deploy_role() {
    let prod = pipeline("prod");
    let trust = [prod.document("PipelineDeployRole", &["AssumeRolePolicyDocument"])];
    let provider = format!("arn:aws:iam::{AUTOMATION}:oidc-provider/token.actions.githubusercontent.com");
    let token = |sub: &str| {
        Request::new(Principal::federated(provider.clone()), "sts:AssumeRoleWithWebIdentity", "*")
            .with_context("token.actions.githubusercontent.com:aud", "sts.amazonaws.com")
            .with_context("token.actions.githubusercontent.com:sub", sub)
    };
    let workflow = "abc-limited/platform-ops/.github/workflows";
    let sub = |env: &str, file: &str, git_ref: &str| {
        format!("repo:abc-limited/platform-ops:environment:{env}:job_workflow_ref:{workflow}/{file}@{git_ref}")
    };
    assert!(allowed(&evaluate(&trust, &token(&sub("prod", "deploy-environment.yml", "refs/heads/main")))));
    assert!(!allowed(&evaluate(&trust, &token(&sub("prod", "deploy-environment.yml", "refs/heads/feature")))));
    assert!(!allowed(&evaluate(&trust, &token(&sub("prod", "ci.yml", "refs/heads/main")))));
    assert!(!allowed(&evaluate(&trust, &token(&sub("dev", "deploy-environment.yml", "refs/heads/main")))));
    assert!(!allowed(&evaluate(&trust, &token("repo:abc-limited/platform-ops:environment:prod"))));
}
