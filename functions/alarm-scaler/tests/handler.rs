//! The typed actions on fakes: decide (once per transition, once per target), act, verify, record.

use std::collections::BTreeMap;
use std::sync::Arc;

use alarm_scaler::alarm::{Direction, Target};
use alarm_scaler::demand::Reservation;
use alarm_scaler::fakes::MemoryDemand;
use alarm_scaler::guardrails::Capacity;
use alarm_scaler::handler::{Deps, Plan, PlanKind, Request, Response, handle};
use alarm_scaler::ports::{AuditRecord, Claim, GroupState, Groups, Guard};
use chrono::{DateTime, Utc};
use platform_core::capacity::PastAction;
use platform_core::config::{self, config_parameters};
use platform_core::error::{AwsError, ErrorClass};
use platform_core::fakes::{CapturedMetrics, FakeParameterStore, MemoryGroups, MemoryGuard};
use platform_core::trust::Boundary;
use serde_json::{Value, json};

/// The member account of the alarm events below.
const ACCOUNT: &str = "222222222222";

fn deps() -> (Deps, Arc<MemoryGroups>, Arc<MemoryGuard>) {
    let (deps, groups, guard, _) = deps_with_metrics();
    (deps, groups, guard)
}

fn deps_with_metrics() -> (Deps, Arc<MemoryGroups>, Arc<MemoryGuard>, Arc<CapturedMetrics>) {
    let (deps, groups, guard, metrics, _) = deps_with_demand();
    (deps, groups, guard, metrics)
}

fn deps_with_demand() -> (Deps, Arc<MemoryGroups>, Arc<MemoryGuard>, Arc<CapturedMetrics>, Arc<MemoryDemand>) {
    let tree = config::load(&platform_core::config::repository_config_dir()).expect("config");
    let params = FakeParameterStore::default();
    for (name, value) in config_parameters(&tree) {
        params.insert(&name, &value);
    }
    // The alarms' account, as vending published it for dev.
    params.insert(&format!("/abc-trading/accounts/dev/{ACCOUNT}/id"), ACCOUNT);
    let groups = Arc::new(MemoryGroups::with(
        ACCOUNT,
        GroupState {
            capacity: Capacity { min: 1, desired: 2, max: 4 },
            tags: BTreeMap::new(),
            status: platform_core::capacity::GroupStatus::Active,
        },
    ));
    let guard = Arc::new(MemoryGuard::default());
    let metrics = Arc::new(CapturedMetrics::default());
    let demand = Arc::new(MemoryDemand::default());
    let deps = Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        groups: groups.clone(),
        guard: guard.clone(),
        demand: demand.clone(),
        parameters: Arc::new(params),
        parameter_prefix: "/abc-trading".into(),
        metrics: metrics.clone(),
        config: Default::default(),
        vended: Default::default(),
    };
    (deps, groups, guard, metrics, demand)
}

fn alarm(name: &str, state: &str, since: &str) -> Value {
    json!({
        "version": "0", "id": format!("evt-{name}-{state}"), "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "222222222222", "time": since, "region": "us-east-1", "resources": [],
        "detail": {
            "alarmName": name,
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": since},
            "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-24T00:00:00.000+0000"},
            "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "ContainerInsights", "name": "node_cpu_utilization",
                "dimensions": {"ClusterName": "abc-trading-dev", "NodegroupName": "abc-trading-dev-nodes"}}, "period": 60, "stat": "Average"}}]}
        }
    })
}

fn at(t: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(t).expect("time").with_timezone(&Utc))
}

async fn decide(deps: &Deps, event: Value, now: &str) -> Plan {
    match handle(Request::Decide { event, now: at(now), retry_of: None, execution: None }, deps).await.expect("decides")
    {
        Response::Plan(plan) => *plan,
        other => panic!("decide answers a plan: {other:?}"),
    }
}

