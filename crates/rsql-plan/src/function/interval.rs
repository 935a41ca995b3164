//! Interval text: fixed-length durations such as `'1 hour'` or `'1 day 12 hours'`, as `window`
//! takes, and SQL interval literals (`INTERVAL '3' MONTH`, `INTERVAL '1 year 2 days'`) as
//! months, days and nanoseconds.

use arrow::datatypes::IntervalMonthDayNano;

use crate::error::{PlanError, Result};

const MICROS_PER_SECOND: i64 = 1_000_000;

fn unit_micros(unit: &str) -> Option<i64> {
    let singular = unit.strip_suffix('s').unwrap_or(unit);
    Some(match singular {
        "microsecond" | "us" => 1,
        "millisecond" | "ms" => 1_000,
        "second" | "sec" => MICROS_PER_SECOND,
        "minute" | "min" => 60 * MICROS_PER_SECOND,
        "hour" | "h" => 3_600 * MICROS_PER_SECOND,
        "day" | "d" => 86_400 * MICROS_PER_SECOND,
        "week" => 7 * 86_400 * MICROS_PER_SECOND,
        _ => return None,
    })
}

/// The length in microseconds of an interval string: one or more `<count> <unit>` pairs
/// (`microsecond`..`week`, singular or plural, optionally after the word `interval`). The total
/// must be positive. Months and years are rejected: they have no fixed length.
pub fn parse_interval_micros(text: &str) -> Result<i64> {
    let malformed = |reason: &str| PlanError::MalformedInterval {
        value: text.to_string(),
        reason: reason.to_string(),
        position: None,
    };
    let lower = text.trim().to_lowercase();
    let mut words = lower.split_whitespace().peekable();
    if words.peek() == Some(&"interval") {
        words.next();
    }
    let mut total: i64 = 0;
    let mut pairs = 0;
    while let Some(count) = words.next() {
        let count: i64 = count
            .parse()
            .map_err(|_| malformed(&format!("'{count}' is not a whole number")))?;
        let unit = words
            .next()
            .ok_or_else(|| malformed("a count must be followed by a unit such as 'hour'"))?;
        if matches!(unit, "month" | "months" | "year" | "years") {
            return Err(malformed("months and years have no fixed length; use days"));
        }
        let micros = unit_micros(unit).ok_or_else(|| {
            malformed(&format!(
                "unknown unit '{unit}' (expected second, minute, hour, day or week)"
            ))
        })?;
        total = count
            .checked_mul(micros)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| malformed("too long"))?;
        pairs += 1;
    }
    if pairs == 0 {
        return Err(malformed("expected '<count> <unit>', e.g. '1 hour'"));
    }
    if total <= 0 {
        return Err(malformed("the duration must be positive"));
    }
    Ok(total)
}

fn malformed(text: &str, reason: impl Into<String>) -> PlanError {
    PlanError::MalformedInterval {
        value: text.to_string(),
        reason: reason.into(),
        position: None,
    }
}

/// The value of an interval literal: `count` of `unit` (the SQL field after the string, such as
/// `DAY`), or, without a unit, one or more `<count> <unit>` pairs in `text` (`'1 day 2 hours'`).
/// Units are `year`, `month`, `week`, `day`, `hour`, `minute`, `second`, `millisecond` and
/// `microsecond`, singular or plural; counts are whole numbers, possibly negative. Years and
/// months count months, weeks and days count days (a day is not always 24 hours, as in Spark),
/// and the rest count nanoseconds.
pub fn parse_interval_literal(text: &str, unit: Option<&str>) -> Result<IntervalMonthDayNano> {
    let lower = text.trim().to_lowercase();
    let unit = unit.map(str::to_lowercase);
    let words: Vec<&str> = match &unit {
        Some(unit) => vec![lower.as_str(), unit.as_str()],
        None => lower.split_whitespace().collect(),
    };
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(malformed(
            text,
            "expected '<count> <unit>' pairs, e.g. '1 day 2 hours'",
        ));
    }
    let mut total = IntervalMonthDayNano::new(0, 0, 0);
    for pair in words.chunks(2) {
        let count: i64 = pair[0]
            .parse()
            .map_err(|_| malformed(text, format!("'{}' is not a whole number", pair[0])))?;
        let part = interval_part(pair[1], count)
            .ok_or_else(|| malformed(text, format!("unknown unit '{}'", pair[1])))?
            .ok_or_else(|| malformed(text, "too long"))?;
        total = add_parts(total, part).ok_or_else(|| malformed(text, "too long"))?;
    }
    Ok(total)
}

