//! Trading sessions on the market's own calendar: whether one is open, when it closes, when the next one opens.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::config::TradingHours;

/// How far ahead a next session is looked for: a calendar whose next session is further away
/// than this has none worth waiting for (config validation requires a trading day anyway).
const HORIZON_DAYS: i64 = 31;

/// One trading session, as UTC instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub open: DateTime<Utc>,
    pub close: DateTime<Utc>,
}

impl Session {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.open <= at && at < self.close
    }
}

impl TradingHours {
    /// The session held on local `date`, if it is a trading day and not a holiday.
    pub fn session_on(&self, date: NaiveDate) -> Option<Session> {
        if !self.days.contains(&date.weekday()) || self.holidays.contains(&date) {
            return None;
        }
        let open = self.instant(date.and_time(self.open));
        let close = self.instant(date.and_time(self.close));
        (open < close).then_some(Session { open, close })
    }

    /// The session `at` falls in, if the market is open then.
    pub fn session_at(&self, at: DateTime<Utc>) -> Option<Session> {
        self.session_on(at.with_timezone(&self.time_zone).date_naive()).filter(|s| s.contains(at))
    }

    /// The session open at `at`, else the next one to open after it (within a month).
    pub fn next_session(&self, at: DateTime<Utc>) -> Option<Session> {
        let today = at.with_timezone(&self.time_zone).date_naive();
        (0..=HORIZON_DAYS)
            .filter_map(|d| today.checked_add_signed(Duration::days(d)))
            .filter_map(|date| self.session_on(date))
            .find(|s| s.close > at)
    }

    /// A local wall-clock time as UTC. In the autumn's repeated hour the first is taken; a time
    /// the spring skips is the instant the clocks jump to.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.time_zone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => {
                let later = local + Duration::hours(1);
                self.time_zone
                    .from_local_datetime(&later)
                    .earliest()
                    .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, Weekday};

    use super::*;

    fn london() -> TradingHours {
        TradingHours {
            time_zone: "Europe/London".parse().expect("zone"),
            open: NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
            close: NaiveTime::from_hms_opt(16, 30, 0).expect("time"),
            days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            holidays: vec![NaiveDate::from_ymd_opt(2026, 12, 25).expect("date")],
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn sessions_follow_the_market_time_zone_and_its_holidays() {
        let hours = london();
        // Summer: London is UTC+1, so 08:00 local is 07:00 UTC.
        let summer = hours.session_at(at("2026-07-01T07:30:00Z")).expect("open");
        assert_eq!(summer.open, at("2026-07-01T07:00:00Z"));
        assert_eq!(summer.close, at("2026-07-01T15:30:00Z"));
        assert!(hours.session_at(at("2026-07-01T06:59:59Z")).is_none());
        assert!(hours.session_at(at("2026-07-01T15:30:00Z")).is_none(), "the close is outside");
        // Christmas Day is a Friday and a holiday: the next session after Thursday's close is Monday's.
        assert!(hours.session_at(at("2026-12-25T10:00:00Z")).is_none());
        let next = hours.next_session(at("2026-12-24T17:00:00Z")).expect("next");
        assert_eq!(next.open, at("2026-12-28T08:00:00Z"));
    }

    #[test]
    fn the_next_session_is_the_open_one_when_inside_it() {
        let hours = london();
        let inside = at("2026-12-01T12:00:00Z");
        assert_eq!(hours.next_session(inside), hours.session_at(inside));
        assert_eq!(hours.next_session(at("2026-12-05T12:00:00Z")).expect("monday").open, at("2026-12-07T08:00:00Z"));
    }
}
