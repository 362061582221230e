//! The SAM template as the local runtime needs it: functions, state machines, rules, subscriptions.

mod intrinsics;
mod model;
mod routing;
#[cfg(test)]
mod tests;

use super::pattern::PatternError;

pub(crate) use intrinsics::logical_target;
pub use model::{Function, Machine, Rule, Subscription, Template};
pub use routing::{Target, TargetInput};

pub const ACCOUNT: &str = emulator::DEFAULT_ACCOUNT_ID;
pub const REGION: &str = emulator::DEFAULT_REGION;
pub const STACK: &str = "platform-ops";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not YAML: {source}")]
    Yaml {
        path: String,
        #[source]
        source: serde_norway::Error,
    },
    #[error("template {at}: {message}")]
    Invalid { at: String, message: String },
    #[error("template {at}: {source}")]
    Pattern {
        at: String,
        #[source]
        source: PatternError,
    },
}

fn invalid(at: &str, message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid { at: at.to_string(), message: message.into() }
}
