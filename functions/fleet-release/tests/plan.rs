//! The plan: what changes per account, what is skipped and why, and the waves from config.

use std::collections::BTreeMap;

use fleet_release::plan::{AccountFacts, Infrastructure, Running, SkipReason, estimate_minutes, plan};
use platform_core::config::{ReleasePolicy, Wave};

fn tags(tag: &str) -> BTreeMap<String, String> {
    ["frontend", "order-management", "axon-server"].iter().map(|w| (w.to_string(), tag.to_string())).collect()
}

fn account(i: usize, client: &str, running: Option<&str>) -> AccountFacts {
    AccountFacts {
        account: format!("{:012}", 100_000_000_000 + i),
        client: Some(client.to_string()),
        current: running.map(|r| Running { name: r.to_string(), tags: tags(r) }),
        infrastructure: Infrastructure::Current,
    }
}

fn fleet(n: usize) -> Vec<AccountFacts> {
    let mut out = vec![account(0, "abc", Some("2026.11.3"))];
    out.extend((1..n).map(|i| account(i, &format!("client-{i:03}"), Some("2026.11.3"))));
    out
}

fn policy() -> ReleasePolicy {
    ReleasePolicy {
        waves: vec![
            Wave { name: "canary".into(), clients: vec!["abc".into()], ..Wave::default() },
            Wave { name: "early".into(), percent: Some(10.0), concurrency: Some(10), ..Wave::default() },
            Wave {
                name: "rest".into(),
                rest: true,
                concurrency: Some(50),
                tolerated_failure_percent: Some(2.0),
                ..Wave::default()
            },
        ],
        bake_minutes: 30,
        bake_check_seconds: 300,
        account_minutes: 10,
        ..ReleasePolicy::default()
    }
}

/// GIVEN 200 accounts THEN the canary is ABC's own, the early wave 10% of the fleet, the rest
/// the other 179, each with its concurrency, tolerance and bake checks; nobody twice, nobody left.
#[test]
fn two_hundred_accounts_go_out_canary_first_then_by_share() {
    let planned = plan(&policy(), &tags("2026.12.1"), fleet(200));
    let sizes: Vec<(String, usize, u32, u32)> =
        planned.waves.iter().map(|w| (w.name.clone(), w.accounts.len(), w.concurrency, w.tolerated)).collect();
    assert_eq!(sizes, vec![("canary".into(), 1, 1, 0), ("early".into(), 20, 10, 0), ("rest".into(), 179, 50, 3)]);
    assert_eq!(planned.waves[0].accounts[0].client.as_deref(), Some("abc"));
    assert_eq!(planned.waves[0].accounts[0].previous.as_deref(), Some("2026.11.3"));
    let mut all: Vec<&str> = planned.waves.iter().flat_map(|w| w.accounts.iter().map(|a| a.account.as_str())).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 200);
    assert_eq!((planned.waves[2].checks, planned.waves[2].check_seconds), (6, 300));
    // Each wave's rounds of 10 minutes, then its 30-minute bake: 40 + 50 + 70.
    assert_eq!(estimate_minutes(&policy(), &planned.waves), 160);
    assert_eq!(planned.changes[1].images.len(), 3, "every workload's tag changes");
}

/// GIVEN accounts already on the release's images THEN they are skipped with the reason, and an
/// account never deployed changes every image from nothing.
#[test]
fn accounts_already_on_the_release_are_skipped_with_the_reason() {
    let mut accounts = fleet(4);
    accounts[2] = account(2, "client-002", Some("2026.12.1"));
    accounts.push(account(9, "client-new", None));
    let planned = plan(&policy(), &tags("2026.12.1"), accounts);
    assert_eq!(planned.skipped.len(), 1);
    assert_eq!(planned.skipped[0].reason, SkipReason::AlreadyCurrent);
    assert_eq!(planned.skipped[0].client.as_deref(), Some("client-002"));
    let new = planned.changes.iter().find(|c| c.client.as_deref() == Some("client-new")).expect("new account");
    assert!(new.previous.is_none() && new.images.iter().all(|i| i.from.is_none()));
    assert_eq!(planned.waves.iter().map(|w| w.accounts.len()).sum::<usize>(), 4);
}

/// GIVEN the canary's client already runs the release THEN another account is the canary, and
/// the plan says so; a fleet with nothing to change has no waves.
#[test]
fn the_canary_is_never_skipped_and_an_empty_plan_has_no_waves() {
    let mut accounts = fleet(5);
    accounts[0] = account(0, "abc", Some("2026.12.1"));
    let planned = plan(&policy(), &tags("2026.12.1"), accounts);
    assert_eq!(planned.waves[0].name, "canary");
    assert_eq!(planned.waves[0].accounts.len(), 1);
    assert_ne!(planned.waves[0].accounts[0].client.as_deref(), Some("abc"));
    assert!(planned.notes.iter().any(|n| n.contains("client `abc` has no account to change")), "{:?}", planned.notes);
    let current: Vec<AccountFacts> = (0..3).map(|i| account(i, "x", Some("2026.12.1"))).collect();
    let nothing = plan(&policy(), &tags("2026.12.1"), current);
    assert!(nothing.waves.is_empty() && nothing.changes.is_empty());
    assert_eq!(nothing.skipped.len(), 3);
}

/// GIVEN the same fleet in another order THEN the same waves: a re-plan (a retried task) makes
/// the plan the approver saw.
#[test]
fn the_waves_do_not_depend_on_the_order_accounts_are_read() {
    let mut reversed = fleet(30);
    reversed.reverse();
    assert_eq!(plan(&policy(), &tags("r"), fleet(30)).waves, plan(&policy(), &tags("r"), reversed).waves);
}

/// GIVEN an account already on the release's images whose platform instance config would change
/// THEN it is not skipped: it changes no image and its infrastructure says which parameters.
#[test]
fn an_account_whose_infrastructure_differs_is_planned_with_its_parameters() {
    use platform_core::platform_stack::ParameterChange;
    let mut accounts = fleet(3);
    for a in &mut accounts {
        a.current = Some(Running { name: "2026.12.1".into(), tags: tags("2026.12.1") });
    }
    let resized = ParameterChange { name: "NodeMaxSize".into(), from: Some("6".into()), to: Some("8".into()) };
    accounts[1].infrastructure = Infrastructure::Differs { parameters: vec![resized.clone()] };
    accounts[2].infrastructure = Infrastructure::Unknown;
    let planned = plan(&policy(), &tags("2026.12.1"), accounts);
    assert_eq!(planned.changes.len(), 1, "{:?}", planned.changes);
    assert!(planned.changes[0].images.is_empty());
    assert_eq!(planned.changes[0].infrastructure, Infrastructure::Differs { parameters: vec![resized] });
    // Not compared is not a change: an unknown domain leaves the account as its images say.
    assert_eq!(planned.skipped.len(), 2);
}
