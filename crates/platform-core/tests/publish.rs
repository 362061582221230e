//! `config publish`: only differences are written, a second run writes nothing, stale parameters go.

use chrono::NaiveDate;
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config::{self, ConfigTree, repository_config_dir};
use platform_core::fakes::FakeParameterStore;
use platform_core::ports::ParameterStore;

fn tree() -> ConfigTree {
    config::load_as_of(&repository_config_dir(), NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")).expect("valid")
}

/// One parameter per entity: 32 before monitoring (24 services), plus paging, the SLOs and one per health alarm.
fn expected() -> usize {
    let tree = tree();
    32 + 2 + tree.monitoring.health.len()
}

#[tokio::test]
async fn a_second_publish_writes_nothing() {
    let store = FakeParameterStore::default();
    let first = config::publish(&tree(), &store, false).await.expect("publish");
    assert_eq!(first.created.len(), expected());
    let writes = store.writes();
    let second = config::publish(&tree(), &store, false).await.expect("publish again");
    assert!(!second.changed(), "{second}");
    assert_eq!(second.unchanged, expected());
    assert_eq!(store.writes(), writes, "unchanged parameters are not rewritten");
}

#[tokio::test]
async fn only_the_changed_entity_is_updated_and_stale_ones_are_removed() {
    let store = FakeParameterStore::default();
    config::publish(&tree(), &store, false).await.expect("publish");
    store.insert("/abc-trading/config/services/retired-service", "{}");
    store.insert("/abc-trading/accounts/dev/111111111111/id", "111111111111");

    let mut changed = tree();
    changed.environments.get_mut("dev").expect("dev").nodegroup.desired_size = 3;
    let report = config::publish(&changed, &store, false).await.expect("publish change");
    assert_eq!(report.updated, ["/abc-trading/config/environments/dev"]);
    assert_eq!(report.deleted, ["/abc-trading/config/services/retired-service"]);
    assert!(report.created.is_empty());
    let text = report.to_string();
    assert!(text.contains("~ /abc-trading/config/environments/dev (update)"), "{text}");
    let params = store.snapshot();
    assert!(params["/abc-trading/config/environments/dev"].contains(r#""desired_size":3"#));
    assert!(params.contains_key("/abc-trading/accounts/dev/111111111111/id"), "only config/ is managed");
}

#[tokio::test]
async fn a_dry_run_reports_without_writing() {
    let store = FakeParameterStore::default();
    let report = config::publish(&tree(), &store, true).await.expect("dry run");
    assert_eq!(report.created.len(), expected());
    assert_eq!(store.writes(), 0);
    assert!(report.to_string().contains("dry run: nothing written"));
}

/// The same contract against Parameter Store's wire protocol: paginated reads (10 per page),
/// create-without-overwrite, overwrite, batched deletes.
#[tokio::test]
async fn publish_against_the_emulator_is_idempotent() {
    let emulator = emulator::Emulator::start_for_workspace().expect("emulator");
    let ctx = AwsContext::from_config(emulator.sdk_config()).expect("region");
    let store = SsmParameterStore::new(ctx.client());

    let first = config::publish(&tree(), &store, false).await.expect("publish");
    assert_eq!(first.created.len(), expected());
    let second = config::publish(&tree(), &store, false).await.expect("publish again");
    assert!(!second.changed(), "{second}");

    let ssm = ctx.client::<aws_sdk_ssm::Client>();
    let version = |name: &'static str| {
        let ssm = ssm.clone();
        async move { ssm.get_parameter().name(name).send().await.expect("get").parameter.expect("p").version }
    };
    assert_eq!(version("/abc-trading/config/environments/dev").await, 1, "not rewritten");

    for i in 0..12 {
        store.put(&format!("/abc-trading/config/stale/{i}"), "x", false).await.expect("put");
    }
    let mut changed = tree();
    changed.environments.get_mut("dev").expect("dev").scaling.max_step = 3;
    let third = config::publish(&changed, &store, false).await.expect("publish change");
    assert_eq!(third.updated, ["/abc-trading/config/environments/dev"]);
    assert_eq!(third.deleted.len(), 12);
    assert_eq!(version("/abc-trading/config/environments/dev").await, 2);
    let left = store.get_by_path("/abc-trading/config/").await.expect("list");
    assert_eq!(left.len(), expected());
    // By name, past GetParameters' ten-name limit; names that do not exist are left out.
    let mut names: Vec<String> = left.keys().take(12).cloned().collect();
    names.push("/abc-trading/config/missing".into());
    let got = store.get_many(&names).await.expect("get many");
    assert_eq!(got.len(), 12);
    assert!(got.iter().all(|(name, value)| left.get(name) == Some(value)));

    let err = store.put("/abc-trading/config/tiers", "[]", false).await.expect_err("exists");
    assert_eq!(err.class, platform_core::ErrorClass::AlreadyExists);
}

/// What `config publish` writes reads back as the same tree (functions that render from the
/// catalogue read it so).
#[tokio::test]
async fn the_published_tree_reads_back_as_it_was() {
    let store = platform_core::fakes::FakeParameterStore::default();
    let original = tree();
    config::publish(&original, &store, false).await.expect("publish");
    let read = config::published_tree(&store, "/abc-trading").await.expect("read back");
    assert_eq!(read, original);
    let missing = config::published_tree(&store, "/elsewhere").await.expect_err("nothing there");
    assert!(missing.to_string().contains("/elsewhere/config/organization is not published"), "{missing}");
}
