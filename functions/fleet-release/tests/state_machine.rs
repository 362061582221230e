//! `state-machines/fleet-release.asl.json` run in the `asl` engine against the fleet's real handler on fakes: waves and bakes, tolerance, promotion, approval, the freeze, a plan with nothing to do.

use std::collections::BTreeSet;
use std::time::Duration;

use asl::{Status, TaskTokens};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use platform_core::approvals::{self, Approvals, Decision, Verdict};
use platform_core::config::{Environment, FreezeAction};
use platform_core::zone::MarketZone;
use serde_json::json;

#[path = "support/fleet_world.rs"]
mod fleet_world;
use fleet_world::*;

fn env<'a>(w: &'a World, name: &str) -> &'a Environment {
    w.deps.tree.environment(name).expect("environment in config")
}

fn accounts_of(children: &[Child]) -> BTreeSet<String> {
    children.iter().map(|c| c.input["accountId"].as_str().unwrap_or_default().to_string()).collect()
}

fn seconds(d: TimeDelta) -> Duration {
    d.to_std().expect("positive")
}

/// GIVEN dev's twelve accounts on 2026.11.3 (no approval, no freeze, a canary then the rest at
/// once, a 5-minute bake checked every 60 s), each deploy taking 2m30s
/// THEN the canary (ABC's account) deploys and bakes, then the eleven others start together and
/// bake; each account is deployed once, the plan published, the outcome recorded, no approval asked.
#[tokio::test]
async fn a_dev_fleet_goes_out_canary_first_then_the_rest_at_once() {
    let w = World::new("dev", 12);
    let t0 = evening();
    let e = run(&w, "fleet-dev-1", w.input(json!({})), t0).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let policy = &env(&w, "dev").release;
    let bake = TimeDelta::minutes(i64::from(policy.bake_minutes));
    let deploy = TimeDelta::from_std(w.deploy_time).expect("span");
    let deploys = w.deploys();
    assert_eq!(deploys.len(), 12, "each account deployed once: {:?}", accounts_of(&deploys));
    assert_eq!(accounts_of(&deploys).len(), 12);
    assert_eq!(w.names.lock().expect("lock").len(), 12, "one child execution name per account");
    assert_eq!(
        deploys[0].input,
        json!({"environment": "dev", "accountId": account(0), "release": RELEASE, "fleet": "fleet-dev-1"}),
        "the canary is ABC's account"
    );
    assert_eq!(deploys[0].at, t0);
    // The rest start together once the canary deployed and baked.
    let rest_start = t0 + deploy + bake;
    assert_eq!(accounts_of(&deploys[1..]), (1..12).map(account).collect());
    assert!(deploys[1..].iter().all(|d| d.at == rest_start), "{:?}", deploys.iter().map(|d| d.at).collect::<Vec<_>>());
    assert_eq!(e.duration, seconds((deploy + bake) * 2), "canary + bake + the rest in parallel + bake");
    // The bake checks every 60 s, five times a wave.
    let checks = entered(&e, "BakeCheck");
    let every = TimeDelta::seconds(i64::from(policy.bake_check_seconds));
    let expected: Vec<DateTime<Utc>> =
        (1..=5).map(|k| t0 + deploy + every * k).chain((1..=5).map(|k| rest_start + deploy + every * k)).collect();
    assert_eq!(checks, expected);
    let bakes = vec!["bake-check"; 5];
    let actions: Vec<&str> = ["gate", "plan", "wave-gate"]
        .into_iter()
        .chain(bakes.clone())
        .chain(["wave-gate"])
        .chain(bakes)
        .chain(["finish"])
        .collect();
    assert_eq!(w.actions(), actions, "no approval, and the waves one after the other");
    // The plan published, waves as the config says.
    let key = format!("fleet-plans/dev/{RELEASE}/fleet-dev-1.json");
    assert_eq!(w.reports.keys(), std::slice::from_ref(&key));
    let plan = w.reports.get(&key).expect("plan");
    assert_eq!(plan["waves"][0]["name"], "canary");
    assert_eq!(plan["waves"][1]["name"], "rest");
    assert_eq!(plan["changes"].as_array().map(Vec::len), Some(12));
    // The outcome prod's promotion would read, audited and notified.
    let outcome = w.outcome().expect("an outcome recorded");
    assert_eq!(outcome["succeeded"], true);
    assert_eq!((outcome["deployed"].as_u64(), outcome["failed"].as_u64()), (Some(12), Some(0)));
    assert_eq!(outcome["execution"], "fleet-dev-1");
    assert_eq!(at(outcome["finished_at"].as_str().expect("finished_at")), t0 + (deploy + bake) * 2);
    let released = w.audits("released");
    assert_eq!((released[0]["deployed"].as_str(), released[0]["failed"].as_str()), ("12", "0"));
    assert_eq!(w.subjects(), [format!("abc-trading release {RELEASE} reached dev")]);
    assert!(w.rollbacks().is_empty() && w.approvals.all().is_empty());
    println!("12 dev accounts: {} transitions, {:?} on the virtual clock", e.transitions, e.duration);
}

