//! Spark datetime patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`) for formatting and parsing,
//! translated once per call to chrono format items.

use std::fmt::Write;

use chrono::format::{Item, Parsed, StrftimeItems, parse};

use super::calendar::MICROS_PER_DAY;
use crate::error::{Result, exec_err};
use rsql_plan::TimeZone;

/// The pattern `unix_timestamp` and `from_unixtime` use when given none.
pub(super) const DEFAULT_PATTERN: &str = "yyyy-MM-dd HH:mm:ss";

/// Whether a pattern will format values or parse text (zone offsets translate differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// `date_format`, `from_unixtime`.
    Format,
    /// `to_date`, `to_timestamp`, `unix_timestamp`.
    Parse,
}

/// The chrono spec for a run of `count` pattern letters `letter`; `None` for a letter Spark
/// has but chrono cannot do (quarters, week-based fields, eras...).
fn spec(letter: char, count: usize, purpose: Purpose) -> Option<&'static str> {
    Some(match (letter, count) {
        ('y', 2) => "%y",
        ('y', _) => "%Y",
        ('M' | 'L', 1) => "%-m",
        ('M' | 'L', 2) => "%m",
        ('M' | 'L', 3) => "%b",
        ('M' | 'L', _) => "%B",
        ('d', 1) => "%-d",
        ('d', 2) => "%d",
        ('D', 1 | 2) => "%-j",
        ('D', 3) => "%j",
        ('H', 1) => "%-H",
        ('H', 2) => "%H",
        ('h', 1) => "%-I",
        ('h', 2) => "%I",
        ('m', 1) => "%-M",
        ('m', 2) => "%M",
        ('s', 1) => "%-S",
        ('s', 2) => "%S",
        ('S', 1..=3) => "%3f",
        ('S', 4..=6) => "%6f",
        ('S', 7..=9) => "%9f",
        ('a', 1) => "%p",
        ('E', 1..=3) => "%a",
        ('E', 4) => "%A",
        // Parsing accepts any offset spelling (`Z`, `+01`, `+0100`, `+01:00`).
        ('X' | 'x' | 'Z', _) if purpose == Purpose::Parse => "%#z",
        ('X' | 'x', 3) | ('Z', 5) => "%:z",
        ('X' | 'x' | 'Z', 1..=4) => "%z",
        ('z', 1..=3) | ('V', 2) if purpose == Purpose::Format => "%Z",
        _ => return None,
    })
}

/// Translates a Spark pattern to a chrono format string: letter runs become specs, text in
/// single quotes and other characters are literal (`''` is a quote), `%` is escaped.
pub(super) fn strftime(function: &str, pattern: &str, purpose: Purpose) -> Result<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() * 2);
    let literal = |out: &mut String, c: char| match c {
        '%' => out.push_str("%%"),
        c => out.push(c),
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            // Quoted text up to the closing quote; `''` inside is a quote.
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('\''), Some('\'')) => {
                        out.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => {
                        i += 1;
                        break;
                    }
                    (Some(&c), _) => {
                        literal(&mut out, c);
                        i += 1;
                    }
                    (None, _) => {
                        return exec_err(format!(
                            "{function}: unterminated quote in the pattern '{pattern}'"
                        ));
                    }
                }
            }
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        if c.is_ascii_alphabetic() {
            match spec(c, run, purpose) {
                Some(spec) => out.push_str(spec),
                None => {
                    return exec_err(format!(
                        "{function}: unsupported pattern '{}' in '{pattern}'",
                        c.to_string().repeat(run)
                    ));
                }
            }
        } else {
            for _ in 0..run {
                literal(&mut out, c);
            }
        }
        i += run;
    }
    Ok(out)
}

/// A Spark pattern compiled to chrono items.
#[derive(Debug)]
pub(super) struct Pattern {
    items: Vec<Item<'static>>,
}

impl Pattern {
    /// Compiles `pattern` for `purpose`; an unsupported letter is an error naming `function`.
    pub(super) fn new(function: &str, pattern: &str, purpose: Purpose) -> Result<Pattern> {
        let format = strftime(function, pattern, purpose)?;
        match StrftimeItems::new(&format).parse_to_owned() {
            Ok(items) => Ok(Pattern { items }),
            Err(e) => exec_err(format!("{function}: bad pattern '{pattern}': {e}")),
        }
    }

    /// `instant` (microseconds since the epoch) written in `zone`; `None` if it cannot be.
    pub(super) fn format(&self, instant: i64, zone: &TimeZone) -> Option<String> {
        let time = zone.date_time(instant)?;
        let mut out = String::new();
        write!(out, "{}", time.format_with_items(self.items.iter())).ok()?;
        Some(out)
    }

