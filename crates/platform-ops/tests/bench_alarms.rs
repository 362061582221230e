//! `bench alarms` small: duplicates racing on the guard table in moto get one claim each, and a guard that forgets is caught.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::capacity::{AuditRecord, Claim, Guard, PastAction};
use platform_core::error::AwsError;
use platform_core::fakes::MemoryGuard;
use platform_ops::bench_alarms::{self, AlarmLoad};

const SMALL: AlarmLoad = AlarmLoad { transitions: 100, targets: 5, deliveries: 3, concurrency: 32 };

/// GIVEN 100 transitions for 5 targets, each delivered 3 times at once, on the guard table in
/// moto THEN each transition is claimed by exactly one delivery, the other two are duplicates
/// with their reason, every refusal of the table is counted, and each target is resized once.
#[tokio::test(flavor = "multi_thread")]
async fn duplicates_racing_on_the_guard_table_get_one_claim_each() {
    let f = bench_alarms::alarms(&emulator::workspace_root(), &SMALL, true).await.expect("bench");
    assert!(f.problems().is_empty(), "{:?}\n{f:#?}", f.problems());
    assert!(f.misclaimed.is_empty() && f.unexplained == 0, "{f:#?}");
    assert_eq!(f.outcomes.values().sum::<u64>(), 300, "every delivery answered: {:?}", f.outcomes);
    assert_eq!(f.outcomes.get("duplicate"), Some(&200), "two of three deliveries joined the first: {:?}", f.outcomes);
    assert!(f.conflicts > 0, "duplicates conflict in the table: {f:#?}");
    assert_eq!(f.conflicts, f.expected_conflicts, "one refused write per duplicate and per busy plan: {:?}", f.table);
    // One claim per delivery and one lock per plan to scale, all conditional.
    assert!(f.conditional_writes >= 300, "{:?}", f.table);
    assert_eq!(f.scales.len(), 5, "every target resized: {:?}", f.scales);
    assert!(f.scales.values().all(|n| *n == 1), "one resize per target inside the cooldown: {:?}", f.scales);
    assert!(f.decide.p50_ms > 0.0 && f.decide.p50_ms <= f.decide.p99_ms && f.decide.p99_ms <= f.decide.max_ms);
}

/// A guard table whose claims always win: what a put without its condition would be.
#[derive(Debug, Default)]
struct Forgetful(MemoryGuard);

#[async_trait]
impl Guard for Forgetful {
    async fn claim_transition(&self, _: &str, _: &str, _: DateTime<Utc>) -> Result<Claim, AwsError> {
        Ok(Claim::Won)
    }
    async fn lock_target(&self, key: &str, owner: &str, now: DateTime<Utc>, seconds: i64) -> Result<Claim, AwsError> {
        self.0.lock_target(key, owner, now, seconds).await
    }
    async fn unlock_target(&self, key: &str, owner: &str) -> Result<(), AwsError> {
        self.0.unlock_target(key, owner).await
    }
    async fn history(&self, key: &str) -> Result<Vec<PastAction>, AwsError> {
        self.0.history(key).await
    }
    async fn record(&self, key: &str, record: &AuditRecord) -> Result<(), AwsError> {
        self.0.record(key, record).await
    }
}

/// GIVEN a guard whose claims do not exclude THEN the bench reports every transition as claimed
/// more than once (and the same load on the in-memory guard, which excludes, passes).
#[tokio::test(flavor = "multi_thread")]
async fn a_guard_that_does_not_exclude_is_caught() {
    let tree = platform_core::config::load(&platform_core::config::repository_config_dir()).expect("config");
    let broken = bench_alarms::deliver(&tree, Arc::new(Forgetful::default()), &SMALL, None).await.expect("bench");
    assert_eq!(broken.misclaimed.len(), 100, "{:?}", broken.outcomes);
    assert!(broken.misclaimed.values().all(|n| *n == 3));
    assert!(broken.problems().iter().any(|p| p.contains("without exactly one claim")), "{:?}", broken.problems());

    let sound = bench_alarms::deliver(&tree, Arc::new(MemoryGuard::default()), &SMALL, None).await.expect("bench");
    assert!(sound.problems().is_empty(), "{:?}", sound.problems());
}
