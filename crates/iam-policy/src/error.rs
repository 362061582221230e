//! The typed errors of parsing policy documents and building requests, each naming the bad value.

use thiserror::Error;

/// A policy document that cannot be evaluated: the message names the element and the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// The text handed to [`crate::Policy::from_json`] is not JSON.
    #[error("policy document is not valid json: {0}")]
    Json(String),
    /// The document is JSON but not an object.
    #[error("policy document must be a json object, found {0}")]
    NotAnObject(String),
    /// A top-level element other than `Version`, `Id` and `Statement`.
    #[error("unknown policy element `{0}`")]
    UnknownElement(String),
    /// A `Version` other than the two IAM knows.
    #[error("unsupported policy version {0}")]
    UnsupportedVersion(String),
    /// `Id` given as something other than a string.
    #[error("policy `Id` must be a string, found {0}")]
    InvalidId(String),
    /// The document has no `Statement`.
    #[error("policy has no `Statement` element")]
    MissingStatement,
    /// `Statement` is neither an object nor an array of objects.
    #[error("`Statement` must be an object or a list of objects, found {0}")]
    InvalidStatementList(String),
    /// One statement is malformed; `statement` is its `Sid`, or its position when it has none.
    #[error("statement {statement}: {problem}")]
    Statement {
        /// The statement's `Sid`, or `#index` (from 0) without one.
        statement: String,
        /// What is wrong with it.
        problem: StatementError,
    },
}

/// What is wrong with one statement of a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatementError {
    /// The statement is not a JSON object.
    #[error("statement must be a json object, found {0}")]
    NotAnObject(String),
    /// An element IAM does not define.
    #[error("unknown statement element `{0}`")]
    UnknownElement(String),
    /// A required element is absent.
    #[error("missing `{0}` element")]
    Missing(&'static str),
    /// Two elements that exclude each other are both present.
    #[error("both `{0}` and `{1}` are present")]
    Conflicting(&'static str, &'static str),
    /// `Sid` is not a string.
    #[error("`Sid` must be a string, found {0}")]
    InvalidSid(String),
    /// `Effect` is not exactly `Allow` or `Deny`.
    #[error("`Effect` must be \"Allow\" or \"Deny\", found {0}")]
    InvalidEffect(String),
    /// An element that takes a string or a list of strings got something else.
    #[error("`{element}` must be a string or a list of strings, found {found}")]
    NotStrings {
        /// The element name (`Action`, `Resource`, a principal type...).
        element: String,
        /// The JSON value found.
        found: String,
    },
    /// An action that is neither `*` nor `service:action`.
    #[error("invalid action {0}: expected \"*\" or \"service:action\"")]
    InvalidAction(String),
    /// `Principal`/`NotPrincipal` is neither `"*"` nor an object of principal types.
    #[error("invalid principal {0}: expected \"*\" or an object such as {{\"AWS\": ...}}")]
    InvalidPrincipal(String),
    /// A principal type other than `AWS`, `Service`, `Federated` or `CanonicalUser`.
    #[error("unknown principal type `{0}`")]
    UnknownPrincipalType(String),
    /// `Condition` is not an object of operators.
    #[error("`Condition` must be an object of operators, found {0}")]
    InvalidCondition(String),
    /// A condition operator IAM does not define (or a qualifier/suffix it does not allow there).
    #[error("unknown condition operator `{0}`")]
    UnknownOperator(String),
    /// An operator whose body is not an object of condition keys.
    #[error("condition operator `{operator}` must map condition keys to values, found {found}")]
    InvalidOperatorBody {
        /// The operator as written.
        operator: String,
        /// The JSON value found.
        found: String,
    },
    /// A condition value that is not a string, number or boolean.
    #[error("condition `{operator}` on `{key}`: value {value} must be a string, number or boolean")]
    InvalidConditionValueType {
        /// The operator as written.
        operator: String,
        /// The condition key as written.
        key: String,
        /// The JSON value found.
        value: String,
    },
    /// A condition value the operator cannot compare with (a bad number, date, address or boolean).
    #[error("condition `{operator}` on `{key}`: {value:?} is not {expected}")]
    InvalidConditionValue {
        /// The operator as written.
        operator: String,
        /// The condition key as written.
        key: String,
        /// The value as written.
        value: String,
        /// What the operator expects ("a number", "a date"...).
        expected: &'static str,
    },
    /// A `${` with no closing `}`, or an empty variable name.
    #[error("malformed policy variable in {0:?}")]
    InvalidVariable(String),
}

/// A request that cannot be built: the message names the bad value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// A principal ARN that is not an IAM or STS principal ARN.
    #[error(
        "invalid principal arn {0:?}: expected arn:PARTITION:iam::ACCOUNT:(root|user/...|role/...) or arn:PARTITION:sts::ACCOUNT:(assumed-role/ROLE/SESSION|federated-user/NAME)"
    )]
    InvalidPrincipalArn(String),
    /// A role session name that is empty.
    #[error("invalid role session name {0:?}")]
    InvalidSessionName(String),
}
