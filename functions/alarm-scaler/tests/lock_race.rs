//! Decide re-reads the history once it holds the target's lock: an action recorded in between is not acted on twice.

// The race `platform-ops bench alarms` found: decider B reads the history (empty), decider A
// records its resize and releases the lock, B takes the now free lock and resizes again inside
// the cooldown. Only a lock holder records an action, so the history read under the lock is the
// one to decide on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use alarm_scaler::alarm::Direction;
use alarm_scaler::fakes::MemoryDemand;
use alarm_scaler::guardrails::Capacity;
use alarm_scaler::handler::{Deps, PlanKind, Request, Response, handle};
use alarm_scaler::ports::{AuditRecord, Claim, GroupState, Guard};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use platform_core::capacity::PastAction;
use platform_core::config::{self, config_parameters};
use platform_core::error::AwsError;
use platform_core::fakes::{CapturedMetrics, FakeParameterStore, MemoryGroups, MemoryGuard};
use platform_core::trust::Boundary;
use serde_json::json;

const ACCOUNT: &str = "222222222222";

/// The guard table as decider B sees it: its first history read comes before A's record.
#[derive(Debug, Default)]
struct ReadBeforeTheRecord {
    table: MemoryGuard,
    read: AtomicBool,
}

#[async_trait]
impl Guard for ReadBeforeTheRecord {
    async fn claim_transition(&self, t: &str, owner: &str, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        self.table.claim_transition(t, owner, now).await
    }
    async fn lock_target(&self, key: &str, owner: &str, now: DateTime<Utc>, seconds: i64) -> Result<Claim, AwsError> {
        self.table.lock_target(key, owner, now, seconds).await
    }
    async fn unlock_target(&self, key: &str, owner: &str) -> Result<(), AwsError> {
        self.table.unlock_target(key, owner).await
    }
    async fn history(&self, key: &str) -> Result<Vec<PastAction>, AwsError> {
        if !self.read.swap(true, Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        self.table.history(key).await
    }
    async fn record(&self, key: &str, record: &AuditRecord) -> Result<(), AwsError> {
        self.table.record(key, record).await
    }
}

/// GIVEN another alarm's resize recorded (its lock released) after this decision read the
/// history and before it took the lock THEN the decision is refused by the cooldown, and the
/// lock it took is released.
#[tokio::test]
async fn an_action_recorded_before_the_lock_is_taken_is_seen() {
    let now = DateTime::parse_from_rfc3339("2026-11-24T20:00:05Z").expect("time").with_timezone(&Utc);
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let params = FakeParameterStore::default();
    for (name, value) in config_parameters(&tree) {
        params.insert(&name, &value);
    }
    params.insert(&format!("/abc-trading/accounts/dev/{ACCOUNT}/id"), ACCOUNT);
    let guard = Arc::new(ReadBeforeTheRecord::default());
    // A's resize, recorded 10 s ago: inside the 300 s scale-out cooldown.
    guard
        .table
        .seeded
        .lock()
        .expect("lock")
        .push(PastAction { at: now - Duration::seconds(10), direction: Direction::Out });
    let deps = Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        groups: Arc::new(MemoryGroups::with(
            ACCOUNT,
            GroupState {
                capacity: Capacity { min: 1, desired: 4, max: 4 },
                tags: BTreeMap::new(),
                status: platform_core::capacity::GroupStatus::Active,
            },
        )),
        guard: guard.clone(),
        demand: Arc::new(MemoryDemand::default()),
        parameters: Arc::new(params),
        parameter_prefix: "/abc-trading".into(),
        metrics: Arc::new(CapturedMetrics::default()),
        config: Default::default(),
        vended: Default::default(),
    };
    let since = "2026-11-24T20:00:00Z";
    let event = json!({
        "version": "0", "id": "evt-b", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": ACCOUNT, "time": since, "region": "us-east-1", "resources": [],
        "detail": {
            "alarmName": "abc-trading-dev-remediate-nodes-memory-high",
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": since},
            "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "ContainerInsights",
                "name": "node_memory_utilization",
                "dimensions": {"ClusterName": "abc-trading-dev", "NodegroupName": "abc-trading-dev-nodes"}},
                "period": 60, "stat": "Average"}}]}
        }
    });
    let request = Request::Decide { event, now: Some(now), retry_of: None, execution: Some("exec-b".into()) };
    let Response::Plan(plan) = handle(request, &deps).await.expect("decides") else { panic!("decide answers a plan") };
    assert_eq!(plan.kind, PlanKind::Refuse, "{plan:?}");
    assert!(plan.summary.contains("cooldown"), "{}", plan.summary);
    assert_eq!(plan.before.desired, 4, "the group as the lock holder sees it");
    assert!(guard.table.locks.lock().expect("lock").is_empty(), "the lock taken for nothing is released");
}
