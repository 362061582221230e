//! A release: the image tag of every workload, complete or refused.

use std::collections::BTreeMap;

use platform_core::config::ServiceCatalog;
use serde::{Deserialize, Serialize};

/// A release as CI publishes it (`/abc-trading/<env>/releases/<name>`): a name and the image
/// tag of each workload. A workload it does not list runs the release's `default_tag`, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub name: String,
    #[serde(default)]
    pub default_tag: Option<String>,
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    #[error("release `{release}` is incomplete: no tag for {}", missing.join(", "))]
    Incomplete { release: String, missing: Vec<String> },
    #[error("release `{release}` names workloads the catalogue does not have: {}", unknown.join(", "))]
    Unknown { release: String, unknown: Vec<String> },
    #[error(
        "release `{release}`: tag `{tag}` of {workload} is not an image tag (1-128 of [A-Za-z0-9_.-], not starting with . or -)"
    )]
    BadTag { release: String, workload: String, tag: String },
    #[error("release `{release}`: tag `latest` of {workload} is mutable; releases pin immutable tags")]
    Latest { release: String, workload: String },
}

/// Every workload's tag, resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedRelease {
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

impl Release {
    /// Every image the same tag: how CI tags a release it builds whole.
    pub fn uniform(name: &str) -> Release {
        Release { name: name.to_string(), default_tag: Some(name.to_string()), versions: BTreeMap::new() }
    }

    /// The tag of every workload of the catalogue; every problem is named.
    pub fn resolve(&self, catalog: &ServiceCatalog) -> Result<ResolvedRelease, ReleaseError> {
        let unknown: Vec<String> =
            self.versions.keys().filter(|k| !catalog.services.contains_key(*k)).cloned().collect();
        if !unknown.is_empty() {
            return Err(ReleaseError::Unknown { release: self.name.clone(), unknown });
        }
        let mut tags = BTreeMap::new();
        let mut missing = Vec::new();
        for name in catalog.services.keys() {
            match self.versions.get(name).or(self.default_tag.as_ref()) {
                Some(tag) => {
                    check_tag(&self.name, name, tag)?;
                    tags.insert(name.clone(), tag.clone());
                }
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(ReleaseError::Incomplete { release: self.name.clone(), missing });
        }
        Ok(ResolvedRelease { name: self.name.clone(), tags })
    }
}

/// The OCI reference grammar's tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; `latest` is refused
/// because the repositories are immutable-tag and a release must say what it runs.
fn check_tag(release: &str, workload: &str, tag: &str) -> Result<(), ReleaseError> {
    let first_ok = tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || tag.len() > 128 {
        return Err(ReleaseError::BadTag { release: release.into(), workload: workload.into(), tag: tag.into() });
    }
    if tag == "latest" {
        return Err(ReleaseError::Latest { release: release.into(), workload: workload.into() });
    }
    Ok(())
}
