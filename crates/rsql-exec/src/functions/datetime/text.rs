//! Dates and timestamps to and from text with Spark datetime patterns: `date_format`,
//! `to_date`, `to_timestamp`, `unix_timestamp`, `to_unix_timestamp`, `from_unixtime`.
//! Text that does not match its pattern gives NULL (Spark without ANSI mode).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, PrimitiveArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Int64Type, TimestampMicrosecondType,
};
use rsql_plan::TimeZone;
use rsql_plan::compute::{EvalMode, spark_cast};

use super::calendar::MICROS_PER_SECOND;
use super::format::{DEFAULT_PATTERN, Pattern, Purpose};
use super::{as_timestamp_type, first_string, integers, micros, reading_zone, strings};
use crate::error::Result;
use crate::expr::ScalarUdf;
use crate::functions::{argument, zoned_function};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    vec![
        zoned_function("date_format", date_format),
        zoned_function("from_unixtime", from_unixtime),
        zoned_function("to_date", to_date),
        zoned_function("to_timestamp", to_timestamp),
        zoned_function("unix_timestamp", |args, _, zone| {
            seconds_since_epoch("unix_timestamp", args, zone)
        }),
        zoned_function("to_unix_timestamp", |args, _, zone| {
            seconds_since_epoch("to_unix_timestamp", args, zone)
        }),
    ]
}

/// The pattern argument at `index` compiled for `purpose`, `default` when the call has none;
/// `None` when it is NULL (every row is then NULL).
fn pattern(
    name: &str,
    args: &[ArrayRef],
    index: usize,
    purpose: Purpose,
    default: &str,
) -> Result<Option<Pattern>> {
    let text = match args.get(index) {
        Some(_) => first_string(name, args, index)?,
        None => Some(default.to_string()),
    };
    text.map(|text| Pattern::new(name, &text, purpose))
        .transpose()
}

/// The text argument 0 parsed row by row with the pattern argument 1 (or `default`) in the
/// session zone `zone`, each match turned into a value by `read`.
fn parse_each<T: ArrowPrimitiveType>(
    name: &str,
    args: &[ArrayRef],
    default: &str,
    zone: &TimeZone,
    read: impl Fn(&Pattern, &str, &TimeZone) -> Option<T::Native>,
) -> Result<PrimitiveArray<T>> {
    let texts = strings(name, args, 0)?;
    let Some(pattern) = pattern(name, args, 1, Purpose::Parse, default)? else {
        return Ok(PrimitiveArray::new_null(texts.len()));
    };
    Ok(texts.iter().map(|t| read(&pattern, t?, zone)).collect())
}

/// `date_format(ts, pattern)`: `ts` written in the session zone (a zone-less timestamp as it
/// is).
fn date_format(args: &[ArrayRef], _: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let values = micros("date_format", args, 0)?;
    let zone = reading_zone(values.data_type(), zone);
    let pattern = pattern("date_format", args, 1, Purpose::Format, DEFAULT_PATTERN)?;
    let out: StringArray = values
        .iter()
        .map(|t| pattern.as_ref()?.format(t?, &zone))
        .collect();
    Ok(Arc::new(out))
}

/// `from_unixtime(seconds[, pattern])`: seconds since the epoch written in the session zone,
/// by default as `yyyy-MM-dd HH:mm:ss`.
fn from_unixtime(args: &[ArrayRef], _: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let seconds = integers("from_unixtime", args, 0)?;
    let pattern = pattern("from_unixtime", args, 1, Purpose::Format, DEFAULT_PATTERN)?;
    let out: StringArray = seconds
        .iter()
        .map(|s| {
            pattern
                .as_ref()?
                .format(s?.checked_mul(MICROS_PER_SECOND)?, zone)
        })
        .collect();
    Ok(Arc::new(out))
}

/// `to_date(x[, pattern])`: text parsed with the pattern, or cast as `CAST(x AS DATE)` without
/// one (dates and timestamps arrive as dates).
fn to_date(args: &[ArrayRef], _: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let value = argument("to_date", args, 0)?;
    if args.len() < 2 || value.data_type() != &DataType::Utf8 {
        return Ok(cast(value, &DataType::Date32)?);
    }
    let out =
        parse_each::<Date32Type>("to_date", args, DEFAULT_PATTERN, zone, Pattern::parse_date)?;
    Ok(Arc::new(out))
}

/// `to_timestamp(text[, pattern])`: parsed with the pattern in the session zone, or cast as
/// `CAST(text AS TIMESTAMP)` without one.
fn to_timestamp(args: &[ArrayRef], return_type: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let value = argument("to_timestamp", args, 0)?;
    if args.len() < 2 {
        return Ok(spark_cast(value, return_type, zone, EvalMode::Lenient)?);
    }
    let out = parse_each::<TimestampMicrosecondType>(
        "to_timestamp",
        args,
        DEFAULT_PATTERN,
        zone,
        Pattern::parse,
    )?;
    as_timestamp_type(out, return_type)
}

/// `unix_timestamp(x[, pattern])`: whole seconds since the epoch of a timestamp, or of text
/// parsed with the pattern (by default `yyyy-MM-dd HH:mm:ss`).
fn seconds_since_epoch(name: &str, args: &[ArrayRef], zone: &TimeZone) -> Result<ArrayRef> {
    let value = argument(name, args, 0)?;
    let seconds: Int64Array = if value.data_type() == &DataType::Utf8 {
        parse_each::<Int64Type>(name, args, DEFAULT_PATTERN, zone, |pattern, text, zone| {
            Some(pattern.parse(text, zone)?.div_euclid(MICROS_PER_SECOND))
        })?
    } else {
        micros(name, args, 0)?.unary(|us| us.div_euclid(MICROS_PER_SECOND))
    };
    Ok(Arc::new(seconds))
}
