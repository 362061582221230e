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

/// The budget reader against the emulator: what the log processor put over the window is summed
/// per tier, and a tier without data says so.
#[tokio::test(flavor = "multi_thread")]
async fn error_budgets_read_the_log_processors_sums() {
    use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    use platform_core::aws::CloudWatchIndicators;
    use platform_core::config::Indicator;
    use platform_core::monitoring::error_budgets;

    let emulator = emulator::Emulator::start_for_workspace().expect("emulator");
    let client = aws_sdk_cloudwatch::Client::new(&emulator.sdk_config());
    let now = chrono::Utc::now();
    let dims = [("Environment", "dev"), ("Account", ACCOUNT), ("Tier", "business")];
    for (metric, value, hours_ago) in [("Errors", 4.0, 2), ("Errors", 1.0, 30), ("Events", 10_000.0, 2)] {
        let datum = MetricDatum::builder()
            .metric_name(metric)
            .set_dimensions(Some(dims.iter().map(|(k, v)| Dimension::builder().name(*k).value(*v).build()).collect()))
            .timestamp(AwsDateTime::from_millis((now - chrono::Duration::hours(hours_ago)).timestamp_millis()))
            .value(value)
            .build();
        client.put_metric_data().namespace("ABC/Trading").metric_data(datum).send().await.expect("put");
    }
    let budgets = error_budgets(&CloudWatchIndicators::new(client), &tree(), "dev", ACCOUNT, now).await.expect("read");
    let business = budgets
        .iter()
        .find(|b| b.tier == "business" && b.indicator == Indicator::Availability)
        .expect("business availability");
    // 5 errors in 10,000 events against a 0.1% budget: half of it spent.
    assert_eq!((business.bad, business.total), (5.0, 10_000.0));
    assert!((business.remaining_percent.expect("traffic") - 50.0).abs() < 1e-9, "{business:?}");
    let edge = budgets.iter().find(|b| b.tier == "edge").expect("edge");
    assert_eq!(edge.remaining_percent, None, "no traffic");
}
