//! Date arithmetic and conversions between dates, timestamps and numbers: `date_add`,
//! `add_months`, `months_between`, `trunc`, `date_trunc`, `make_date`, `timestamp_seconds`...

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int32Array, PrimitiveArray,
    TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Float64Type, TimestampMicrosecondType,
};
use rsql_plan::TimeZone;

use super::calendar::{self, DateUnit, MICROS_PER_DAY, MICROS_PER_SECOND};
use super::{
    as_timestamp_type, dates, first_string, integers, micros, reading_zone, strings, wall_clock,
};
use crate::error::{Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::{argument, function, zoned_function};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    vec![
        function("date_add", |args, _| {
            date_and_count("date_add", args, |d, n| {
                i32::try_from(i64::from(d).checked_add(n)?).ok()
            })
        }),
        function("date_sub", |args, _| {
            date_and_count("date_sub", args, |d, n| {
                i32::try_from(i64::from(d).checked_sub(n)?).ok()
            })
        }),
        function("add_months", |args, _| {
            date_and_count("add_months", args, calendar::add_months)
        }),
        function("datediff", datediff),
        zoned_function("months_between", months_between),
        function("last_day", |args, _| {
            Ok(Arc::new(
                dates("last_day", args, 0)?.unary_opt::<_, Date32Type>(calendar::last_day),
            ))
        }),
        function("next_day", |args, _| {
            date_and_text("next_day", args, |d, name| {
                calendar::next_day(d, calendar::parse_weekday(name)?)
            })
        }),
        // An unknown unit gives NULL, as Spark's `trunc`.
        function("trunc", |args, _| {
            date_and_text("trunc", args, |d, unit| DateUnit::parse(unit)?.truncate(d))
        }),
        zoned_function("date_trunc", date_trunc),
        function("make_date", make_date),
        zoned_function("make_timestamp", make_timestamp),
        function("unix_date", |args, _| {
            Ok(cast(dates("unix_date", args, 0)?, &DataType::Int32)?)
        }),
        function("date_from_unix_date", |args, _| {
            let days = integers("date_from_unix_date", args, 0)?;
            Ok(Arc::new(
                days.unary_opt::<_, Date32Type>(|n| i32::try_from(n).ok()),
            ))
        }),
        function("timestamp_seconds", |args, return_type| {
            scaled_instants("timestamp_seconds", args, MICROS_PER_SECOND, return_type)
        }),
        function("timestamp_millis", |args, return_type| {
            scaled_instants("timestamp_millis", args, 1_000, return_type)
        }),
        function("timestamp_micros", |args, return_type| {
            scaled_instants("timestamp_micros", args, 1, return_type)
        }),
    ]
}

/// `step(date, count)` row by row; NULL where either is NULL or the result is out of range.
fn date_and_count(
    name: &str,
    args: &[ArrayRef],
    step: fn(i32, i64) -> Option<i32>,
) -> Result<ArrayRef> {
    let (days, counts) = (dates(name, args, 0)?, integers(name, args, 1)?);
    let out: Date32Array = days
        .iter()
        .zip(counts.iter())
        .map(|(d, n)| step(d?, n?))
        .collect();
    Ok(Arc::new(out))
}

/// `step(date, text)` row by row; NULL where either is NULL or `step` gives none.
fn date_and_text(
    name: &str,
    args: &[ArrayRef],
    step: fn(i32, &str) -> Option<i32>,
) -> Result<ArrayRef> {
    let (days, texts) = (dates(name, args, 0)?, strings(name, args, 1)?);
    let out: Date32Array = days
        .iter()
        .zip(texts.iter())
        .map(|(d, t)| step(d?, t?))
        .collect();
    Ok(Arc::new(out))
}

/// `datediff(end, start)`: the days from `start` to `end`.
fn datediff(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (end, start) = (dates("datediff", args, 0)?, dates("datediff", args, 1)?);
    let out: Int32Array = end
        .iter()
        .zip(start.iter())
        .map(|(e, s)| e?.checked_sub(s?))
        .collect();
    Ok(Arc::new(out))
}

/// `months_between(t1, t2[, round_off])` with Spark's 31-day-month fractions between the
/// wall-clock times (instants in the session zone); rounded to 8 decimals unless `round_off`
/// is false.
fn months_between(args: &[ArrayRef], _: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let name = "months_between";
    let (t1, t2) = (
        wall_clock(name, args, 0, zone)?,
        wall_clock(name, args, 1, zone)?,
    );
    let round_off = match args.get(2) {
        Some(arg) => match arg.as_boolean_opt() {
            Some(round_off) => round_off.clone(),
            None => return exec_err(format!("{name}: roundOff must be a boolean")),
        },
        None => BooleanArray::from(vec![true; t1.len()]),
    };
    let out: Float64Array = t1
        .iter()
        .zip(t2.iter())
        .zip(round_off.iter())
        .map(|((a, b), round)| calendar::months_between(a?, b?, round?))
        .collect();
    Ok(Arc::new(out))
}

