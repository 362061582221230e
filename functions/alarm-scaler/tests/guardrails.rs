//! The scaling decision, guardrail by guardrail: GIVEN a situation THEN this outcome and verdict.

use std::collections::BTreeMap;

use alarm_scaler::alarm::{AlarmState, Direction};
use alarm_scaler::guardrails::{
    Capacity, Decision, Guardrail, Outcome, PastAction, Situation, decide, in_trading_hours,
};
use chrono::{DateTime, Duration, NaiveTime, Utc, Weekday};
use platform_core::config::{Scaling, TradingHours};

/// Tuesday 2026-11-24 20:00 in London: the market is closed.
fn evening() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T20:00:00Z").expect("time").with_timezone(&Utc)
}

/// Tuesday 10:00 in London: the market is open.
fn trading() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").expect("time").with_timezone(&Utc)
}

fn policy() -> Scaling {
    Scaling {
        min_size: 1,
        max_size: 6,
        step: 1,
        step_percent: None,
        max_step: 2,
        scale_out_cooldown_seconds: 300,
        scale_in_cooldown_seconds: 900,
        scale_in_stabilisation_seconds: 600,
        flap_limit: 3,
        flap_window_seconds: 3600,
        dry_run: false,
        dry_run_targets: Vec::new(),
    }
}

fn hours() -> TradingHours {
    TradingHours {
        time_zone: "Europe/London".parse().expect("zone"),
        open: NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
        close: NaiveTime::from_hms_opt(16, 30, 0).expect("time"),
        days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        holidays: Vec::new(),
    }
}

/// A scale-out alarm firing now on a 1/2/4 nodegroup, nothing in the history.
fn base() -> Situation {
    Situation {
        now: evening(),
        state: AlarmState::Alarm,
        since: evening() - Duration::seconds(180),
        direction: Direction::Out,
        current: Capacity { min: 1, desired: 2, max: 4 },
        baseline: 2,
        policy: policy(),
        trading_hours: hours(),
        history: Vec::new(),
        group_tags: BTreeMap::new(),
        pods_need: None,
    }
}

fn scale(d: &Decision) -> Option<(u32, u32)> {
    match d.outcome {
        Outcome::Scale { from, to, .. } => Some((from, to)),
        _ => None,
    }
}

fn stopped_by(d: &Decision) -> Option<Guardrail> {
    match &d.outcome {
        Outcome::Refuse { guardrail, .. } | Outcome::Defer { guardrail, .. } => Some(*guardrail),
        Outcome::Scale { .. } => None,
    }
}

/// `seconds` before the evening the cases happen in.
fn ago(seconds: i64) -> DateTime<Utc> {
    evening() - Duration::seconds(seconds)
}

