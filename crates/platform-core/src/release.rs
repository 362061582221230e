//! A release: the image tag of every workload, complete or refused.

use std::collections::BTreeMap;

use crate::config::ServiceCatalog;
use crate::quantity::mebibytes;
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
    #[error("release `{release}`: resources of `{workload}`: {message}")]
    BadResources { release: String, workload: String, message: String },
}

/// One workload's resources as a deploy overrides the catalogue's (`{"memory": "1536Mi"}`):
/// what signal triage's raise-memory asks for. Kept with the account's release, so a later
/// deploy (and a rollback) keeps it until the catalogue says as much or more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceOverride {
    /// The container's memory limit (the request stays the catalogue's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// Every workload's tag, resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedRelease {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// Per-workload overrides of the catalogue's resources (absent: none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, ResourceOverride>,
    /// Each workload's image digest (`sha256:...`) in the registry, as Plan found it: what the
    /// manifests pin. Absent in releases recorded before images were checked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digests: BTreeMap<String, String>,
}

impl ResolvedRelease {
    /// The overrides an account's previous release carried that still raise something: a
    /// workload gone from the catalogue, or whose catalogue limit has caught up, is the
    /// catalogue's again (logged, since it changes what the account runs).
    pub fn keeping(mut self, kept: BTreeMap<String, ResourceOverride>, catalog: &ServiceCatalog) -> ResolvedRelease {
        for (workload, o) in kept {
            let catalogue = catalog.services.get(&workload).and_then(|s| mebibytes(&s.resources.memory_limit));
            let raised = o.memory.as_deref().and_then(mebibytes);
            match (catalogue, raised) {
                (Some(limit), Some(memory)) if memory > limit => {
                    self.resources.insert(workload, o);
                }
                _ => tracing::warn!(
                    release = %self.name,
                    workload,
                    memory = ?o.memory,
                    "a kept resource override no longer raises the catalogue's limit: the catalogue's applies"
                ),
            }
        }
        self
    }

    /// The release with `overrides` over the ones it has, each checked against the catalogue:
    /// a known workload, a memory quantity, and not below the workload's memory request.
    pub fn with_resources(
        mut self,
        overrides: BTreeMap<String, ResourceOverride>,
        catalog: &ServiceCatalog,
    ) -> Result<ResolvedRelease, ReleaseError> {
        for (workload, o) in overrides {
            let bad = |message: String| ReleaseError::BadResources {
                release: self.name.clone(),
                workload: workload.clone(),
                message,
            };
            let service =
                catalog.services.get(&workload).ok_or_else(|| bad("not a workload of the catalogue".into()))?;
            if let Some(memory) = &o.memory {
                let limit = mebibytes(memory).ok_or_else(|| bad(format!("memory `{memory}` is not a quantity")))?;
                let request = mebibytes(&service.resources.memory_request).unwrap_or(0);
                if limit < request {
                    return Err(bad(format!(
                        "memory `{memory}` is below the request `{}`",
                        service.resources.memory_request
                    )));
                }
            }
            self.resources.insert(workload, o);
        }
        Ok(self)
    }
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
        Ok(ResolvedRelease { name: self.name.clone(), tags, resources: BTreeMap::new(), digests: BTreeMap::new() })
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
