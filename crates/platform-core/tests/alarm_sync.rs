//! The monitoring account's per-account alarms kept in step with config: only differences written, stale ones deleted, against the fake and the emulator.

use chrono::NaiveDate;
use platform_core::aws::CloudWatchAlarms;
use platform_core::config::{self, ConfigTree, repository_config_dir};
use platform_core::fakes::MemoryAlarms;
use platform_core::monitoring::{AlarmStore, account_alarms, sync_account_alarms};

const ACCOUNT: &str = "222233334444";

fn tree() -> ConfigTree {
    config::load_as_of(&repository_config_dir(), NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")).expect("valid")
}

#[tokio::test]
async fn a_second_sync_writes_nothing_and_a_changed_threshold_rewrites_one() {
    let (mut tree, store) = (tree(), MemoryAlarms::default());
    let first = sync_account_alarms(&store, &tree, "dev", ACCOUNT).await.expect("sync");
    let all = account_alarms(&tree, "dev", ACCOUNT).len();
    assert_eq!((first.written.len(), first.unchanged), (all, 0));
    let second = sync_account_alarms(&store, &tree, "dev", ACCOUNT).await.expect("again");
    assert_eq!((second.written.len(), second.unchanged, second.deleted.len()), (0, all, 0));

    let business = tree.monitoring.slo.objectives.iter_mut().find(|o| o.tier == "business").expect("business");
    business.availability = 99.5;
    let third = sync_account_alarms(&store, &tree, "dev", ACCOUNT).await.expect("changed");
    assert_eq!(third.written.len(), 4, "the business tier's availability windows: {:?}", third.written);
    assert!(third.written.iter().all(|n| n.contains("-slo-business-availability-")));
}

#[tokio::test]
async fn alarms_config_no_longer_makes_are_deleted_and_foreign_ones_rewritten() {
    let (tree, store) = (tree(), MemoryAlarms::default());
    store.seed_foreign(&format!("abc-trading-dev-{ACCOUNT}-health-errors-retired-service"));
    store.seed_foreign(&format!("abc-trading-dev-{ACCOUNT}-health-errors-audit"));
    // Another account's alarm and another environment's are not this sync's.
    store.seed_foreign("abc-trading-dev-2222333344445-health-errors-audit");
    store.seed_foreign(&format!("abc-trading-prod-{ACCOUNT}-health-errors-audit"));
    let report = sync_account_alarms(&store, &tree, "dev", ACCOUNT).await.expect("sync");
    assert_eq!(report.deleted, [format!("abc-trading-dev-{ACCOUNT}-health-errors-retired-service")]);
    assert!(report.written.contains(&format!("abc-trading-dev-{ACCOUNT}-health-errors-audit")), "rewritten");
    let left = store.alarms("abc-trading-").await.expect("list");
    assert!(left.iter().any(|a| a.name == "abc-trading-dev-2222333344445-health-errors-audit"));
    assert!(left.iter().any(|a| a.name == format!("abc-trading-prod-{ACCOUNT}-health-errors-audit")));
}

/// The adapter writes what it reads back: against the emulator a second sync writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_reads_back_what_it_was_given() {
    let emulator = emulator::Emulator::start_for_workspace().expect("emulator");
    let store = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(&emulator.sdk_config()));
    let tree = tree();
    let first = sync_account_alarms(&store, &tree, "dev", ACCOUNT).await.expect("sync");
    assert_eq!(first.written.len(), account_alarms(&tree, "dev", ACCOUNT).len());
    let stored = store.alarms(&format!("abc-trading-dev-{ACCOUNT}-")).await.expect("describe");
    assert!(stored.iter().all(|a| a.definition.is_some()), "every alarm reads back as ours");
    let second = sync_account_alarms(&store, &tree, "dev", ACCOUNT).await.expect("again");
    assert!(second.written.is_empty(), "rewrote {:?}", second.written);
}
