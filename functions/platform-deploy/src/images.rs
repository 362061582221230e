//! A release's images in the central registry: each tag's digest and basic scan, checked before anything is touched.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::config::{ConfigTree, ImagePolicy, ImageSeverity};
use platform_core::error::AwsError;

use crate::release::ResolvedRelease;

/// What the last basic scan of an image says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanState {
    /// Complete: the number of findings of each severity (none: a clean scan).
    Findings(BTreeMap<ImageSeverity, u32>),
    /// No scan was ever started (ECR's `ScanNotFoundException`).
    NotScanned,
    /// Pending or in progress.
    InProgress,
    /// The scan ended without findings to trust (failed, unsupported image, findings
    /// unavailable...), with ECR's status and description.
    Failed(String),
}

/// An image as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// `sha256:<64 hex>`: what a manifest pins.
    pub digest: String,
    pub scan: ScanState,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("repository {repository} does not exist in the registry")]
    RepositoryNotFound { repository: String },
    #[error("{repository}:{tag} is not in the registry")]
    ImageNotFound { repository: String, tag: String },
    /// Anything else the registry answered (denied, throttled...): not a verdict on the image.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The central registry (ECR in the automation account on AWS): an image by repository and tag.
#[async_trait]
pub trait ImageRegistry: Send + Sync + std::fmt::Debug {
    /// The image `repository:tag`: its digest and its scan state.
    async fn image(&self, repository: &str, tag: &str) -> Result<ImageFacts, ImageError>;
}

/// `sha256:` and 64 lowercase hex digits: anything else from the registry is not pinned.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Why one image refuses the release, or `None` when it may run.
pub fn verdict(image: &ImageFacts, policy: &ImagePolicy) -> Option<String> {
    match &image.scan {
        ScanState::Findings(counts) => {
            let blocking: Vec<String> = ImageSeverity::DESCENDING
                .into_iter()
                .filter(|s| *s >= policy.block_severity)
                .filter_map(|s| counts.get(&s).filter(|n| **n > 0).map(|n| format!("{n} {s}")))
                .collect();
            (!blocking.is_empty())
                .then(|| format!("has {} findings (block at {})", blocking.join(", "), policy.block_severity))
        }
        ScanState::NotScanned => policy.require_scan.then(|| "was never scanned".to_string()),
        ScanState::InProgress => policy.require_scan.then(|| "has a scan that is not complete".to_string()),
        ScanState::Failed(status) => policy.require_scan.then(|| format!("has no usable scan ({status})")),
    }
}

/// Every workload's image, in the catalogue's rollout order: the digest of each when all may
/// run, or every problem, each naming its image. A registry error that is no verdict (denied,
/// throttled) ends the check.
pub async fn check(
    registry: &dyn ImageRegistry,
    tree: &ConfigTree,
    release: &ResolvedRelease,
) -> Result<Result<BTreeMap<String, String>, Vec<String>>, AwsError> {
    let policy = &tree.organization.images;
    let mut digests = BTreeMap::new();
    let mut problems = Vec::new();
    for workload in tree.catalog.tiers.iter().flat_map(|t| t.services.iter()) {
        let (Some(service), Some(tag)) = (tree.catalog.services.get(workload), release.tags.get(workload)) else {
            // A resolved release has a tag for every workload of the catalogue.
            problems.push(format!("{workload} has no image tag in the release"));
            continue;
        };
        let name = format!("{}:{tag}", service.image);
        match registry.image(&service.image, tag).await {
            Ok(facts) if !is_digest(&facts.digest) => {
                problems.push(format!("{name} has no sha256 digest in the registry (`{}`)", facts.digest));
            }
            Ok(facts) => match verdict(&facts, policy) {
                Some(why) => problems.push(format!("{name} {why}")),
                None => {
                    digests.insert(workload.clone(), facts.digest);
                }
            },
            Err(ImageError::RepositoryNotFound { .. } | ImageError::ImageNotFound { .. }) => {
                problems.push(format!("{name} is not in the registry"));
            }
            Err(ImageError::Aws(e)) => return Err(e),
        }
    }
    Ok(if problems.is_empty() { Ok(digests) } else { Err(problems) })
}