/// GIVEN dev's twelve accounts, the last never deployed before, and an alarm of a rest account
/// in ALARM
/// THEN the rest wave's first bake check sees it: every account of the wave that ran a release
/// before is rolled back to it (the new one has nothing to go back to), the canary is not; the
/// fleet fails WaveFailed naming the alarm, the stop audited and notified, no outcome recorded.
#[tokio::test]
async fn an_alarm_in_the_bake_rolls_the_wave_back_and_stops_the_fleet() {
    let w = World::new("dev", 12);
    w.runs(11, None).await;
    let alarm = format!("abc-trading-dev-{}-health-x", account(5));
    w.alarms.set(&alarm, true);
    let t0 = evening();
    let e = run(&w, "fleet-dev-2", w.input(json!({})), t0).await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.as_deref(), Some("WaveFailed"), "{:?}", e.cause);
    let cause = e.cause.clone().unwrap_or_default();
    assert!(cause.contains("wave rest") && cause.contains("BakeFailed") && cause.contains(&alarm), "{cause}");
    assert_eq!(w.deploys().len(), 12);
    let rollbacks = w.rollbacks();
    assert_eq!(accounts_of(&rollbacks), (1..11).map(account).collect(), "the rest wave, but its new account");
    assert_eq!(rollbacks.len(), 10, "each once");
    for r in &rollbacks {
        let id = r.input["accountId"].as_str().unwrap_or_default();
        assert_eq!(r.input, json!({"environment": "dev", "accountId": id, "release": PREVIOUS}));
        let deployed = w.deploys().into_iter().find(|d| d.input["accountId"] == id).expect("deployed first");
        assert_ne!(r.name, deployed.name, "the rollback is its own execution");
    }
    // At the rest wave's first check: the canary's deploy and bake, the rest's deploy, one check.
    let policy = &env(&w, "dev").release;
    let deploy = TimeDelta::from_std(w.deploy_time).expect("span");
    let first_check = t0
        + deploy * 2
        + TimeDelta::minutes(i64::from(policy.bake_minutes))
        + TimeDelta::seconds(i64::from(policy.bake_check_seconds));
    assert!(rollbacks.iter().all(|r| r.at == first_check), "{rollbacks:?}");
    let actions = w.actions();
    assert_eq!(actions.iter().filter(|a| *a == "bake-check").count(), 6, "{actions:?}");
    assert!(!actions.iter().any(|a| a == "finish"), "{actions:?}");
    assert_eq!(w.outcome(), None);
    let stopped = w.audits("stopped");
    assert_eq!(stopped.len(), 1);
    assert!(stopped[0]["error"].contains("WaveFailed") && stopped[0]["error"].contains(&alarm), "{stopped:?}");
    assert_eq!(w.subjects(), [format!("abc-trading release {RELEASE} STOPPED in dev")]);
    assert!(w.audits("released").is_empty());
}

/// GIVEN dev's rest wave tolerating 10% of its eleven accounts (one), and two of them failing
/// THEN the wave fails past its threshold and every account of it is rolled back: the fleet
/// stops WaveFailed without baking that wave or recording an outcome.
#[tokio::test]
async fn failures_beyond_a_waves_tolerance_roll_the_wave_back() {
    let w = World::new("dev", 12);
    assert_eq!(env(&w, "dev").release.waves[1].tolerated(11), 1, "dev's rest tolerates one of eleven");
    w.fail_deploy_of(3);
    w.fail_deploy_of(7);
    let e = run(&w, "fleet-dev-3", w.input(json!({})), evening()).await;
    assert_eq!(e.error.as_deref(), Some("WaveFailed"), "{:?}", e.cause);
    let cause = e.cause.unwrap_or_default();
    assert!(cause.contains("wave rest") && cause.contains("States.ExceedToleratedFailureThreshold"), "{cause}");
    assert_eq!(accounts_of(&w.rollbacks()), (1..12).map(account).collect(), "the whole wave");
    assert_eq!(w.actions().iter().filter(|a| *a == "bake-check").count(), 5, "only the canary baked");
    assert_eq!(w.outcome(), None);
    assert_eq!(w.audits("stopped").len(), 1);
}

