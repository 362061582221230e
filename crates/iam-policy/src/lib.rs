//! IAM policy documents evaluated offline with the AWS decision logic, for testing the templates' policies.

mod condition;
mod error;
mod evaluate;
mod pattern;
mod policy;
mod principal;
mod request;

pub use error::{PolicyError, RequestError, StatementError};
pub use evaluate::{AccessPolicies, Decision, evaluate, evaluate_access, evaluate_documents, evaluate_with_boundary};
pub use policy::{Effect, Policy, Statement, Version};
pub use request::{AwsPrincipal, AwsPrincipalKind, Principal, Request};
