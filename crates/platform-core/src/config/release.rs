//! How a release reaches an environment's fleet: waves, bake, approval, promotion, freeze and leases (`[release]`).

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString};

/// An environment's `[release]`; absent: a canary of one account, then the rest ten at a time,
/// a 10-minute bake, no approval, no promotion rule, waiting out trading hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReleasePolicy {
    /// In order; the first is the canary and the last takes every account left (`rest = true`).
    pub waves: Vec<Wave>,
    /// Minutes a wave's accounts are watched after it, unless the wave says otherwise.
    pub bake_minutes: u32,
    /// How often the bake looks at the wave's alarms.
    pub bake_check_seconds: u32,
    /// A plan that changes something waits for `platform-ops release approve`.
    pub approval: bool,
    /// An approval not given within this is a rejection.
    pub approval_timeout_minutes: u32,
    /// The environment a release must have succeeded in first (prod: staging).
    pub promote_from: Option<String>,
    /// A release asked for inside trading hours, or estimated to run into them.
    pub freeze: FreezeAction,
    /// The estimate of one account's deploy, for "would run into the trading session".
    pub account_minutes: u32,
    /// A release for an account another release holds.
    pub busy: BusyAction,
    /// How long a release waits for an account's lease before it gives up.
    pub lease_wait_minutes: u32,
}

impl ReleasePolicy {
    /// Whether a release must pass anything here before it starts: a promotion rule, an
    /// approval or a freeze. Where it must, a release for one account passes them too.
    pub fn has_gates(&self) -> bool {
        self.promote_from.is_some() || self.approval || self.freeze != FreezeAction::Off
    }
}

impl Default for ReleasePolicy {
    fn default() -> Self {
        ReleasePolicy {
            waves: vec![
                Wave { name: "canary".into(), count: Some(1), ..Wave::default() },
                Wave { name: "rest".into(), rest: true, concurrency: Some(10), ..Wave::default() },
            ],
            bake_minutes: 10,
            bake_check_seconds: 60,
            approval: false,
            approval_timeout_minutes: 240,
            promote_from: None,
            freeze: FreezeAction::Wait,
            account_minutes: 10,
            busy: BusyAction::Wait,
            lease_wait_minutes: 30,
        }
    }
}

/// One wave: exactly one of `clients`, `count`, `percent` or `rest` says which accounts it takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Wave {
    pub name: String,
    /// These clients' accounts (a canary on accounts that can take it, ABC's own first).
    pub clients: Vec<String>,
    /// This many accounts not yet in a wave.
    pub count: Option<u32>,
    /// This share of the whole fleet, rounded up (at least one account).
    pub percent: Option<f64>,
    /// Every account not yet in a wave.
    pub rest: bool,
    /// Accounts deployed at once; absent: all of the wave's.
    pub concurrency: Option<u32>,
    /// Accounts that may fail (each rolled back on its own) without stopping the fleet.
    pub tolerated_failures: u32,
    /// The same as a share of the wave's accounts; the larger of the two applies.
    pub tolerated_failure_percent: Option<f64>,
    /// This wave's bake; absent: `[release] bake_minutes`.
    pub bake_minutes: Option<u32>,
}

impl Wave {
    /// How many of `size` accounts may fail without stopping the fleet.
    pub fn tolerated(&self, size: usize) -> usize {
        let by_share = self.tolerated_failure_percent.map_or(0, |p| ((size as f64) * p / 100.0).floor() as usize);
        (self.tolerated_failures as usize).max(by_share)
    }
}

/// What a release asked for inside the trading session does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, EnumString)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum FreezeAction {
    /// Waits until the session closes, then starts.
    Wait,
    /// Refused, with the session named.
    Refuse,
    /// No freeze: nobody trades on this environment (dev).
    Off,
}

/// What a release for an account another release holds does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, EnumString)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum BusyAction {
    /// Waits (up to `lease_wait_minutes`) for the holder to finish.
    Wait,
    /// Refused, with the holder named.
    Refuse,
}
