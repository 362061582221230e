//! The gates: promotion from the environment before, and the trading-session freeze with its emergency pass.

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use fleet_release::gate::{FleetOutcome, Freeze, GateError, Promotion, freeze, promotion};
use platform_core::config::{FreezeAction, TradingHours};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("instant")
}

fn london() -> TradingHours {
    TradingHours {
        time_zone: "Europe/London".parse().expect("zone"),
        open: NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
        close: NaiveTime::from_hms_opt(16, 30, 0).expect("time"),
        days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        holidays: vec!["2026-12-25".parse().expect("date")],
    }
}

fn staged(succeeded: bool) -> FleetOutcome {
    FleetOutcome {
        release: "2026.12.1".into(),
        succeeded,
        execution: "staging-1".into(),
        finished_at: at("2026-12-01T20:00:00Z"),
        deployed: 8,
        failed: 0,
    }
}

#[test]
fn prod_gets_only_what_staging_had_unless_forced_with_a_reason() {
    assert_eq!(promotion("2026.12.1", None, None, None), Ok(Promotion::NotRequired));
    assert_eq!(
        promotion("2026.12.1", Some("staging"), None, None),
        Err(GateError::NotPromoted { release: "2026.12.1".into(), from: "staging".into() })
    );
    assert!(matches!(
        promotion("2026.12.1", Some("staging"), Some(&staged(false)), None),
        Err(GateError::NotPromoted { .. })
    ));
    assert!(matches!(
        promotion("2026.12.1", Some("staging"), Some(&staged(true)), None),
        Ok(Promotion::Promoted { execution, .. }) if execution == "staging-1"
    ));
    assert!(matches!(
        promotion("2026.12.1", Some("staging"), None, Some("CVE-2026-1234 hotfix")),
        Ok(Promotion::Forced { reason, .. }) if reason == "CVE-2026-1234 hotfix"
    ));
    assert_eq!(promotion("2026.12.1", Some("staging"), None, Some("  ")), Err(GateError::NoReason));
}

#[test]
fn a_release_inside_or_into_the_session_waits_for_the_close_or_is_refused() {
    let hours = london();
    // Tuesday 10:00 London (UTC in winter): inside the session.
    let inside = at("2026-12-01T10:00:00Z");
    assert_eq!(
        freeze("r", FreezeAction::Wait, &hours, inside, 30, None),
        Ok(Freeze::Wait { until: at("2026-12-01T16:30:00Z"), open: at("2026-12-01T08:00:00Z") })
    );
    let refused = freeze("r", FreezeAction::Refuse, &hours, inside, 30, None).expect_err("refused");
    assert!(matches!(refused, GateError::Frozen { .. }));
    assert!(refused.to_string().contains("2026-12-01 08:00:00 UTC to 2026-12-01 16:30:00 UTC"), "{refused}");
    // 07:00, 90 minutes of work: it would run into the 08:00 open.
    assert!(matches!(
        freeze("r", FreezeAction::Wait, &hours, at("2026-12-01T07:00:00Z"), 90, None),
        Ok(Freeze::Wait { .. })
    ));
    // 06:00 for 90 minutes ends at 07:30: clear. So is the evening, a weekend and a holiday.
    for clear in ["2026-12-01T06:00:00Z", "2026-12-01T17:00:00Z", "2026-12-05T10:00:00Z", "2026-12-25T10:00:00Z"] {
        assert_eq!(freeze("r", FreezeAction::Refuse, &hours, at(clear), 90, None), Ok(Freeze::Clear), "{clear}");
    }
    assert_eq!(freeze("r", FreezeAction::Off, &hours, inside, 30, None), Ok(Freeze::Clear));
}

#[test]
fn an_emergency_passes_the_freeze_with_its_reason() {
    let passed = freeze("r", FreezeAction::Refuse, &london(), at("2026-12-01T10:00:00Z"), 30, Some("P1 INC-4411"));
    assert!(matches!(passed, Ok(Freeze::Emergency { reason, .. }) if reason == "P1 INC-4411"));
    assert_eq!(
        freeze("r", FreezeAction::Refuse, &london(), at("2026-12-01T10:00:00Z"), 30, Some("")),
        Err(GateError::NoReason)
    );
}
