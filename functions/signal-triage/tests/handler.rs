//! Triage on fakes: the checks, de-duplication and its counts, and each decision (notify, rollback, raise-memory, escalate, frozen).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use platform_core::config::{self, ConfigTree};
use platform_core::fakes::{CapturedMetrics, FakeParameterStore, MemorySignals};
use platform_core::trust::Boundary;
use serde_json::{Value, json};
use signal_triage::decide::Kind;
use signal_triage::fakes::MemoryReleaseRecords;
use signal_triage::handler::{Deps, HandlerError, Request, Triaged, handle};
use signal_triage::ports::{AccountRelease, ResourceOverride};

const AUTOMATION: &str = "123456789012";
/// A vended dev account.
const MEMBER: &str = "222233334444";

/// Tuesday 24 November 2026, 22:00 UTC: outside London's trading hours.
fn evening() -> DateTime<Utc> {
    "2026-11-24T22:00:00Z".parse().expect("time")
}

struct World {
    deps: Deps,
    signals: Arc<MemorySignals>,
    releases: Arc<MemoryReleaseRecords>,
}

fn tree() -> ConfigTree {
    config::load(&config::repository_config_dir()).expect("config")
}

fn world() -> World {
    let params = FakeParameterStore::default();
    params.insert(&format!("/abc-trading/accounts/dev/{MEMBER}/id"), MEMBER);
    let signals = Arc::new(MemorySignals::default());
    let releases = Arc::new(MemoryReleaseRecords::default());
    let deps = Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: AUTOMATION.into(),
            management_account_id: "111111111111".into(),
        },
        tree: tree(),
        parameters: Arc::new(params),
        parameter_prefix: "/abc-trading".into(),
        signals: signals.clone(),
        releases: releases.clone(),
        metrics: Arc::new(CapturedMetrics::default()),
        vended: Default::default(),
    };
    World { deps, signals, releases }
}

fn event(signature: &str, service: &str, account: &str) -> Value {
    json!({
        "version": "0", "id": "e-1", "detail-type": "FailureSignatureDetected", "source": "abc.platform",
        "account": AUTOMATION, "time": "2026-11-24T22:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"environment": "dev", "service": service, "signature": signature, "severity": "high",
                   "action": "remediate", "description": "d", "count": 2, "first_seen": 1795557600000_i64,
                   "account": account, "log_group": "/aws/containerinsights/abc-trading-dev/application",
                   "sample": "the line"}
    })
}

