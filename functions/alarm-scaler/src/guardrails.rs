//! The scaling decision: every guardrail a pure function of the situation, each with its verdict.

// De-duplication and concurrency are not here: they are one conditional write in the guard table
// (a transition claimed once, a target locked once), which no read-then-decide can replace.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use platform_core::config::{Scaling, TradingHours};
use serde::{Deserialize, Serialize};

use crate::alarm::{AlarmState, Direction};

pub use platform_core::capacity::{AUTOSCALER_TAGS, Capacity, PastAction, in_trading_hours};

/// Everything the decision needs, gathered before it is taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Situation {
    pub now: DateTime<Utc>,
    pub state: AlarmState,
    /// When the alarm entered its state (stabilisation counts from here).
    pub since: DateTime<Utc>,
    /// What the alarm asks for in ALARM.
    pub direction: Direction,
    pub current: Capacity,
    /// The environment's configured desired size: where `OK` transitions head back to.
    pub baseline: u32,
    pub policy: Scaling,
    pub trading_hours: TradingHours,
    /// Newest last.
    pub history: Vec<PastAction>,
    pub group_tags: BTreeMap<String, String>,
    /// Nodes the running pods need, when the cluster says (never scale below it).
    pub pods_need: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guardrail {
    AlarmState,
    Autoscaler,
    TradingHours,
    Cooldown,
    Flapping,
    Stabilisation,
    Bounds,
    MaxStep,
    PodsNeed,
    DryRun,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub guardrail: Guardrail,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Outcome {
    /// Change the desired size (and raise or lower min/max with it when needed).
    Scale { direction: Direction, from: u32, to: u32, dry_run: bool },
    /// Nothing to do, and why; `escalate` when people must look.
    Refuse { guardrail: Guardrail, reason: String, escalate: bool },
    /// Not yet: ask again at `until` (scale-in stabilisation).
    Defer { guardrail: Guardrail, reason: String, until: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// Every guardrail consulted, in order, up to the one that stopped the action.
    pub verdicts: Vec<Verdict>,
}

struct Trail(Vec<Verdict>);

impl Trail {
    fn pass(&mut self, guardrail: Guardrail, detail: impl Into<String>) {
        self.0.push(Verdict { guardrail, passed: true, detail: detail.into() });
    }

    fn refuse(mut self, guardrail: Guardrail, reason: String, escalate: bool) -> Decision {
        self.0.push(Verdict { guardrail, passed: false, detail: reason.clone() });
        Decision { outcome: Outcome::Refuse { guardrail, reason, escalate }, verdicts: self.0 }
    }
}

/// Direction changes among the actions inside the window ending at `now`.
fn reversals(history: &[PastAction], now: DateTime<Utc>, window: Duration) -> u32 {
    let recent: Vec<Direction> = history.iter().filter(|a| now - a.at <= window).map(|a| a.direction).collect();
    recent.windows(2).filter(|w| w[0] != w[1]).count() as u32
}

pub fn decide(s: &Situation) -> Decision {
    let mut trail = Trail(Vec::new());
    let p = &s.policy;

    // 1. What the transition asks for: ALARM pushes the alarm's way, OK on a scale-out alarm
    //    heads back to the baseline, anything else asks for nothing.
    let (direction, toward_baseline) = match (s.state, s.direction) {
        (AlarmState::Alarm, d) => (d, false),
        (AlarmState::Ok, Direction::Out) if s.current.desired > s.baseline => (Direction::In, true),
        (AlarmState::Ok, _) => {
            return trail.refuse(
                Guardrail::AlarmState,
                format!("back to OK at {} nodes (baseline {}): nothing to undo", s.current.desired, s.baseline),
                false,
            );
        }
        (AlarmState::InsufficientData, _) => {
            return trail.refuse(Guardrail::AlarmState, "INSUFFICIENT_DATA asks for no action".into(), false);
        }
    };
    trail.pass(
        Guardrail::AlarmState,
        if toward_baseline {
            format!("OK: back toward the baseline of {}", s.baseline)
        } else {
            format!("ALARM: scale {direction:?}").to_lowercase()
        },
    );

    // 2. Another autoscaler owns the group.
    if let Some((tag, owner)) = AUTOSCALER_TAGS.iter().find(|(tag, _)| s.group_tags.contains_key(*tag)) {
        return trail.refuse(
            Guardrail::Autoscaler,
            format!("the group is managed by {owner} (tag {tag}): not touching it"),
            true,
        );
    }
    trail.pass(Guardrail::Autoscaler, "no Cluster Autoscaler or Karpenter tags");

    // 3. No scale-in while the market is open.
    if direction == Direction::In && in_trading_hours(&s.trading_hours, s.now) {
        let local = s.now.with_timezone(&s.trading_hours.time_zone);
        return trail.refuse(
            Guardrail::TradingHours,
            format!(
                "scale-in refused inside trading hours ({} {}-{} {}, now {})",
                s.trading_hours.days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","),
                s.trading_hours.open.format("%H:%M"),
                s.trading_hours.close.format("%H:%M"),
                s.trading_hours.time_zone,
                local.format("%a %H:%M")
            ),
            false,
        );
    }
    trail.pass(
        Guardrail::TradingHours,
        if direction == Direction::In { "market closed" } else { "scale-out is always allowed" },
    );

    // 4. Cooldowns: scale-out after a scale-out; scale-in after any action.
    let last = |d: Option<Direction>| s.history.iter().rev().find(|a| d.is_none_or(|d| a.direction == d));
    let (cooldown, since_what) = match direction {
        Direction::Out => (p.scale_out_cooldown_seconds, last(Some(Direction::Out))),
        Direction::In => (p.scale_in_cooldown_seconds, last(None)),
    };
    if let Some(prev) = since_what {
        let elapsed = (s.now - prev.at).num_seconds();
        if elapsed < i64::from(cooldown) {
            return trail.refuse(
                Guardrail::Cooldown,
                format!(
                    "last scale-{} {elapsed}s ago, cooldown {cooldown}s",
                    format!("{:?}", prev.direction).to_lowercase()
                ),
                false,
            );
        }
    }
    trail.pass(Guardrail::Cooldown, format!("{cooldown}s cooldown clear"));

    // 5. Flapping: too many reversals in the window means the alarms disagree; people decide.
    let window = Duration::seconds(i64::from(p.flap_window_seconds));
    let mut flips = reversals(&s.history, s.now, window);
    if s.history.last().is_some_and(|a| a.direction != direction && s.now - a.at <= window) {
        flips += 1;
    }
    if flips >= p.flap_limit {
        return trail.refuse(
            Guardrail::Flapping,
            format!(
                "{flips} reversals in {}s (limit {}): stopped acting, escalating",
                p.flap_window_seconds, p.flap_limit
            ),
            true,
        );
    }
    trail.pass(Guardrail::Flapping, format!("{flips} reversal(s) in the window, limit {}", p.flap_limit));

    // 6. Scale-in waits for the condition to hold.
    if direction == Direction::In {
        let held = s.now - s.since;
        let needed = Duration::seconds(i64::from(p.scale_in_stabilisation_seconds));
        if held < needed {
            let reason =
                format!("low for {}s of the {}s stabilisation", held.num_seconds().max(0), needed.num_seconds());
            trail.0.push(Verdict { guardrail: Guardrail::Stabilisation, passed: false, detail: reason.clone() });
            return Decision {
                outcome: Outcome::Defer { guardrail: Guardrail::Stabilisation, reason, until: s.since + needed },
                verdicts: trail.0,
            };
        }
        trail.pass(Guardrail::Stabilisation, format!("held for {}s", held.num_seconds()));
    }

    // 7. The size: one step (the policy's), never past max_step, within the policy's bounds.
    let from = s.current.desired;
    let step = p.max_step.max(1).min(step_size(p, from));
    let wanted = match direction {
        Direction::Out => from.saturating_add(step),
        Direction::In if toward_baseline => from.saturating_sub(step).max(s.baseline),
        Direction::In => from.saturating_sub(step),
    };
    trail.pass(Guardrail::MaxStep, format!("step {step} (max_step {})", p.max_step));
    let mut to = wanted.clamp(p.min_size, p.max_size);
    if to == from {
        let bound = if direction == Direction::Out { p.max_size } else { p.min_size };
        return trail.refuse(
            Guardrail::Bounds,
            format!("already at the policy's {} of {bound}", if direction == Direction::Out { "max" } else { "min" }),
            direction == Direction::Out,
        );
    }
    trail.pass(Guardrail::Bounds, format!("{to} within {}..={}", p.min_size, p.max_size));

    // 8. Never below what the running pods need.
    if direction == Direction::In {
        match s.pods_need {
            Some(need) if need >= from => {
                return trail.refuse(
                    Guardrail::PodsNeed,
                    format!("the pods need {need} node(s); {from} running"),
                    false,
                );
            }
            Some(need) => {
                to = to.max(need);
                trail.pass(Guardrail::PodsNeed, format!("pods need {need}"));
            }
            None => trail.pass(Guardrail::PodsNeed, "pods' needs not reported"),
        }
    }

    trail.pass(Guardrail::DryRun, if p.dry_run { "dry run: decide and report only" } else { "live" });
    Decision { outcome: Outcome::Scale { direction, from, to, dry_run: p.dry_run }, verdicts: trail.0 }
}

/// The policy's step for a group of `current` nodes: absolute, or a percentage (at least one node).
fn step_size(p: &Scaling, current: u32) -> u32 {
    match p.step_percent {
        Some(pct) => ((u64::from(current) * u64::from(pct)).div_ceil(100)).max(1) as u32,
        None => p.step.max(1),
    }
}
