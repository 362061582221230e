//! The restore test's actions through the handler, on RDS in memory: what is restored, measured, deleted and reported.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use platform_core::config;
use platform_core::error::AwsError;
use platform_core::fakes::{FakeParameterStore, MemoryStackSets};
use scheduled_ops::fakes::{MemoryRds, MemoryReports};
use scheduled_ops::handler::{Deps, Request, Response, ScheduleError, handle};
use scheduled_ops::ports::{DatabaseInstance, RestoreRequest, ScratchInstances, Snapshot};
use scheduled_ops::restore::report::{Probe, Run, Verdict, Written};
use scheduled_ops::restore::{self, Deleted, Found, Phase, Started, Status, TAG, Target};
use serde_json::Value;

use platform_core::fakes::{CapturedMetrics, MemoryGroups, MemoryGuard};

const DEV: &str = "111111111111";
const SOURCE: &str = "abc-trading-dev";
const DOMAIN: &str = "cxyz.us-east-1.rds.amazonaws.com";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

fn now() -> DateTime<Utc> {
    at("2026-11-29T04:00:00Z")
}

fn snapshot(id: &str, kind: &str, status: &str, minutes_old: i64) -> Snapshot {
    Snapshot {
        id: id.into(),
        kind: kind.into(),
        status: status.into(),
        created_at: Some(now() - Duration::minutes(minutes_old)),
    }
}

/// The dev account vended, its database with an hourly backup 30 minutes old (and older ones).
fn world(rds: MemoryRds) -> (Deps, Arc<MemoryRds>, Arc<MemoryReports>) {
    let rds = Arc::new(rds);
    rds.add_source(DEV, SOURCE);
    rds.add_snapshot(DEV, SOURCE, snapshot("rds:abc-trading-dev-2026-11-28-03-00", "automated", "available", 25 * 60));
    rds.add_snapshot(DEV, SOURCE, snapshot("awsbackup:job-newest", "awsbackup", "available", 30));
    // Newer, but still being taken: not a recovery point yet.
    rds.add_snapshot(DEV, SOURCE, snapshot("awsbackup:job-running", "awsbackup", "creating", 5));
    let parameters = FakeParameterStore::default();
    parameters.insert(&format!("/abc-trading/accounts/dev/{DEV}/id"), DEV);
    parameters.insert(&format!("/abc-trading/accounts/dev/{DEV}/name"), "abc-trading-dev");
    let reports = Arc::new(MemoryReports::default());
    let sets = Arc::new(MemoryStackSets::new(1));
    let deps = Deps {
        tree: config::load(&config::repository_config_dir()).expect("config"),
        directory: Arc::new(platform_core::fakes::MemoryOrganization::new()),
        stack_sets: sets.clone(),
        drift: sets,
        groups: Arc::new(MemoryGroups::default()),
        guard: Arc::new(MemoryGuard::default()),
        parameters: Arc::new(parameters),
        reports: reports.clone(),
        indicators: Arc::new(platform_core::fakes::MemoryIndicators::default()),
        metrics: Arc::new(CapturedMetrics::default()),
        inventory_prefix: "inventory".into(),
        recovery_points: rds.clone(),
        databases: rds.clone(),
    };
    (deps, rds, reports)
}

fn dev() -> Target {
    Target { account: DEV.into(), environment: "dev".into() }
}

async fn find(deps: &Deps, now: DateTime<Utc>) -> Found {
    match handle(Request::RestoreFind { target: dev(), now }, deps).await.expect("found") {
        Response::RestoreFind(f) => f,
        other => panic!("{other:?}"),
    }
}

async fn start(deps: &Deps, snapshot: &str, execution: &str) -> Result<Started, ScheduleError> {
    let request =
        Request::RestoreStart { target: dev(), snapshot: snapshot.into(), execution: execution.into(), now: now() };
    handle(request, deps).await.map(|r| match r {
        Response::RestoreStart(s) => s,
        other => panic!("{other:?}"),
    })
}

async fn status(deps: &Deps, execution: &str, now: DateTime<Utc>) -> Status {
    let request = Request::RestoreStatus {
        target: dev(),
        execution: execution.into(),
        started_at: at("2026-11-29T04:00:00Z"),
        now,
    };
    match handle(request, deps).await.expect("status") {
        Response::RestoreStatus(s) => s,
        other => panic!("{other:?}"),
    }
}

async fn delete(deps: &Deps, execution: &str) -> Result<Deleted, ScheduleError> {
    handle(Request::RestoreDelete { target: dev(), execution: execution.into() }, deps).await.map(|r| match r {
        Response::RestoreDelete(d) => d,
        other => panic!("{other:?}"),
    })
}

