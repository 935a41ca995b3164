//! Fixed-length interval strings such as `'1 hour'` or `'1 day 12 hours'`, as `window` takes.

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

#[cfg(test)]
mod tests {
    use super::*;

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
