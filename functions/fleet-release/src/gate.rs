//! The gates before a wave starts: promotion from the environment before, and the trading-session freeze.

use chrono::{DateTime, Duration, Utc};
use platform_core::calendar::Session;
use platform_core::config::{FreezeAction, TradingHours};
use serde::{Deserialize, Serialize};

/// What the environment before says of the release (its fleet release's outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetOutcome {
    pub release: String,
    pub succeeded: bool,
    pub execution: String,
    pub finished_at: DateTime<Utc>,
    /// Accounts deployed, and those that failed within the waves' tolerance.
    pub deployed: usize,
    pub failed: usize,
}

/// How the promotion rule was met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Promotion {
    /// The environment promotes from nothing (dev, staging).
    NotRequired,
    /// It succeeded in `from` (that fleet release named).
    Promoted { from: String, execution: String, finished_at: DateTime<Utc> },
    /// Forced past the rule: audited and notified.
    Forced { from: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("release {release} never succeeded in {from}: prod only gets what {from} had (force it with a reason)")]
    NotPromoted { release: String, from: String },
    #[error(
        "release {release} refused: it would run {minutes} minutes from {at} into the trading session {} to {} (an emergency release passes with a reason)",
        .session.open, .session.close
    )]
    Frozen { release: String, at: DateTime<Utc>, minutes: u32, session: Session },
    #[error("a forced or emergency release needs a reason")]
    NoReason,
}

/// The promotion rule: the release succeeded in `from`, or a reason forces it.
pub fn promotion(
    release: &str,
    from: Option<&str>,
    outcome: Option<&FleetOutcome>,
    force: Option<&str>,
) -> Result<Promotion, GateError> {
    let Some(from) = from else { return Ok(Promotion::NotRequired) };
    match (outcome.filter(|o| o.succeeded), force) {
        (Some(o), _) => Ok(Promotion::Promoted {
            from: from.to_string(),
            execution: o.execution.clone(),
            finished_at: o.finished_at,
        }),
        (None, Some(reason)) if !reason.trim().is_empty() => {
            Ok(Promotion::Forced { from: from.to_string(), reason: reason.to_string() })
        }
        (None, Some(_)) => Err(GateError::NoReason),
        (None, None) => Err(GateError::NotPromoted { release: release.to_string(), from: from.to_string() }),
    }
}

/// What the freeze decided for work of `minutes` starting `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Freeze {
    /// Clear of every session (or the environment has no freeze).
    Clear,
    /// Inside, or running into, a session, and passed as an emergency: audited and notified.
    Emergency { reason: String, open: DateTime<Utc>, close: DateTime<Utc> },
    /// Waits for the session to close, then looks again.
    Wait { until: DateTime<Utc>, open: DateTime<Utc> },
}

pub fn freeze(
    release: &str,
    action: FreezeAction,
    hours: &TradingHours,
    at: DateTime<Utc>,
    minutes: u32,
    emergency: Option<&str>,
) -> Result<Freeze, GateError> {
    if action == FreezeAction::Off {
        return Ok(Freeze::Clear);
    }
    let end = at + Duration::minutes(i64::from(minutes));
    let Some(session) = hours.next_session(at).filter(|s| s.open < end) else { return Ok(Freeze::Clear) };
    match (emergency, action) {
        (Some(reason), _) if !reason.trim().is_empty() => {
            Ok(Freeze::Emergency { reason: reason.to_string(), open: session.open, close: session.close })
        }
        (Some(_), _) => Err(GateError::NoReason),
        (None, FreezeAction::Wait) => Ok(Freeze::Wait { until: session.close, open: session.open }),
        (None, _) => Err(GateError::Frozen { release: release.to_string(), at, minutes, session }),
    }
}
