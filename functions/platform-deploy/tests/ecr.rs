//! The ECR adapter against the emulator: a repository or tag that is not there, an image never
//! scanned, and a completed scan's counts, read in the registry's account.

use std::collections::BTreeMap;

use aws_sdk_ecr::types::ImageIdentifier;
use emulator::{DEFAULT_ACCOUNT_ID, Emulator};
use platform_core::config::ImageSeverity;
use platform_deploy::ecr::EcrImages;
use platform_deploy::images::{ImageError, ImageRegistry, ScanState, is_digest};
use serde_json::json;

/// A minimal image manifest whose one layer is named after `seed`: each image its own digest.
fn manifest(seed: u32) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                   "digest": format!("sha256:{:064x}", 0)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32,
                    "digest": format!("sha256:{seed:064x}")}],
    })
    .to_string()
}

async fn push(ecr: &aws_sdk_ecr::Client, repository: &str, tag: &str, seed: u32) {
    ecr.put_image()
        .repository_name(repository)
        .image_tag(tag)
        .image_manifest(manifest(seed))
        .send()
        .await
        .expect("put");
}

async fn scan(ecr: &aws_sdk_ecr::Client, repository: &str, tag: &str) {
    ecr.start_image_scan()
        .repository_name(repository)
        .image_id(ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await
        .expect("scan");
}

fn result(repository: &str, tag: &str, status: &str, counts: serde_json::Value) -> serde_json::Value {
    json!({
        "registryId": DEFAULT_ACCOUNT_ID, "repositoryName": repository, "imageId": {"imageTag": tag},
        "imageScanStatus": {"status": status, "description": "as configured"},
        "imageScanFindings": {"findings": [], "findingSeverityCounts": counts},
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_registry_answers_digests_and_scans_and_refuses_what_is_not_there() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let ecr = aws_sdk_ecr::Client::new(&emulator.sdk_config());
    let images = EcrImages::new(ecr.clone(), DEFAULT_ACCOUNT_ID);
    let repo = "abc-trading/audit";

    let e = images.image(repo, "2026.11.3").await.expect_err("no repository");
    assert!(matches!(e, ImageError::RepositoryNotFound { .. }), "{e:?}");
    ecr.create_repository().repository_name(repo).send().await.expect("repository");
    let e = images.image(repo, "2026.11.3").await.expect_err("no such tag");
    assert!(matches!(e, ImageError::ImageNotFound { .. }), "{e:?}");
    assert_eq!(e.to_string(), "abc-trading/audit:2026.11.3 is not in the registry");

    push(&ecr, repo, "2026.11.3", 1).await;
    push(&ecr, repo, "2026.11.4", 2).await;
    push(&ecr, repo, "2026.11.5", 3).await;
    push(&ecr, repo, "2026.11.6", 4).await;
    let never = images.image(repo, "2026.11.3").await.expect("found");
    assert!(is_digest(&never.digest), "{}", never.digest);
    assert_eq!(never.scan, ScanState::NotScanned, "ScanNotFoundException: never scanned");

    emulator
        .remote()
        .set_ecr_scan_findings(
            &json!({"results": [
                result(repo, "2026.11.4", "COMPLETE", json!({})),
                result(repo, "2026.11.5", "COMPLETE", json!({"CRITICAL": 2, "HIGH": 1, "UNDEFINED": 4})),
                result(repo, "2026.11.6", "IN_PROGRESS", json!({})),
            ]})
            .to_string(),
        )
        .expect("scan results");
    for tag in ["2026.11.3", "2026.11.4", "2026.11.5", "2026.11.6"] {
        scan(&ecr, repo, tag).await;
    }
    let clean = images.image(repo, "2026.11.4").await.expect("found");
    assert_eq!(clean.scan, ScanState::Findings(BTreeMap::new()));
    assert_ne!(clean.digest, never.digest, "each image its own digest");
    assert_eq!(
        images.image(repo, "2026.11.5").await.expect("found").scan,
        ScanState::Findings(BTreeMap::from([(ImageSeverity::Critical, 2), (ImageSeverity::High, 1)])),
        "UNDEFINED blocks nothing"
    );
    assert_eq!(images.image(repo, "2026.11.6").await.expect("found").scan, ScanState::InProgress);
    // moto's own answer when nobody configured one: a HIGH finding, read as such.
    assert_eq!(
        images.image(repo, "2026.11.3").await.expect("found").scan,
        ScanState::Findings(BTreeMap::from([(ImageSeverity::High, 1)]))
    );

    // Another account's registry holds no such repository.
    let elsewhere = EcrImages::new(ecr, "999999999999");
    let e = elsewhere.image(repo, "2026.11.4").await.expect_err("not in that registry");
    assert!(matches!(e, ImageError::RepositoryNotFound { .. }), "{e:?}");
}
