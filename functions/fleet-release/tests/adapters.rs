//! The fleet's adapters against the emulator: approvals and leases in the guard table, alarm states in CloudWatch.

use std::sync::Arc;

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use chrono::{DateTime, Duration, Utc};
use emulator::Emulator;
use fleet_release::aws::CloudWatchAlarmStates;
use fleet_release::ports::AlarmStates;
use platform_core::approvals::{
    Acquired, Approvals, Decision, Lease, Leases, Opened, PendingApproval, Recorded, Verdict,
};
use platform_core::guard::GuardTable;

async fn guard_table(emulator: &Emulator) -> GuardTable {
    GuardTable::create(aws_sdk_dynamodb::Client::new(&emulator.sdk_config()), "guard").await.expect("table")
}

fn now() -> DateTime<Utc> {
    "2026-12-05T10:00:00Z".parse().expect("instant")
}

fn pending(token: &str) -> PendingApproval {
    PendingApproval {
        id: "fleet-1".into(),
        environment: "prod".into(),
        release: "2026.12.1".into(),
        token: token.into(),
        plan_key: "fleet-plans/prod/2026.12.1/fleet-1.json".into(),
        summary: "12 accounts in 3 waves".into(),
        requested_by: Some("alice".into()),
        opened_at: now(),
        answer_by: now() + Duration::hours(4),
    }
}

/// GIVEN an approval opened, renewed by a retried task, decided by two people THEN the newest
/// token is kept, exactly one decision is recorded and the other is told whose it was.
///
/// DynamoDB applies conditional writes to one item one at a time, so two people deciding at once
/// is one decision followed by the other; the second is written here after the first. Sent
/// concurrently, moto's threaded server can apply both (both conditions read the undecided item:
/// this test failed that way under load), which says nothing about DynamoDB or the adapter.
#[tokio::test(flavor = "multi_thread")]
async fn an_approval_keeps_the_newest_token_and_one_decision() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = Arc::new(guard_table(&emulator).await);
    assert_eq!(guard.open(&pending("t1")).await.expect("open"), Opened::Waiting);
    // The retry's timeout starts again: its answer-by is the one an approver is held to.
    let mut retried = pending("t2");
    retried.answer_by = now() + Duration::hours(5);
    assert_eq!(guard.open(&retried).await.expect("renew"), Opened::Waiting);
    let record = guard.get("fleet-1").await.expect("get").expect("record");
    assert_eq!((record.pending.token.as_str(), record.pending.answer_by), ("t2", retried.answer_by));
    let decision = |by: &str, verdict| Decision { verdict, by: by.into(), at: now(), reason: Some("ok".into()) };
    let (bob, carol) = (decision("bob", Verdict::Approved), decision("carol", Verdict::Rejected));
    assert_eq!(guard.decide("fleet-1", &carol).await.expect("carol"), Recorded::Recorded);
    let kept = guard.get("fleet-1").await.expect("get").expect("record").decision.expect("decided");
    assert_eq!(kept, carol, "the first decision written is the one kept");
    // The second finds the first and is told whose it was; a retry of the first is told the same.
    assert_eq!(guard.decide("fleet-1", &bob).await.expect("bob"), Recorded::Already(carol.clone()));
    assert_eq!(guard.decide("fleet-1", &carol).await.expect("retry"), Recorded::Already(carol.clone()));
    let still = guard.get("fleet-1").await.expect("get").expect("record").decision.expect("decided");
    assert_eq!(still, carol, "the second decision did not overwrite the first");
    // A task redelivered after the decision finds it rather than opening a new wait.
    assert_eq!(guard.open(&pending("t3")).await.expect("open"), Opened::Decided(kept));
    assert_eq!(guard.decide("nope", &decision("bob", Verdict::Approved)).await.expect("decide"), Recorded::Unknown);
}

/// GIVEN an account leased by one release THEN a second is told the holder, the holder re-takes
/// it, a stranger cannot release it, and once it expires the second takes it.
#[tokio::test(flavor = "multi_thread")]
async fn one_release_holds_an_account_until_it_ends_or_expires() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = guard_table(&emulator).await;
    let lease = |holder: &str, until: DateTime<Utc>| Lease {
        environment: "prod".into(),
        account: "333333333333".into(),
        holder: holder.into(),
        release: "2026.12.1".into(),
        since: now(),
        until,
    };
    let first = lease("deploy-a", now() + Duration::hours(2));
    assert_eq!(guard.acquire(&first, now()).await.expect("acquire"), Acquired::Held);
    assert_eq!(guard.acquire(&first, now()).await.expect("again"), Acquired::Held, "a retried acquire");
    let second = lease("deploy-b", now() + Duration::hours(2));
    assert_eq!(guard.acquire(&second, now()).await.expect("busy"), Acquired::Busy(first.clone()));
    assert!(!guard.release("prod", "333333333333", "deploy-b").await.expect("release"), "not its lease");
    let later = now() + Duration::hours(3);
    assert_eq!(guard.acquire(&second, later).await.expect("expired"), Acquired::Held);
    assert!(guard.release("prod", "333333333333", "deploy-b").await.expect("release"));
    assert_eq!(guard.acquire(&first, later).await.expect("free"), Acquired::Held);
}

/// GIVEN alarms of two accounts THEN only the prefix's alarms in ALARM are returned.
#[tokio::test(flavor = "multi_thread")]
async fn alarm_states_are_read_by_prefix_and_state() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let client = aws_sdk_cloudwatch::Client::new(&emulator.sdk_config());
    for name in [
        "abc-trading-dev-333333333333-health-errors-frontend",
        "abc-trading-dev-333333333333-health-errors-audit",
        "abc-trading-dev-444444444444-health-errors-frontend",
    ] {
        client
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("ABC/Trading")
            .metric_name("Errors")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .expect("put alarm");
    }
    for name in
        ["abc-trading-dev-333333333333-health-errors-frontend", "abc-trading-dev-444444444444-health-errors-frontend"]
    {
        client
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::Alarm)
            .state_reason("test")
            .send()
            .await
            .expect("set");
    }
    let states = CloudWatchAlarmStates::new(client);
    assert_eq!(
        states.alarming("abc-trading-dev-333333333333-").await.expect("alarming"),
        vec!["abc-trading-dev-333333333333-health-errors-frontend".to_string()]
    );
}