/// Each detection triaged by an execution of its own, as each delivery is.
async fn triage(w: &World, event: Value, now: DateTime<Utc>) -> Result<Triaged, HandlerError> {
    static EXECUTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let execution = format!("exec-{}", EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    handle(Request::Triage { event, now: Some(now), execution: Some(execution) }, &w.deps).await
}

/// GIVEN the execution that opened a window retried (its first answer lost) THEN it is answered
/// as before (not suppressed by itself), and no count is added.
#[tokio::test]
async fn a_retried_triage_is_answered_as_before() {
    let w = world();
    let e = event("OOMKilled", "audit", MEMBER);
    let at: DateTime<Utc> = "2026-11-24T22:00:00Z".parse().expect("time");
    let request = || Request::Triage { event: e.clone(), now: Some(at), execution: Some("exec-retried".into()) };
    let first = handle(request(), &w.deps).await.expect("first");
    let again = handle(request(), &w.deps).await.expect("its retry");
    assert_eq!(first.kind, again.kind);
    assert_ne!(again.kind, Kind::Suppressed);
}

fn released(name: &str, at: DateTime<Utc>, previous: Option<&str>) -> AccountRelease {
    AccountRelease {
        name: name.into(),
        recorded_at: Some(at),
        previous: previous.map(str::to_string),
        resources: BTreeMap::new(),
    }
}

/// GIVEN a notify signature THEN people are told, with the config's severity and runbook anchor.
#[tokio::test]
async fn a_notify_signature_is_notified_with_its_runbook() {
    let w = world();
    let t = triage(&w, event("DatabaseUnreachable", "order-management", MEMBER), evening()).await.expect("triaged");
    assert_eq!(t.kind, Kind::Notify);
    assert_eq!(t.severity, "critical", "the published config's severity");
    assert_eq!(t.runbook, "docs/runbook.md#signature-databaseunreachable");
    assert_eq!(t.sample, "the line");
    assert!(t.deploy.is_none());
}

/// GIVEN a signature the config does not know THEN it is notified, never dropped.
#[tokio::test]
async fn an_unknown_signature_is_notified() {
    let w = world();
    let t = triage(&w, event("KernelPanic", "order-management", MEMBER), evening()).await.expect("triaged");
    assert_eq!(t.kind, Kind::Notify);
    assert!(t.reason.contains("`KernelPanic` is not in the published config"), "{}", t.reason);
    assert_eq!(t.severity, "high", "the detection's own severity");
    assert_eq!(t.runbook, "docs/runbook.md#failure-signatures-signal-triage");
}

/// GIVEN the same (account, service, signature) three times within the window THEN the first is
/// sent and the others are counted; another service, or the window passed, is sent again.
#[tokio::test]
async fn repeats_within_the_window_are_suppressed_and_counted() {
    let w = world();
    let e = event("DatabaseUnreachable", "order-management", MEMBER);
    assert_eq!(triage(&w, e.clone(), evening()).await.expect("first").kind, Kind::Notify);
    let second = triage(&w, e.clone(), evening() + Duration::minutes(1)).await.expect("second");
    assert_eq!((second.kind, second.suppressed), (Kind::Suppressed, Some(1)));
    let third = triage(&w, e.clone(), evening() + Duration::minutes(14)).await.expect("third");
    assert_eq!((third.kind, third.suppressed), (Kind::Suppressed, Some(2)));
    assert_eq!(w.signals.suppressed(&format!("{MEMBER}#order-management#DatabaseUnreachable")), 2);
    let other = triage(&w, event("DatabaseUnreachable", "settlement", MEMBER), evening()).await.expect("other");
    assert_eq!(other.kind, Kind::Notify, "another service is another key");
    // dedupe_window_seconds = 900: 16 minutes later the window has passed.
    let later = triage(&w, e, evening() + Duration::minutes(16)).await.expect("later");
    assert_eq!((later.kind, later.suppressed), (Kind::Notify, None));
}

/// GIVEN a crash-loop 20 minutes after a release that replaced another THEN the account is
/// rolled back to the previous release through platform deploy.
#[tokio::test]
async fn a_crash_inside_the_bake_window_rolls_back_to_the_previous_release() {
    let w = world();
    w.releases.set("dev", MEMBER, released("2026.11.5", evening() - Duration::minutes(20), Some("2026.11.3")));
    let t = triage(&w, event("CrashLoopBackOff", "order-management", MEMBER), evening()).await.expect("triaged");
    assert_eq!(t.kind, Kind::Rollback, "{}", t.reason);
    let deploy = serde_json::to_value(t.deploy.expect("a deploy")).expect("json");
    assert_eq!(deploy, json!({"environment": "dev", "accountId": MEMBER, "release": "2026.11.3"}));
}

/// GIVEN a crash-loop outside the bake window, or without a previous release, or without any
/// release THEN people are told why (escalate), and nothing is deployed.
#[tokio::test]
async fn a_crash_outside_the_window_or_without_a_previous_release_escalates() {
    for (record, why) in [
        (Some(released("2026.11.5", evening() - Duration::minutes(61), Some("2026.11.3"))), "bake window"),
        (Some(released("2026.11.5", evening() - Duration::minutes(5), None)), "no previous release"),
        (None, "no recorded release"),
    ] {
        let w = world();
        if let Some(r) = record {
            w.releases.set("dev", MEMBER, r);
        }
        let t = triage(&w, event("ImagePullBackOff", "order-management", MEMBER), evening()).await.expect("triaged");
        assert_eq!(t.kind, Kind::Escalate, "{why}");
        assert!(t.reason.contains(why), "{why}: {}", t.reason);
        assert!(t.deploy.is_none(), "{why}");
    }
}

/// GIVEN OOMKilled workloads THEN the limit is raised by the step (1Gi -> 1536Mi), clamped at
/// the ceiling (1536Mi -> 2048Mi), and a workload at the ceiling is escalated.
#[tokio::test]
async fn memory_is_raised_by_the_step_up_to_the_ceiling_then_escalated() {
    let w = world();
    w.releases.set("dev", MEMBER, released("2026.11.3", evening() - Duration::days(3), None));
    let t = triage(&w, event("OOMKilled", "risk-management", MEMBER), evening()).await.expect("first");
    assert_eq!(t.kind, Kind::RaiseMemory, "{}", t.reason);
    let deploy = t.deploy.expect("a deploy");
    assert_eq!(deploy.release, "2026.11.3", "the account's current release");
    let raised =
        |m: &str| BTreeMap::from([("risk-management".to_string(), ResourceOverride { memory: Some(m.into()) })]);
    assert_eq!(deploy.resources, raised("1536Mi"));

    // The deploy recorded the override; after the window, the next OOM raises from it.
    let mut record = released("2026.11.3", evening(), None);
    record.resources = raised("1536Mi");
    w.releases.set("dev", MEMBER, record.clone());
    let later = evening() + Duration::hours(1);
    let t = triage(&w, event("OOMKilled", "risk-management", MEMBER), later).await.expect("second");
    assert_eq!(t.deploy.expect("a deploy").resources, raised("2048Mi"), "clamped at memory_ceiling_mib");

    record.resources = raised("2048Mi");
    w.releases.set("dev", MEMBER, record);
    let t = triage(&w, event("OOMKilled", "risk-management", MEMBER), later + Duration::hours(1)).await.expect("third");
    assert_eq!(t.kind, Kind::Escalate);
    assert!(t.reason.contains("memory ceiling"), "{}", t.reason);
    assert!(t.deploy.is_none());
}

/// GIVEN remediations asked for at 10:30 on a trading day THEN they are frozen: people are told,
/// nothing is deployed.
#[tokio::test]
async fn remediations_inside_trading_hours_are_frozen() {
    let w = world();
    let morning: DateTime<Utc> = "2026-11-25T10:30:00Z".parse().expect("time");
    w.releases.set("dev", MEMBER, released("2026.11.5", morning - Duration::minutes(10), Some("2026.11.3")));
    for (signature, service) in [("CrashLoopBackOff", "order-management"), ("OOMKilled", "risk-management")] {
        let t = triage(&w, event(signature, service, MEMBER), morning).await.expect("triaged");
        assert_eq!(t.kind, Kind::Frozen, "{signature}: {}", t.reason);
        assert!(t.reason.contains("trading hours"), "{}", t.reason);
        assert!(t.deploy.is_none());
    }
    // A notification is not a remediation: not frozen.
    let t = triage(&w, event("DatabaseUnreachable", "order-management", MEMBER), morning).await.expect("triaged");
    assert_eq!(t.kind, Kind::Notify);
}

/// GIVEN the control plane's own logs (the automation account) THEN detections are notified,
/// and remediations escalated: no release of the platform runs there.
#[tokio::test]
async fn the_control_planes_own_logs_are_never_remediated() {
    let w = world();
    let t = triage(&w, event("OOMKilled", "risk-management", AUTOMATION), evening()).await.expect("triaged");
    assert_eq!(t.kind, Kind::Escalate);
    assert!(t.reason.contains("control plane's own logs"), "{}", t.reason);
}

/// GIVEN a forged sender, another environment, an account not vended, or not a detection THEN
/// it is refused with the bad value named, and nothing is claimed.
#[tokio::test]
async fn foreign_senders_environments_and_accounts_are_refused() {
    let w = world();
    let mut forged = event("OOMKilled", "risk-management", MEMBER);
    forged["account"] = json!(MEMBER);
    let mut prod = event("OOMKilled", "risk-management", MEMBER);
    prod["detail"]["environment"] = json!("prod");
    let stranger = event("OOMKilled", "risk-management", "999988887777");
    for (e, named) in [(forged, MEMBER), (prod, "prod"), (stranger, "999988887777")] {
        let err = triage(&w, e, evening()).await.expect_err("refused");
        assert_eq!(err.error_type(), "Untrusted", "{err}");
        assert!(err.to_string().contains(&format!("`{named}`")), "{err}");
    }
    let mut other = event("OOMKilled", "risk-management", MEMBER);
    other["detail-type"] = json!("ReleaseRequested");
    let mut bad_key = event("OOMKilled", "risk#management", MEMBER);
    bad_key["detail"]["service"] = json!("risk#management");
    for e in [other, bad_key, json!({"source": "abc.platform", "detail-type": "FailureSignatureDetected"})] {
        let err = triage(&w, e, evening()).await.expect_err("refused");
        assert_eq!(err.error_type(), "InvalidRequest", "{err}");
    }
    assert!(w.signals.windows.lock().expect("lock").is_empty(), "nothing claimed for a refused event");
}

/// The response is the JSON the state machine reads (`kind`, `deploy` in the deploy's shape).
#[tokio::test]
async fn the_response_is_what_the_state_machine_reads() {
    let w = world();
    w.releases.set("dev", MEMBER, released("2026.11.3", evening() - Duration::days(3), None));
    let t = triage(&w, event("OOMKilled", "risk-management", MEMBER), evening()).await.expect("triaged");
    let wire = serde_json::to_value(&t).expect("json");
    assert_eq!(wire["kind"], "raise-memory");
    assert_eq!(
        wire["deploy"],
        json!({"environment": "dev", "accountId": MEMBER, "release": "2026.11.3",
               "resources": {"risk-management": {"memory": "1536Mi"}}})
    );
    for field in ["environment", "account", "service", "signature", "severity", "runbook", "sample", "reason"] {
        assert!(wire[field].is_string(), "{field} is always there: the notification formats it");
    }
}
