//! Durations as settings take and show them: `250ms`, `30s`, `5min`, `2h` (PostgreSQL's
//! units; a bare number is milliseconds, as in PostgreSQL's `statement_timeout`).

use std::time::Duration;

/// The units, largest first, with their length in milliseconds.
const UNITS: &[(&str, u64)] = &[
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("min", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses `30s`, `5min`, `1.5h`, `250 ms` or `250` (milliseconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let unit_ms = match unit.to_ascii_lowercase().as_str() {
        "" | "ms" => 1,
        "s" | "sec" | "second" | "seconds" => 1_000,
        "min" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return Err(format!("unknown unit '{unit}' (use ms, s, min, h or d)")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| "expected a duration such as 30s, 5min or 250ms".to_string())?;
    Ok(Duration::from_secs_f64(value * unit_ms as f64 / 1_000.0))
}

/// Parses a timeout: a duration, or `0` / `none` for no timeout.
pub fn parse_timeout(text: &str) -> Result<Option<Duration>, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let duration = parse_duration(text)?;
    Ok((!duration.is_zero()).then_some(duration))
}

/// `duration` in the largest unit that states it exactly (whole milliseconds): `30s`,
/// `5min`, `1500ms`.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis() as u64;
    let (unit, length) = UNITS
        .iter()
        .find(|(_, length)| ms > 0 && ms.is_multiple_of(*length))
        .unwrap_or(&("ms", 1));
    format!("{}{unit}", ms / length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_postgres_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1.5 h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_timeout("0"), Ok(None));
        assert_eq!(parse_timeout("none"), Ok(None));
        assert_eq!(parse_timeout("2s"), Ok(Some(Duration::from_secs(2))));
    }

    #[test]
    fn durations_show_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5min");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::ZERO), "0ms");
    }
}
