//! The signal windows in the guard table against the emulator: one claim per window however many race, the rest counted.

use std::sync::Arc;

use chrono::{Duration, Utc};
use emulator::Emulator;
use platform_core::guard::GuardTable;
use platform_core::signals::{Sighting, SignalLedger};

async fn guard_table(emulator: &Emulator) -> GuardTable {
    GuardTable::create(aws_sdk_dynamodb::Client::new(&emulator.sdk_config()), "guard").await.expect("table")
}

/// GIVEN eight detections of one key at once THEN one opens the window and seven are counted,
/// each with its own count.
#[tokio::test(flavor = "multi_thread")]
async fn one_detection_opens_the_window_and_the_racing_ones_are_counted() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = Arc::new(guard_table(&emulator).await);
    let now = Utc::now();
    let mut handles = Vec::new();
    for i in 0..8 {
        let guard = guard.clone();
        handles.push(tokio::spawn(async move {
            guard.sight("222233334444#order-management#OOMKilled", &format!("exec-{i}"), now, 900).await
        }));
    }
    let mut first = 0;
    let mut counts = Vec::new();
    for h in handles {
        match h.await.expect("task").expect("sight") {
            Sighting::First => first += 1,
            Sighting::Suppressed { count, since } => {
                assert_eq!(since.timestamp(), now.timestamp());
                counts.push(count);
            }
        }
    }
    counts.sort_unstable();
    assert_eq!(first, 1);
    assert_eq!(counts, (1..=7).collect::<Vec<u64>>(), "ADD counts each one once");
}

/// GIVEN a window THEN another key is its own window, and once the window has passed the next
/// detection opens a new one (the TTL has not deleted the item yet).
#[tokio::test(flavor = "multi_thread")]
async fn a_passed_window_is_taken_over() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = guard_table(&emulator).await;
    let now = Utc::now();
    let key = "222233334444#settlement#CrashLoopBackOff";
    assert_eq!(guard.sight(key, "a", now, 900).await.expect("first"), Sighting::First);
    assert!(matches!(
        guard.sight(key, "b", now + Duration::seconds(899), 900).await.expect("in"),
        Sighting::Suppressed { count: 1, .. }
    ));
    assert_eq!(guard.sight("222233334444#settlement#OOMKilled", "c", now, 900).await.expect("other"), Sighting::First);
    assert_eq!(guard.sight(key, "d", now + Duration::seconds(901), 900).await.expect("after"), Sighting::First);
    let again = guard.sight(key, "e", now + Duration::seconds(902), 900).await.expect("again");
    assert_eq!(
        again,
        Sighting::Suppressed { count: 1, since: now + Duration::seconds(901) },
        "a new window, counted from 0"
    );
}

/// GIVEN an execution whose answer was lost asking again THEN it gets the same answer: its own
/// claim is still First, its one count is not counted twice.
#[tokio::test(flavor = "multi_thread")]
async fn the_same_owner_asking_again_gets_the_same_answer() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = guard_table(&emulator).await;
    let now = Utc::now();
    let key = "222233334444#audit#OOMKilled";
    assert_eq!(guard.sight(key, "first", now, 900).await.expect("first"), Sighting::First);
    assert_eq!(guard.sight(key, "first", now, 900).await.expect("its retry"), Sighting::First);
    let counted = guard.sight(key, "second", now, 900).await.expect("second");
    assert!(matches!(counted, Sighting::Suppressed { count: 1, .. }), "{counted:?}");
    assert_eq!(guard.sight(key, "second", now, 900).await.expect("its retry"), counted, "counted once");
    assert!(matches!(guard.sight(key, "third", now, 900).await.expect("third"), Sighting::Suppressed { count: 2, .. }));
}