#[tokio::test]
async fn an_alarm_scales_once_acts_verifies_and_records() {
    let (deps, groups, guard) = deps();
    let high = alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    let plan = decide(&deps, high.clone(), "2026-11-24T20:00:05Z").await;
    assert_eq!((plan.kind, plan.environment.as_str()), (PlanKind::Scale, "dev"), "{plan:?}");
    assert_eq!(plan.after.map(|a| a.desired), Some(3));

    let again = decide(&deps, high, "2026-11-24T20:00:06Z").await;
    assert_eq!(again.kind, PlanKind::Duplicate, "the same transition delivered twice acts once");

    handle(Request::Act { plan: plan.clone() }, &deps).await.expect("acts");
    assert_eq!(groups.resizes().len(), 1);
    let Response::Verified(v) = handle(Request::Verify { plan: plan.clone() }, &deps).await.expect("verifies") else {
        panic!("verify answers a verification");
    };
    assert!(v.settled && v.capacity.desired == 3, "{v:?}");
    handle(Request::Record { plan: plan.clone() }, &deps).await.expect("records");
    let records = guard.records.lock().expect("lock").clone();
    assert_eq!((records.len(), records[0].from, records[0].to, records[0].direction), (1, 2, 3, Some(Direction::Out)));
    assert!(guard.locks.lock().expect("lock").is_empty(), "the lock is released");
}

#[tokio::test]
async fn two_alarms_on_one_target_produce_one_action() {
    let (deps, _, _) = deps();
    let cpu = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z"),
        "2026-11-24T20:00:05Z",
    )
    .await;
    let mem = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-memory-high", "ALARM", "2026-11-24T20:00:01Z"),
        "2026-11-24T20:00:05Z",
    )
    .await;
    let mut kinds = [cpu.kind.to_string(), mem.kind.to_string()];
    kinds.sort();
    assert_eq!(kinds, ["busy", "scale"]);
}

#[tokio::test]
async fn scale_in_inside_trading_hours_is_refused_with_the_reason() {
    let (deps, groups, _) = deps();
    groups.set_capacity(ACCOUNT, Capacity { min: 1, desired: 3, max: 4 });
    let low = alarm("abc-trading-dev-remediate-nodes-cpu-low", "ALARM", "2026-11-24T09:00:00Z");
    let plan = decide(&deps, low, "2026-11-24T10:00:00Z").await;
    assert_eq!(plan.kind, PlanKind::Refuse);
    assert!(plan.summary.contains("inside trading hours"), "{}", plan.summary);
    assert!(handle(Request::Act { plan }, &deps).await.is_err(), "a refusal cannot be acted on");
}

#[tokio::test]
async fn explain_decides_without_claiming() {
    let (deps, _, guard) = deps();
    let event = alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    for _ in 0..2 {
        let out = handle(Request::Explain { event: event.clone(), now: at("2026-11-24T20:00:05Z") }, &deps)
            .await
            .expect("explains");
        let out = serde_json::to_value(out).expect("json");
        assert_eq!(out["kind"], "scale");
        assert!(out["decision"]["verdicts"].as_array().is_some_and(|v| v.len() >= 5), "{out}");
    }
    assert!(guard.claims.lock().expect("lock").is_empty() && guard.locks.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn bad_events_get_typed_errors() {
    let (deps, _, _) = deps();
    let err = handle(
        Request::Decide {
            event: json!({"source": "aws.ec2", "detail-type": "x", "detail": {}}),
            now: None,
            retry_of: None,
            execution: None,
        },
        &deps,
    )
    .await
    .expect_err("not an alarm");
    assert_eq!(err.error_type(), "InvalidAlarm");
    let stranger = alarm("someone-else-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    let err = handle(Request::Decide { event: stranger, now: None, retry_of: None, execution: None }, &deps)
        .await
        .expect_err("not ours");
    assert_eq!(err.error_type(), "ConfigMissing");
}

#[tokio::test]
async fn records_emit_outcomes_refusals_and_time_to_action() {
    let (deps, groups, _, metrics) = deps_with_metrics();
    let plan = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z"),
        "2026-11-24T20:00:04Z",
    )
    .await;
    handle(Request::Record { plan }, &deps).await.expect("records");
    groups.set_capacity(ACCOUNT, Capacity { min: 1, desired: 3, max: 4 });
    let low = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-low", "ALARM", "2026-11-24T09:00:00Z"),
        "2026-11-24T10:00:00Z",
    )
    .await;
    handle(Request::Record { plan: low }, &deps).await.expect("records");
    let docs = metrics.documents();
    assert_eq!(docs.len(), 3, "{docs:#?}");
    assert_eq!((docs[0]["Outcome"].as_str(), docs[0]["TimeToActionSeconds"].as_f64()), (Some("scale"), Some(4.0)));
    assert_eq!(docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0], json!(["Environment", "Outcome"]));
    assert_eq!((docs[1]["Outcome"].as_str(), docs[2]["Guardrail"].as_str()), (Some("refuse"), Some("trading-hours")));
    for doc in &docs {
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().expect("metrics") {
            assert!(doc[m["Name"].as_str().expect("name")].is_number(), "every declared metric has a value");
        }
    }
}

