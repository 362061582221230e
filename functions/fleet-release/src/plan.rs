//! The fleet plan: which accounts change and how, which are skipped and why, and the waves they go out in.

use std::collections::BTreeMap;

use platform_core::config::{ReleasePolicy, Wave};
use platform_core::platform_stack::ParameterChange;

/// Step Functions' inline Map runs at most this many iterations at once.
pub const MAX_CONCURRENCY: u32 = 40;
use serde::{Deserialize, Serialize};

/// What the ledger says of one account of the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    pub account: String,
    /// The client the account serves (vending's `/client`); absent for accounts vended before clients.
    pub client: Option<String>,
    /// The release it runs, with its tags by workload; absent: never deployed.
    pub current: Option<Running>,
    /// Its platform StackSet instance against config (the plan step reads it; the ledger does not).
    #[serde(default)]
    pub infrastructure: Infrastructure,
}

/// An account's platform StackSet instance against what config wants of it: what its deploy
/// will do to the infrastructure before any workload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "instance", rename_all = "kebab-case")]
pub enum Infrastructure {
    /// It has config's parameters.
    #[default]
    Current,
    /// There is none yet: the deploy creates it.
    Missing,
    /// These parameters differ: the deploy re-applies the instance with config's.
    Differs { parameters: Vec<ParameterChange> },
    /// The account has no client recorded, so its domain (a parameter) is unknown: not compared.
    Unknown,
}

impl Infrastructure {
    /// Whether the deploy changes the account's infrastructure.
    pub fn changes(&self) -> bool {
        matches!(self, Infrastructure::Missing | Infrastructure::Differs { .. })
    }
}

/// An account's current release as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running {
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

/// One workload whose image changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageChange {
    pub workload: String,
    pub from: Option<String>,
    pub to: String,
}

/// An account the release changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChange {
    pub account: String,
    pub client: Option<String>,
    /// What a rollback of this account deploys (its release before this one).
    pub previous: Option<String>,
    pub images: Vec<ImageChange>,
    pub infrastructure: Infrastructure,
}

/// Why an account of the fleet is left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum SkipReason {
    /// It already runs exactly these images on infrastructure config does not change.
    AlreadyCurrent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub account: String,
    pub client: Option<String>,
    pub reason: SkipReason,
}

/// One account as a wave carries it through the state machine: small, since 200 of them travel
/// in the execution's state (256 KiB); the images that change are in the published plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveAccount {
    pub account: String,
    pub client: Option<String>,
    pub previous: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WavePlan {
    pub name: String,
    pub accounts: Vec<WaveAccount>,
    /// Accounts deployed at once (the Map's MaxConcurrency).
    pub concurrency: u32,
    /// Accounts that may fail without stopping the fleet (the Map's ToleratedFailureCount).
    pub tolerated: u32,
    pub bake_seconds: u32,
    /// How many alarm checks the bake makes, `bake_check_seconds` apart.
    pub checks: u32,
    pub check_seconds: u32,
}

/// What `plan` decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub changes: Vec<AccountChange>,
    pub skipped: Vec<Skipped>,
    pub waves: Vec<WavePlan>,
    /// What a person reading the plan should know (a canary client not in the fleet, a wave left empty).
    pub notes: Vec<String>,
}

/// The accounts the release changes and the waves they go out in. `tags` is the release's tag
/// for every workload of the catalogue.
pub fn plan(policy: &ReleasePolicy, tags: &BTreeMap<String, String>, fleet: Vec<AccountFacts>) -> Planned {
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    for facts in fleet {
        let images: Vec<ImageChange> = tags
            .iter()
            .filter_map(|(workload, to)| {
                let from = facts.current.as_ref().and_then(|c| c.tags.get(workload)).cloned();
                (from.as_deref() != Some(to.as_str())).then(|| ImageChange {
                    workload: workload.clone(),
                    from,
                    to: to.clone(),
                })
            })
            .collect();
        if images.is_empty() && facts.current.is_some() && !facts.infrastructure.changes() {
            skipped.push(Skipped { account: facts.account, client: facts.client, reason: SkipReason::AlreadyCurrent });
            continue;
        }
        changes.push(AccountChange {
            previous: facts.current.map(|c| c.name),
            account: facts.account,
            client: facts.client,
            images,
            infrastructure: facts.infrastructure,
        });
    }
    // Stable order: by client, then account, so a re-plan makes the same waves.
    changes.sort_by(|a, b| (&a.client, &a.account).cmp(&(&b.client, &b.account)));
    let (waves, notes) = waves(policy, &changes);
    Planned { changes, skipped, waves, notes }
}

fn waves(policy: &ReleasePolicy, changes: &[AccountChange]) -> (Vec<WavePlan>, Vec<String>) {
    let total = changes.len();
    let mut left: Vec<&AccountChange> = changes.iter().collect();
    let mut notes = Vec::new();
    let mut out = Vec::new();
    for (i, wave) in policy.waves.iter().enumerate() {
        let mut taken: Vec<&AccountChange> = if !wave.clients.is_empty() {
            for client in &wave.clients {
                if !left.iter().any(|c| c.client.as_deref() == Some(client.as_str())) {
                    notes.push(format!("wave {}: client `{client}` has no account to change", wave.name));
                }
            }
            let (named, rest): (Vec<_>, Vec<_>) =
                left.into_iter().partition(|c| c.client.as_ref().is_some_and(|n| wave.clients.contains(n)));
            left = rest;
            named
        } else {
            let n = match (wave.count, wave.percent, wave.rest) {
                (Some(n), _, _) => n as usize,
                (_, Some(p), _) => ((total as f64) * p / 100.0).ceil().max(1.0) as usize,
                _ => left.len(),
            };
            left.drain(..n.min(left.len())).collect()
        };
        // A canary is never skipped for want of its named clients: one account stands in.
        if i == 0 && taken.is_empty() && !left.is_empty() {
            taken.push(left.remove(0));
            notes.push(format!(
                "wave {}: none of its clients changes, so {} is the canary",
                wave.name, taken[0].account
            ));
        }
        if taken.is_empty() {
            if total > 0 {
                notes.push(format!("wave {}: no account left for it", wave.name));
            }
            continue;
        }
        out.push(wave_plan(policy, wave, &taken));
    }
    (out, notes)
}

fn wave_plan(policy: &ReleasePolicy, wave: &Wave, taken: &[&AccountChange]) -> WavePlan {
    let size = taken.len();
    let bake_seconds = wave.bake_minutes.unwrap_or(policy.bake_minutes) * 60;
    let check_seconds = policy.bake_check_seconds.max(1);
    WavePlan {
        name: wave.name.clone(),
        accounts: taken
            .iter()
            .map(|c| WaveAccount { account: c.account.clone(), client: c.client.clone(), previous: c.previous.clone() })
            .collect(),
        // Absent: the whole wave, as far as an inline Map runs at once.
        concurrency: wave.concurrency.unwrap_or(MAX_CONCURRENCY).min(size as u32).max(1),
        tolerated: wave.tolerated(size) as u32,
        bake_seconds,
        checks: bake_seconds.div_ceil(check_seconds),
        check_seconds,
    }
}

/// The fleet's length if every account takes `account_minutes`: each wave's rounds of
/// `concurrency` accounts, then its bake. What the freeze compares with the next session.
pub fn estimate_minutes(policy: &ReleasePolicy, waves: &[WavePlan]) -> u32 {
    waves
        .iter()
        .map(|w| {
            (w.accounts.len() as u32).div_ceil(w.concurrency.max(1)) * policy.account_minutes + w.bake_seconds / 60
        })
        .sum()
}