/// GIVEN the same wave with one account failing, within its tolerance
/// THEN the wave bakes and the fleet is released; the outcome counts 11 deployed and 1 failed,
/// and nothing is rolled back.
#[tokio::test]
async fn a_failure_within_tolerance_is_counted_not_rolled_back() {
    let w = World::new("dev", 12);
    w.fail_deploy_of(4);
    let e = run(&w, "fleet-dev-4", w.input(json!({})), evening()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    assert!(w.rollbacks().is_empty());
    assert_eq!(w.actions().iter().filter(|a| *a == "bake-check").count(), 10);
    let outcome = w.outcome().expect("outcome");
    assert_eq!((outcome["deployed"].as_u64(), outcome["failed"].as_u64()), (Some(11), Some(1)));
    let released = w.audits("released");
    assert_eq!((released[0]["deployed"].as_str(), released[0]["failed"].as_str()), ("11", "1"));
    let (subject, message) = w.notified().pop().expect("notified");
    assert_eq!(subject, format!("abc-trading release {RELEASE} reached dev"));
    assert!(message.ends_with("deployed 11, failed within tolerance 1"), "{message}");
}

/// GIVEN prod, which promotes from staging, and no staging outcome for 2026.12.1
/// THEN the gate refuses it NotPromoted before any plan or deploy; the refusal audited and notified.
#[tokio::test]
async fn prod_refuses_a_release_staging_never_finished() {
    let w = World::new("prod", 4);
    assert_eq!(env(&w, "prod").release.promote_from.as_deref(), Some("staging"));
    let e = run(&w, "fleet-prod-1", w.input(json!({})), evening()).await;
    assert_eq!(e.error.as_deref(), Some("NotPromoted"), "{:?}", e.cause);
    assert!(e.cause.unwrap_or_default().contains("never succeeded in staging"));
    assert_eq!(w.actions(), ["gate"]);
    assert!(w.reports.keys().is_empty() && w.deploys().is_empty());
    let refused = w.audits("refused");
    assert_eq!(refused.len(), 1);
    assert!(refused[0]["error"].contains("NotPromoted") && refused[0]["environment"] == "prod", "{refused:?}");
    assert_eq!(w.subjects(), ["abc-trading release REFUSED in prod"]);
}

/// GIVEN staging's successful outcome for 2026.12.1
/// THEN prod's gate promotes it, the plan is published and notified, and the fleet waits at
/// AwaitApproval for prod's approval timeout with its token kept where the approver finds it.
#[tokio::test]
async fn prod_takes_what_staging_finished_and_waits_for_approval() {
    let w = World::new("prod", 4);
    w.staging_finished();
    let (tokens, t0, name) = (TaskTokens::new(), evening(), "fleet-prod-2");
    let mut execution = spawn(&w, name, w.input(json!({})), t0, &tokens);
    let pending = waiting(&tokens, 1, &mut execution).await;
    assert_eq!((pending[0].state.as_str(), pending[0].execution.as_str()), ("AwaitApproval", name));
    let timeout = TimeDelta::minutes(i64::from(env(&w, "prod").release.approval_timeout_minutes));
    assert_eq!(pending[0].timeout_at, t0 + timeout);
    let record = w.approvals.get(name).await.expect("get").expect("an approval opened");
    assert_eq!(record.pending.token, pending[0].token);
    assert_eq!((record.pending.release.as_str(), record.pending.answer_by), (RELEASE, t0 + timeout));
    assert_eq!(record.pending.requested_by.as_deref(), Some(ALICE));
    assert_eq!(w.actions(), ["gate", "plan", "await-approval"]);
    let (subject, message) = w.notified().pop().expect("the plan notified");
    assert_eq!(subject, format!("abc-trading release {RELEASE} for prod waits for approval"));
    assert!(message.contains(&format!("s3://{BUCKET}/fleet-plans/prod/{RELEASE}/{name}.json")), "{message}");
    assert!(message.contains(&format!("platform-ops release approve {name}")), "{message}");
    assert!(w.deploys().is_empty() && w.audits("promotion-forced").is_empty());
    execution.abort();
}

/// GIVEN no staging outcome, but a request forced with a reason
/// THEN prod goes past the promotion rule with `promotion-forced` audited and notified (reason,
/// from staging), on to the approval.
#[tokio::test]
async fn a_forced_prod_release_is_audited_and_notified_then_asks_approval() {
    let w = World::new("prod", 4);
    let tokens = TaskTokens::new();
    let mut execution = spawn(&w, "fleet-prod-3", w.input(json!({"force": "CVE-2026-1234"})), evening(), &tokens);
    let pending = waiting(&tokens, 1, &mut execution).await;
    assert_eq!(pending[0].state, "AwaitApproval");
    let forced = w.audits("promotion-forced");
    assert_eq!(forced.len(), 1);
    assert_eq!((forced[0]["reason"].as_str(), forced[0]["from"].as_str()), ("CVE-2026-1234", "staging"));
    assert_eq!((forced[0]["release"].as_str(), forced[0]["environment"].as_str()), (RELEASE, "prod"));
    let notified = w.notified();
    assert_eq!(notified[0].0, format!("abc-trading release {RELEASE} FORCED into prod"));
    assert!(notified[0].1.contains("without having succeeded in staging: CVE-2026-1234"), "{notified:?}");
    assert_eq!(w.actions(), ["gate", "plan", "await-approval"]);
    assert!(w.deploys().is_empty());
    execution.abort();
}

/// What `platform-ops release approve|reject` does: the decision checked and recorded, then the
/// waiting token answered with it.
async fn decide(w: &World, tokens: &TaskTokens, id: &str, decision: Decision) {
    let record = w.approvals.get(id).await.expect("get");
    approvals::check(record.as_ref(), id, &decision).expect("a decision that may be made");
    w.approvals.decide(id, &decision).await.expect("decide");
    let token = record.expect("record").pending.token;
    let at = decision.at;
    match decision.verdict {
        Verdict::Approved => {
            tokens.send_success(&token, json!({"verdict": decision.verdict, "by": decision.by, "at": decision.at}), at)
        }
        Verdict::Rejected => {
            let cause = format!(
                "release {RELEASE} rejected by {} at {at}: {}",
                decision.by,
                decision.reason.unwrap_or_default()
            );
            tokens.send_failure(&token, "Rejected", &cause, at)
        }
    }
    .expect("the answer reaches the waiting task");
}

/// GIVEN a prod release waiting for approval
/// WHEN bob approves it 20 minutes later
/// THEN the waves start at that instant, one after the other, and the fleet is released; the
/// approval audited with bob as the approver.
#[tokio::test]
async fn an_approved_plan_goes_out_from_the_moment_it_is_approved() {
    let w = World::new("prod", 4);
    w.staging_finished();
    let (tokens, t0, name) = (TaskTokens::new(), evening(), "fleet-prod-4");
    let mut execution = spawn(&w, name, w.input(json!({})), t0, &tokens);
    waiting(&tokens, 1, &mut execution).await;
    let approved_at = t0 + TimeDelta::minutes(20);
    decide(&w, &tokens, name, Decision { verdict: Verdict::Approved, by: BOB.into(), at: approved_at, reason: None })
        .await;
    let e = ended(execution).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let deploys = w.deploys();
    assert_eq!(accounts_of(&deploys), (0..4).map(account).collect());
    assert_eq!(deploys[0].at, approved_at, "the canary starts once approved");
    let approved = w.audits("approved");
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["approved_by"], BOB);
    assert_eq!(at(&approved[0]["approved_at"]), approved_at);
    assert_eq!(approved[0]["plan_key"], format!("fleet-plans/prod/{RELEASE}/{name}.json"));
    // Three waves of one round each (canary 1, early 10% → 1, rest 2), each deploy then a bake.
    let policy = &env(&w, "prod").release;
    let wave = w.deploy_time + Duration::from_secs(u64::from(policy.bake_minutes) * 60);
    assert_eq!(e.duration, Duration::from_secs(20 * 60) + 3 * wave);
    assert!(w.actions().contains(&"approval".to_string()));
    assert_eq!(w.outcome().expect("outcome")["deployed"], 4);
}