#[tokio::test]
async fn a_group_in_dry_run_is_decided_but_not_locked_or_acted_on() {
    let tree = config::load(&platform_core::config::repository_config_dir()).expect("config");
    let mut dev = tree.environments["dev"].clone();
    dev.scaling.dry_run_targets = vec!["abc-trading-dev-nodes".into()];
    let (deps, groups, guard) = deps();
    deps.parameters
        .put("/abc-trading/config/environments/dev", &serde_json::to_string(&dev).expect("json"), true)
        .await
        .expect("put");
    let plan = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z"),
        "2026-11-24T20:00:05Z",
    )
    .await;
    assert_eq!((plan.kind, plan.after.map(|a| a.desired)), (PlanKind::DryRun, Some(3)));
    assert!(guard.locks.lock().expect("lock").is_empty());
    assert!(handle(Request::Act { plan }, &deps).await.is_err(), "a dry run is never acted on");
    assert!(groups.resizes().is_empty());
}

/// The audit record carries the decision's time, so a later alarm's cooldown is measured on the
/// same clock (the state machine's), not against the wall clock of the recording.
#[tokio::test]
async fn cooldowns_count_on_the_decision_clock() {
    let (deps, _, _) = deps();
    let first = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-12-01T20:00:00Z"),
        "2026-12-01T20:00:05Z",
    )
    .await;
    handle(Request::Record { plan: first }, &deps).await.expect("records");
    let soon = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-memory-high", "ALARM", "2026-12-01T20:01:00Z"),
        "2026-12-01T20:01:05Z",
    )
    .await;
    assert_eq!(soon.kind, PlanKind::Refuse, "{soon:?}");
    assert!(soon.summary.contains("cooldown"), "{}", soon.summary);
    let later = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-memory-high", "ALARM", "2026-12-01T20:10:00Z"),
        "2026-12-01T20:10:05Z",
    )
    .await;
    assert_eq!(later.kind, PlanKind::Scale, "{later:?}");
}

/// A scale-in the other guardrails allow reads the pods' reservation once, and never goes below
/// what it needs; scale-outs and refusals never pay for the read.
#[tokio::test]
async fn scale_in_reads_the_pods_needs_and_stays_above_them() {
    let reading = |cpu: f64, memory: f64| Reservation { cpu_percent: cpu, memory_percent: memory, cluster_nodes: 4.0 };
    // A Tuesday evening in London, outside trading hours; the low alarm has been in ALARM for 15
    // minutes (past the 10-minute stabilisation).
    let low = |n: u32| alarm("abc-trading-dev-remediate-nodes-cpu-low", "ALARM", &format!("2026-11-24T2{n}:00:00Z"));
    let cases: [(Option<Reservation>, PlanKind, Option<u32>, &str); 4] = [
        (Some(reading(80.0, 20.0)), PlanKind::Refuse, None, "the pods need 4 node(s); 4 running"),
        (Some(reading(20.0, 30.0)), PlanKind::Scale, Some(3), "pods need 2"),
        (None, PlanKind::Scale, Some(3), "pods' needs not reported"),
        // A reading from before the group grew says nothing about it.
        (
            Some(Reservation { cpu_percent: 90.0, memory_percent: 90.0, cluster_nodes: 2.0 }),
            PlanKind::Scale,
            Some(3),
            "not reported",
        ),
    ];
    for (i, (reading, kind, to, detail)) in cases.into_iter().enumerate() {
        let (deps, groups, _, _, demand) = deps_with_demand();
        groups.set_capacity(ACCOUNT, Capacity { min: 1, desired: 4, max: 4 });
        if let Some(reading) = reading {
            demand.report(ACCOUNT, "abc-trading-dev", reading);
        }
        let plan = decide(&deps, low(i as u32), &format!("2026-11-24T2{i}:15:00Z")).await;
        assert_eq!((plan.kind, plan.after.map(|a| a.desired)), (kind, to), "case {i}: {plan:?}");
        let verdicts = &plan.decision.as_ref().expect("decision").verdicts;
        let pods = verdicts.iter().find(|v| v.guardrail == alarm_scaler::guardrails::Guardrail::PodsNeed);
        assert!(pods.is_some_and(|v| v.detail.contains(detail)), "case {i}: {verdicts:?}");
        let reads = demand.reads();
        let cluster = [(ACCOUNT.to_string(), "abc-trading-dev".to_string())];
        assert_eq!(reads, cluster, "case {i}: one read per scale-in decision, of the alarm's nodegroup's cluster");
    }

    // A scale-out and a refused scale-in (inside trading hours) never read it.
    let (deps, _, _, _, demand) = deps_with_demand();
    let out = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z"),
        "2026-11-24T20:00:05Z",
    )
    .await;
    assert_eq!(out.kind, PlanKind::Scale);
    let refused = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-low", "ALARM", "2026-11-24T09:00:00Z"),
        "2026-11-24T10:00:00Z",
    )
    .await;
    assert_eq!(refused.kind, PlanKind::Refuse);
    assert!(demand.reads().is_empty(), "{:?}", demand.reads());
}

