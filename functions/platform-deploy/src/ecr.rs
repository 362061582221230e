//! Adapter: the central ECR registry (DescribeImages, DescribeImageScanFindings) as the deploy's image registry.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecr::types::{FindingSeverity, ImageIdentifier, ScanStatus};
use platform_core::config::ImageSeverity;
use platform_core::error::{AwsError, ClassifyExt};

use crate::images::{ImageError, ImageFacts, ImageRegistry, ScanState};

/// The registry's repositories, read in `registry_id` (the automation account that holds them,
/// whichever account this runs in).
#[derive(Debug, Clone)]
pub struct EcrImages {
    ecr: aws_sdk_ecr::Client,
    registry_id: String,
}

impl EcrImages {
    pub fn new(ecr: aws_sdk_ecr::Client, registry_id: impl Into<String>) -> Self {
        EcrImages { ecr, registry_id: registry_id.into() }
    }
}

/// ECR's not-found codes as the port's answers; anything else stays an AWS error.
fn not_found(e: AwsError, repository: &str, tag: &str) -> ImageError {
    match e.code.as_deref() {
        Some("RepositoryNotFoundException") => ImageError::RepositoryNotFound { repository: repository.into() },
        Some("ImageNotFoundException") => ImageError::ImageNotFound { repository: repository.into(), tag: tag.into() },
        _ => ImageError::Aws(e),
    }
}

#[async_trait]
impl ImageRegistry for EcrImages {
    async fn image(&self, repository: &str, tag: &str) -> Result<ImageFacts, ImageError> {
        let described = self
            .ecr
            .describe_images()
            .registry_id(&self.registry_id)
            .repository_name(repository)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .classify("DescribeImages")
            .map_err(|e| not_found(e, repository, tag))?;
        let digest = described
            .image_details()
            .first()
            .and_then(|d| d.image_digest())
            .ok_or_else(|| ImageError::ImageNotFound { repository: repository.into(), tag: tag.into() })?
            .to_string();
        // By digest: the tag could move between the two calls in a mutable repository.
        let findings = self
            .ecr
            .describe_image_scan_findings()
            .registry_id(&self.registry_id)
            .repository_name(repository)
            .image_id(ImageIdentifier::builder().image_digest(&digest).build())
            .max_results(1)
            .send()
            .await
            .classify("DescribeImageScanFindings");
        let findings = match findings {
            Ok(f) => f,
            Err(e) if e.code.as_deref() == Some("ScanNotFoundException") => {
                return Ok(ImageFacts { digest, scan: ScanState::NotScanned });
            }
            Err(e) => return Err(not_found(e, repository, tag)),
        };
        let status = findings.image_scan_status();
        let scan = match status.and_then(|s| s.status()) {
            Some(ScanStatus::Complete) => {
                let counts = findings.image_scan_findings().and_then(|f| f.finding_severity_counts());
                ScanState::Findings(severity_counts(counts.into_iter().flatten()))
            }
            Some(ScanStatus::InProgress | ScanStatus::Pending) => ScanState::InProgress,
            other => ScanState::Failed(format!(
                "{}: {}",
                other.map(ScanStatus::as_str).unwrap_or("no status"),
                status.and_then(|s| s.description()).unwrap_or("no description")
            )),
        };
        Ok(ImageFacts { digest, scan })
    }
}

/// ECR's counts by severity; `UNDEFINED` (no vendor severity) blocks nothing and is dropped,
/// a negative count is read as none.
fn severity_counts<'a>(counts: impl Iterator<Item = (&'a FindingSeverity, &'a i32)>) -> BTreeMap<ImageSeverity, u32> {
    counts
        .filter_map(|(s, n)| Some((ImageSeverity::parse(s.as_str())?, u32::try_from(*n).unwrap_or(0))))
        .filter(|(_, n)| *n > 0)
        .collect()
}