    /// The instant `text` denotes: read in `zone` unless it has an offset; missing fields
    /// default to 1970, January, the 1st and midnight, as Spark. `None` if it does not match.
    pub(super) fn parse(&self, text: &str, zone: &TimeZone) -> Option<i64> {
        let mut parsed = Parsed::new();
        parse(&mut parsed, text, self.items.iter()).ok()?;
        match (parsed.year(), parsed.year_mod_100()) {
            // `yy` is a year of 2000..=2099, as Spark (chrono would take 1969..=2068).
            (None, Some(two_digits)) => parsed.set_year(2000 + i64::from(two_digits)).ok()?,
            (None, None) => parsed.set_year(1970).ok()?,
            _ => {}
        }
        if parsed.ordinal().is_none() {
            if parsed.month().is_none() {
                parsed.set_month(1).ok()?;
            }
            if parsed.day().is_none() {
                parsed.set_day(1).ok()?;
            }
        }
        if parsed.hour_div_12().is_none() {
            if parsed.hour_mod_12().is_none() {
                parsed.set_hour(0).ok()?;
            } else {
                // `hh` without `a`: a morning hour.
                parsed.set_ampm(false).ok()?;
            }
        }
        if parsed.minute().is_none() {
            parsed.set_minute(0).ok()?;
        }
        let date = parsed.to_naive_date().ok()?;
        let time = parsed.to_naive_time().ok()?;
        let local = date.and_time(time).and_utc().timestamp_micros();
        match parsed.offset() {
            Some(offset) => local.checked_sub(i64::from(offset) * 1_000_000),
            None => zone.instant(local),
        }
    }

    /// The date (days since the epoch) `text` denotes in `zone` (see [`Pattern::parse`]).
    pub(super) fn parse_date(&self, text: &str, zone: &TimeZone) -> Option<i32> {
        let local = zone.local_micros(self.parse(text, zone)?)?;
        i32::try_from(local.div_euclid(MICROS_PER_DAY)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_patterns_translate_to_chrono() {
        let format = |p| strftime("f", p, Purpose::Format).unwrap();
        assert_eq!(format("yyyy-MM-dd'T'HH:mm:ss"), "%Y-%m-%dT%H:%M:%S");
        assert_eq!(format("dd/MM/yy h:mm a"), "%d/%m/%y %-I:%M %p");
        assert_eq!(
            format("EEE, d MMM yyyy HH:mm:ss.SSS Z"),
            "%a, %-d %b %Y %H:%M:%S.%3f %z"
        );
        assert_eq!(format("'it''s' 100% HH'h'"), "it's 100%% %Hh");
        assert_eq!(format("XXX"), "%:z");
        assert_eq!(strftime("f", "XXX", Purpose::Parse).unwrap(), "%#z");
        let err = strftime("date_format", "yyyy-QQ", Purpose::Format).unwrap_err();
        assert_eq!(
            err.to_string(),
            "date_format: unsupported pattern 'QQ' in 'yyyy-QQ'"
        );
        assert!(strftime("f", "yyyy 'open", Purpose::Format).is_err());
    }

    #[test]
    fn parsing_fills_missing_fields_and_honours_offsets() {
        let utc = TimeZone::utc();
        let parse = |pattern, text| {
            Pattern::new("f", pattern, Purpose::Parse)
                .unwrap()
                .parse(text, &utc)
        };
        // 2024-02-29 is day 19782.
        let leap_day = 19782 * MICROS_PER_DAY;
        assert_eq!(parse("yyyy-MM-dd", "2024-02-29"), Some(leap_day));
        assert_eq!(parse("yyyy-MM-dd", "2023-02-29"), None);
        assert_eq!(parse("yyyy-MM-dd", "2024-02-29 junk"), None);
        assert_eq!(parse("MM/dd", "01/02"), Some(MICROS_PER_DAY));
        // 2099-01-01 is day 47117 (DuckDB).
        assert_eq!(parse("dd/MM/yy", "01/01/99"), Some(47117 * MICROS_PER_DAY));
        assert_eq!(
            parse("yyyy-MM-dd HH:mmXXX", "2024-02-29 01:30+01:00"),
            Some(leap_day + 30 * 60_000_000)
        );
        assert_eq!(
            parse("dd/MM/yyyy hh:mm a", "29/02/2024 01:00 PM"),
            Some(leap_day + 13 * 3_600_000_000)
        );
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss.SSS", "2024-02-29 00:00:01.250"),
            Some(leap_day + 1_250_000)
        );
    }
}