/// `count` of `unit` as an interval: `None` for an unknown unit, `Some(None)` on overflow.
fn interval_part(unit: &str, count: i64) -> Option<Option<IntervalMonthDayNano>> {
    let singular = unit.strip_suffix('s').unwrap_or(unit);
    let months = |per: i64| {
        count
            .checked_mul(per)
            .and_then(|m| i32::try_from(m).ok())
            .map(|m| IntervalMonthDayNano::new(m, 0, 0))
    };
    let days = |per: i64| {
        count
            .checked_mul(per)
            .and_then(|d| i32::try_from(d).ok())
            .map(|d| IntervalMonthDayNano::new(0, d, 0))
    };
    Some(match singular {
        "year" => months(12),
        "month" => months(1),
        "week" => days(7),
        "day" => days(1),
        other => {
            let micros = unit_micros(other)?;
            count
                .checked_mul(micros)
                .and_then(|us| us.checked_mul(1_000))
                .map(|ns| IntervalMonthDayNano::new(0, 0, ns))
        }
    })
}

fn add_parts(a: IntervalMonthDayNano, b: IntervalMonthDayNano) -> Option<IntervalMonthDayNano> {
    Some(IntervalMonthDayNano::new(
        a.months.checked_add(b.months)?,
        a.days.checked_add(b.days)?,
        a.nanoseconds.checked_add(b.nanoseconds)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_literals_count_months_days_and_nanoseconds() {
        let hour = 3_600_000_000_000;
        assert_eq!(
            parse_interval_literal("90", Some("day")).unwrap(),
            IntervalMonthDayNano::new(0, 90, 0)
        );
        assert_eq!(
            parse_interval_literal("1", Some("YEAR")).unwrap(),
            IntervalMonthDayNano::new(12, 0, 0)
        );
        assert_eq!(
            parse_interval_literal("-3", Some("month")).unwrap(),
            IntervalMonthDayNano::new(-3, 0, 0)
        );
        assert_eq!(
            parse_interval_literal("1 day 2 hours", None).unwrap(),
            IntervalMonthDayNano::new(0, 1, 2 * hour)
        );
        assert_eq!(
            parse_interval_literal("1 year 2 months 1 week 30 minutes", None).unwrap(),
            IntervalMonthDayNano::new(14, 7, hour / 2)
        );
    }

    #[test]
    fn malformed_interval_literals_say_why() {
        for (text, unit, reason) in [
            ("", None, "expected '<count> <unit>' pairs"),
            ("1 day 2", None, "expected '<count> <unit>' pairs"),
            ("x", Some("day"), "'x' is not a whole number"),
            ("1 fortnight", None, "unknown unit 'fortnight'"),
            ("3000000000", Some("day"), "too long"),
        ] {
            let err = parse_interval_literal(text, unit).unwrap_err().to_string();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn parses_counts_and_units() {
        assert_eq!(parse_interval_micros("1 hour").unwrap(), 3_600_000_000);
        assert_eq!(parse_interval_micros("30 Minutes").unwrap(), 1_800_000_000);
        assert_eq!(
            parse_interval_micros("interval 1 day 12 hours").unwrap(),
            129_600_000_000
        );
    }

    #[test]
    fn rejects_malformed_intervals_with_a_reason() {
        for (text, reason) in [
            ("", "expected '<count> <unit>'"),
            ("one hour", "'one' is not a whole number"),
            ("1", "must be followed by a unit"),
            ("1 fortnight", "unknown unit 'fortnight'"),
            ("1 month", "no fixed length"),
            ("0 hours", "must be positive"),
            ("9223372036854775807 weeks", "too long"),
        ] {
            let err = parse_interval_micros(text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("malformed interval '{text}'")),
                "{err}"
            );
            assert!(err.contains(reason), "{err}");
        }
    }
}
