//! The central registry of the local world: every catalogue workload's image for the releases the scenarios deploy, scanned clean.

use platform_core::aws::AwsContext;
use platform_core::config::ConfigTree;
use platform_core::error::ClassifyExt;

use super::{Outcome, SeedReport, WorldError};

/// The releases the scenarios deploy: every workload of the catalogue has an image at each tag.
pub const RELEASE_TAGS: &[&str] = &["2026.11.3", "2026.11.4", "2026.11.5"];
/// Images a scenario names one by one (workload, tag): present in the registry, scanned clean,
/// and still failing to start in the in-memory cluster (`*-broken`).
pub const EXTRA_IMAGES: &[(&str, &str)] = &[("order-management", "2026.11.4-broken")];

/// Every `(repository, tag)` the world's registry holds, for `tree`'s catalogue as it is now.
pub fn seeded_images(tree: &ConfigTree) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for service in tree.catalog.services.values() {
        for tag in RELEASE_TAGS {
            out.push((service.image.clone(), tag.to_string()));
        }
        for (_, tag) in EXTRA_IMAGES.iter().filter(|(w, _)| *w == service.name) {
            out.push((service.image.clone(), tag.to_string()));
        }
    }
    out
}

/// The repositories (`abc-trading/<service>`, immutable tags, scan on push) in this account's
/// registry in the home region, and their images: a small valid manifest each, pushed once, its
/// scan started and configured clean in the emulator (whose default answer is a HIGH finding).
/// An image already there is left as it is.
pub(super) async fn seed(ctx: &AwsContext, tree: &ConfigTree, report: &mut SeedReport) -> Result<(), WorldError> {
    use aws_sdk_ecr::types::{ImageIdentifier, ImageScanningConfiguration, ImageTagMutability};
    let ecr: aws_sdk_ecr::Client = ctx.in_region(&tree.organization.home_region).client();
    let account = super::caller_account(ctx).await?;
    let remote = super::emulator_of(ctx)?;
    let mut results = Vec::new();
    let images = seeded_images(tree);
    let repositories: std::collections::BTreeSet<&String> = images.iter().map(|(r, _)| r).collect();
    for repository in repositories {
        let exists = ecr.describe_repositories().repository_names(repository.as_str()).send().await;
        let mut outcome = Outcome::Exists;
        match exists.classify("DescribeRepositories") {
            Ok(_) => {}
            Err(e) if e.code.as_deref() == Some("RepositoryNotFoundException") => {
                ecr.create_repository()
                    .repository_name(repository.as_str())
                    .image_tag_mutability(ImageTagMutability::Immutable)
                    .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
                    .send()
                    .await
                    .classify("CreateRepository")?;
                outcome = Outcome::Created;
            }
            Err(e) => return Err(e.into()),
        }
        let mut tags = Vec::new();
        for (_, tag) in images.iter().filter(|(r, _)| r == repository) {
            let id = ImageIdentifier::builder().image_tag(tag.as_str()).build();
            let present = ecr.describe_images().repository_name(repository.as_str()).image_ids(id.clone()).send().await;
            match present.classify("DescribeImages") {
                Ok(_) => {}
                Err(e) if e.code.as_deref() == Some("ImageNotFoundException") => {
                    ecr.put_image()
                        .repository_name(repository.as_str())
                        .image_tag(tag.as_str())
                        .image_manifest(manifest(repository, tag))
                        .send()
                        .await
                        .classify("PutImage")?;
                    // Scan on push, as the repository says (the emulator scans when asked).
                    ecr.start_image_scan()
                        .repository_name(repository.as_str())
                        .image_id(id)
                        .send()
                        .await
                        .classify("StartImageScan")?;
                    results.push(clean_scan(&account, repository, tag));
                    outcome = Outcome::Created;
                }
                Err(e) => return Err(e.into()),
            }
            tags.push(tag.as_str());
        }
        report.record(format!("ecr image {repository}:{}", tags.join(",")), outcome);
    }
    if !results.is_empty() {
        let body = serde_json::json!({
            "account_id": account, "region": tree.organization.home_region, "results": results,
        });
        remote
            .set_ecr_scan_findings(&body.to_string())
            .map_err(|e| WorldError::Unexpected(format!("configuring the emulator's scan results: {e}")))?;
    }
    Ok(())
}

/// A completed basic scan with no findings, as DescribeImageScanFindings answers it.
fn clean_scan(account: &str, repository: &str, tag: &str) -> serde_json::Value {
    serde_json::json!({
        "registryId": account,
        "repositoryName": repository,
        "imageId": {"imageTag": tag},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindings": {"findings": [], "findingSeverityCounts": {}},
    })
}

/// A small valid image manifest (schema 2) whose one layer is named after the image, so each
/// image has its own digest.
fn manifest(repository: &str, tag: &str) -> String {
    let hex = |seed: u64| {
        let h = format!("{repository}:{tag}")
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64 ^ seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        format!("{h:016x}")
    };
    let layer = format!("sha256:{}{}{}{}", hex(1), hex(2), hex(3), hex(4));
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        },
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32, "digest": layer}],
    })
    .to_string()
}
