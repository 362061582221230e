//! `[release]`: waves that cover the fleet, bakes that are watched, approvals that fit, promotion along real environments.

use chrono::{NaiveDate, NaiveTime};
use platform_core::config::{FreezeAction, Wave};

#[path = "support/tree.rs"]
mod tree;
use tree::{Tree, rejects};

#[test]
fn the_repository_rolls_prod_out_behind_staging_with_approval() {
    let tree = Tree::copy().load().expect("config loads");
    let prod = &tree.environments["prod"].release;
    assert_eq!(prod.promote_from.as_deref(), Some("staging"));
    assert!(prod.approval);
    assert_eq!(prod.freeze, FreezeAction::Refuse);
    assert_eq!(prod.waves.first().map(|w| w.clients.clone()), Some(vec!["abc".to_string()]));
    assert!(prod.waves.last().is_some_and(|w| w.rest));
    assert_eq!(tree.environments["dev"].release.freeze, FreezeAction::Off);
    let hours = &tree.environments["prod"].trading_hours;
    assert!(hours.holidays.contains(&NaiveDate::from_ymd_opt(2026, 12, 25).expect("date")));
    assert_eq!(hours.open, NaiveTime::from_hms_opt(8, 0, 0).expect("time"));
}

#[test]
fn every_account_is_in_exactly_one_wave() {
    // The last wave must take the rest, and only it.
    rejects(
        "environments/prod.toml",
        "name = \"rest\"\nrest = true",
        "name = \"rest\"\ncount = 5",
        "release.waves[2].rest",
        "the last wave must be `rest = true`",
    );
    rejects(
        "environments/prod.toml",
        "name = \"early\"\npercent = 10",
        "name = \"early\"\nrest = true",
        "release.waves[1].rest",
        "only the last wave takes the rest",
    );
    // One size per wave.
    rejects(
        "environments/prod.toml",
        "name = \"early\"\npercent = 10",
        "name = \"early\"\npercent = 10\ncount = 3",
        "release.waves[1].name",
        "exactly one of clients, count, percent or rest",
    );
    rejects(
        "environments/prod.toml",
        "name = \"early\"\npercent = 10",
        "name = \"early\"\npercent = 120",
        "release.waves[1].percent",
        "120 is not a share",
    );
    rejects(
        "environments/prod.toml",
        "name = \"early\"",
        "name = \"canary\"",
        "release.waves[1].name",
        "`canary` names two waves",
    );
    rejects(
        "environments/prod.toml",
        "concurrency = 10",
        "concurrency = 0",
        "release.waves[1].concurrency",
        "at least 1",
    );
    rejects(
        "environments/prod.toml",
        "concurrency = 10",
        "concurrency = 41",
        "release.waves[1].concurrency",
        "above 40",
    );
}

#[test]
fn the_canary_tolerates_nothing_and_bakes_are_watched() {
    rejects(
        "environments/prod.toml",
        "clients = [\"abc\"]",
        "clients = [\"abc\"]\ntolerated_failures = 1",
        "release.waves[0].tolerated_failures",
        "the canary tolerates no failure",
    );
    rejects(
        "environments/prod.toml",
        "bake_check_seconds = 300",
        "bake_check_seconds = 3600",
        "release.bake_check_seconds",
        "longer than the shortest bake (30 minutes)",
    );
    rejects(
        "environments/prod.toml",
        "approval_timeout_minutes = 240",
        "approval_timeout_minutes = 1440",
        "release.approval_timeout_minutes",
        "leave nothing of the fleet release's 1440 minutes",
    );
}

#[test]
fn promotion_follows_real_environments_without_cycles() {
    rejects(
        "environments/prod.toml",
        "promote_from = \"staging\"",
        "promote_from = \"uat\"",
        "release.promote_from",
        "`uat` is not an environment",
    );
    let tree = Tree::copy();
    tree.edit("environments/staging.toml", "[release]\n", "[release]\npromote_from = \"prod\"\n");
    let errors = tree.load().expect_err("a cycle must not load");
    assert!(
        errors.issues.iter().any(|i| i.key == "release.promote_from" && i.message.contains("a promotion cycle")),
        "{errors}"
    );
}

#[test]
fn holidays_are_listed_once_and_the_default_policy_is_valid() {
    rejects(
        "environments/prod.toml",
        "holidays = [\"2026-12-25\"",
        "holidays = [\"2026-12-25\", \"2026-12-25\"",
        "trading_hours.holidays",
        "listed twice",
    );
    let tree = Tree::copy();
    // Without [release] an environment gets the default policy, which must itself validate.
    let path = tree.path().join("environments/staging.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    let cut = text.find("\n[release]").expect("staging has [release]");
    std::fs::write(&path, &text[..cut + 1]).expect("write");
    let loaded = tree.load().expect("the default policy loads");
    let waves: Vec<&Wave> = loaded.environments["staging"].release.waves.iter().collect();
    assert_eq!(waves.len(), 2);
    assert_eq!(waves[0].count, Some(1));
    assert!(waves[1].rest);
}

#[test]
fn tolerance_is_the_larger_of_count_and_share() {
    let wave = Wave { tolerated_failures: 1, tolerated_failure_percent: Some(2.0), ..Wave::default() };
    assert_eq!(wave.tolerated(10), 1);
    assert_eq!(wave.tolerated(200), 4);
    assert_eq!(Wave::default().tolerated(200), 0);
}
