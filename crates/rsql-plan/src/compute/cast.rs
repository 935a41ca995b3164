//! `CAST` with Spark's non-ANSI semantics where they differ from Arrow's (safe) cast kernel:
//!
//! - strings to numbers, booleans, dates and timestamps are trimmed first (`' 12 '` is 12);
//! - strings to integers accept a fraction and drop it (`'1.9'` is 1, Spark's `toLong` with
//!   decimals allowed); an exponent or anything else is NULL, as is a value out of range;
//! - strings to booleans know Spark's words: `t`, `true`, `y`, `yes`, `1` and `f`, `false`,
//!   `n`, `no`, `0`, in any case;
//! - strings to dates read Spark's `[+-]yyyy[-[m]m[-[d]d]]` followed by nothing, or by a space
//!   or `T` and anything (a time); impossible dates such as `2024-02-30` are NULL;
//! - doubles and floats print as Java's `Double.toString` (Spark's `CAST(x AS STRING)`):
//!   `1.0E10`, `1.0E-5`, `0.001`, `100.0`, `NaN`, `Infinity`, with the shortest digits that
//!   read back as the value (DuckDB prints `10000000000.0` instead; rsql follows Spark).
//!
//! - casts between timestamps with a zone (instants) and text, dates or zone-less timestamps
//!   happen in the session time zone ([`zoned_cast`](super::zoned_cast));
//! - instants and numbers convert as seconds since the epoch ([`epoch_cast`](super::epoch_cast)).
//!
//! Everything else is Arrow's safe cast: a value that does not fit the target is NULL. Spark
//! without ANSI mode instead wraps integers around and saturates doubles cast to integers
//! (NaN becomes 0); rsql returns NULL there, which is what Spark's `TRY_CAST` gives.
//!
//! Under [`EvalMode::Ansi`] a present value that casts to NULL (text that does not parse, a
//! number out of the target's range) is an error naming the value and the types, as Spark's
//! `CAST_INVALID_INPUT` and `CAST_OVERFLOW`; `TRY_CAST` casts in the lenient mode always.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use arrow::error::ArrowError;

use super::epoch_cast::cast_with_epoch;
use super::eval_mode::{EvalMode, check_cast};
use super::zoned_cast::{cast_in_zone, parse_instants};
use crate::time_zone::TimeZone;

/// `values` cast to `to` with Spark's semantics (see the module documentation) in a session
/// whose time zone is `time_zone`, failing under [`EvalMode::Ansi`] where the lenient mode
/// gives NULL.
pub fn spark_cast(
    values: &ArrayRef,
    to: &DataType,
    time_zone: &TimeZone,
    mode: EvalMode,
) -> Result<ArrayRef, ArrowError> {
    check_cast(mode, values, lenient_cast(values, to, time_zone)?)
}

fn lenient_cast(
    values: &ArrayRef,
    to: &DataType,
    time_zone: &TimeZone,
) -> Result<ArrayRef, ArrowError> {
    let from = values.data_type();
    let is_string =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let string_like = match from {
        DataType::Dictionary(_, value) => is_string(value),
        other => is_string(other),
    };
    if string_like && (to.is_numeric() || to.is_temporal() || to == &DataType::Boolean) {
        let strings = cast(values, &DataType::Utf8)?;
        return from_strings(strings.as_string::<i32>(), to, time_zone);
    }
    if let Some(cast) = cast_in_zone(values, to, time_zone) {
        return cast;
    }
    if let Some(cast) = cast_with_epoch(values, to) {
        return cast;
    }
    match (from, to) {
        (DataType::Float64, DataType::Utf8) => Ok(print(
            values.as_primitive::<Float64Type>().iter(),
            java_double,
        )),
        (DataType::Float32, DataType::Utf8) => Ok(print(
            values.as_primitive::<Float32Type>().iter(),
            java_float,
        )),
        _ => cast(values, to),
    }
}

fn from_strings(
    strings: &StringArray,
    to: &DataType,
    time_zone: &TimeZone,
) -> Result<ArrayRef, ArrowError> {
    let trimmed = || strings.iter().map(|s| s.map(trim));
    Ok(match to {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let values: Int64Array = trimmed().map(|s| s.and_then(parse_integer)).collect();
            cast(&values, to)?
        }
        DataType::Boolean => Arc::new(
            trimmed()
                .map(|s| s.and_then(parse_boolean))
                .collect::<BooleanArray>(),
        ),
        DataType::Date32 => Arc::new(
            trimmed()
                .map(|s| s.and_then(parse_date))
                .collect::<Date32Array>(),
        ),
        DataType::Float32 | DataType::Float64 => {
            let values: Float64Array = trimmed().map(|s| s.and_then(parse_double)).collect();
            cast(&values, to)?
        }
        DataType::Timestamp(_, Some(_)) => parse_instants(trimmed(), to, time_zone)?,
        _ => cast(&trimmed().collect::<StringArray>(), to)?,
    })
}

