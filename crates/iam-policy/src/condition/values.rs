//! The typed values of the numeric, date and IP address operators: parsing and comparing them.

use std::net::IpAddr;

/// A number as the `Numeric...` operators read it: an integer or a decimal.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    // `f64::from_str` also reads "inf" and "NaN", which no IAM key holds.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date as milliseconds since the epoch: epoch seconds, or a W3C ISO 8601 form
/// (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.s]]TZD` with `Z` or `±hh:mm`).
pub(crate) fn parse_date(text: &str) -> Option<i128> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() != 4 {
        return text.parse::<i128>().ok().and_then(|seconds| seconds.checked_mul(1000));
    }
    let (date, time) = match text.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut fields = date.split('-');
    let year: i64 = digits(fields.next()?, 4)?;
    let month: i64 = fields.next().map_or(Some(1), |m| digits(m, 2))?;
    let day: i64 = fields.next().map_or(Some(1), |d| digits(d, 2))?;
    if fields.next().is_some() || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = i128::from(days_from_civil(year, month, day)) * 86_400_000;
    if let Some(time) = time {
        millis += parse_time(time)?;
    }
    Some(millis)
}

/// `hh:mm[:ss[.fraction]]` and a zone designator, as milliseconds from midnight UTC.
fn parse_time(text: &str) -> Option<i128> {
    let (clock, offset_minutes) = if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        (clock, 0i64)
    } else {
        let at = text.rfind(['+', '-'])?;
        let (clock, zone) = text.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone.get(1..)?.split_once(':')?;
        let (hours, minutes): (i64, i64) = (digits(hours, 2)?, digits(minutes, 2)?);
        if hours > 23 || minutes > 59 {
            return None;
        }
        (clock, sign * (hours * 60 + minutes))
    };
    let mut fields = clock.split(':');
    let hours: i64 = digits(fields.next()?, 2)?;
    let minutes: i64 = digits(fields.next()?, 2)?;
    let (seconds, millis) = match fields.next() {
        Some(seconds) => {
            let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
            let whole: i64 = digits(whole, 2)?;
            if !fraction.bytes().all(|b| b.is_ascii_digit()) || (seconds.contains('.') && fraction.is_empty()) {
                return None;
            }
            let millis = format!("{fraction:0<3}").get(..3)?.parse::<i64>().ok()?;
            (whole, millis)
        }
        None => (0, 0),
    };
    if fields.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let local = ((hours * 60 + minutes - offset_minutes) * 60 + seconds) * 1000 + millis;
    Some(i128::from(local))
}

/// A field of exactly `width` ASCII digits.
fn digits(text: &str, width: usize) -> Option<i64> {
    if text.len() != width || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// An address range in CIDR form; a bare address is its own /32 or /128, as IAM reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => prefix.parse().ok()?,
            Some(_) => return None,
            None => width,
        };
        (prefix <= width).then_some(Cidr { network, prefix })
    }

    pub(crate) fn contains(&self, address: &str) -> bool {
        let Ok(address) = address.trim().parse::<IpAddr>() else {
            return false;
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                same_prefix(u128::from(u32::from(network)), u128::from(u32::from(address)), self.prefix, 32)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(u128::from(network), u128::from(address), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn same_prefix(network: u128, address: u128, prefix: u8, width: u8) -> bool {
    let host_bits = u32::from(width - prefix);
    let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
    let width_mask = if width == 128 { u128::MAX } else { (1u128 << width) - 1 };
    (network & mask & width_mask) == (address & mask & width_mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_w3c_form() {
        let day = parse_date("2020-01-01").expect("date");
        assert_eq!(day, 1_577_836_800_000);
        assert_eq!(parse_date("1577836800"), Some(day));
        assert_eq!(parse_date("2020-01-01T00:00:01Z"), Some(day + 1000));
        assert_eq!(parse_date("2020-01-01T01:00+01:00"), Some(day));
        assert_eq!(parse_date("2020-01-01T00:00:00.5Z"), Some(day + 500));
        assert_eq!(parse_date("2020"), Some(day));
        assert_eq!(parse_date("2019-12-31T23:00:00-01:00"), Some(day));
        for bad in ["", "2020-13-01", "2019-02-29", "2020-01-01T25:00Z", "yesterday", "2020-01-01T00:00"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2020-02-29"), Some(day + 59 * 86_400_000));
        assert_eq!(parse_date(&"9".repeat(38)), None, "an epoch too large overflows to no date, not a panic");
    }

    #[test]
    fn numbers_exclude_non_finite() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-2.5"), Some(-2.5));
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("ten"), None);
    }

    #[test]
    fn cidr_ranges_contain_their_addresses() {
        let v4 = Cidr::parse("203.0.113.0/24").expect("v4");
        assert!(v4.contains("203.0.113.200"));
        assert!(!v4.contains("203.0.114.1"));
        assert!(!v4.contains("2001:db8::1"));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").expect("v6");
        assert!(v6.contains("2001:db8:1234:5678:abcd::1"));
        assert!(!v6.contains("2001:db8:1234:5679::1"));
        assert!(Cidr::parse("0.0.0.0/0").expect("all").contains("198.51.100.7"));
        assert!(Cidr::parse("198.51.100.7").expect("host").contains("198.51.100.7"));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("10.0.0.0/"), None);
    }
}