/// GIVEN a prod release waiting for approval
/// WHEN bob rejects it with a reason
/// THEN the fleet fails Rejected with the reason, the refusal audited, nothing deployed.
#[tokio::test]
async fn a_rejected_plan_deploys_nothing() {
    let w = World::new("prod", 4);
    w.staging_finished();
    let (tokens, t0, name) = (TaskTokens::new(), evening(), "fleet-prod-5");
    let mut execution = spawn(&w, name, w.input(json!({})), t0, &tokens);
    waiting(&tokens, 1, &mut execution).await;
    let reason = Some("not before the clearing audit".to_string());
    let at = t0 + TimeDelta::minutes(5);
    decide(&w, &tokens, name, Decision { verdict: Verdict::Rejected, by: BOB.into(), at, reason }).await;
    let e = ended(execution).await;
    assert_eq!(e.error.as_deref(), Some("Rejected"), "{:?}", e.cause);
    assert!(e.cause.unwrap_or_default().contains("not before the clearing audit"));
    assert!(w.deploys().is_empty() && w.audits("approved").is_empty());
    assert_eq!(w.audits("refused").len(), 1);
    assert_eq!(w.actions(), ["gate", "plan", "await-approval"]);
}

/// GIVEN a prod release waiting for approval that nobody answers
/// WHEN the virtual clock passes prod's approval timeout (240 minutes), not before
/// THEN the fleet fails Rejected, the cause saying nobody approved in time, nothing deployed.
#[tokio::test]
async fn an_unanswered_approval_is_a_rejection() {
    let w = World::new("prod", 4);
    w.staging_finished();
    let (tokens, t0) = (TaskTokens::new(), evening());
    let mut execution = spawn(&w, "fleet-prod-6", w.input(json!({})), t0, &tokens);
    waiting(&tokens, 1, &mut execution).await;
    let timeout = TimeDelta::minutes(i64::from(env(&w, "prod").release.approval_timeout_minutes));
    tokens.advance(t0 + timeout - TimeDelta::minutes(1));
    assert_eq!(tokens.pending().len(), 1, "still waiting a minute before the timeout");
    tokens.advance(t0 + timeout + TimeDelta::seconds(1));
    let e = ended(execution).await;
    assert_eq!(e.error.as_deref(), Some("Rejected"), "{:?}", e.cause);
    let cause = e.cause.unwrap_or_default();
    assert_eq!(cause, format!("nobody approved release {RELEASE} within {} seconds", timeout.num_seconds()));
    assert_eq!(e.duration, seconds(timeout));
    assert!(w.deploys().is_empty());
    assert_eq!(w.audits("refused").len(), 1);
}

