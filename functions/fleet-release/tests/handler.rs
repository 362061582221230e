//! The fleet release's actions on fakes: gate, plan, approval, bake check and finish, and what each refuses.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use fleet_release::fakes::{MemoryAlarmStates, MemoryPlanReports};
use fleet_release::handler::{Deps, FleetRequest, PlanSummary, Request, handle};
use fleet_release::plan::{WaveAccount, WavePlan};
use platform_core::approvals::{self, Approvals, Decision, Verdict};
use platform_core::config::{self, ConfigTree};
use platform_core::fakes::{FakeParameterStore, MemoryApprovals, MemoryStackSets};
use platform_core::platform_stack;
use platform_core::trust::Boundary;
use serde_json::{Value, json};

const PREFIX: &str = "/abc-trading";

struct World {
    params: Arc<FakeParameterStore>,
    approvals: Arc<MemoryApprovals>,
    alarms: Arc<MemoryAlarmStates>,
    reports: Arc<MemoryPlanReports>,
    stack_sets: Arc<MemoryStackSets>,
}

fn tree() -> ConfigTree {
    config::load_as_of(&config::repository_config_dir(), NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"))
        .expect("config")
}

fn now() -> DateTime<Utc> {
    "2026-12-05T10:00:00Z".parse().expect("instant")
}

fn account(i: usize) -> String {
    format!("{:012}", 300_000_000_000 + i)
}

impl World {
    /// `n` vended accounts of `env` on 2026.11.3 (the first is ABC's own), release 2026.12.1 published.
    fn new(env: &str, n: usize) -> World {
        let params = Arc::new(FakeParameterStore::default());
        for i in 0..n {
            let id = account(i);
            let root = format!("{PREFIX}/accounts/{env}/{id}");
            params.insert(&format!("{root}/id"), &id);
            params.insert(&format!("{root}/client"), if i == 0 { "abc" } else { "client" });
            params.insert(
                &format!("{root}/release"),
                &json!({"name": "2026.11.3", "tags": tags("2026.11.3")}).to_string(),
            );
        }
        for name in ["2026.11.3", "2026.12.1"] {
            params.insert(
                &format!("{PREFIX}/{env}/releases/{name}"),
                &json!({"name": name, "default_tag": name}).to_string(),
            );
        }
        params.insert(&format!("{PREFIX}/{env}/current-release"), "2026.11.3");
        let clients: Vec<(String, &str)> =
            (0..n).map(|i| (account(i), if i == 0 { "abc" } else { "client" })).collect();
        World {
            stack_sets: deployed_instances(&tree(), env, &clients),
            params,
            approvals: Arc::new(MemoryApprovals::default()),
            alarms: Arc::new(MemoryAlarmStates::default()),
            reports: Arc::new(MemoryPlanReports::default()),
        }
    }

    fn deps(&self, env: &str) -> Deps {
        Deps {
            boundary: Boundary {
                environment: env.into(),
                automation_account_id: "222222222222".into(),
                management_account_id: "111111111111".into(),
            },
            tree: tree(),
            ledger: Arc::new(fleet_release::aws::SsmFleetLedger::new(self.params.clone(), PREFIX)),
            approvals: self.approvals.clone(),
            alarms: self.alarms.clone(),
            reports: self.reports.clone(),
            stack_sets: self.stack_sets.clone(),
        }
    }
}

/// Each account's platform instance as its last deploy left it: config's parameters.
fn deployed_instances(tree: &ConfigTree, env: &str, accounts: &[(String, &str)]) -> Arc<MemoryStackSets> {
    let stack_sets = Arc::new(MemoryStackSets::new(0));
    for (account, client) in accounts {
        stack_sets.seed_platform(tree, env, account, client);
    }
    stack_sets
}

fn tags(tag: &str) -> Value {
    let tree = tree();
    Value::Object(tree.catalog.services.keys().map(|w| (w.clone(), json!(tag))).collect())
}

fn request(env: &str) -> FleetRequest {
    FleetRequest {
        environment: env.into(),
        release: Some("2026.12.1".into()),
        versions: Default::default(),
        requested_by: Some("arn:aws:sts::222222222222:assumed-role/release-managers/alice".into()),
        emergency: None,
        force: None,
        account_id: None,
        gated: false,
    }
}

async fn run(deps: &Deps, request: Request) -> Result<Value, String> {
    handle(request, deps).await.map(|r| serde_json::to_value(r).expect("json")).map_err(|e| e.error_type().to_string())
}

async fn plan(deps: &Deps, env: &str) -> PlanSummary {
    let out = run(
        deps,
        Request::Plan { request: request(env), release: "2026.12.1".into(), execution: "x-1".into(), now: now() },
    )
    .await
    .expect("plan");
    serde_json::from_value(out).expect("summary")
}

#[tokio::test]
async fn prod_is_refused_a_release_staging_never_finished_and_takes_it_once_staging_did() {
    let world = World::new("prod", 3);
    let gate = || Request::Gate { request: request("prod"), now: now() };
    assert_eq!(run(&world.deps("prod"), gate()).await, Err("NotPromoted".into()));
    // Staging's fleet release of it finishes: the outcome is what prod's gate reads.
    let staging = World { params: world.params.clone(), ..World::new("staging", 2) };
    let results = json!([[{"account_id": account(0)}], [{"account_id": account(1)}]]);
    let finish = Request::Finish {
        request: request("staging"),
        release: "2026.12.1".into(),
        execution: "s-1".into(),
        results,
        now: now(),
    };
    let finished = run(&staging.deps("staging"), finish).await.expect("finish");
    assert_eq!((finished["deployed"].as_u64(), finished["failed"].as_u64()), (Some(2), Some(0)));
    let gated = run(&world.deps("prod"), gate()).await.expect("promoted");
    assert_eq!(gated["promotion"]["kind"], "promoted");
    assert_eq!(gated["promotion"]["execution"], "s-1");
}

#[tokio::test]
async fn the_plan_is_published_per_account_and_only_a_changing_prod_plan_needs_approval() {
    let world = World::new("prod", 12);
    let summary = plan(&world.deps("prod"), "prod").await;
    assert!(summary.needs_approval);
    assert_eq!(summary.accounts, 12);
    assert_eq!(summary.waves.iter().map(|w| w.accounts.len()).collect::<Vec<_>>(), vec![1, 2, 9]);
    let published = world.reports.get(&summary.plan_key).expect("plan published");
    assert_eq!(published["changes"].as_array().map(Vec::len), Some(12));
    assert!(published["changes"][0]["images"].as_array().is_some_and(|i| !i.is_empty()));
    // Dev never needs approval; a prod plan that changes nothing does not either.
    let dev = World::new("dev", 2);
    assert!(!plan(&dev.deps("dev"), "dev").await.needs_approval);
    for i in 0..12 {
        let name = format!("{PREFIX}/accounts/prod/{}/release", account(i));
        world.params.insert(&name, &json!({"name": "2026.12.1", "tags": tags("2026.12.1")}).to_string());
    }
    let nothing = plan(&world.deps("prod"), "prod").await;
    assert!(!nothing.needs_approval && nothing.waves.is_empty() && nothing.skipped == 12);
}

/// GIVEN a fleet on the release's images, one account's instance with another node ceiling and
/// one never given an instance THEN those two are planned with what their infrastructure step
/// will do, the rest skipped; the parameters are compared as platform deploy compares them.
#[tokio::test]
async fn the_plan_shows_each_accounts_infrastructure_differences() {
    let world = World::new("prod", 4);
    for i in 0..4 {
        let name = format!("{PREFIX}/accounts/prod/{}/release", account(i));
        world.params.insert(&name, &json!({"name": "2026.12.1", "tags": tags("2026.12.1")}).to_string());
    }
    let tree = tree();
    let prod = tree.environment("prod").expect("prod");
    let stack_set = &tree.organization.deploy.platform_stack_set;
    let mut wanted =
        platform_stack::platform_parameters(&tree, prod, &platform_stack::client_domain("client", &prod.domain_name));
    let max = wanted.get("NodeMaxSize").cloned().expect("a node ceiling");
    wanted.insert("NodeMaxSize".into(), "1".into());
    wanted.insert("Retired".into(), "yes".into());
    world.stack_sets.seed_parameters(stack_set, &account(1), prod.primary_region(), wanted);
    world.stack_sets.remove_instance(stack_set, &account(2), prod.primary_region());
    let summary = plan(&world.deps("prod"), "prod").await;
    assert_eq!((summary.accounts, summary.skipped), (2, 2), "{}", summary.summary);
    assert!(summary.summary.contains("2 account(s) with infrastructure changes"), "{}", summary.summary);
    let published = world.reports.get(&summary.plan_key).expect("plan published");
    let change = |id: String| {
        published["changes"].as_array().and_then(|c| c.iter().find(|c| c["account"] == json!(id)).cloned())
    };
    assert_eq!(
        change(account(1)).expect("account 1")["infrastructure"],
        json!({"instance": "differs", "parameters": [
            {"name": "NodeMaxSize", "from": "1", "to": max},
            {"name": "Retired", "from": "yes", "to": null},
        ]})
    );
    assert_eq!(change(account(2)).expect("account 2")["infrastructure"], json!({"instance": "missing"}));
}

/// GIVEN a release for one account (an environment with gates routes it here) THEN the plan
/// has that account only, and an account vending never published for the environment is refused.
#[tokio::test]
async fn a_release_for_one_account_is_a_fleet_of_one_and_only_of_this_environments() {
    let world = World::new("prod", 5);
    let deps = world.deps("prod");
    let mut one = request("prod");
    one.account_id = Some(account(3));
    let out =
        run(&deps, Request::Plan { request: one, release: "2026.12.1".into(), execution: "x-1".into(), now: now() })
            .await
            .expect("planned");
    let summary: PlanSummary = serde_json::from_value(out).expect("summary");
    assert_eq!((summary.accounts, summary.skipped), (1, 0));
    assert_eq!(summary.waves.len(), 1);
    assert_eq!(summary.waves[0].accounts[0].account, account(3));
    assert!(summary.needs_approval, "one prod account still needs its approval");
    let mut foreign = request("prod");
    foreign.account_id = Some("999999999999".into());
    let out = run(
        &deps,
        Request::Plan { request: foreign, release: "2026.12.1".into(), execution: "x-2".into(), now: now() },
    )
    .await;
    assert_eq!(out, Err("Untrusted".into()));
}

/// GIVEN a fleet of one finished THEN its outcome is not recorded as the environment's: the
/// next environment's promotion asks for a whole fleet.
#[tokio::test]
async fn one_accounts_outcome_is_not_the_environments() {
    let world = World::new("staging", 2);
    let deps = world.deps("staging");
    let mut one = request("staging");
    one.account_id = Some(account(1));
    let finish = |request| Request::Finish {
        request,
        release: "2026.12.1".into(),
        execution: "f-1".into(),
        results: json!([[{"account_id": account(1)}]]),
        now: now(),
    };
    run(&deps, finish(one)).await.expect("finished");
    assert!(!world.params.snapshot().contains_key(&format!("{PREFIX}/staging/fleet/2026.12.1")));
    run(&deps, finish(request("staging"))).await.expect("finished");
    assert!(world.params.snapshot().contains_key(&format!("{PREFIX}/staging/fleet/2026.12.1")));
}

#[tokio::test]
async fn an_approval_is_answered_once_by_someone_other_than_the_requester() {
    let world = World::new("prod", 3);
    let deps = world.deps("prod");
    let summary = plan(&deps, "prod").await;
    let wait = || Request::AwaitApproval {
        request: request("prod"),
        plan: summary.clone(),
        token: "token-1".into(),
        execution: "x-1".into(),
        now: now(),
    };
    let waiting = run(&deps, wait()).await.expect("waiting");
    assert_eq!(waiting["id"], "x-1");
    assert_eq!(waiting["answer_by"], "2026-12-05T14:00:00Z");
    let record = world.approvals.get("x-1").await.expect("get");
    let decide = |by: &str, verdict: Verdict, reason: Option<&str>| Decision {
        verdict,
        by: by.into(),
        at: now(),
        reason: reason.map(str::to_string),
    };
    // The requester (another role, same person) may not approve; nobody may reject without a reason.
    let own = decide("arn:aws:sts::222222222222:assumed-role/approvers/alice", Verdict::Approved, None);
    assert!(matches!(
        approvals::check(record.as_ref(), "x-1", &own),
        Err(approvals::DecisionRefused::OwnRelease { .. })
    ));
    let bare = decide("arn:aws:sts::222222222222:assumed-role/approvers/bob", Verdict::Rejected, None);
    assert_eq!(approvals::check(record.as_ref(), "x-1", &bare), Err(approvals::DecisionRefused::NoReason));
    let bob = decide("arn:aws:sts::222222222222:assumed-role/approvers/bob", Verdict::Approved, None);
    approvals::check(record.as_ref(), "x-1", &bob).expect("bob may approve");
    world.approvals.decide("x-1", &bob).await.expect("decide");
    // A forged answer (approved, when the record says otherwise) is refused; the true one passes.
    let answer = |verdict: &str| Request::Approval { execution: "x-1".into(), answer: json!({"verdict": verdict}) };
    assert_eq!(run(&deps, answer("rejected")).await, Err("Untrusted".into()));
    let approved = run(&deps, answer("approved")).await.expect("approved");
    assert_eq!(approved["by"], "arn:aws:sts::222222222222:assumed-role/approvers/bob");
    // A redelivered wait finds the decision; a second decision is refused naming the first.
    assert_eq!(run(&deps, wait()).await.expect("redelivered")["by"], approved["by"]);
    let again = world.approvals.get("x-1").await.expect("get");
    let carol = decide("arn:aws:sts::222222222222:assumed-role/approvers/carol", Verdict::Rejected, Some("no"));
    assert!(matches!(
        approvals::check(again.as_ref(), "x-1", &carol),
        Err(approvals::DecisionRefused::AlreadyDecided { .. })
    ));
    // After its expiry nobody decides.
    let late = Decision { at: "2026-12-05T14:00:00Z".parse().expect("instant"), ..carol };
    let fresh = World::new("prod", 3);
    run(&fresh.deps("prod"), wait()).await.expect("waiting");
    let open = fresh.approvals.get("x-1").await.expect("get");
    assert!(matches!(approvals::check(open.as_ref(), "x-1", &late), Err(approvals::DecisionRefused::Expired { .. })));
}

#[tokio::test]
async fn a_rejection_fails_the_approval_with_its_reason() {
    let world = World::new("prod", 2);
    let deps = world.deps("prod");
    let summary = plan(&deps, "prod").await;
    run(
        &deps,
        Request::AwaitApproval {
            request: request("prod"),
            plan: summary,
            token: "t".into(),
            execution: "x-2".into(),
            now: now(),
        },
    )
    .await
    .expect("waiting");
    let no = Decision {
        verdict: Verdict::Rejected,
        by: "bob".into(),
        at: now(),
        reason: Some("not in the change window".into()),
    };
    world.approvals.decide("x-2", &no).await.expect("decide");
    let err = handle(Request::Approval { execution: "x-2".into(), answer: json!({"verdict": "rejected"}) }, &deps)
        .await
        .expect_err("rejected");
    assert_eq!(err.error_type(), "Rejected");
    assert!(err.to_string().contains("not in the change window"), "{err}");
}

#[tokio::test]
async fn the_bake_sees_only_its_waves_alarms() {
    let world = World::new("dev", 3);
    let deps = world.deps("dev");
    let wave = WavePlan {
        name: "rest".into(),
        accounts: vec![WaveAccount { account: account(1), client: None, previous: Some("2026.11.3".into()) }],
        concurrency: 1,
        tolerated: 0,
        bake_seconds: 300,
        checks: 5,
        check_seconds: 60,
    };
    let check = || Request::BakeCheck { environment: "dev".into(), wave: wave.clone() };
    world.alarms.set(&format!("abc-trading-dev-{}-health-errors-frontend", account(0)), true);
    assert_eq!(run(&deps, check()).await.expect("bake")["healthy"], true, "another account's alarm");
    let own = format!("abc-trading-dev-{}-slo-business-availability-fast-long", account(1));
    world.alarms.set(&own, true);
    let bake = run(&deps, check()).await.expect("bake");
    assert_eq!(bake["healthy"], false);
    assert_eq!(bake["alarming"], json!([own]));
}

#[tokio::test]
async fn another_environment_and_unknown_releases_are_refused() {
    let world = World::new("dev", 1);
    let deps = world.deps("dev");
    assert_eq!(run(&deps, Request::Gate { request: request("prod"), now: now() }).await, Err("Untrusted".into()));
    let mut unknown = request("dev");
    unknown.versions.insert("no-such-workload".into(), "1.0".into());
    let out =
        run(&deps, Request::Plan { request: unknown, release: "2026.12.1".into(), execution: "x".into(), now: now() })
            .await;
    assert_eq!(out, Err("InvalidRelease".into()));
    let empty = World::new("dev", 0);
    let out = run(
        &empty.deps("dev"),
        Request::Plan { request: request("dev"), release: "2026.12.1".into(), execution: "x".into(), now: now() },
    )
    .await;
    assert_eq!(out, Err("NoAccounts".into()));
}