/// `date_trunc(unit, ts)`: `ts` rounded down, in the session zone (a zone-less timestamp as it
/// is), to the start of its year, quarter, month, week (Monday), day, hour, minute, second,
/// millisecond or microsecond.
fn date_trunc(args: &[ArrayRef], return_type: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let values = micros("date_trunc", args, 1)?;
    let Some(unit) = first_string("date_trunc", args, 0)? else {
        return as_timestamp_type(
            TimestampMicrosecondArray::new_null(values.len()),
            return_type,
        );
    };
    let width = match unit.to_lowercase().as_str() {
        "day" | "dd" => Some(MICROS_PER_DAY),
        "hour" => Some(3_600 * MICROS_PER_SECOND),
        "minute" => Some(60 * MICROS_PER_SECOND),
        "second" => Some(MICROS_PER_SECOND),
        "millisecond" => Some(1_000),
        "microsecond" => Some(1),
        _ => None,
    };
    let date_unit = DateUnit::parse(&unit);
    if width.is_none() && date_unit.is_none() {
        return exec_err(format!("date_trunc: unsupported unit '{unit}'"));
    }
    let zone = reading_zone(values.data_type(), zone);
    let truncate = |local: i64| -> Option<i64> {
        match (width, date_unit) {
            (Some(width), _) => Some(local - local.rem_euclid(width)),
            (None, Some(unit)) => {
                let days = unit.truncate(i32::try_from(local.div_euclid(MICROS_PER_DAY)).ok()?)?;
                i64::from(days).checked_mul(MICROS_PER_DAY)
            }
            (None, None) => None,
        }
    };
    let out: TimestampMicrosecondArray = values
        .iter()
        .map(|t| zone.instant_near(truncate(zone.local_micros(t?)?)?, t?))
        .collect();
    as_timestamp_type(out, return_type)
}

/// The value of `array` at row `i`, `None` when NULL.
fn at<T: ArrowPrimitiveType>(array: &PrimitiveArray<T>, i: usize) -> Option<T::Native> {
    array.is_valid(i).then(|| array.value(i))
}

/// `make_date(year, month, day)`; NULL for a date that does not exist.
fn make_date(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let parts = (0..3)
        .map(|i| integers("make_date", args, i))
        .collect::<Result<Vec<_>>>()?;
    let out: Date32Array = (0..parts[0].len())
        .map(|i| calendar::make_date(at(parts[0], i)?, at(parts[1], i)?, at(parts[2], i)?))
        .collect();
    Ok(Arc::new(out))
}

/// `make_timestamp(year, month, day, hour, minute, second)` in the session zone, `second`
/// with its fraction (60 is the next minute, as Spark); NULL for a time that does not exist.
fn make_timestamp(args: &[ArrayRef], return_type: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let name = "make_timestamp";
    let fields = (0..5)
        .map(|i| integers(name, args, i))
        .collect::<Result<Vec<_>>>()?;
    let seconds = argument(name, args, 5)?;
    let Some(seconds) = seconds.as_primitive_opt::<Float64Type>() else {
        return exec_err(format!(
            "{name}: seconds must be a double, not {}",
            seconds.data_type()
        ));
    };
    let row = |i: usize| -> Option<i64> {
        let days = calendar::make_date(at(fields[0], i)?, at(fields[1], i)?, at(fields[2], i)?)?;
        let (hour, minute, second) = (at(fields[3], i)?, at(fields[4], i)?, at(seconds, i)?);
        let valid =
            (0..24).contains(&hour) && (0..60).contains(&minute) && (0.0..=60.0).contains(&second);
        if !valid {
            return None;
        }
        let local = i64::from(days) * MICROS_PER_DAY
            + (hour * 3_600 + minute * 60) * MICROS_PER_SECOND
            + (second * 1e6).round() as i64;
        zone.instant(local)
    };
    let out: TimestampMicrosecondArray = (0..seconds.len()).map(row).collect();
    as_timestamp_type(out, return_type)
}

/// Integers counting `unit` microseconds since the epoch, as timestamps (NULL on overflow).
fn scaled_instants(
    name: &str,
    args: &[ArrayRef],
    unit: i64,
    return_type: &DataType,
) -> Result<ArrayRef> {
    let counts = integers(name, args, 0)?;
    let instants = counts.unary_opt::<_, TimestampMicrosecondType>(|n| n.checked_mul(unit));
    as_timestamp_type(instants, return_type)
}