/// GIVEN a prod release waiting for approval
/// WHEN its token is answered "approved" but no decision was recorded (a forged SendTaskSuccess)
/// THEN the approval check refuses it: the fleet fails Untrusted, nothing deployed or audited as approved.
#[tokio::test]
async fn a_forged_approval_is_refused() {
    let w = World::new("prod", 4);
    w.staging_finished();
    let (tokens, t0) = (TaskTokens::new(), evening());
    let mut execution = spawn(&w, "fleet-prod-7", w.input(json!({})), t0, &tokens);
    let pending = waiting(&tokens, 1, &mut execution).await;
    let at = t0 + TimeDelta::minutes(1);
    let forged = json!({"verdict": "approved", "by": "arn:aws:sts::222222222222:assumed-role/x/mallory", "at": at});
    tokens.send_success(&pending[0].token, forged, at).expect("answered");
    let e = ended(execution).await;
    assert_eq!(e.error.as_deref(), Some("Untrusted"), "{:?}", e.cause);
    assert!(e.cause.unwrap_or_default().contains("no decision recorded"));
    assert!(w.deploys().is_empty() && w.audits("approved").is_empty());
    assert_eq!(w.actions(), ["gate", "plan", "await-approval", "approval"]);
    assert_eq!(w.audits("refused").len(), 1);
}

/// 10:00 London on Tuesday 1 December 2026, inside the trading session, and its close.
fn session() -> (DateTime<Utc>, DateTime<Utc>) {
    let zone = MarketZone::get("Europe/London").expect("zone");
    let london = |h, m| zone.with_ymd_and_hms(2026, 12, 1, h, m, 0).single().expect("instant").with_timezone(&Utc);
    (london(10, 0), london(16, 30))
}

