//! The contract with the state machines: each linked function's actions and error names.

use std::collections::{BTreeMap, BTreeSet};

/// Function (its binary name, as `template.yaml` builds it) to the actions its handler accepts
/// and the error names it reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionCatalogue {
    functions: BTreeMap<String, BTreeSet<String>>,
    errors: BTreeMap<String, BTreeSet<String>>,
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

    pub fn with_errors<I, S>(mut self, function: &str, errors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.errors.entry(function.to_string()).or_default().extend(errors.into_iter().map(Into::into));
        self
    }

    /// The actions of `function`, or `None` when no linked crate provides that function.
    pub fn actions(&self, function: &str) -> Option<&BTreeSet<String>> {
        self.functions.get(function)
    }

    /// The error names `function` reports, or `None` when no linked crate provides it.
    pub fn errors(&self, function: &str) -> Option<&BTreeSet<String>> {
        self.errors.get(function)
    }

    /// Every error name any linked function reports.
    pub fn all_errors(&self) -> BTreeSet<&str> {
        self.errors.values().flatten().map(String::as_str).collect()
    }

    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }
}

/// The catalogue of this build, from the function crates' own request and error enums.
pub fn linked() -> ActionCatalogue {
    crate::runtime::functions::catalogue()
}
