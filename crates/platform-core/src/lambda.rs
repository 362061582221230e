//! One way to wire a function: its typed environment, its `deps` and its handler, served on Lambda.

use std::future::Future;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::AwsContext;

/// A boxed error kept as a source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a function could not start: it never takes a request, so Lambda reports an init error.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("environment variable {0} is not set")]
    MissingVariable(String),
    #[error("environment variable {name} is malformed: {message}")]
    BadVariable { name: String, message: String },
    #[error("no AWS region is configured (set AWS_REGION)")]
    NoRegion,
    #[error("{what}")]
    Dependency {
        what: String,
        #[source]
        source: BoxError,
    },
}

impl InitError {
    /// A dependency that failed while `what` (a lowercase phrase naming the thing) was built.
    pub fn dependency(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        InitError::Dependency { what: what.into(), source: source.into() }
    }
}

/// A Lambda function: its environment, what it builds once per container, and its handler.
/// The Lambda binary serves it with [`serve`]; the local runtime builds the same `deps` from the
/// environment the template gives the function.
pub trait Function: 'static {
    /// The crate and binary name (`account-vending`).
    const NAME: &'static str;
    /// The function's variables, as the template sets them (`FOO_BAR` is field `foo_bar`).
    type Env: DeserializeOwned;
    type Deps: Send + Sync + 'static;
    type Request: DeserializeOwned + Send;
    type Response: Serialize + Send;
    /// Converted into the `errorType` the state machines name in `Retry` and `Catch`.
    type Error: Into<Diagnostic> + std::fmt::Debug + Send;

    /// The `action` names the request accepts (`Payload.action` in the state machines), derived
    /// from the request enum; empty for a function its event source invokes with its own shape.
    const ACTIONS: &'static [&'static str] = &[];

    /// Every `errorType` the function reports: what `Retry` and `Catch` may name for its tasks.
    fn error_names() -> Vec<&'static str>;

    fn deps(env: Self::Env, ctx: &AwsContext) -> impl Future<Output = Result<Self::Deps, InitError>> + Send;

    fn handle(
        request: Self::Request,
        deps: &Self::Deps,
    ) -> impl Future<Output = Result<Self::Response, Self::Error>> + Send;
}

/// A function's own error names followed by the AWS error classes every adapter reports: what
/// [`Function::error_names`] answers for a function whose errors carry `AwsError`s.
pub fn error_names_with(own: &[&'static str]) -> Vec<&'static str> {
    own.iter().chain(crate::ErrorClass::NAMES.iter()).copied().collect()
}

/// The typed environment from `vars`: a missing or malformed variable names itself.
pub fn env_from<E: DeserializeOwned>(vars: impl IntoIterator<Item = (String, String)>) -> Result<E, InitError> {
    envy::from_iter(vars).map_err(|e| match e {
        envy::Error::MissingValue(field) => InitError::MissingVariable(field.to_uppercase()),
        envy::Error::Custom(message) => {
            // envy names the variable last: "... provided by FOO".
            let name = message.rsplit(' ').next().unwrap_or_default().to_uppercase();
            InitError::BadVariable { name, message }
        }
    })
}

/// Builds `F`'s dependencies once from the process environment, then serves requests.
pub async fn serve<F: Function>() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let ctx = AwsContext::load_in_lambda().await?;
    let deps = deps_from::<F>(std::env::vars(), &ctx).await.inspect_err(|e| {
        tracing::error!(function = F::NAME, error = %e, "init failed");
    })?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<F::Request>| async move {
        F::handle(event.payload, deps).await
    }))
    .await
}

/// `F`'s cold start: its environment read from `vars`, then `F::deps`. The one path both the
/// Lambda binary ([`serve`]) and the local runtime build a function's dependencies through.
pub async fn deps_from<F: Function>(
    vars: impl IntoIterator<Item = (String, String)>,
    ctx: &AwsContext,
) -> Result<F::Deps, InitError> {
    let env = env_from::<F::Env>(vars)?;
    F::deps(env, ctx).await
}

/// A handler error as Lambda reports it: the stable name, and the message with its causes.
pub fn diagnostic(error_type: &str, error: &(dyn std::error::Error + 'static)) -> Diagnostic {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // A message that already quotes its cause (`{0}`) is not repeated.
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    Diagnostic { error_type: error_type.to_string(), error_message: message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Env {
        guard_table_name: String,
        retries: u8,
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn variables_are_read_by_their_upper_case_names() {
        let env: Env =
            env_from(vars(&[("GUARD_TABLE_NAME", "guard"), ("RETRIES", "3"), ("PATH", "/bin")])).expect("env");
        assert_eq!((env.guard_table_name.as_str(), env.retries), ("guard", 3));
    }

    #[test]
    fn a_missing_or_malformed_variable_names_itself() {
        let err = env_from::<Env>(vars(&[("RETRIES", "3")])).expect_err("missing");
        assert_eq!(err.to_string(), "environment variable GUARD_TABLE_NAME is not set");
        let err = env_from::<Env>(vars(&[("GUARD_TABLE_NAME", "g"), ("RETRIES", "many")])).expect_err("malformed");
        assert!(matches!(&err, InitError::BadVariable { name, .. } if name == "RETRIES"), "{err}");
        assert!(err.to_string().contains("many"), "{err}");
    }

    #[test]
    fn a_diagnostic_carries_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("inner failure")]
        struct Inner;
        #[derive(Debug, thiserror::Error)]
        #[error("reading the ledger")]
        struct Outer(#[source] Inner);
        let d = diagnostic("Transient", &Outer(Inner));
        assert_eq!(d.error_type, "Transient");
        assert_eq!(d.error_message, "reading the ledger: inner failure");
    }
}