async fn report(deps: &Deps, run: Run, now: DateTime<Utc>) -> Written {
    let request = Request::RestoreReport { run: Box::new(run), execution: "weekly".into(), now };
    match handle(request, deps).await.expect("reported") {
        Response::RestoreReport(w) => *w,
        other => panic!("{other:?}"),
    }
}

fn answered(at: DateTime<Utc>) -> Probe {
    Probe { state: "answered".into(), answer: Some("S".into()), reason: None, at: Some(at) }
}

fn run() -> Run {
    Run {
        target: dev(),
        found: None,
        restore: None,
        status: None,
        probe: None,
        deleted: None,
        error: None,
        delete_error: None,
    }
}

#[tokio::test]
async fn the_newest_recovery_point_is_restored_probed_deleted_and_reported_passed() {
    // Creating for one read, then available.
    let (deps, rds, reports) = world(MemoryRds::new(1, DOMAIN));
    let found = find(&deps, now()).await;
    let point = found.recovery_point.clone().expect("a recovery point");
    assert_eq!((point.id.as_str(), point.age_minutes, found.rpo_breached), ("awsbackup:job-newest", 30, false));

    let started = start(&deps, &point.id, "weekly").await.expect("started");
    assert!(started.created && started.scratch.starts_with("abc-trading-dev-restore-"), "{started:?}");
    let scratch = rds.peek(DEV, &started.scratch).expect("restored");
    // Tagged for this execution only (not for backup), private, deletable, small, beside the source.
    assert_eq!(scratch.tags.iter().find(|(k, _)| k == TAG).map(|(_, v)| v.as_str()), Some("weekly"));
    assert!(scratch.tag(restore::BACKUP_TAG).is_none(), "{:?}", scratch.tags);
    assert!(!scratch.publicly_accessible && !scratch.deletion_protection);
    assert_eq!(
        (scratch.class.as_str(), scratch.subnet_group.as_deref()),
        ("db.t4g.micro", Some("abc-trading-dev-subnets"))
    );

    let s = status(&deps, "weekly", now() + Duration::minutes(12)).await;
    assert_eq!((s.phase, s.poll_seconds), (Phase::Restoring, 720), "dev's RTO is 720 min: polled every 12 min");
    let s = status(&deps, "weekly", now() + Duration::minutes(24)).await;
    assert_eq!(s.phase, Phase::Available);
    let host = s.host.clone().expect("an endpoint");
    assert!(host.ends_with(DOMAIN) && s.port == Some(5432), "{s:?}");

    let deleted = delete(&deps, "weekly").await.expect("deleted");
    assert_eq!(deleted.outcome, "deleting");
    assert_eq!(rds.deletes(), std::slice::from_ref(&started.scratch));
    // Delivered again: the instance is going, then gone; neither is an error, nothing more is asked.
    assert_eq!(delete(&deps, "weekly").await.expect("again").outcome, "already-deleting");
    assert_eq!(delete(&deps, "weekly").await.expect("again").outcome, "gone");
    assert_eq!(rds.deletes().len(), 1);

    let done = now() + Duration::minutes(25);
    let r = Run {
        found: Some(found),
        restore: Some(started.clone()),
        status: Some(s),
        probe: Some(answered(done)),
        deleted: Some(deleted),
        ..run()
    };
    let written = report(&deps, r, done).await;
    assert_eq!((written.verdict, written.notify), (Verdict::Passed, false), "{written:?}");
    assert_eq!(written.key, format!("restore-tests/dev/{DEV}/2026-11-29.json"));
    let body: Value = serde_json::from_str(&reports.get(&written.key).expect("written").body).expect("json");
    assert_eq!(body["restore_minutes"], 25);
    assert_eq!(body["rto_minutes"], 720);
    assert_eq!(body["scratch_deleted"], true);
    assert_eq!(body["recovery_point"]["id"], "awsbackup:job-newest");
    assert_eq!(body["scratch_instance"], Value::String(started.scratch));
}