/// GIVEN staging (freeze = wait) started at 10:00 London, inside the session
/// THEN the first wave waits for the close: its first deploy starts at 16:30 London on the virtual
/// clock, after the wave gate was asked again; nothing is an emergency.
#[tokio::test]
async fn staging_waits_for_the_close_before_its_first_wave() {
    let w = World::new("staging", 4);
    assert_eq!(env(&w, "staging").release.freeze, FreezeAction::Wait);
    let (open, close) = session();
    let e = run(&w, "fleet-staging-1", w.input(json!({})), open).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let deploys = w.deploys();
    assert_eq!(deploys[0].at, close, "{deploys:?}");
    assert_eq!(deploys[0].input["accountId"], account(0));
    assert!(deploys.iter().all(|d| d.at >= close));
    assert_eq!(w.actions()[..4], ["gate", "plan", "wave-gate", "wave-gate"]);
    assert_eq!(entered(&e, "WaitForClose"), [open]);
    assert!(w.audits("emergency").is_empty());
}

/// GIVEN the same start with an emergency reason
/// THEN the first wave starts at once, and each wave that starts inside the session is audited
/// and notified as an emergency with its reason.
#[tokio::test]
async fn an_emergency_starts_inside_the_session_audited_and_notified() {
    let w = World::new("staging", 4);
    let (open, close) = session();
    let reason = "the matching engine leaks orders";
    let e = run(&w, "fleet-staging-2", w.input(json!({"emergency": reason})), open).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let deploys = w.deploys();
    assert_eq!(deploys[0].at, open);
    assert!(deploys.iter().all(|d| d.at < close), "every wave inside the session: {deploys:?}");
    assert!(entered(&e, "WaitForClose").is_empty());
    let emergencies = w.audits("emergency");
    let waves: Vec<&str> = emergencies.iter().map(|a| a["wave"].as_str()).collect();
    assert_eq!(waves, ["canary", "early", "rest"]);
    assert!(emergencies.iter().all(|a| a["reason"] == reason && a["release"] == RELEASE), "{emergencies:?}");
    let notified = w.notified();
    let subject = format!("abc-trading EMERGENCY release {RELEASE} in staging during trading hours");
    assert_eq!(notified.iter().filter(|(s, _)| *s == subject).count(), 3, "{notified:?}");
    assert!(notified[0].1.contains(reason));
}

/// GIVEN prod with staging's outcome, started at 10:00 London inside the session, nobody
/// answering an approval
/// THEN prod's freeze, as its config has it, decides: `refuse` refuses the plan Frozen before
/// anyone is asked to approve; `wait` asks (and the unanswered approval is then a rejection).
#[tokio::test]
async fn prod_inside_the_session_is_frozen_as_its_config_says() {
    let w = World::new("prod", 4);
    w.staging_finished();
    let (open, _) = session();
    let e = run(&w, "fleet-prod-9", w.input(json!({})), open).await;
    assert!(w.deploys().is_empty());
    match env(&w, "prod").release.freeze {
        FreezeAction::Refuse => {
            assert_eq!(e.error.as_deref(), Some("Frozen"), "{:?}", e.cause);
            assert!(e.cause.unwrap_or_default().contains("trading session"));
            assert_eq!(w.actions(), ["gate", "plan"]);
            assert!(w.approvals.all().is_empty() && w.reports.keys().is_empty());
            assert!(w.audits("refused")[0]["error"].contains("Frozen"));
        }
        FreezeAction::Wait => {
            assert_eq!(e.error.as_deref(), Some("Rejected"), "{:?}", e.cause);
            assert_eq!(w.actions(), ["gate", "plan", "await-approval"]);
        }
        FreezeAction::Off => panic!("prod trades: it must freeze"),
    }
}

/// GIVEN prod with staging's outcome, every account already on 2026.12.1 with its tags
/// THEN the plan changes nothing: the fleet ends at NothingToDo, notified, with no approval asked
/// and no deploy.
#[tokio::test]
async fn a_plan_that_changes_nothing_needs_no_approval_and_deploys_nothing() {
    let w = World::new("prod", 4);
    w.staging_finished();
    for i in 0..4 {
        w.runs(i, Some(RELEASE)).await;
    }
    let e = run(&w, "fleet-prod-8", w.input(json!({})), evening()).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    assert_eq!(entered(&e, "NothingToDo").len(), 1);
    assert_eq!(w.actions(), ["gate", "plan"]);
    assert!(w.approvals.all().is_empty() && w.deploys().is_empty());
    assert_eq!(w.subjects(), [format!("abc-trading release {RELEASE} in prod: nothing to change")]);
    assert_eq!(w.outcome(), None);
}