#[test]
fn the_table() {
    type Case = (&'static str, Box<dyn Fn(&mut Situation)>, Option<(u32, u32)>, Option<Guardrail>);
    let cases: Vec<Case> = vec![
        ("scale-out by one step", Box::new(|_| {}), Some((2, 3)), None),
        ("scale-out in trading hours is allowed", Box::new(|s| s.now = trading()), Some((2, 3)), None),
        (
            "percent step rounds up",
            Box::new(|s| {
                s.policy.step_percent = Some(50);
                s.current.desired = 3
            }),
            Some((3, 5)),
            None,
        ),
        ("max_step caps a large step", Box::new(|s| s.policy.step = 5), Some((2, 4)), None),
        ("clamped to the policy max", Box::new(|s| s.current.desired = 5), Some((5, 6)), None),
        ("at the max: refused and escalated", Box::new(|s| s.current.desired = 6), None, Some(Guardrail::Bounds)),
        (
            "scale-out cooldown",
            Box::new(|s| s.history = vec![PastAction { at: ago(120), direction: Direction::Out }]),
            None,
            Some(Guardrail::Cooldown),
        ),
        (
            "cooldown over",
            Box::new(|s| s.history = vec![PastAction { at: ago(400), direction: Direction::Out }]),
            Some((2, 3)),
            None,
        ),
        (
            "Cluster Autoscaler owns it",
            Box::new(|s| {
                s.group_tags.insert("k8s.io/cluster-autoscaler/enabled".into(), "true".into());
            }),
            None,
            Some(Guardrail::Autoscaler),
        ),
        (
            "Karpenter owns it",
            Box::new(|s| {
                s.group_tags.insert("karpenter.sh/nodepool".into(), "default".into());
            }),
            None,
            Some(Guardrail::Autoscaler),
        ),
        ("insufficient data", Box::new(|s| s.state = AlarmState::InsufficientData), None, Some(Guardrail::AlarmState)),
        (
            "scale-in inside trading hours",
            Box::new(|s| {
                s.direction = Direction::In;
                s.now = trading();
                s.since = trading() - Duration::hours(1)
            }),
            None,
            Some(Guardrail::TradingHours),
        ),
        (
            "scale-in waits for stabilisation",
            Box::new(|s| {
                s.direction = Direction::In;
                s.since = ago(60)
            }),
            None,
            Some(Guardrail::Stabilisation),
        ),
        (
            "scale-in after stabilisation",
            Box::new(|s| {
                s.direction = Direction::In;
                s.since = ago(700);
                s.current.desired = 3
            }),
            Some((3, 2)),
            None,
        ),
        (
            "scale-in cooldown counts any action",
            Box::new(|s| {
                s.direction = Direction::In;
                s.since = ago(700);
                s.history = vec![PastAction { at: ago(600), direction: Direction::Out }]
            }),
            None,
            Some(Guardrail::Cooldown),
        ),
        (
            "scale-in at the policy min",
            Box::new(|s| {
                s.direction = Direction::In;
                s.since = ago(700);
                s.current.desired = 1
            }),
            None,
            Some(Guardrail::Bounds),
        ),
        (
            "pods need every node",
            Box::new(|s| {
                s.direction = Direction::In;
                s.since = ago(700);
                s.current.desired = 3;
                s.pods_need = Some(3)
            }),
            None,
            Some(Guardrail::PodsNeed),
        ),
        (
            "pods need limits the step",
            Box::new(|s| {
                s.direction = Direction::In;
                s.since = ago(700);
                s.current.desired = 4;
                s.policy.step = 2;
                s.pods_need = Some(3)
            }),
            Some((4, 3)),
            None,
        ),
        (
            "OK heads back to the baseline",
            Box::new(|s| {
                s.state = AlarmState::Ok;
                s.since = ago(700);
                s.current.desired = 4
            }),
            Some((4, 3)),
            None,
        ),
        (
            "OK at the baseline: nothing to undo",
            Box::new(|s| s.state = AlarmState::Ok),
            None,
            Some(Guardrail::AlarmState),
        ),
        (
            "OK never goes below the baseline",
            Box::new(|s| {
                s.state = AlarmState::Ok;
                s.since = ago(700);
                s.current.desired = 3;
                s.policy.step = 2
            }),
            Some((3, 2)),
            None,
        ),
        (
            "flapping stops acting",
            Box::new(|s| {
                s.history = vec![
                    PastAction { at: ago(3000), direction: Direction::Out },
                    PastAction { at: ago(2400), direction: Direction::In },
                    PastAction { at: ago(1800), direction: Direction::Out },
                    PastAction { at: ago(1000), direction: Direction::In },
                ]
            }),
            None,
            Some(Guardrail::Flapping),
        ),
        (
            "old reversals do not count",
            Box::new(|s| {
                s.history = vec![
                    PastAction { at: ago(9000), direction: Direction::Out },
                    PastAction { at: ago(8000), direction: Direction::In },
                    PastAction { at: ago(7000), direction: Direction::Out },
                    PastAction { at: ago(4000), direction: Direction::In },
                ]
            }),
            Some((2, 3)),
            None,
        ),
    ];
    for (name, change, scaled, stopped) in cases {
        let mut s = base();
        change(&mut s);
        let d = decide(&s);
        assert_eq!((scale(&d), stopped_by(&d)), (scaled, stopped), "{name}: {d:#?}");
        let last = d.verdicts.last().expect("at least one verdict");
        assert_eq!(last.passed, stopped.is_none(), "{name}: the last verdict says what stopped it");
    }
}

#[test]
fn dry_run_decides_fully_but_marks_the_action() {
    let mut s = base();
    s.policy.dry_run = true;
    let d = decide(&s);
    assert_eq!(d.outcome, Outcome::Scale { direction: Direction::Out, from: 2, to: 3, dry_run: true });
    assert!(d.verdicts.iter().any(|v| v.guardrail == Guardrail::DryRun && v.detail.contains("dry run")));
}

#[test]
fn refusals_say_why_and_who_must_look() {
    let mut s = base();
    s.direction = Direction::In;
    s.now = trading();
    match decide(&s).outcome {
        Outcome::Refuse { guardrail: Guardrail::TradingHours, reason, escalate: false } => {
            assert!(reason.contains("08:00-16:30 Europe/London") && reason.contains("Tue 10:00"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    s.group_tags.insert("karpenter.sh/discovery".into(), "abc".into());
    assert!(matches!(decide(&s).outcome, Outcome::Refuse { guardrail: Guardrail::Autoscaler, escalate: true, .. }));
}

#[test]
fn trading_hours_follow_the_market_time_zone() {
    let h = hours();
    let at = |t: &str| DateTime::parse_from_rfc3339(t).expect("time").with_timezone(&Utc);
    assert!(in_trading_hours(&h, at("2026-11-24T08:00:00Z")), "08:00 GMT in winter");
    assert!(!in_trading_hours(&h, at("2026-11-24T16:30:00Z")), "the close is exclusive");
    assert!(in_trading_hours(&h, at("2026-07-07T07:30:00Z")), "07:30 UTC is 08:30 in London in summer");
    assert!(!in_trading_hours(&h, at("2026-07-07T15:45:00Z")), "16:45 in London in summer: closed");
    assert!(!in_trading_hours(&h, at("2026-11-28T10:00:00Z")), "Saturday");
}