#[tokio::test]
async fn a_recovery_point_older_than_the_rpo_is_a_finding_that_is_notified() {
    let (deps, rds, _) = world(MemoryRds::new(1, DOMAIN));
    // Two days later, nothing newer: dev's RPO is a day.
    let later = now() + Duration::days(2);
    let found = find(&deps, later).await;
    assert!(found.rpo_breached, "{found:?}");
    assert_eq!(found.recovery_point.as_ref().map(|p| p.age_minutes), Some(2 * 24 * 60 + 30));
    let started = start(&deps, "awsbackup:job-newest", "weekly").await.expect("started");
    // Restored that day (the helper's restore started at `now()`).
    assert_eq!(status(&deps, "weekly", now() + Duration::minutes(12)).await.phase, Phase::Restoring);
    let s = status(&deps, "weekly", now() + Duration::minutes(24)).await;
    assert_eq!(s.phase, Phase::Available);
    let deleted = delete(&deps, "weekly").await.expect("deleted");
    let r = Run {
        found: Some(found),
        restore: Some(started),
        status: Some(s),
        probe: Some(answered(now())),
        deleted: Some(deleted),
        ..run()
    };
    let written = report(&deps, r, later).await;
    // The restore worked; the promise did not hold: people are told, the verdict stays passed.
    assert_eq!((written.verdict, written.notify), (Verdict::Passed, true), "{written:?}");
    assert!(written.message.contains("RPO breached") && written.message.contains("docs/runbook.md#restore-test"));
    assert!(written.subject.contains("passed with 1 finding"), "{}", written.subject);
    assert_eq!(rds.deletes().len(), 1);
}

#[tokio::test]
async fn a_restore_still_running_at_twice_the_rto_is_overdue_deleted_and_an_rto_breach() {
    let (deps, rds, _) = world(MemoryRds::new(u32::MAX, DOMAIN));
    let started = start(&deps, "awsbackup:job-newest", "weekly").await.expect("started");
    let s = status(&deps, "weekly", now() + Duration::minutes(2 * 720)).await;
    assert_eq!(s.phase, Phase::Restoring, "exactly twice the RTO: still waited for");
    let s = status(&deps, "weekly", now() + Duration::minutes(2 * 720 + 12)).await;
    assert_eq!(s.phase, Phase::Overdue);
    let deleted = delete(&deps, "weekly").await.expect("deleted while creating");
    let r = Run { restore: Some(started), status: Some(s), deleted: Some(deleted), ..run() };
    let written = report(&deps, r, now() + Duration::minutes(2 * 720 + 13)).await;
    assert_eq!(written.verdict, Verdict::Failed);
    assert!(written.report.reasons.iter().any(|r| r.contains("did not become available (overdue")), "{written:?}");
    assert!(written.report.scratch_deleted);
    assert_eq!(rds.deletes().len(), 1);
}

#[tokio::test]
async fn no_recovery_point_fails_the_test_without_restoring_anything() {
    let (deps, rds, _) = world(MemoryRds::new(1, DOMAIN));
    // An account whose database has only a snapshot still being taken.
    let other = "222222222222";
    rds.add_source(other, SOURCE);
    rds.add_snapshot(other, SOURCE, snapshot("awsbackup:job-running", "awsbackup", "creating", 5));
    let store = FakeParameterStore::default();
    store.insert(&format!("/abc-trading/accounts/dev/{other}/id"), other);
    let deps = Deps { parameters: Arc::new(store), ..deps };
    let target = Target { account: other.into(), environment: "dev".into() };
    let Response::RestoreFind(found) =
        handle(Request::RestoreFind { target: target.clone(), now: now() }, &deps).await.expect("found")
    else {
        panic!("not a find")
    };
    assert_eq!((found.recovery_point.clone(), found.rpo_breached), (None, true));
    let r = Run { target, found: Some(found), ..run() };
    let Response::RestoreReport(written) =
        handle(Request::RestoreReport { run: Box::new(r), execution: "weekly".into(), now: now() }, &deps)
            .await
            .expect("reported")
    else {
        panic!("not a report")
    };
    assert_eq!((written.verdict, written.notify), (Verdict::Failed, true));
    assert_eq!(written.report.reasons, ["no completed recovery point of the database"]);
    assert!(written.report.scratch_deleted, "nothing was made");
    assert_eq!(rds.restores(), 0);
}

#[tokio::test]
async fn a_repeated_start_finds_the_instance_the_first_made() {
    let (deps, rds, _) = world(MemoryRds::new(1, DOMAIN));
    let first = start(&deps, "awsbackup:job-newest", "weekly").await.expect("started");
    // The answer was lost and Step Functions retried, or the task was delivered twice.
    let again = start(&deps, "awsbackup:job-newest", "weekly").await.expect("started again");
    assert_eq!((first.created, again.created, again.scratch == first.scratch), (true, false, true));
    assert_eq!(rds.restores(), 1);
    // Another execution gets its own instance.
    let other = start(&deps, "awsbackup:job-newest", "next-week").await.expect("started");
    assert_ne!(other.scratch, first.scratch);
    assert_eq!(rds.restores(), 2);
}

/// RDS as a racing delivery sees it: the instance is not there when read, and there when restored.
#[derive(Debug)]
struct RacedRds {
    inner: Arc<MemoryRds>,
    stale_reads: std::sync::Mutex<u32>,
}