/// Java's `Double.parseDouble` as Spark uses it: decimal and exponent forms, `NaN`,
/// `Infinity` (Spark also takes `inf`, `nan` in any case, which Rust's parser does too), and a
/// trailing `d` or `f`.
fn parse_double(s: &str) -> Option<f64> {
    s.parse().ok().or_else(|| {
        let body = s.strip_suffix(['d', 'D', 'f', 'F'])?;
        if body.bytes().any(|b| b.is_ascii_digit()) {
            body.parse().ok()
        } else {
            None
        }
    })
}

/// `s` without leading and trailing whitespace and control characters (Spark's `trimAll`).
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c.is_control())
}

/// Spark's `UTF8String.toLong` allowing a fraction: an optional sign, digits, optionally a
/// point and more digits (dropped); `None` for anything else or on overflow.
fn parse_integer(s: &str) -> Option<i64> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if unsigned.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: i64 = 0;
    for b in integer.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        // Accumulate negatively so that i64::MIN parses.
        value = value.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Spark's boolean words (`StringUtils.isTrueString` / `isFalseString`).
fn parse_boolean(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Spark's `stringToDate`: `[+-]yyyy[-[m]m[-[d]d]]`, then nothing or a space or `T` and
/// anything; years of 4 to 7 digits. `None` for other text and impossible dates.
fn parse_date(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    let date = match rest.find([' ', 'T']) {
        Some(end) => &rest[..end],
        None => rest,
    };
    let mut parts = date.split('-');
    let mut segment = |digits: std::ops::RangeInclusive<usize>, default: i64| -> Option<i64> {
        match parts.next() {
            None => Some(default),
            Some(p) if digits.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok()
            }
            Some(_) => None,
        }
    };
    let year = sign * segment(4..=7, 0)?;
    let month = segment(1..=2, 1)?;
    let day = segment(1..=2, 1)?;
    if parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    if !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    i32::try_from(days_from_civil(year, month, day)).ok()
}

fn print<T>(values: impl Iterator<Item = Option<T>>, f: fn(T) -> String) -> ArrayRef {
    Arc::new(values.map(|v| v.map(f)).collect::<StringArray>())
}

/// Java's `Double.toString` layout of the shortest digits `plain` (`{}`) and `scientific`
/// (`{:e}`) print: plain with at least one fraction digit for magnitudes in [1e-3, 1e7),
/// else `d.dddE[-]n`.
fn java_layout(magnitude: f64, plain: String, scientific: String) -> String {
    if (1e-3..1e7).contains(&magnitude) || magnitude == 0.0 {
        if plain.contains('.') {
            plain
        } else {
            plain + ".0"
        }
    } else {
        let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
        let point = if mantissa.contains('.') { "" } else { ".0" };
        format!("{mantissa}{point}E{exponent}")
    }
}

/// `x` as Java's `Double.toString` prints it.
fn java_double(x: f64) -> String {
    match x {
        x if x.is_nan() => "NaN".into(),
        f64::INFINITY => "Infinity".into(),
        f64::NEG_INFINITY => "-Infinity".into(),
        x => java_layout(x.abs(), format!("{x}"), format!("{x:e}")),
    }
}