/// The state machine routes on and reads these fields: the typed answers serialise as the JSON
/// objects they replaced, and a plan comes back in as it went out.
#[tokio::test]
async fn answers_keep_the_shape_the_state_machine_reads() {
    use std::collections::BTreeSet;
    use strum::VariantArray;

    let (deps, _, _) = deps();
    let wire = |r: Response| serde_json::to_value(r).expect("json");
    let keys = |v: &Value| v.as_object().expect("an object").keys().cloned().collect::<BTreeSet<_>>();
    let high = alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    let decided = handle(
        Request::Decide { event: high.clone(), now: at("2026-11-24T20:00:05Z"), retry_of: None, execution: None },
        &deps,
    )
    .await
    .expect("decides");
    let plan = wire(decided);
    let expected = [
        "kind",
        "transition",
        "owner",
        "account",
        "alarm",
        "environment",
        "target",
        "target_key",
        "before",
        "after",
        "decision",
        "decided_at",
        "alarm_since",
        "until",
        "summary",
    ];
    assert_eq!(keys(&plan), expected.iter().map(|k| k.to_string()).collect(), "{plan}");
    assert_eq!((&plan["kind"], &plan["after"]["desired"], &plan["until"]), (&json!("scale"), &json!(3), &Value::Null));
    assert_eq!(plan["decision"]["outcome"]["decision"], "scale");

    let act: Request = serde_json::from_value(json!({"action": "act", "plan": plan})).expect("the plan reads back");
    let acted = wire(handle(act, &deps).await.expect("acts"));
    assert_eq!(acted, json!({"update_id": "update-1", "requested": {"min": 1, "desired": 3, "max": 4}}));
    let typed: Plan = serde_json::from_value(plan.clone()).expect("plan");
    let verified = wire(handle(Request::Verify { plan: typed.clone() }, &deps).await.expect("verifies"));
    assert_eq!(verified, json!({"settled": true, "status": "ACTIVE", "capacity": {"min": 1, "desired": 3, "max": 4}}));
    let recorded = wire(handle(Request::Record { plan: typed }, &deps).await.expect("records"));
    assert_eq!((&recorded["decision"], &recorded["from"], &recorded["to"]), (&json!("scale"), &json!(2), &json!(3)));
    assert_eq!(
        keys(&recorded),
        ["at", "alarm", "account", "target", "decision", "direction", "from", "to", "guardrail", "reason"]
            .iter()
            .map(|k| k.to_string())
            .collect()
    );

    // A duplicate ends without a record: there is nothing to audit.
    let duplicate = decide(&deps, high, "2026-11-24T20:00:06Z").await;
    assert_eq!(serde_json::to_value(&duplicate).expect("json")["kind"], "duplicate");
    let err = handle(Request::Record { plan: duplicate }, &deps).await.expect_err("not recorded");
    assert_eq!(err.error_type(), "NothingToDo");

    // Every kind, spelt as the Route state and the metrics' `Outcome` dimension spell it.
    let spelt = ["scale", "dry-run", "refuse", "defer", "duplicate", "busy"];
    assert_eq!(PlanKind::VARIANTS.len(), spelt.len());
    for (kind, text) in PlanKind::VARIANTS.iter().zip(spelt) {
        assert_eq!((serde_json::to_value(kind).expect("json"), kind.to_string()), (json!(text), text.to_string()));
    }
}

