//! `state-machines/platform-deploy.asl.json` through the `asl` engine, with the real handler on
//! the in-memory cluster and StackSets: a clean rollout (infrastructure, access, tiers behind their
//! gates, smoke checks), a broken image failing the business tier and rolled back with the
//! reason, a failed infrastructure operation that touches no workload, a failed smoke check, a
//! first deploy that has nothing to roll back to, a release refused before anything is touched,
//! a deploy resumed after a crash, and a release for a whole environment (one child each).

use std::collections::BTreeMap;
use std::time::Duration;

use asl::Status;
use platform_core::config;
use platform_core::stacksets::StackSets;
use platform_deploy::cluster::WorkloadApplier;
use platform_deploy::handler::{Request, Response, Rollback, handle};
use platform_deploy::images::ScanState;
use serde_json::{Value, json};

#[path = "support/deploy_world.rs"]
#[allow(dead_code)]
mod deploy_world;
use deploy_world::*;

#[tokio::test]
async fn a_release_rolls_out_tier_by_tier_behind_its_gates() {
    // The StackSet operation runs for one poll: two 60 s waits.
    let w = world_with(1);
    let e = run(&w, "clean", request("2026.11.3", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let actions = w.actions.lock().expect("lock").clone();
    assert_eq!(
        actions[..7],
        [
            "lease",
            "plan",
            "ensure-infrastructure",
            "infrastructure-status",
            "infrastructure-status",
            "ensure-access",
            "ensure-monitoring"
        ],
        "infrastructure awaited, then access and the account's alarms, before any tier"
    );
    assert_eq!(w.alarms.puts().len(), 23 + 5 * 8, "an error-rate alarm per workload, 8 burn windows per tier");
    // Each tier applied, then gated, in rollout order; one 30 s poll each (ready after 20 s).
    let gates: Vec<&str> =
        actions.iter().filter(|a| *a == "apply-tier" || *a == "tier-health").map(String::as_str).collect();
    assert_eq!(gates, ["apply-tier", "tier-health"].repeat(6));
    assert_eq!(e.duration, Duration::from_secs(2 * 60 + 6 * 30));
    let overrides = w
        .stack_sets
        .overrides("abc-trading-platform", "222233334444", "us-east-1")
        .await
        .expect("read")
        .expect("the platform instance exists");
    assert_eq!(overrides["KubernetesVersion"], "1.35");
    assert_eq!(overrides["VpcId"], "/abc-trading/dev/baseline/vpc-id", "the baseline's export, never an id");
    let output = e.output.clone().expect("output");
    assert_eq!(output["cluster"]["changed"], json!(["created", "associated"]), "access granted on the first deploy");
    let applied: Vec<String> = e
        .history
        .iter()
        .filter(|h| h.kind == "TaskStateEntered" && h.state.as_deref() == Some("ApplyTier"))
        .map(|h| h.timestamp.to_rfc3339())
        .collect();
    assert_eq!(applied.len(), 6, "the migrations and five tiers of workloads");
    assert_eq!(current(&w, "222233334444"), "2026.11.3", "recorded as current");
    assert!(image_of(&w, "trading-business", "trade-execution").ends_with("abc-trading/trade-execution:2026.11.3"));
    let notified = w.notified.lock().expect("lock").clone();
    assert_eq!(notified[0].0, "abc-trading release 2026.11.3 deployed to dev");
    assert!(notified[0].1.contains("24 services verified, 3 smoke checks passed"), "{notified:?}");
    println!("deployed in {} transitions, {:?} on the virtual clock", e.transitions, e.duration);

    // The same release again: the infrastructure is current (no operation, no wait), access is
    // there, and every tier's objects apply unchanged.
    w.actions.lock().expect("lock").clear();
    let again = run_after(&w, "again", request("2026.11.3", json!({})), &e).await;
    assert_eq!(again.status, Status::Succeeded);
    let output = again.output.expect("output");
    assert_eq!(output["infrastructure"]["change"], "current");
    assert_eq!(output["cluster"]["changed"], json!([]));
    assert!(!w.actions.lock().expect("lock").contains(&"infrastructure-status".to_string()));
    assert_eq!(again.duration, Duration::from_secs(6 * 30));
    println!("again on current infrastructure: {} transitions, {:?}", again.transitions, again.duration);
    let writes =
        w.stack_sets.calls().iter().filter(|c| c.ends_with("StackInstances") && !c.starts_with("List")).count();
    assert_eq!(writes, 1, "one CreateStackInstances in two deploys: {:?}", w.stack_sets.calls());
}

#[tokio::test]
async fn a_failed_infrastructure_operation_touches_no_workload_and_says_why() {
    let w = world_with(2);
    w.stack_sets.fail_region(
        "us-east-1",
        Some("ResourceLogicalId:Cluster, ResourceType:AWS::EKS::Cluster, ResourceStatusReason:subnet not found"),
    );
    let e = run(&w, "infra", request("2026.11.3", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("InfrastructureFailed")));
    assert!(
        e.cause
            .as_deref()
            .is_some_and(|c| c.contains("abc-trading-platform in us-east-1") && c.contains("subnet not found")),
        "{:?}",
        e.cause
    );
    assert!(w.cluster.is_empty(), "no workload applied");
    let actions = w.actions.lock().expect("lock").clone();
    assert!(!actions.iter().any(|a| a == "ensure-access" || a == "apply-tier" || a == "rollback"), "{actions:?}");
    assert_eq!(e.duration, Duration::from_secs(3 * 60), "two polls RUNNING, the third FAILED");
    let (subject, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert_eq!(subject, "abc-trading release 2026.11.3 FAILED in dev");
    assert!(message.contains("no workload was touched") && message.contains("subnet not found"), "{message}");
    assert!(w.ledger.recorded().is_empty(), "nothing recorded");

    // Fixed (the subnet exists again), the same request re-applies the OUTDATED instance.
    w.stack_sets.fail_region("us-east-1", None);
    w.actions.lock().expect("lock").clear();
    let e = run(&w, "infra-again", request("2026.11.3", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert_eq!(e.output.expect("output")["infrastructure"]["change"], "updated");
}

#[tokio::test]
async fn a_failed_smoke_check_rolls_the_release_back() {
    let w = world();
    assert_eq!(run(&w, "first", request("2026.11.3", json!({}))).await.status, Status::Succeeded);
    // The backend's datasource cannot reach PostgreSQL once 2026.11.5 is out.
    w.cluster.make_unhealthy("backend-services", "/actuator/health/db");
    let e = run(&w, "smoke", request("2026.11.5", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("SmokeFailed")), "{:?}", e.cause);
    assert!(
        e.cause.as_deref().is_some_and(|c| c.contains("backend-to-database")
            && c.contains("/api/v1/namespaces/trading-edge/services/backend-services:8080/proxy/actuator/health/db")
            && c.contains("503")),
        "{:?}",
        e.cause
    );
    assert!(image_of(&w, "trading-edge", "backend-services").ends_with(":2026.11.3"), "every tier went back");
    assert_eq!(current(&w, "222233334444"), "2026.11.3");
}

/// GIVEN a release for the whole environment THEN it is the fleet release's (started once, named
/// from this execution, with the request) and this execution ends as the fleet does: with its
/// output, or with the fleet's own error and cause (not States.TaskFailed).
#[tokio::test]
async fn a_release_for_an_environment_is_the_fleet_releases() {
    let w = world();
    vend(&w, "dev", "222233334444");
    let e = run(&w, "env", json!({"environment": "dev", "release": "2026.11.3", "requestedBy": "ci"})).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    assert_eq!(e.output.expect("output"), json!({"fleet": {"outcome": {"deployed": 2, "failed": 0}}}));
    let fleets = w.fleets.lock().expect("lock").clone();
    assert_eq!(fleets.len(), 1);
    assert_eq!(fleets[0].0, "fleet-env");
    assert_eq!(fleets[0].1, json!({"request": {"environment": "dev", "release": "2026.11.3", "requestedBy": "ci"}}));
    assert!(w.children.lock().expect("lock").is_empty(), "no account deployed here");
    *w.fleet.lock().expect("lock") = Err(("WaveFailed".into(), "wave early failed and was rolled back".into()));
    let e = run(&w, "env-broken", json!({"environment": "dev", "release": "2026.11.4"})).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("WaveFailed")));
    assert_eq!(e.cause.as_deref(), Some("wave early failed and was rolled back"));
    // A new account asks without a release: it gets the environment's latest.
    let e = run(&w, "one", json!({"environment": "dev", "accountId": "222233334444", "release": "2026.11.3"})).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    let e = run(&w, "new-account", json!({"environment": "dev", "accountId": "444455556666"})).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    assert_eq!(e.output.expect("output")["release"]["name"], "2026.11.3");

    let w = world();
    // A new account before the environment's first release: infrastructure and access only.
    let e = run(&w, "unnamed", json!({"environment": "dev", "accountId": "222233334444"})).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.cause);
    println!("infrastructure only: {} transitions, {:?}", e.transitions, e.duration);
    let output = e.output.expect("output");
    assert_eq!(
        (output["release"].clone(), output["infrastructure"]["change"].clone()),
        (json!(null), json!("created"))
    );
    assert_eq!(
        w.notified.lock().expect("lock").last().expect("notified").0,
        "abc-trading platform infrastructure ready in dev"
    );
    assert!(w.ledger.recorded().is_empty(), "nothing recorded");
    assert!(w.cluster.is_empty());
}

#[tokio::test]
async fn a_broken_image_fails_its_tier_and_the_touched_tiers_roll_back() {
    let w = world();
    assert_eq!(run(&w, "first", request("2026.11.3", json!({}))).await.status, Status::Succeeded);
    let e = run(&w, "broken", request("2026.11.4", json!({"order-management": "2026.11.4-broken"}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("ImagePullBackOff")), "{:?}", e.cause);
    assert!(
        e.cause.as_deref().is_some_and(|c| c.starts_with("order-management: Back-off pulling image")),
        "{:?}",
        e.cause
    );
    // Foundation, core and dependent went to 2026.11.4, business failed: all four go back.
    assert!(image_of(&w, "trading-core", "authentication").ends_with(":2026.11.3"));
    assert!(image_of(&w, "trading-business", "order-management").ends_with(":2026.11.3"));
    assert!(image_of(&w, "trading-edge", "frontend").ends_with(":2026.11.3"), "the edge tier was never touched");
    let actions = w.actions.lock().expect("lock").clone();
    assert!(actions.ends_with(&["rollback".into(), "rollback-health".into(), "release-lease".into()]), "{actions:?}");
    assert_eq!(current(&w, "222233334444"), "2026.11.3", "the failed release is not recorded");
    let (subject, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert_eq!(subject, "abc-trading release 2026.11.4 FAILED in dev");
    assert!(
        message.contains("order-management")
            && message.contains("ImagePullBackOff")
            && message.contains("\"rolled_back\":true"),
        "{message}"
    );
}

#[tokio::test]
async fn a_failing_first_deploy_has_nothing_to_roll_back_to_and_a_bad_release_touches_nothing() {
    let w = world();
    // Every image broken: the migrations, first, fail, and nothing else is applied.
    let e = run(&w, "first-broken", request("2026.11.4-broken", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("BackoffLimitExceeded")));
    assert!(w.cluster.object("StatefulSet", "trading-foundation", "axon-server").is_none(), "no workload applied");
    let (_, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert!(message.contains("a first deploy: nothing ran before it"), "{message}");

    let w = world();
    let e = run(&w, "latest", request("latest", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("InvalidRelease")));
    assert!(w.cluster.is_empty(), "nothing applied");
    assert_eq!(w.notified.lock().expect("lock")[0].0, "abc-trading release REJECTED");
}

/// A release whose image is missing from the registry, or whose scan found too much, is refused
/// at Plan with every image named: rejected and notified, no infrastructure, no tier, the
/// account's release unchanged.
#[tokio::test]
async fn a_release_with_a_missing_or_unsafe_image_is_rejected_before_anything() {
    let w = world();
    let e = run(&w, "good", request("2026.11.3", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let before = image_of(&w, "trading-dependent", "audit");
    w.images.set_scan(
        "abc-trading/trade-execution",
        "2026.11.5",
        ScanState::Findings(BTreeMap::from([(config::ImageSeverity::Critical, 2), (config::ImageSeverity::High, 1)])),
    );
    w.actions.lock().expect("lock").clear();

    let e = run(&w, "missing", request("2026.11.5", json!({"audit": "2026.11.6"}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("ImagesRefused")));
    let cause = e.cause.clone().unwrap_or_default();
    assert!(cause.contains("abc-trading/audit:2026.11.6 is not in the registry"), "{cause}");
    assert!(
        cause.contains("abc-trading/trade-execution:2026.11.5 has 2 CRITICAL, 1 HIGH findings (block at HIGH)"),
        "{cause}"
    );
    assert_eq!(
        w.actions.lock().expect("lock").clone(),
        ["lease", "plan", "release-lease"],
        "nothing after plan ran but giving the account back"
    );
    assert_eq!(image_of(&w, "trading-dependent", "audit"), before, "no tier applied");
    assert_eq!(current(&w, "222233334444"), "2026.11.3", "the account's release unchanged");
    let (subject, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert_eq!(subject, "abc-trading release REJECTED");
    assert!(message.contains("abc-trading/audit:2026.11.6 is not in the registry"), "{message}");
}

/// An execution that died mid-rollout (timed out, aborted: nothing recorded it) is resumed by
/// requesting the release again: applying what is already applied changes nothing, the rest
/// rolls out, and the rollback target stays the last release recorded as good.
#[tokio::test]
async fn a_deploy_that_died_half_way_is_resumed_by_asking_again() {
    let w = world();
    assert_eq!(run(&w, "first", request("2026.11.3", json!({}))).await.status, Status::Succeeded);

    // The crashed execution: planned, three tiers applied (migrations, foundation, core), then
    // nothing more.
    let plan: Request =
        serde_json::from_value(json!({"action": "plan", "request": request("2026.11.4", json!({}))})).expect("plan");
    let deployment = handle(plan, &w.deps).await.expect("plan");
    let access: Request =
        serde_json::from_value(json!({"action": "ensure-access", "deployment": deployment})).expect("access");
    let mut deployment = handle(access, &w.deps).await.expect("access");
    // An hour before the resumed execution starts (its clock starts at the wall clock).
    let now = chrono::Utc::now() - chrono::Duration::hours(1);
    for _ in 0..3 {
        let apply: Request =
            serde_json::from_value(json!({"action": "apply-tier", "deployment": deployment, "now": now}))
                .expect("apply");
        deployment = handle(apply, &w.deps).await.expect("apply");
        let advance: Request =
            serde_json::from_value(json!({"action": "advance", "deployment": deployment})).expect("advance");
        deployment = handle(advance, &w.deps).await.expect("advance");
    }
    assert!(image_of(&w, "trading-core", "authentication").ends_with(":2026.11.4"));
    assert!(image_of(&w, "trading-business", "settlement").ends_with(":2026.11.3"), "the crash left the rest behind");

    let e = run(&w, "resumed", request("2026.11.4", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let output = e.output.expect("output");
    assert_eq!(output["previous"]["name"], "2026.11.3", "the rollback target is the last good release");
    assert!(image_of(&w, "trading-business", "settlement").ends_with(":2026.11.4"));
    assert_eq!(current(&w, "222233334444"), "2026.11.4");
    // Re-applying the tiers the crash had applied changed nothing: their generation is still 2.
    let status = w.cluster.rollout("Deployment", "trading-core", "authentication", now).await.expect("status");
    assert_eq!(status.generation, 2);
}

/// Actions out of order are refused by name, not run against a cluster nobody reached.
#[tokio::test]
async fn an_action_out_of_order_is_refused() {
    let w = world();
    vend(&w, "dev", "222233334444");
    let plan: Request =
        serde_json::from_value(json!({"action": "plan", "request": request("2026.11.3", json!({}))})).expect("plan");
    let deployment = handle(plan, &w.deps).await.expect("plan");
    let apply: Request =
        serde_json::from_value(json!({"action": "apply-tier", "deployment": deployment, "now": chrono::Utc::now()}))
            .expect("apply");
    let e = handle(apply, &w.deps).await.expect_err("no cluster yet");
    assert_eq!(e.error_type(), "InvalidState");
    assert!(e.to_string().contains("`apply-tier` runs after ensure-access"), "{e}");
    assert!(w.cluster.is_empty());
}

/// A new account's infrastructure fails before any release exists: the failure is still told,
/// named as infrastructure only.
#[tokio::test]
async fn an_infrastructure_only_deploy_that_fails_is_notified() {
    let w = world();
    w.stack_sets.fail_region("us-east-1", Some("RDS: DB subnet group covers one AZ"));
    let e = run(&w, "new-account", json!({"environment": "dev", "accountId": "444455556666"})).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("InfrastructureFailed")), "{:?}", e.cause);
    let (subject, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert_eq!(subject, "abc-trading release infrastructure only FAILED in dev");
    assert!(message.contains("one AZ") && message.contains("no workload was touched"), "{message}");
}

/// The typed responses are the JSON the actions answered before they were typed.
#[test]
fn responses_serialise_to_the_json_they_replaced() {
    let wire = |r: Response| serde_json::to_value(r).expect("serialises");
    assert_eq!(
        wire(Response::Rollback(Rollback::to("2026.11.3", vec!["trading-core".into()]))),
        json!({"rolled_back": true, "to": "2026.11.3", "tiers": ["trading-core"]})
    );
    assert_eq!(
        wire(Response::Rollback(Rollback::first_deploy())),
        json!({"rolled_back": false, "reason": "a first deploy: nothing ran before it"})
    );
}

/// The state machine's (action, path prefix, path inside the action's Payload) for each Lambda
/// task whose result it keeps: `"ResultSelector": {"health.$": "$.Payload"}, "ResultPath": "$.gate"`
/// is (`tier-health`, `$.gate.health`, ``).
fn result_bindings(state: &Value, out: &mut Vec<(String, String, String)>) {
    match state {
        Value::Object(o) => {
            if let Some(action) = o.get("Parameters").and_then(|p| p["Payload"]["action"].as_str()) {
                let result_path = match o.get("ResultPath") {
                    None => Some("$"),
                    Some(p) => p.as_str(),
                };
                let selector = o.get("ResultSelector").and_then(Value::as_object);
                if let (Some(result_path), Some(selector)) = (result_path, selector) {
                    for (key, from) in selector {
                        let (Some(name), Some(inside)) =
                            (key.strip_suffix(".$"), from.as_str().and_then(|f| f.strip_prefix("$.Payload")))
                        else {
                            continue;
                        };
                        let prefix =
                            if result_path == "$" { format!("$.{name}") } else { format!("{result_path}.{name}") };
                        out.push((action.to_string(), prefix, inside.to_string()));
                    }
                }
            }
            o.values().for_each(|v| result_bindings(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| result_bindings(v, out)),
        _ => {}
    }
}

/// Every `$.`-path in the definition's strings (Choices, Parameters, intrinsics), not `$$.` ones.
fn paths_read(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            for (i, _) in s.match_indices("$.") {
                if s[..i].ends_with('$') {
                    continue;
                }
                let path: String =
                    s[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || "$._".contains(*c)).collect();
                out.push(path.trim_end_matches('.').to_string());
            }
        }
        Value::Object(o) => o.values().for_each(|v| paths_read(v, out)),
        Value::Array(a) => a.iter().for_each(|v| paths_read(v, out)),
        _ => {}
    }
}

/// Every path the definition reads below a task's result is a field some answer of that task
/// carries: a field renamed in a response type would fail here, not in an execution.
#[tokio::test]
async fn every_field_the_definition_reads_is_in_a_response() {
    // Workloads ready after 45 s: the first gate poll (at 30 s) sees them progressing.
    let w = world_on(1, chrono::Duration::seconds(45));
    vend(&w, "dev", "222233334444");
    let e = run(&w, "env", json!({"environment": "dev", "accountId": "222233334444", "release": "2026.11.3"})).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let e = run(&w, "broken", request("2026.11.4", json!({"order-management": "2026.11.4-broken"}))).await;
    assert_eq!(e.error.as_deref(), Some("ImagePullBackOff"), "{:?}", e.cause);
    // A failed operation needs an instance to create: a new world.
    let new = world_with(1);
    new.stack_sets.fail_region("us-east-1", Some("subnet not found"));
    let e = run(&new, "infra", request("2026.11.3", json!({}))).await;
    assert_eq!(e.error.as_deref(), Some("InfrastructureFailed"), "{:?}", e.cause);

    let text = std::fs::read_to_string(emulator::workspace_root().join("state-machines/platform-deploy.asl.json"))
        .expect("definition");
    let definition: Value = serde_json::from_str(&text).expect("json");
    let mut bindings = Vec::new();
    result_bindings(&definition, &mut bindings);
    let mut paths = Vec::new();
    paths_read(&definition, &mut paths);
    let mut responses = w.responses.lock().expect("lock").clone();
    responses.extend(new.responses.lock().expect("lock").iter().cloned());
    let carries = |answer: &Value, field: &str| {
        field.split('.').filter(|f| !f.is_empty()).try_fold(answer, |v, f| v.get(f)).is_some()
    };
    let mut checked = 0;
    for path in &paths {
        // Several actions may write one place (`$.deployment`): one of them must carry the field.
        let writers: Vec<(&str, String)> = bindings
            .iter()
            .filter_map(|(action, prefix, inside)| {
                let rest = path.strip_prefix(prefix.as_str()).filter(|r| r.is_empty() || r.starts_with('.'))?;
                Some((action.as_str(), format!("{inside}{rest}")))
            })
            .collect();
        if writers.is_empty() {
            continue;
        }
        let carried = writers
            .iter()
            .any(|(action, field)| responses.iter().any(|(a, answer)| a == action && carries(answer, field)));
        assert!(carried, "{path} is in no answer of {writers:?}");
        checked += 1;
    }
    assert!(checked >= 15, "the definition's reads were found: {checked}");
}

/// A migration that fails stops the release in its first tier: no workload tier applied, the
/// old Job not re-run by the rollback, the failure notified with its reason, nothing recorded.
#[tokio::test]
async fn a_failed_migration_stops_the_release_before_any_workload_changes() {
    let w = world();
    assert_eq!(run(&w, "first", request("2026.11.3", json!({}))).await.status, Status::Succeeded);
    let axon = || w.cluster.object("StatefulSet", "trading-foundation", "axon-server").expect("axon");
    let before = axon();
    w.actions.lock().expect("lock").clear();
    let e = run(&w, "migrate", request("2026.11.4", json!({"schema-migrations": "2026.11.4-broken"}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("BackoffLimitExceeded")), "{:?}", e.cause);
    assert!(e.cause.as_deref().is_some_and(|c| c.starts_with("schema-migrations-2026-11-4-")), "{:?}", e.cause);
    let applied = w.actions.lock().expect("lock").iter().filter(|a| *a == "apply-tier").count();
    assert_eq!(applied, 1, "only the migrations tier");
    assert_eq!(axon(), before, "no workload changed");
    assert!(image_of(&w, "trading-core", "authentication").ends_with(":2026.11.3"));
    assert_eq!(current(&w, "222233334444"), "2026.11.3", "the failed release is not recorded");
    let (_, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert!(message.contains("BackoffLimitExceeded") && message.contains("\"rolled_back\":true"), "{message}");
}
