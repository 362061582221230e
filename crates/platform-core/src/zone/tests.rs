//! MarketZone against chrono-tz, the zone type it replaced: same offsets at every transition, same local-time answers around them.

use chrono::{DateTime, Duration, MappedLocalTime, NaiveDateTime, Offset, TimeZone, Utc};

use super::*;

/// Market zones, plus the awkward ones: half-hour and 45-minute offsets, southern summers, a
/// zone that dropped DST, one with a 30-minute DST step.
const ZONES: &[&str] = &[
    "Europe/London",
    "America/New_York",
    "America/Chicago",
    "Asia/Tokyo",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Europe/Berlin",
    "Europe/Zurich",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "UTC",
];

fn both(name: &str) -> (MarketZone, chrono_tz::Tz) {
    (MarketZone::get(name).expect(name), name.parse().expect(name))
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("instant")
}

/// Every transition from 1990 to 2037, a second either side, and a coarse grid between.
#[test]
fn offsets_agree_with_chrono_tz_around_every_transition() {
    let (from, until) = (utc("1990-01-01T00:00:00Z"), utc("2037-12-31T00:00:00Z"));
    let mut transitions = 0;
    for name in ZONES {
        let (ours, theirs) = both(name);
        let start = jiff::Timestamp::from_second(from.timestamp()).expect("start");
        let mut instants: Vec<i64> = Vec::new();
        for t in ours.0.following(start).take_while(|t| t.timestamp().as_second() < until.timestamp()) {
            let s = t.timestamp().as_second();
            instants.extend([s - 1, s, s + 1]);
            transitions += 1;
        }
        instants.extend((from.timestamp()..until.timestamp()).step_by(7 * 3600 + 13 * 60));
        for s in instants {
            let at = DateTime::from_timestamp(s, 0).expect("instant").naive_utc();
            assert_eq!(
                ours.offset_from_utc_datetime(&at).fix(),
                theirs.offset_from_utc_datetime(&at).fix(),
                "{name} at {at} UTC"
            );
        }
    }
    assert!(transitions > 500, "the sweep crossed transitions: {transitions}");
}

/// Every quarter hour for three hours either side of each transition's wall-clock time: the
/// same single, repeated (both offsets, earlier first) or skipped answer.
#[test]
fn local_times_agree_with_chrono_tz_in_gaps_and_folds() {
    let shape = |r: MappedLocalTime<FixedOffset>| match r {
        MappedLocalTime::Single(o) => (1, Some(o), None),
        MappedLocalTime::Ambiguous(a, b) => (2, Some(a), Some(b)),
        MappedLocalTime::None => (0, None, None),
    };
    let (mut gaps, mut folds) = (0, 0);
    for name in ZONES {
        let (ours, theirs) = both(name);
        let start = jiff::Timestamp::from_second(utc("2000-01-01T00:00:00Z").timestamp()).expect("start");
        for t in ours.0.following(start).take(60) {
            let wall: NaiveDateTime =
                DateTime::from_timestamp(t.timestamp().as_second() + i64::from(t.offset().seconds()), 0)
                    .expect("instant")
                    .naive_utc();
            for quarter in -12..=12 {
                let local = wall + Duration::minutes(15 * quarter);
                let a = shape(ours.offset_from_local_datetime(&local).map(|o| o.fix()));
                let b = shape(theirs.offset_from_local_datetime(&local).map(|o| o.fix()));
                assert_eq!(a, b, "{name} at local {local}");
                gaps += usize::from(a.0 == 0);
                folds += usize::from(a.0 == 2);
            }
        }
    }
    assert!(gaps > 100 && folds > 100, "the sweep met skipped ({gaps}) and repeated ({folds}) local times");
}

#[test]
fn a_zone_round_trips_by_name_and_an_unknown_name_is_refused_by_name() {
    let london: MarketZone = "Europe/London".parse().expect("zone");
    assert_eq!(london.to_string(), "Europe/London");
    assert_eq!(serde_json::to_string(&london).expect("json"), r#""Europe/London""#);
    let back: MarketZone = serde_json::from_str(r#""Europe/London""#).expect("zone");
    assert_eq!(back, london);
    assert_ne!(MarketZone::get("Europe/Paris").expect("paris"), london);

    let err = MarketZone::get("Europe/Londres").expect_err("no such zone");
    assert!(err.to_string().contains("`Europe/Londres`"), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "jiff's error is kept");
    let err = serde_json::from_str::<MarketZone>(r#""Mars/Olympus_Mons""#).expect_err("no such zone");
    assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
}

#[test]
fn a_local_datetime_keeps_its_zone_and_formats_like_chrono_tz() {
    let (ours, theirs) = both("Europe/London");
    let at = utc("2026-07-01T07:30:00Z");
    let (a, b) = (at.with_timezone(&ours), at.with_timezone(&theirs));
    assert_eq!(a.format("%a %H:%M").to_string(), b.format("%a %H:%M").to_string());
    assert_eq!(a.to_rfc3339(), b.to_rfc3339());
    assert_eq!(a.timezone(), ours);
    assert_eq!(a.with_timezone(&Utc), at);
}

/// Far outside the database's years the answer is still an offset, never a panic.
#[test]
fn instants_past_the_databases_years_still_have_an_offset() {
    let ours = MarketZone::get("Europe/London").expect("zone");
    for at in [NaiveDateTime::MIN, NaiveDateTime::MAX] {
        let _ = ours.offset_from_utc_datetime(&at);
        let _ = ours.offset_from_local_datetime(&at);
    }
    let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
        .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
        .expect("leap second");
    assert_eq!(ours.offset_from_local_datetime(&leap).single().map(|o| o.fix()), Some(Utc.fix()));
}
