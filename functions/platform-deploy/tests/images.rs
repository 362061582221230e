//! Plan checks every image of the release in the central registry before anything is touched:
//! missing, unscanned or with findings at or above the threshold refuses the whole release,
//! naming each image; otherwise each workload is pinned by its digest in the manifests.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use platform_core::config::{self, ConfigTree, ImagePolicy, ImageSeverity};
use platform_core::trust::Boundary;
use platform_deploy::cluster::{MemoryCluster, MemoryClusters};
use platform_deploy::fakes::{MemoryImages, MemoryReleaseLedger};
use platform_deploy::handler::{DeployError, Deployment, Deps, Request, handle};
use platform_deploy::images::{ImageError, ImageFacts, ImageRegistry, ScanState, verdict};
use platform_deploy::release::{Release, ResolvedRelease};
use platform_deploy::render::{Registry, Target, render};
use serde_json::json;

const ACCOUNT: &str = "222233334444";

fn tree() -> ConfigTree {
    config::load(&config::repository_config_dir()).expect("config")
}

fn deps(tree: ConfigTree, images: Arc<MemoryImages>) -> Deps {
    let ledger = Arc::new(MemoryReleaseLedger::default());
    ledger.add_account("dev", ACCOUNT);
    let edge = platform_deploy::fakes::idle_edge(&tree).expect("an idle edge");
    Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        tree,
        clusters: Arc::new(MemoryClusters::new(Arc::new(MemoryCluster::new(Duration::seconds(1), vec![])))),
        ledger,
        stack_sets: Arc::new(platform_core::fakes::MemoryStackSets::new(0)),
        alarms: Arc::new(platform_core::fakes::MemoryAlarms::default()),
        images,
        edge,
        leases: Arc::new(platform_core::fakes::MemoryLeases::default()),
        database_probe: Arc::new(platform_deploy::database_probe::TcpDatabaseProbe::new(
            std::time::Duration::from_secs(1),
        )),
        registry: Registry { account: "123456789012".into(), region: "us-east-1".into() },
    }
}

fn plan(release: &str, versions: serde_json::Value) -> Request {
    serde_json::from_value(json!({"action": "plan", "request": {
        "environment": "dev", "accountId": ACCOUNT, "release": release, "versions": versions}}))
    .expect("request")
}

fn clean() -> ScanState {
    ScanState::Findings(BTreeMap::new())
}

fn findings(counts: &[(ImageSeverity, u32)]) -> ScanState {
    ScanState::Findings(counts.iter().copied().collect())
}

/// The problems a refused plan names, in order; a plan that is not refused for its images fails the test.
async fn refused(deps: &Deps, request: Request) -> Vec<String> {
    match handle(request, deps).await {
        Err(DeployError::ImagesRefused { problems, .. }) => problems,
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(r) => panic!("planned: {}", serde_json::to_value(r).expect("json")),
    }
}

#[tokio::test]
async fn a_clean_release_is_planned_with_every_workloads_digest() {
    let tree = tree();
    let images = Arc::new(MemoryImages::default().with_tags(&tree, &["2026.11.3"]));
    let deps = deps(tree.clone(), images.clone());
    let d: Deployment = serde_json::from_value(
        serde_json::to_value(handle(plan("2026.11.3", json!({})), &deps).await.expect("plan")).expect("json"),
    )
    .expect("deployment");
    let release = d.release.expect("release");
    assert_eq!(release.digests.len(), tree.catalog.services.len(), "one digest per workload");
    for (workload, digest) in &release.digests {
        let image = &tree.catalog.services[workload].image;
        assert_eq!(images.tag_of(image, digest).as_deref(), Some("2026.11.3"), "{workload}");
    }
}

#[tokio::test]
async fn a_missing_image_refuses_the_release_naming_it() {
    let tree = tree();
    let deps = deps(tree.clone(), Arc::new(MemoryImages::default().with_tags(&tree, &["2026.11.4"])));
    let problems = refused(&deps, plan("2026.11.4", json!({"audit": "2026.11.9"}))).await;
    assert_eq!(problems, ["abc-trading/audit:2026.11.9 is not in the registry"]);
    let e = handle(plan("2026.11.4", json!({"audit": "2026.11.9"})), &deps).await.expect_err("refused");
    assert_eq!(e.error_type(), "ImagesRefused");
    assert!(e.to_string().contains("release `2026.11.4` refused"), "{e}");

    // A repository that does not exist is as missing as a tag never pushed.
    let deps = deps_without_repository(&tree, "abc-trading/audit");
    assert_eq!(
        refused(&deps, plan("2026.11.4", json!({}))).await,
        ["abc-trading/audit:2026.11.4 is not in the registry"]
    );
}

