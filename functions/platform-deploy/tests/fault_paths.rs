//! The deploy's definition under injected faults: AWS throttling retried or exhausted, a rollback that fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use asl::{Failure, Resolver, Start, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use platform_core::error::{AwsError, ErrorClass};
use serde_json::json;

#[path = "support/deploy_world.rs"]
#[allow(dead_code)]
mod deploy_world;
use deploy_world::*;

const ACCOUNT: &str = "222233334444";

fn count(w: &World, action: &str) -> usize {
    w.actions.lock().expect("lock").iter().filter(|a| *a == action).count()
}

/// The world's tasks, with DescribeStackSetOperation throttled under the first `left`
/// `infrastructure-status` polls (ensure-infrastructure reads the operation too: the fault is
/// queued as each poll starts, so it is the poll's).
#[derive(Debug)]
struct ThrottledPolls {
    runner: Runner,
    left: AtomicU32,
}

#[async_trait]
impl Resolver for ThrottledPolls {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        if let TaskRequest::Lambda { payload, .. } = &request
            && payload["action"] == "infrastructure-status"
            && self.left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
        {
            let throttled = AwsError::new(ErrorClass::Throttled, "DescribeStackSetOperation", "Rate exceeded");
            self.runner.stack_sets.fail_next("DescribeStackSetOperation", throttled);
        }
        self.runner.run(request, context).await
    }
}

/// GIVEN DescribeStackSetOperation throttled under two infrastructure polls WHEN the release
/// deploys THEN each throttled poll is retried (two polls more than the operation needs) and the
/// release still deploys.
#[tokio::test]
async fn a_throttled_infrastructure_poll_is_retried_and_the_release_deploys() {
    // The operation runs for one poll: two status polls without faults.
    let w = world_with(1);
    let input = request("2026.11.3", json!({}));
    vended(&w, &input);
    let resolver = Arc::new(ThrottledPolls { runner: Runner(w.clone()), left: AtomicU32::new(2) });
    let e = execute(&machine(), input, Start::named("throttled"), resolver).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    assert_eq!(count(&w, "ensure-infrastructure"), 1);
    assert_eq!(count(&w, "infrastructure-status"), 2 + 2, "two throttled polls retried");
    let reads = w.stack_sets.calls().iter().filter(|c| *c == "DescribeStackSetOperation").count();
    assert_eq!(reads, 1 + 4, "ensure's look for a started operation, then every poll");
    assert_eq!(current(&w, ACCOUNT), "2026.11.3");
}

/// GIVEN CloudWatch throttling every PutMetricAlarm WHEN the release deploys THEN ensure-monitoring
/// is tried once and retried six times (its Retry), then the release fails `Throttled` before any
/// workload: notified as such, the account's lease given back, nothing recorded.
#[tokio::test]
async fn monitoring_throttled_past_its_retries_fails_before_any_workload() {
    let w = world();
    w.alarms.fail_puts(Some(ErrorClass::Throttled));
    let e = run(&w, "unwatched", request("2026.11.3", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("Throttled")), "{:?}", e.cause);
    assert_eq!(count(&w, "ensure-monitoring"), 1 + 6);
    assert_eq!(count(&w, "apply-tier"), 0, "a release is not rolled out unwatched");
    assert!(w.cluster.is_empty(), "no workload applied");
    let actions = w.actions.lock().expect("lock").clone();
    assert_eq!(actions.last().map(String::as_str), Some("release-lease"), "{actions:?}");
    assert!(w.leases.held("dev", ACCOUNT).is_none(), "the account is given back");
    assert!(w.ledger.recorded().is_empty(), "nothing recorded");
    let (subject, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert_eq!(subject, "abc-trading release 2026.11.3 FAILED in dev");
    assert!(message.contains("Throttled") && message.contains("no workload was touched"), "{message}");
}

/// The world's tasks, but every `rollback` is denied (the deploy role lost its cluster access).
#[derive(Debug)]
struct RollbackDenied(Runner);

#[async_trait]
impl Resolver for RollbackDenied {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        if let TaskRequest::Lambda { payload, .. } = &request
            && payload["action"] == "rollback"
        {
            self.0.actions.lock().expect("lock").push("rollback".into());
            return Err(Failure::lambda("AccessDenied", "Unauthorized: the deploy role may not update deployments"));
        }
        self.0.run(request, context).await
    }
}

/// GIVEN a good release, then a broken one whose business tier fails WHEN its rollback is denied
/// THEN the execution fails with the original error (ImagePullBackOff), the notification names the
/// rollback's failure too, the lease is still given back last, and the account's release stays the
/// previous one; the touched tiers stay as the broken release left them (what the notification warns of).
#[tokio::test]
async fn a_rollback_that_fails_is_notified_and_the_lease_still_given_back() {
    let w = world();
    assert_eq!(run(&w, "good", request("2026.11.3", json!({}))).await.status, Status::Succeeded);
    let input = request("2026.11.4", json!({"order-management": "2026.11.4-broken"}));
    vended(&w, &input);
    let resolver = Arc::new(RollbackDenied(Runner(w.clone())));
    let e = execute(&machine(), input, Start::named("broken"), resolver).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("ImagePullBackOff")), "{:?}", e.cause);
    assert!(e.cause.as_deref().is_some_and(|c| c.starts_with("order-management: Back-off pulling image")));
    let actions = w.actions.lock().expect("lock").clone();
    assert!(actions.ends_with(&["rollback".into(), "release-lease".into()]), "{actions:?}");
    assert_eq!(count(&w, "rollback"), 1, "AccessDenied is not retried");
    assert_eq!(count(&w, "rollback-health"), 0);
    assert!(w.leases.held("dev", ACCOUNT).is_none(), "the account is given back");
    assert_eq!(current(&w, ACCOUNT), "2026.11.3", "the failed release is not recorded");
    assert!(image_of(&w, "trading-core", "authentication").ends_with(":2026.11.4"), "not rolled back");
    let (subject, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert_eq!(subject, "abc-trading release 2026.11.4 FAILED in dev");
    assert!(message.contains("ImagePullBackOff"), "{message}");
    assert!(
        message.contains("Rollback: {\"Error\":\"AccessDenied\"") && message.contains("may not update"),
        "{message}"
    );
}
