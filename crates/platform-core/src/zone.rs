//! A market's IANA time zone, read from the tz database compiled into the binary as TZif bytes, for chrono.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike};
use jiff::tz::AmbiguousOffset;

/// An IANA time zone (`Europe/London`), usable wherever chrono takes a [`TimeZone`].
///
/// Why not chrono-tz: it compiles every zone's transitions into static tables of `&str`, about
/// 28,000 pointers the dynamic loader relocates (and 220 pages it copies) at every cold start of
/// every function that links the config model. jiff bundles the same database as one blob of
/// TZif bytes, parsed only for the zone a config names.
#[derive(Clone)]
pub struct MarketZone(jiff::tz::TimeZone);

/// A name the bundled tz database does not hold.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone `{name}` (expected an IANA name such as Europe/London)")]
pub struct UnknownZone {
    name: String,
    #[source]
    source: jiff::Error,
}

impl MarketZone {
    /// The zone named `name` in the bundled database (names compare ignoring ASCII case).
    pub fn get(name: &str) -> Result<MarketZone, UnknownZone> {
        jiff::tz::TimeZone::get(name).map(MarketZone).map_err(|source| UnknownZone { name: name.to_string(), source })
    }

    /// The zone's IANA name, as the database spells it (a zone from the database always has one).
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or_default()
    }

    fn offset(&self, seconds: i32) -> MarketOffset {
        // jiff's offsets are within ±25:59:59, chrono's within ±24h: a zone past a day is no zone on Earth.
        let fixed = FixedOffset::east_opt(seconds).unwrap_or_else(|| chrono::Utc.fix());
        MarketOffset { zone: self.clone(), fixed }
    }
}

impl fmt::Debug for MarketZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MarketZone").field(&self.name()).finish()
    }
}

impl fmt::Display for MarketZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for MarketZone {
    fn eq(&self, other: &MarketZone) -> bool {
        self.name() == other.name()
    }
}

impl Eq for MarketZone {}

impl FromStr for MarketZone {
    type Err = UnknownZone;

    fn from_str(name: &str) -> Result<MarketZone, UnknownZone> {
        MarketZone::get(name)
    }
}

impl serde::Serialize for MarketZone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for MarketZone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MarketZone, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        MarketZone::get(&name).map_err(serde::de::Error::custom)
    }
}

/// The offset a [`MarketZone`] has at one instant; it keeps its zone, as chrono's `DateTime` needs.
#[derive(Clone, PartialEq, Eq)]
pub struct MarketOffset {
    zone: MarketZone,
    fixed: FixedOffset,
}

impl Offset for MarketOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Debug for MarketOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.fixed, self.zone)
    }
}

impl fmt::Display for MarketOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for MarketZone {
    type Offset = MarketOffset;

    fn from_offset(offset: &MarketOffset) -> MarketZone {
        offset.zone.clone()
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<MarketOffset> {
        self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
    }

    /// One offset; two in the autumn's repeated hour (earlier first); none in the hour the spring skips.
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<MarketOffset> {
        match self.0.to_ambiguous_timestamp(civil(local)).offset() {
            AmbiguousOffset::Unambiguous { offset } => MappedLocalTime::Single(self.offset(offset.seconds())),
            AmbiguousOffset::Fold { before, after } => {
                MappedLocalTime::Ambiguous(self.offset(before.seconds()), self.offset(after.seconds()))
            }
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> MarketOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> MarketOffset {
        let t = utc.and_utc();
        // Past jiff's years (±9999) the rule at its edge goes on, as the zone's POSIX rule would.
        let at = jiff::Timestamp::new(t.timestamp(), 0).unwrap_or(if t.timestamp() < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        self.offset(self.0.to_offset(at).seconds())
    }
}

/// `local` as jiff's civil time, clamped to jiff's years (±9999).
fn civil(local: &NaiveDateTime) -> jiff::civil::DateTime {
    let (min, max) = (jiff::civil::DateTime::MIN, jiff::civil::DateTime::MAX);
    let Ok(year) = i16::try_from(local.year()) else {
        return if local.year() < 0 { min } else { max };
    };
    // Every field but the year is in range by chrono's own invariants; a leap second is the second before.
    let narrow = |v: u32| i8::try_from(v).unwrap_or(i8::MAX);
    jiff::civil::DateTime::new(
        year,
        narrow(local.month()),
        narrow(local.day()),
        narrow(local.hour()),
        narrow(local.minute()),
        narrow(local.second().min(59)),
        i32::try_from(local.nanosecond().min(999_999_999)).unwrap_or(0),
    )
    .unwrap_or(if year < 0 { min } else { max })
}

#[cfg(test)]
mod tests;
