//! Off-hours scaling: non-production nodegroups down outside working hours, back before the session opens.

// Through the alarm scaler's ports, guard table and audit: the same lock, the same autoscaler and
// trading-hours rules, the same trail.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use platform_core::capacity::{AUTOSCALER_TAGS, Capacity, in_trading_hours};
use platform_core::capacity::{AuditDecision, AuditRecord, Claim, GroupState, Groups, Guard};
use platform_core::capacity::{Direction, GroupStatus, Target};
use platform_core::config::{ConfigTree, Environment, TradingHours};
use platform_core::error::AwsError;
use platform_core::organization::AccountState;
use serde::{Deserialize, Serialize};

/// The tag by which a person holds a group's size against the schedule: it wins.
pub const OVERRIDE_TAG: &str = "abc-trading:off-hours";
/// The audit trail's name for this schedule (where the alarm name goes for alarms).
pub const AUDIT_SOURCE: &str = "schedule:off-hours";
/// How long a run may hold the target's lock.
const LOCK_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// From `wake_minutes_before_open` before the session opens until it closes, on trading days.
    Working,
    OffHours,
}

/// Where `at` falls for an environment's working hours (its trading session, in its time zone).
pub fn phase(hours: &TradingHours, wake_minutes_before_open: u32, at: DateTime<Utc>) -> Phase {
    let local = at.with_timezone(&hours.time_zone);
    let wake = Duration::minutes(i64::from(wake_minutes_before_open));
    // Today's window, and tomorrow's in case waking starts before midnight.
    let day = local.date_naive();
    let days: [NaiveDate; 2] = [day, day.succ_opt().unwrap_or(day)];
    let working = days.iter().any(|d| {
        use chrono::Datelike;
        if !hours.days.contains(&d.weekday()) {
            return false;
        }
        let (Some(open), Some(close)) = (
            hours.time_zone.from_local_datetime(&d.and_time(hours.open)).earliest(),
            hours.time_zone.from_local_datetime(&d.and_time(hours.close)).earliest(),
        ) else {
            return false;
        };
        open - wake <= local && local < close
    });
    if working { Phase::Working } else { Phase::OffHours }
}

/// How the schedule ended for one group.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Outcome {
    /// Resized.
    Scale,
    /// Already at the size the phase wants.
    Already,
    /// A rule stopped it (the action's `guardrail` says which).
    Refuse,
    /// It would have been resized, but the environment or the group is in dry run.
    DryRun,
    /// No nodegroup in the account (the platform is not there yet).
    Absent,
    /// The account could not be read or changed; counted, never dropped.
    Error,
}

impl From<AuditDecision> for Outcome {
    fn from(decision: AuditDecision) -> Self {
        match decision {
            AuditDecision::Scale => Outcome::Scale,
            AuditDecision::DryRun => Outcome::DryRun,
            AuditDecision::Refuse => Outcome::Refuse,
        }
    }
}

/// What the schedule did about one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub environment: String,
    pub account: String,
    pub target: Target,
    pub phase: Phase,
    pub outcome: Outcome,
    pub from: Option<u32>,
    pub to: u32,
    /// The rule that stopped it, when one did (`override`, `autoscaler`, `trading-hours`,
    /// `cooldown`, `busy`).
    pub guardrail: Option<String>,
    pub reason: String,
}

/// The size the group should have now, and the capacity to ask for.
fn wanted(env: &Environment, phase: Phase, off: u32, current: Capacity) -> Capacity {
    match phase {
        Phase::OffHours => Capacity { min: current.min.min(off), desired: off, max: current.max.max(off) },
        // Back to the configured floor and size.
        Phase::Working => {
            let to = env.nodegroup.desired_size;
            Capacity { min: env.nodegroup.min_size.min(to), desired: to, max: current.max.max(to) }
        }
    }
}