#[async_trait]
impl ScratchInstances for RacedRds {
    async fn instance(&self, account: &str, region: &str, name: &str) -> Result<Option<DatabaseInstance>, AwsError> {
        let stale = {
            let mut left = self.stale_reads.lock().expect("lock");
            let stale = *left > 0 && name.contains("-restore-");
            if stale {
                *left -= 1;
            }
            stale
        };
        if stale {
            return Ok(None);
        }
        self.inner.instance(account, region, name).await
    }
    async fn restore(&self, account: &str, region: &str, request: &RestoreRequest) -> Result<(), AwsError> {
        self.inner.restore(account, region, request).await
    }
    async fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), AwsError> {
        self.inner.delete(account, region, name).await
    }
}

#[tokio::test]
async fn two_deliveries_racing_the_restore_end_with_one_instance() {
    let (deps, rds, _) = world(MemoryRds::new(1, DOMAIN));
    let first = start(&deps, "awsbackup:job-newest", "weekly").await.expect("started");
    let raced = Deps { databases: Arc::new(RacedRds { inner: rds.clone(), stale_reads: 1.into() }), ..deps };
    // The second read missed the first's instance; RDS refuses the name; it is ours: joined.
    let second = start(&raced, "awsbackup:job-newest", "weekly").await.expect("joined");
    assert_eq!((second.created, second.scratch), (false, first.scratch));
    assert_eq!(rds.restores(), 1);
}

#[tokio::test]
async fn an_instance_without_this_executions_tag_is_never_deleted_nor_restored_over() {
    let (deps, rds, _) = world(MemoryRds::new(1, DOMAIN));
    let scratch = restore::scratch_name(&deps.tree, "dev", "weekly");
    // Someone made an instance by that name by hand (deletion protection off, no restore tag).
    rds.add_source(DEV, &scratch);
    let e = delete(&deps, "weekly").await.expect_err("refused");
    assert_eq!(e.error_type(), "NotOurs", "{e}");
    assert!(e.to_string().contains(&scratch), "{e}");
    let e = start(&deps, "awsbackup:job-newest", "weekly").await.expect_err("refused");
    assert_eq!(e.error_type(), "NotOurs");
    assert!(rds.deletes().is_empty() && rds.restores() == 0);
    assert!(rds.peek(DEV, &scratch).is_some(), "untouched");
}

#[tokio::test]
async fn an_account_vending_did_not_publish_is_refused_before_any_call() {
    let (deps, rds, reports) = world(MemoryRds::new(1, DOMAIN));
    let stranger = Target { account: "999999999999".into(), environment: "dev".into() };
    rds.add_source("999999999999", SOURCE);
    let e = handle(Request::RestoreDelete { target: stranger.clone(), execution: "weekly".into() }, &deps)
        .await
        .expect_err("refused");
    assert_eq!(e.error_type(), "Untrusted", "{e}");
    let request =
        Request::RestoreReport { run: Box::new(Run { target: stranger, ..run() }), execution: "w".into(), now: now() };
    assert_eq!(handle(request, &deps).await.expect_err("refused").error_type(), "Untrusted");
    let prod = Target { account: DEV.into(), environment: "prod".into() };
    let e = handle(Request::RestoreFind { target: prod, now: now() }, &deps).await.expect_err("refused");
    assert_eq!(e.error_type(), "Untrusted", "dev's account is not prod's: {e}");
    assert!(reports.keys().is_empty());
}

#[tokio::test]
async fn targets_are_the_accounts_vending_published() {
    let (deps, _, _) = world(MemoryRds::new(1, DOMAIN));
    let Response::RestoreTargets(t) = handle(Request::RestoreTargets {}, &deps).await.expect("targets") else {
        panic!("not targets")
    };
    assert_eq!(t.targets, [dev()], "the name parameter is not an account");
}

#[tokio::test]
async fn a_restore_rds_gives_up_on_fails_the_test_and_is_still_deleted() {
    let (deps, rds, _) = world(MemoryRds::new(1, DOMAIN).failing_restores());
    let started = start(&deps, "awsbackup:job-newest", "weekly").await.expect("started");
    let s = status(&deps, "weekly", now() + Duration::minutes(12)).await;
    let s = if s.phase == Phase::Restoring { status(&deps, "weekly", now() + Duration::minutes(24)).await } else { s };
    assert_eq!((s.phase, s.status.as_str()), (Phase::Failed, "incompatible-restore"));
    let deleted = delete(&deps, "weekly").await.expect("deleted");
    let r = Run { restore: Some(started), status: Some(s), deleted: Some(deleted), ..run() };
    let written = report(&deps, r, now() + Duration::minutes(25)).await;
    assert_eq!(written.verdict, Verdict::Failed);
    assert_eq!(rds.deletes().len(), 1);
}
