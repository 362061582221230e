//! The handler's typed answers on the wire: the JSON the state machine and the schedules read.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use platform_core::capacity::{Capacity, GroupState};
use platform_core::config;
use platform_core::fakes::{FakeParameterStore, MemoryStackSets};
use scheduled_ops::drift::Detection;
use scheduled_ops::fakes::MemoryReports;
use scheduled_ops::handler::{Deps, Request, Response, handle};
use scheduled_ops::off_hours::Outcome;
use serde_json::{Value, json};
use strum::VariantArray;

use platform_core::fakes::{CapturedMetrics, MemoryGroups, MemoryGuard};

/// Two dev accounts: one with the platform's nodegroup, one vended without it yet.
fn deps() -> Deps {
    let groups = Arc::new(MemoryGroups::with(
        "111111111111",
        GroupState {
            capacity: Capacity { min: 1, desired: 2, max: 4 },
            tags: Default::default(),
            status: platform_core::capacity::GroupStatus::Active,
        },
    ));
    let sets = Arc::new(MemoryStackSets::new(1));
    Deps {
        tree: config::load(&config::repository_config_dir()).expect("config"),
        directory: {
            let org = platform_core::fakes::MemoryOrganization::new();
            org.add_member("111111111111", "acct-111111111111", "Development");
            org.add_member("333333333333", "acct-333333333333", "Development");
            Arc::new(org)
        },
        stack_sets: sets.clone(),
        drift: sets,
        groups,
        guard: Arc::new(MemoryGuard::default()),
        parameters: Arc::new(FakeParameterStore::default()),
        reports: Arc::new(MemoryReports::default()),
        indicators: Arc::new(platform_core::fakes::MemoryIndicators::default()),
        metrics: Arc::new(CapturedMetrics::default()),
        inventory_prefix: "inventory".into(),
        recovery_points: Arc::new(scheduled_ops::fakes::MemoryRds::new(1, "cxyz.us-east-1.rds.amazonaws.com")),
        databases: Arc::new(scheduled_ops::fakes::MemoryRds::new(1, "cxyz.us-east-1.rds.amazonaws.com")),
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

async fn wire(deps: &Deps, request: Request) -> Value {
    let response: Response = handle(request, deps).await.expect("answers");
    serde_json::to_value(response).expect("json")
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().expect("an object").keys().map(String::as_str).collect()
}

#[tokio::test]
async fn drift_answers_are_what_the_state_machine_polls_and_reports() {
    let deps = deps();
    let started = wire(&deps, Request::DriftStart { execution: "night".into() }).await;
    assert_eq!(keys(&started), BTreeSet::from(["detections"]));
    let detections = started["detections"].as_array().expect("a list");
    assert_eq!(detections.len(), 2, "{started}");
    assert_eq!(keys(&detections[0]), BTreeSet::from(["stack_set", "operation_id"]));
    // `$.drift.detections` goes back in as it came out.
    let detections: Vec<Detection> = serde_json::from_value(started["detections"].clone()).expect("detections");

    let status = wire(&deps, Request::DriftStatus { detections: detections.clone() }).await;
    assert_eq!(status, json!({"status": "running", "failed": []}));
    let status = wire(&deps, Request::DriftStatus { detections: detections.clone() }).await;
    assert_eq!(status, json!({"status": "done", "failed": []}));

    let request = Request::DriftReport { detections, execution: "night".into(), now: at("2026-11-25T02:00:00Z") };
    let report = wire(&deps, request).await;
    assert_eq!(keys(&report), BTreeSet::from(["drifted", "remediated", "findings", "by_stack_set"]));
    assert_eq!((&report["drifted"], &report["remediated"], &report["findings"]), (&json!(0), &json!(0), &json!([])));
}

#[tokio::test]
async fn the_off_hours_answer_counts_each_outcome_and_lists_the_actions() {
    let deps = deps();
    let run = wire(&deps, Request::OffHours { now: at("2026-11-25T19:00:00Z") }).await;
    assert_eq!(keys(&run), BTreeSet::from(["scaled", "already", "refused", "dry_run", "absent", "errors", "actions"]));
    let counts = ["scaled", "already", "refused", "dry_run", "absent", "errors"].map(|k| run[k].clone());
    assert_eq!(counts, [1, 0, 0, 0, 1, 0].map(|n| json!(n)), "{run}");
    let actions = run["actions"].as_array().expect("a list");
    let fields = ["environment", "account", "target", "phase", "outcome", "from", "to", "guardrail", "reason"];
    assert!(actions.iter().all(|a| keys(a) == BTreeSet::from(fields)), "{run}");
    let outcome =
        |id: &str| actions.iter().find(|a| a["account"] == id).map(|a| (a["outcome"].clone(), a["phase"].clone()));
    assert_eq!(outcome("111111111111"), Some((json!("scale"), json!("off-hours"))));
    assert_eq!(outcome("333333333333"), Some((json!("absent"), json!("off-hours"))));

    // Every outcome, spelt as the schedules' answers always spelt it.
    let spelt = ["scale", "already", "refuse", "dry-run", "absent", "error"];
    assert_eq!(Outcome::VARIANTS.len(), spelt.len());
    for (o, text) in Outcome::VARIANTS.iter().zip(spelt) {
        assert_eq!((serde_json::to_value(o).expect("json"), o.to_string()), (json!(text), text.to_string()));
    }
}

#[tokio::test]
async fn the_inventory_answer_says_how_many_and_where() {
    let deps = deps();
    let written = wire(&deps, Request::Inventory { now: at("2026-11-25T06:00:00Z") }).await;
    assert_eq!(keys(&written), BTreeSet::from(["accounts", "unreadable", "overspent", "keys"]));
    assert_eq!(written["accounts"], 2);
    assert!(written["unreadable"].is_u64(), "{written}");
    assert_eq!(
        written["keys"],
        json!([
            "inventory/2026-11-25/inventory.json",
            "inventory/2026-11-25/inventory.md",
            "inventory/latest.json",
            "inventory/latest.md"
        ])
    );
}

/// GIVEN the dev account's business tier logged 20 errors in 10,000 events over the window (a
/// 99.9% objective allows 10) THEN its availability budget is overspent by 100%, named in the
/// answer and shown in the report; a tier without traffic says so instead of a number.
#[tokio::test]
async fn the_inventory_shows_what_is_left_of_each_error_budget() {
    use platform_core::fakes::MemoryIndicators;
    use platform_core::stacksets::{Instance, InstanceStatus};
    let mut deps = deps();
    let sets = Arc::new(MemoryStackSets::new(1));
    let platform = &deps.tree.organization.deploy.platform_stack_set;
    let instance = Instance {
        region: "us-east-1".into(),
        status: InstanceStatus::Current,
        detailed: None,
        reason: None,
        stack_id: None,
    };
    sets.seed_instance(platform, "111111111111", instance);
    deps.stack_sets = sets;
    let indicators = Arc::new(MemoryIndicators::default());
    let dims = [("Environment", "dev"), ("Account", "111111111111"), ("Tier", "business")];
    indicators.set("Errors", &dims, 20.0);
    indicators.set("Events", &dims, 10_000.0);
    indicators.set("SlowRequests", &dims, 5.0);
    indicators.set("Requests", &dims, 1_000.0);
    deps.indicators = indicators.clone();
    let reports = Arc::new(MemoryReports::default());
    deps.reports = reports.clone();

    let written = wire(&deps, Request::Inventory { now: at("2026-11-25T06:00:00Z") }).await;
    assert_eq!(written["overspent"], json!(["111111111111/business/availability"]));
    assert_eq!(*indicators.reads.lock().expect("lock"), 1, "one read for the account with a platform");
    let md = reports.get("inventory/latest.md").expect("report").body;
    assert!(md.contains("| acct-111111111111 | business | availability | 99.9% | 20 / 10000 | -100.0% |"), "{md}");
    // 99% latency allows 10 slow of 1,000: 5 spent half of it.
    assert!(md.contains("| acct-111111111111 | business | latency | 99% | 5 / 1000 | 50.0% |"), "{md}");
    assert!(md.contains("| acct-111111111111 | edge | availability | 99.5% | 0 / 0 | no traffic |"), "{md}");
}