/// The rules before a change, in order; `Some((guardrail, reason))` stops it.
pub fn refusal(
    env: &Environment,
    phase: Phase,
    state: &GroupState,
    to: u32,
    last_action: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Option<(&'static str, String)> {
    if let Some(v) = state.tags.get(OVERRIDE_TAG) {
        return Some(("override", format!("the group is tagged {OVERRIDE_TAG}={v}: a person holds its size")));
    }
    if let Some((tag, owner)) = AUTOSCALER_TAGS.iter().find(|(tag, _)| state.tags.contains_key(*tag)) {
        return Some(("autoscaler", format!("{owner} owns the group ({tag})")));
    }
    let scale_in = to < state.capacity.desired;
    if scale_in && in_trading_hours(&env.trading_hours, at) {
        return Some(("trading-hours", "scale-in refused inside trading hours".to_string()));
    }
    if phase == Phase::OffHours
        && let Some(last) = last_action
        && at - last < Duration::seconds(i64::from(env.scaling.scale_in_cooldown_seconds))
    {
        // A recent remediation (say a scale-out for a night batch) is not undone by the schedule.
        return Some(("cooldown", format!("the group was scaled at {last}, inside the scale-in cooldown")));
    }
    if state.status != GroupStatus::Active {
        return Some(("busy", format!("the group is {}", state.status)));
    }
    None
}

/// Runs the schedule for every environment that has an off-hours size, on each of its accounts.
pub async fn run(
    tree: &ConfigTree,
    accounts: &[crate::ports::Account],
    groups: &dyn Groups,
    guard: &dyn Guard,
    at: DateTime<Utc>,
    owner: &str,
) -> Vec<Action> {
    let mut out = Vec::new();
    for env in tree.environments.values() {
        let Some(off) = env.schedules.off_hours_desired else { continue };
        let phase = phase(&env.trading_hours, env.schedules.wake_minutes_before_open, at);
        let target = Target::Nodegroup {
            cluster: tree.resource_prefix(&env.name),
            nodegroup: tree.organization.nodegroup_name(&env.name),
        };
        let members = accounts
            .iter()
            .filter(|a| a.state == AccountState::Active && a.ou.as_deref() == Some(env.organizational_unit.as_str()));
        for account in members {
            let action = match one(env, phase, off, &account.id, &target, groups, guard, at, owner).await {
                Ok(a) => a,
                // An account of the environment without the platform (yet): nothing to scale.
                Err(e) if e.class == platform_core::error::ErrorClass::NotFound => Action {
                    environment: env.name.clone(),
                    account: account.id.clone(),
                    target: target.clone(),
                    phase,
                    outcome: Outcome::Absent,
                    from: None,
                    to: off,
                    guardrail: None,
                    reason: format!("no nodegroup: {e}"),
                },
                Err(e) => Action {
                    environment: env.name.clone(),
                    account: account.id.clone(),
                    target: target.clone(),
                    phase,
                    outcome: Outcome::Error,
                    from: None,
                    to: off,
                    guardrail: None,
                    reason: e.to_string(),
                },
            };
            out.push(action);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn one(
    env: &Environment,
    phase: Phase,
    off: u32,
    account: &str,
    target: &Target,
    groups: &dyn Groups,
    guard: &dyn Guard,
    at: DateTime<Utc>,
    owner: &str,
) -> Result<Action, AwsError> {
    let state = groups.describe(account, target).await?;
    let to = wanted(env, phase, off, state.capacity);
    let mut action = Action {
        environment: env.name.clone(),
        account: account.to_string(),
        target: target.clone(),
        phase,
        outcome: Outcome::Already,
        from: Some(state.capacity.desired),
        to: to.desired,
        guardrail: None,
        reason: format!("already at {}", to.desired),
    };
    if state.capacity.desired == to.desired {
        return Ok(action);
    }
    let key = target.key(account);
    let last = guard.history(&key).await?.last().map(|a| a.at);
    let direction = if to.desired > state.capacity.desired { Direction::Out } else { Direction::In };
    let decision = if let Some((guardrail, reason)) = refusal(env, phase, &state, to.desired, last, at) {
        action.guardrail = Some(guardrail.to_string());
        action.reason = reason;
        AuditDecision::Refuse
    } else if env.scaling.dry_run || env.scaling.dry_run_targets.iter().any(|t| t == target.name()) {
        action.reason = format!("would scale {} -> {}", state.capacity.desired, to.desired);
        AuditDecision::DryRun
    } else if guard.lock_target(&key, owner, at, LOCK_SECONDS).await? == Claim::Taken {
        action.outcome = Outcome::Refuse;
        action.guardrail = Some("busy".into());
        action.reason = "another action holds the group's lock".into();
        return Ok(action);
    } else {
        // One token per group, phase and day: a repeated run is the same request to EKS.
        let token = format!("off-hours-{phase:?}-{}", at.format("%Y%m%d")).to_lowercase();
        let result = groups.resize(account, target, to, &token).await;
        guard.unlock_target(&key, owner).await?;
        result?;
        action.reason = format!("{:?}: {} -> {}", phase, state.capacity.desired, to.desired);
        AuditDecision::Scale
    };
    action.outcome = decision.into();
    guard
        .record(
            &key,
            &AuditRecord {
                at,
                alarm: AUDIT_SOURCE.into(),
                account: account.to_string(),
                target: target.clone(),
                decision,
                direction: Some(direction),
                from: state.capacity.desired,
                to: to.desired,
                guardrail: action.guardrail.clone(),
                reason: action.reason.clone(),
            },
        )
        .await?;
    Ok(action)
}

/// One off-hours run: how many groups ended each way, and each group's action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub scaled: usize,
    pub already: usize,
    pub refused: usize,
    pub dry_run: usize,
    pub absent: usize,
    pub errors: usize,
    pub actions: Vec<Action>,
}

impl From<Vec<Action>> for Run {
    fn from(actions: Vec<Action>) -> Self {
        let count = |o: Outcome| actions.iter().filter(|a| a.outcome == o).count();
        Run {
            scaled: count(Outcome::Scale),
            already: count(Outcome::Already),
            refused: count(Outcome::Refuse),
            dry_run: count(Outcome::DryRun),
            absent: count(Outcome::Absent),
            errors: count(Outcome::Error),
            actions,
        }
    }
}