fn deps_without_repository(tree: &ConfigTree, missing: &str) -> Deps {
    let images = MemoryImages::default();
    for s in tree.catalog.services.values().filter(|s| s.image != missing) {
        images.create_repository(&s.image);
        images.push(&s.image, "2026.11.4");
        images.set_scan(&s.image, "2026.11.4", clean());
    }
    deps(tree.clone(), Arc::new(images))
}

#[tokio::test]
async fn findings_at_or_above_the_threshold_refuse_and_below_it_pass() {
    let tree = tree();
    assert_eq!(tree.organization.images, ImagePolicy { block_severity: ImageSeverity::High, require_scan: true });
    let images = Arc::new(MemoryImages::default().with_tags(&tree, &["2026.11.5"]));
    let deps = deps(tree.clone(), images.clone());

    images.set_scan(
        "abc-trading/settlement",
        "2026.11.5",
        findings(&[(ImageSeverity::Medium, 4), (ImageSeverity::Low, 9)]),
    );
    handle(plan("2026.11.5", json!({})), &deps).await.expect("MEDIUM and LOW findings do not block at HIGH");

    images.set_scan("abc-trading/settlement", "2026.11.5", findings(&[(ImageSeverity::High, 1)]));
    assert_eq!(
        refused(&deps, plan("2026.11.5", json!({}))).await,
        ["abc-trading/settlement:2026.11.5 has 1 HIGH findings (block at HIGH)"]
    );

    // Only the blocking severities are named, most severe first.
    images.set_scan(
        "abc-trading/settlement",
        "2026.11.5",
        findings(&[(ImageSeverity::High, 1), (ImageSeverity::Critical, 2), (ImageSeverity::Medium, 7)]),
    );
    assert_eq!(
        refused(&deps, plan("2026.11.5", json!({}))).await,
        ["abc-trading/settlement:2026.11.5 has 2 CRITICAL, 1 HIGH findings (block at HIGH)"]
    );

    // The threshold is the organisation's: at CRITICAL, HIGH findings pass.
    let mut lenient = tree.clone();
    lenient.organization.images.block_severity = ImageSeverity::Critical;
    images.set_scan("abc-trading/settlement", "2026.11.5", findings(&[(ImageSeverity::High, 3)]));
    handle(plan("2026.11.5", json!({})), &self::deps(lenient, images.clone())).await.expect("HIGH passes at CRITICAL");
}

#[tokio::test]
async fn an_image_never_scanned_is_refused_when_scans_are_required() {
    let tree = tree();
    let images = Arc::new(MemoryImages::default().with_tags(&tree, &["2026.11.5"]));
    images.push("abc-trading/frontend", "2026.11.5-ui.3").expect("the repository exists");
    let deps = deps(tree.clone(), images.clone());
    assert_eq!(
        refused(&deps, plan("2026.11.5", json!({"frontend": "2026.11.5-ui.3"}))).await,
        ["abc-trading/frontend:2026.11.5-ui.3 was never scanned"]
    );
    images.set_scan("abc-trading/frontend", "2026.11.5-ui.3", ScanState::InProgress);
    assert_eq!(
        refused(&deps, plan("2026.11.5", json!({"frontend": "2026.11.5-ui.3"}))).await,
        ["abc-trading/frontend:2026.11.5-ui.3 has a scan that is not complete"]
    );

    let mut unscanned_ok = tree.clone();
    unscanned_ok.organization.images.require_scan = false;
    handle(plan("2026.11.5", json!({"frontend": "2026.11.5-ui.3"})), &self::deps(unscanned_ok, images))
        .await
        .expect("without require_scan an unscanned image passes");
}

#[tokio::test]
async fn every_problem_is_named_together_in_rollout_order() {
    let tree = tree();
    let images = Arc::new(MemoryImages::default().with_tags(&tree, &["2026.11.5"]));
    images.set_scan(
        "abc-trading/trade-execution",
        "2026.11.5",
        findings(&[(ImageSeverity::Critical, 2), (ImageSeverity::High, 1)]),
    );
    images.push("abc-trading/frontend", "2026.11.5-ui.3").expect("pushed");
    let deps = deps(tree.clone(), images);
    let problems = refused(&deps, plan("2026.11.5", json!({"audit": "2026.11.6", "frontend": "2026.11.5-ui.3"}))).await;
    assert_eq!(
        problems,
        [
            "abc-trading/audit:2026.11.6 is not in the registry",
            "abc-trading/trade-execution:2026.11.5 has 2 CRITICAL, 1 HIGH findings (block at HIGH)",
            "abc-trading/frontend:2026.11.5-ui.3 was never scanned",
        ],
        "dependent, business, edge: the catalogue's order"
    );
}

