//! One deploy per account at a time: the lease through the state machine (taken, given back at every end, waited for or refused).

use asl::Status;
use chrono::{DateTime, Duration, Utc};
use platform_core::approvals::{Lease, Leases};
use serde_json::json;

#[path = "support/deploy_world.rs"]
#[allow(dead_code)]
mod deploy_world;
use deploy_world::*;

const ACCOUNT: &str = "222233334444";

/// Another release's lease on the account, from `since` for `hours`.
async fn held_by(w: &World, holder: &str, since: DateTime<Utc>, hours: i64) {
    let lease = Lease {
        environment: "dev".into(),
        account: ACCOUNT.into(),
        holder: holder.into(),
        release: "2026.11.4".into(),
        since,
        until: since + Duration::hours(hours),
    };
    w.leases.acquire(&lease, since).await.expect("lease");
}

/// GIVEN a clean deploy, a refused one and a failed one THEN each gives the account back at its end.
#[tokio::test]
async fn every_end_gives_the_account_back() {
    let w = world();
    let e = run(&w, "clean", request("2026.11.3", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert!(w.leases.held("dev", ACCOUNT).is_none(), "released after success");
    let e = run(&w, "broken", request("2026.11.4", json!({"order-management": "2026.11.4-broken"}))).await;
    assert_eq!(e.error.as_deref(), Some("ImagePullBackOff"));
    assert!(w.leases.held("dev", ACCOUNT).is_none(), "released after the rollback");
    let e = run(&w, "refused", request("2026.11.9", json!({}))).await;
    assert_eq!(e.error.as_deref(), Some("ImagesRefused"));
    assert!(w.leases.held("dev", ACCOUNT).is_none(), "released after the refusal at plan");
}

/// GIVEN the account held by another release THEN a second waits a minute at a time and, once
/// dev's 30 minutes of waiting are over, is refused naming the holder, nothing touched; the holder
/// keeps its lease.
#[tokio::test]
async fn a_second_release_waits_for_the_holder_then_gives_up_naming_it() {
    let w = world();
    held_by(&w, "deploy-of-2026.11.4", Utc::now() - Duration::minutes(1), 12).await;
    let e = run(&w, "second", request("2026.11.3", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("AccountHeld")), "{:?}", e.cause);
    let cause = e.cause.unwrap_or_default();
    assert!(cause.contains("held by deploy-of-2026.11.4 (release 2026.11.4)"), "{cause}");
    assert!(cause.contains("after waiting 30 minute(s)"), "{cause}");
    assert!(e.duration >= std::time::Duration::from_secs(30 * 60), "it waited on the virtual clock: {:?}", e.duration);
    let actions = w.actions.lock().expect("lock").clone();
    assert_eq!(actions.iter().filter(|a| *a == "lease").count(), 31, "the first look and 30 retries");
    assert!(!actions.contains(&"plan".to_string()), "nothing planned: {actions:?}");
    assert_eq!(w.leases.held("dev", ACCOUNT).map(|l| l.holder).as_deref(), Some("deploy-of-2026.11.4"));
}

/// GIVEN a holder whose lease ends while the second waits THEN the second takes the account and
/// deploys after it.
#[tokio::test]
async fn a_lease_that_expires_lets_the_waiting_release_in() {
    let w = world();
    // Expires 5 minutes into the wait (leases outlive no execution: a crashed holder's ends too).
    held_by(&w, "crashed-deploy", Utc::now() - Duration::hours(1) + Duration::minutes(5), 1).await;
    let e = run(&w, "after", request("2026.11.3", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let leases = w.actions.lock().expect("lock").iter().filter(|a| *a == "lease").count();
    assert!((5..=7).contains(&leases), "a few minutes of waiting: {leases} looks");
    assert!(w.leases.held("dev", ACCOUNT).is_none());
}
