//! Shared helpers for the documentation-example tests: documented policies parsed, principals built.
#![allow(dead_code)]

use iam_policy::{Decision, Policy, Principal, Request, evaluate};
use serde_json::Value;

/// A policy the documentation publishes: it must parse.
pub fn policy(document: Value) -> Policy {
    Policy::from_value(&document).expect("the documented policy parses")
}

/// The IAM identity an ARN names.
pub fn aws(arn: &str) -> Principal {
    Principal::from_arn(arn).expect("a valid principal arn")
}

/// A request by `principal_arn` for `action` on `resource`.
pub fn request(principal_arn: &str, action: &str, resource: &str) -> Request {
    Request::new(aws(principal_arn), action, resource)
}

/// Whether the policies, evaluated together, allow the request.
pub fn allows(policies: &[Policy], request: &Request) -> bool {
    evaluate(policies, request).is_allowed()
}

/// The `Decision::Allow` carrying `sid`.
pub fn allow(sid: &str) -> Decision {
    Decision::Allow(Some(sid.to_string()))
}

/// The `Decision::ExplicitDeny` carrying `sid`.
pub fn deny(sid: &str) -> Decision {
    Decision::ExplicitDeny(Some(sid.to_string()))
}