#[test]
fn the_verdict_follows_the_policy() {
    let strict = ImagePolicy { block_severity: ImageSeverity::Low, require_scan: true };
    let image = |scan| ImageFacts { digest: format!("sha256:{}", "a".repeat(64)), scan };
    assert_eq!(verdict(&image(clean()), &strict), None);
    assert_eq!(
        verdict(&image(findings(&[(ImageSeverity::Low, 1), (ImageSeverity::Informational, 5)])), &strict).as_deref(),
        Some("has 1 LOW findings (block at LOW)")
    );
    assert_eq!(
        verdict(&image(ScanState::Failed("UNSUPPORTED_IMAGE: not a supported OS".into())), &strict).as_deref(),
        Some("has no usable scan (UNSUPPORTED_IMAGE: not a supported OS)")
    );
    let lax = ImagePolicy { block_severity: ImageSeverity::Critical, require_scan: false };
    assert_eq!(verdict(&image(ScanState::NotScanned), &lax), None);
    assert_eq!(verdict(&image(findings(&[(ImageSeverity::High, 9)])), &lax), None);
}

#[tokio::test]
async fn the_fake_refuses_what_ecr_refuses() {
    let images = MemoryImages::default();
    assert!(matches!(images.image("abc-trading/audit", "1").await, Err(ImageError::RepositoryNotFound { .. })));
    assert_eq!(images.push("abc-trading/audit", "1"), None, "PutImage needs the repository");
    images.create_repository("abc-trading/audit");
    assert!(matches!(images.image("abc-trading/audit", "1").await, Err(ImageError::ImageNotFound { .. })));
    let digest = images.push("abc-trading/audit", "1").expect("pushed");
    assert!(platform_deploy::images::is_digest(&digest), "{digest}");
    assert_ne!(images.push("abc-trading/audit", "2"), Some(digest.clone()), "each image its own digest");
    assert_eq!(images.image("abc-trading/audit", "1").await.expect("found").scan, ScanState::NotScanned);
}

#[test]
fn manifests_pin_each_image_by_its_digest_in_the_central_registry() {
    let tree = tree();
    let mut release: ResolvedRelease = Release::uniform("2026.11.3").resolve(&tree.catalog).expect("resolves");
    let registry = Registry { account: "123456789012".into(), region: "us-east-1".into() };
    let target = Target { account: ACCOUNT.into(), ..Target::default() };
    let digest = |w: &str| format!("sha256:{:0>64}", w.len());
    release.digests = release.tags.keys().filter(|w| *w != "audit").map(|w| (w.clone(), digest(w))).collect();
    let manifests = render(&tree, "dev", &release, &registry, &target).expect("render");
    let image_of = |workload: &str| {
        manifests
            .iter()
            .find(|m| {
                m.workload.as_deref() == Some(workload)
                    && m.body["spec"]["template"]["spec"]["containers"][0]["image"].is_string()
            })
            .map(|m| {
                m.body["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap_or_default().to_string()
            })
            .unwrap_or_else(|| panic!("no workload {workload}"))
    };
    assert_eq!(
        image_of("trade-execution"),
        format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/abc-trading/trade-execution:2026.11.3@{}",
            digest("trade-execution")
        ),
        "the central registry, pinned by digest"
    );
    // A release recorded before digests were (a rollback target) still runs by its tag.
    assert_eq!(image_of("audit"), "123456789012.dkr.ecr.us-east-1.amazonaws.com/abc-trading/audit:2026.11.3");
    assert!(!image_of("axon-server").contains(ACCOUNT), "never the member's registry");

    // Old ledger records (no digests) still read, and a release without digests writes none.
    let old: ResolvedRelease =
        serde_json::from_value(json!({"name": "2026.11.3", "tags": {"audit": "2026.11.3"}})).expect("old record");
    assert!(old.digests.is_empty());
    assert!(serde_json::to_value(&old).expect("json").get("digests").is_none());
}