/// `x` as Java's `Float.toString` prints it.
fn java_float(x: f32) -> String {
    match x {
        x if x.is_nan() => "NaN".into(),
        f32::INFINITY => "Infinity".into(),
        f32::NEG_INFINITY => "-Infinity".into(),
        x => java_layout(f64::from(x.abs()), format!("{x}"), format!("{x:e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use arrow::datatypes::Decimal128Type;
    use arrow::datatypes::{Date32Type, Int32Type};

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    // Expected values computed by hand from Spark's UTF8String.toInt and DateTimeUtils.
    #[test]
    fn strings_to_integers_trim_and_truncate() {
        let input = strings(&[
            Some(" 12 "),
            Some("1.9"),
            Some("-1.9"),
            Some("abc"),
            Some("1e3"),
            Some("2147483648"),
            Some("+7"),
            Some(""),
            Some("-"),
            Some("1.x"),
            None,
        ]);
        let out = spark_cast(
            &input,
            &DataType::Int32,
            &TimeZone::utc(),
            EvalMode::Lenient,
        )
        .unwrap();
        let out: Vec<_> = out.as_primitive::<Int32Type>().iter().collect();
        assert_eq!(
            out,
            vec![
                Some(12),
                Some(1),
                Some(-1),
                None,
                None,
                None,
                Some(7),
                None,
                None,
                None,
                None
            ]
        );
        assert_eq!(parse_integer("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_integer("9223372036854775808"), None);
    }

    #[test]
    fn strings_to_booleans_and_dates() {
        let words = strings(&[Some(" Yes"), Some("n"), Some("1"), Some("on"), None]);
        let out = spark_cast(
            &words,
            &DataType::Boolean,
            &TimeZone::utc(),
            EvalMode::Lenient,
        )
        .unwrap();
        let out: Vec<_> = out.as_boolean().iter().collect();
        assert_eq!(out, vec![Some(true), Some(false), Some(true), None, None]);

        let dates = strings(&[
            Some("2024-02-29"),
            Some("2024-02-30"),
            Some(" 2024-3-5 "),
            Some("2024"),
            Some("2024-01-02T10:00:00"),
            Some("1969-12-31"),
            Some("24-01-01"),
            Some("2023-02-29"),
            Some("2024-01-01x"),
        ]);
        let out = spark_cast(
            &dates,
            &DataType::Date32,
            &TimeZone::utc(),
            EvalMode::Lenient,
        )
        .unwrap();
        let out: Vec<_> = out.as_primitive::<Date32Type>().iter().collect();
        // 2024-01-01 is day 19723.
        assert_eq!(
            out,
            vec![
                Some(19723 + 59),
                None,
                Some(19723 + 64),
                Some(19723),
                Some(19724),
                Some(-1),
                None,
                None,
                None,
            ]
        );
    }

    #[test]
    fn strings_to_doubles_and_decimals() {
        let input = strings(&[
            Some(" 1.5 "),
            Some("1e3"),
            Some("-Infinity"),
            Some("2.5d"),
            Some("abc"),
            Some("f"),
        ]);
        let out = spark_cast(
            &input,
            &DataType::Float64,
            &TimeZone::utc(),
            EvalMode::Lenient,
        )
        .unwrap();
        let out: Vec<_> = out.as_primitive::<Float64Type>().iter().collect();
        assert_eq!(
            out,
            vec![
                Some(1.5),
                Some(1000.0),
                Some(f64::NEG_INFINITY),
                Some(2.5),
                None,
                None
            ]
        );
        // Spark rounds HALF_UP to the scale; 1000 does not fit DECIMAL(4,2).
        let input = strings(&[Some(" 1.235 "), Some("-1.235"), Some("1000"), Some("x")]);
        let out = spark_cast(
            &input,
            &DataType::Decimal128(4, 2),
            &TimeZone::utc(),
            EvalMode::Lenient,
        )
        .unwrap();
        let out: Vec<_> = out.as_primitive::<Decimal128Type>().iter().collect();
        assert_eq!(out, vec![Some(124), Some(-124), None, None]);
    }

    #[test]
    fn doubles_print_as_java() {
        let values: ArrayRef = Arc::new(Float64Array::from(vec![
            1e10,
            1.0,
            0.1,
            1e-5,
            0.001,
            100.0,
            -1234.5,
            1e7,
            9999999.0,
            f64::NAN,
            f64::INFINITY,
            -0.0,
            1.5e300,
        ]));
        let out = spark_cast(
            &values,
            &DataType::Utf8,
            &TimeZone::utc(),
            EvalMode::Lenient,
        )
        .unwrap();
        let out: Vec<_> = out.as_string::<i32>().iter().flatten().collect();
        assert_eq!(
            out,
            vec![
                "1.0E10",
                "1.0",
                "0.1",
                "1.0E-5",
                "0.001",
                "100.0",
                "-1234.5",
                "1.0E7",
                "9999999.0",
                "NaN",
                "Infinity",
                "-0.0",
                "1.5E300"
            ]
        );
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![7]));
        let out = spark_cast(&ints, &DataType::Utf8, &TimeZone::utc(), EvalMode::Lenient).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "7");
    }
}
