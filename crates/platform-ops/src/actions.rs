//! The catalogue of typed Lambda actions, from the function crates linked into this binary.

use std::collections::{BTreeMap, BTreeSet};

/// Function (its binary name, as `template.yaml` builds it) to the actions its handler accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionCatalogue {
    functions: BTreeMap<String, BTreeSet<String>>,
}

impl ActionCatalogue {
    pub fn with_function<I, S>(mut self, function: &str, actions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.functions.entry(function.to_string()).or_default().extend(actions.into_iter().map(Into::into));
        self
    }

    /// The actions of `function`, or `None` when no linked crate provides that function.
    pub fn actions(&self, function: &str) -> Option<&BTreeSet<String>> {
        self.functions.get(function)
    }

    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }
}

/// The catalogue of this build. Each function crate, once it exists, registers its action enum's
/// variant names here, so validation compares definitions against the code that will run them.
pub fn linked() -> ActionCatalogue {
    ActionCatalogue::default()
        .with_function("alarm-scaler", alarm_scaler::handler::ACTIONS.iter().copied())
        .with_function("account-vending", account_vending::handler::ACTIONS.iter().copied())
        .with_function("platform-deploy", platform_deploy::handler::ACTIONS.iter().copied())
        .with_function("scheduled-ops", scheduled_ops::handler::ACTIONS.iter().copied())
}