/// Issue 16: an alarm of another environment, or from an account vending never published for
/// this one, is refused before anything is claimed, read or resized.
#[tokio::test]
async fn alarms_from_outside_the_environment_are_refused_untouched() {
    let (deps, groups, guard) = deps();
    let prod = alarm("abc-trading-prod-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    let mut stranger = alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    stranger["account"] = json!("999999999999");
    for (event, why) in [
        (prod, "environment `prod` is not this deployment's (`dev`)"),
        (stranger, "account `999999999999` is not a vended account of environment `dev`"),
    ] {
        let request = Request::Decide { event, now: at("2026-11-24T20:00:05Z"), retry_of: None, execution: None };
        let e = handle(request, &deps).await.expect_err("refused");
        assert_eq!((e.error_type(), e.to_string().as_str()), ("Untrusted", why));
    }
    assert!(groups.resizes().is_empty(), "nothing resized");
    assert!(guard.records.lock().expect("lock").is_empty(), "nothing recorded");
    // The real alarm of the vended account still scales: the check refuses only strangers.
    let plan = decide(
        &deps,
        alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z"),
        "2026-11-24T20:00:05Z",
    )
    .await;
    assert_eq!(plan.kind, PlanKind::Scale, "{plan:?}");
}

fn plan_of(response: Response) -> Plan {
    match response {
        Response::Plan(plan) => *plan,
        other => panic!("decide answers a plan: {other:?}"),
    }
}

/// GIVEN a low alarm decided before its stabilisation is over (deferred: the transition claimed
/// by the deciding execution, nothing locked) WHEN the state machine decides again at the plan's
/// `until` with `retry_of` set to the plan's owner THEN the second look acts on its own claim (a
/// scale, the lock its execution's), and another execution delivering the same transition is
/// still a duplicate.
#[tokio::test]
async fn a_deferred_scale_in_decides_again_on_its_own_claim() {
    let (deps, groups, guard) = deps();
    groups.set_capacity(ACCOUNT, Capacity { min: 1, desired: 4, max: 4 });
    let low = alarm("abc-trading-dev-remediate-nodes-cpu-low", "ALARM", "2026-11-24T20:00:00Z");
    let ask = |now: Option<DateTime<Utc>>, retry_of: Option<String>, execution: Option<&str>| Request::Decide {
        event: low.clone(),
        now,
        retry_of,
        execution: execution.map(str::to_string),
    };
    let first = plan_of(handle(ask(at("2026-11-24T20:05:00Z"), None, Some("exec-1")), &deps).await.expect("decides"));
    assert_eq!((first.kind, first.owner.as_str()), (PlanKind::Defer, "exec-1"), "{first:?}");
    assert_eq!(first.until, at("2026-11-24T20:10:00Z"), "ten minutes of stabilisation from the alarm");
    assert!(guard.locks.lock().expect("lock").is_empty(), "a deferral locks nothing");
    assert_eq!(guard.claims.lock().expect("lock").get(&first.transition).map(String::as_str), Some("exec-1"));

    // DecideAgain sends `retry_of`, not `execution`: the owner is the first look's.
    let second = plan_of(handle(ask(first.until, Some(first.owner.clone()), None), &deps).await.expect("decides"));
    assert_eq!((second.kind, second.owner.as_str()), (PlanKind::Scale, "exec-1"), "{second:?}");
    assert_eq!(second.after.map(|a| a.desired), Some(3));
    let owner = guard.locks.lock().expect("lock").get(&second.target_key).map(|(o, _)| o.clone());
    assert_eq!(owner.as_deref(), Some("exec-1"), "the lock is the deferred execution's");

    let other = plan_of(handle(ask(first.until, None, Some("exec-2")), &deps).await.expect("decides"));
    assert_eq!(other.kind, PlanKind::Duplicate, "another delivery of the transition acts on nothing");
    assert!(groups.resizes().is_empty(), "deciding resizes nothing");
}

/// Groups that are always busy with another update (EKS answers ResourceInUseException).
#[derive(Debug)]
struct Updating(Arc<MemoryGroups>);

#[async_trait::async_trait]
impl Groups for Updating {
    async fn describe(&self, account: &str, target: &Target) -> Result<GroupState, AwsError> {
        self.0.describe(account, target).await
    }
    async fn resize(&self, _: &str, _: &Target, _: Capacity, _: &str) -> Result<Option<String>, AwsError> {
        Err(AwsError::new(ErrorClass::OperationInProgress, "UpdateNodegroupConfig", "an update is in progress"))
    }
}

/// GIVEN a group with another update in progress WHEN act resizes it THEN the error is
/// `OperationInProgress` (the name Act's Retry waits on), nothing is resized and the target
/// stays locked for the retry.
#[tokio::test]
async fn a_resize_of_a_busy_group_is_operation_in_progress() {
    let (mut deps, groups, guard) = deps();
    let high = alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    let plan = decide(&deps, high, "2026-11-24T20:00:05Z").await;
    deps.groups = Arc::new(Updating(groups.clone()));
    let err = handle(Request::Act { plan: plan.clone() }, &deps).await.expect_err("busy");
    assert_eq!(err.error_type(), "OperationInProgress", "{err}");
    assert!(groups.resizes().is_empty());
    assert!(guard.locks.lock().expect("lock").contains_key(&plan.target_key), "still locked for the retry");
}

/// A guard table whose audit writes are all throttled; everything else as the table.
#[derive(Debug)]
struct Unrecorded(Arc<MemoryGuard>);

#[async_trait::async_trait]
impl Guard for Unrecorded {
    async fn claim_transition(&self, t: &str, owner: &str, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        self.0.claim_transition(t, owner, now).await
    }
    async fn lock_target(&self, key: &str, owner: &str, now: DateTime<Utc>, s: i64) -> Result<Claim, AwsError> {
        self.0.lock_target(key, owner, now, s).await
    }
    async fn unlock_target(&self, key: &str, owner: &str) -> Result<(), AwsError> {
        self.0.unlock_target(key, owner).await
    }
    async fn history(&self, key: &str) -> Result<Vec<PastAction>, AwsError> {
        self.0.history(key).await
    }
    async fn record(&self, _: &str, _: &AuditRecord) -> Result<(), AwsError> {
        Err(AwsError::new(ErrorClass::Throttled, "PutItem", "rate exceeded"))
    }
}

/// GIVEN a resize that went through WHEN its audit record cannot be written THEN record fails
/// `Throttled` (retried by the state machine), no outcome is counted, and the target stays locked
/// by the plan's owner: a second alarm for the group meanwhile is busy, not a second resize.
#[tokio::test]
async fn a_record_that_fails_after_acting_keeps_the_target_locked() {
    let (mut deps, groups, guard, metrics) = deps_with_metrics();
    deps.guard = Arc::new(Unrecorded(guard.clone()));
    let high = alarm("abc-trading-dev-remediate-nodes-cpu-high", "ALARM", "2026-11-24T20:00:00Z");
    let plan = decide(&deps, high, "2026-11-24T20:00:05Z").await;
    assert_eq!(plan.kind, PlanKind::Scale);
    handle(Request::Act { plan: plan.clone() }, &deps).await.expect("acts");
    let err = handle(Request::Record { plan: plan.clone() }, &deps).await.expect_err("not recorded");
    assert_eq!(err.error_type(), "Throttled");
    let holder = guard.locks.lock().expect("lock").get(&plan.target_key).map(|(o, _)| o.clone());
    assert_eq!(holder, Some(plan.owner.clone()), "the lock is not released before the record is written");
    assert!(metrics.documents().is_empty(), "nothing counted for an unrecorded remediation");

    let memory = alarm("abc-trading-dev-remediate-nodes-memory-high", "ALARM", "2026-11-24T20:01:00Z");
    let second = decide(&deps, memory, "2026-11-24T20:01:05Z").await;
    assert_eq!(second.kind, PlanKind::Busy, "{second:?}");
    assert_eq!(groups.resizes().len(), 1, "one resize");
}
