//! Rules for an environment's `[release]`: waves that cover the fleet, a bake and approval that fit the execution, promotion along real environments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{Environment, Issues};

/// The fleet release's execution timeout (state-machines/fleet-release.asl.json): an approval
/// wait, a freeze wait and every wave with its bake must fit inside it.
pub const FLEET_RELEASE_TIMEOUT_MINUTES: u32 = 24 * 60;
/// An inline Map runs at most 40 iterations at once (Step Functions' limit): a wave's
/// concurrency above it would not be what runs.
pub const MAX_WAVE_CONCURRENCY: u32 = 40;

pub(crate) fn release(file: &Path, env: &Environment, issues: &mut Issues) {
    let policy = &env.release;
    if policy.waves.is_empty() {
        issues.push(file, "release.waves", "at least one wave is required (the last with `rest = true`)");
    }
    let mut names = BTreeSet::new();
    let last = policy.waves.len().saturating_sub(1);
    for (i, wave) in policy.waves.iter().enumerate() {
        let key = |field: &str| format!("release.waves[{i}].{field}");
        if wave.name.trim().is_empty() {
            issues.push(file, key("name"), "must not be empty");
        } else if !names.insert(wave.name.as_str()) {
            issues.push(file, key("name"), format!("`{}` names two waves", wave.name));
        }
        let sizes = [!wave.clients.is_empty(), wave.count.is_some(), wave.percent.is_some(), wave.rest];
        if sizes.iter().filter(|s| **s).count() != 1 {
            issues.push(
                file,
                key("name"),
                format!("wave `{}` needs exactly one of clients, count, percent or rest", wave.name),
            );
        }
        if wave.rest != (i == last) {
            let why =
                if wave.rest { "only the last wave takes the rest" } else { "the last wave must be `rest = true`" };
            issues.push(file, key("rest"), format!("wave `{}`: {why}, so every account is in a wave", wave.name));
        }
        if wave.count == Some(0) {
            issues.push(file, key("count"), "must be at least 1");
        }
        if let Some(p) = wave.percent
            && !(p > 0.0 && p <= 100.0)
        {
            issues.push(file, key("percent"), format!("{p} is not a share in (0, 100]"));
        }
        match wave.concurrency {
            Some(0) => issues.push(file, key("concurrency"), "must be at least 1 (absent: the whole wave, up to 40)"),
            Some(c) if c > MAX_WAVE_CONCURRENCY => issues.push(
                file,
                key("concurrency"),
                format!("{c} is above {MAX_WAVE_CONCURRENCY}, the iterations an inline Map runs at once"),
            ),
            _ => {}
        }
        if let Some(p) = wave.tolerated_failure_percent
            && !(0.0..100.0).contains(&p)
        {
            issues.push(file, key("tolerated_failure_percent"), format!("{p} is not a share in [0, 100)"));
        }
    }
    if let Some(canary) = policy.waves.first()
        && (canary.tolerated_failures > 0 || canary.tolerated_failure_percent.is_some_and(|p| p > 0.0))
    {
        issues.push(file, "release.waves[0].tolerated_failures", "the canary tolerates no failure: it is the canary");
    }
    if policy.bake_check_seconds == 0 {
        issues.push(file, "release.bake_check_seconds", "must be at least 1");
    }
    // Step Functions waits are whole seconds; a check less often than the bake is a bake unwatched.
    let shortest_bake =
        policy.waves.iter().map(|w| w.bake_minutes.unwrap_or(policy.bake_minutes)).filter(|m| *m > 0).min();
    if let Some(bake) = shortest_bake
        && policy.bake_check_seconds > bake * 60
    {
        issues.push(
            file,
            "release.bake_check_seconds",
            format!(
                "{} is longer than the shortest bake ({bake} minutes): the bake would end unwatched",
                policy.bake_check_seconds
            ),
        );
    }
    if policy.approval && policy.approval_timeout_minutes == 0 {
        issues.push(file, "release.approval_timeout_minutes", "must be at least 1 when approval is on");
    }
    if policy.account_minutes == 0 {
        issues.push(file, "release.account_minutes", "must be at least 1");
    }
    let waits = policy.approval_timeout_minutes * u32::from(policy.approval) + policy.lease_wait_minutes;
    if waits >= FLEET_RELEASE_TIMEOUT_MINUTES {
        issues.push(
            file,
            "release.approval_timeout_minutes",
            format!(
                "approval ({} min) and lease waits ({} min) leave nothing of the fleet release's {FLEET_RELEASE_TIMEOUT_MINUTES} minutes",
                policy.approval_timeout_minutes, policy.lease_wait_minutes
            ),
        );
    }
}

/// `promote_from` names another environment, and following it never comes back.
pub(crate) fn promotion(envs: &BTreeMap<String, Environment>, files: &BTreeMap<String, PathBuf>, issues: &mut Issues) {
    for env in envs.values() {
        let Some(from) = &env.release.promote_from else { continue };
        let file = &files[&env.name];
        if !envs.contains_key(from) {
            issues.push(file, "release.promote_from", format!("`{from}` is not an environment of config/environments"));
            continue;
        }
        let mut seen = BTreeSet::from([env.name.as_str()]);
        let mut at = Some(from.as_str());
        while let Some(name) = at {
            if !seen.insert(name) {
                issues.push(
                    file,
                    "release.promote_from",
                    format!("`{from}` leads back to `{}`: a promotion cycle", env.name),
                );
                break;
            }
            at = envs.get(name).and_then(|e| e.release.promote_from.as_deref());
        }
    }
}
