//! Date and time functions. Dates are days since 1970-01-01 ([`calendar`] does their
//! arithmetic), timestamps microseconds since the epoch: instants (timestamps with a zone) read
//! in the session [`TimeZone`] the function was compiled for, zone-less timestamps as they are;
//! Spark datetime patterns are compiled once per call ([`format`]).

mod calendar;
mod format;
mod kernels;
mod text;

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Decimal128Array, Int64Array, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::compute::kernels::temporal::{DatePart, date_part};
use arrow::datatypes::{DataType, Date32Type, Int64Type, TimeUnit, TimestampMicrosecondType};
use rsql_plan::TimeZone;
use rsql_plan::function::DateField;

use crate::error::{ExecError, Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::{argument, function, zoned_function};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    let mut all = vec![
        zoned_function("year", |args, _, zone| {
            part("year", args, DatePart::Year, zone)
        }),
        zoned_function("month", |args, _, zone| {
            part("month", args, DatePart::Month, zone)
        }),
        zoned_function("day", |args, _, zone| {
            part("day", args, DatePart::Day, zone)
        }),
        zoned_function("hour", |args, _, zone| {
            part("hour", args, DatePart::Hour, zone)
        }),
        zoned_function("minute", |args, _, zone| {
            part("minute", args, DatePart::Minute, zone)
        }),
        zoned_function("second", |args, _, zone| {
            part("second", args, DatePart::Second, zone)
        }),
        zoned_function("dayofmonth", |args, _, zone| {
            part("dayofmonth", args, DatePart::Day, zone)
        }),
        // Spark numbers the days of the week from Sunday = 1; `weekday` from Monday = 0.
        zoned_function("dayofweek", |args, _, zone| {
            part("dayofweek", args, DatePart::DayOfWeekSunday1, zone)
        }),
        zoned_function("weekday", |args, _, zone| {
            part("weekday", args, DatePart::DayOfWeekMonday0, zone)
        }),
        zoned_function("dayofyear", |args, _, zone| {
            part("dayofyear", args, DatePart::DayOfYear, zone)
        }),
        // The ISO 8601 week, as Spark's `weekofyear`.
        zoned_function("weekofyear", |args, _, zone| {
            part("weekofyear", args, DatePart::Week, zone)
        }),
        zoned_function("quarter", |args, _, zone| {
            part("quarter", args, DatePart::Quarter, zone)
        }),
        zoned_function("date_part", date_part_of),
        function("window", window),
    ];
    all.extend(kernels::functions());
    all.extend(text::functions());
    all
}

/// `part` of dates, or of timestamps' wall-clock time (instants in `zone`).
fn part(name: &str, args: &[ArrayRef], part: DatePart, zone: &TimeZone) -> Result<ArrayRef> {
    let value = argument(name, args, 0)?;
    if matches!(value.data_type(), DataType::Date32 | DataType::Date64) {
        return Ok(date_part(value, part)?);
    }
    Ok(date_part(&wall_clock(name, args, 0, zone)?, part)?)
}

/// `date_part(field, x)` (and `EXTRACT(field FROM x)`): the field the planner checked, of a date
/// or timestamp (an instant's in `zone`), typed as [`DateField::data_type`] says.
fn date_part_of(args: &[ArrayRef], _: &DataType, zone: &TimeZone) -> Result<ArrayRef> {
    let name = literal_string("date_part", args, 0)?;
    let Some(field) = DateField::parse(&name) else {
        return exec_err(format!("date_part: unknown field '{name}'"));
    };
    let arrow_part = match field {
        DateField::Year => DatePart::Year,
        DateField::Quarter => DatePart::Quarter,
        DateField::Month => DatePart::Month,
        DateField::Week => DatePart::Week,
        DateField::Day => DatePart::Day,
        DateField::DayOfWeek => DatePart::DayOfWeekSunday1,
        DateField::DayOfWeekIso => DatePart::DayOfWeekMonday1,
        DateField::DayOfYear => DatePart::DayOfYear,
        DateField::Hour => DatePart::Hour,
        DateField::Minute => DatePart::Minute,
        DateField::Second => return seconds(&wall_clock("date_part", args, 1, zone)?),
        DateField::Epoch => return epoch(&micros("date_part", args, 1)?),
    };
    let value = argument("date_part", args, 1)?;
    if value.data_type() == &DataType::Date32
        && !matches!(field, DateField::Hour | DateField::Minute)
    {
        return Ok(date_part(value, arrow_part)?);
    }
    // Dates have no time of day: their hour and minute are those of their midnight.
    Ok(date_part(
        &wall_clock("date_part", args, 1, zone)?,
        arrow_part,
    )?)
}

const MICROS_PER_MINUTE: i64 = 60_000_000;

/// The second of the minute with its microseconds, as `DECIMAL(8, 6)`.
fn seconds(values: &TimestampMicrosecondArray) -> Result<ArrayRef> {
    let seconds: Decimal128Array = values
        .iter()
        .map(|us| us.map(|us| i128::from(us.rem_euclid(MICROS_PER_MINUTE))))
        .collect();
    Ok(Arc::new(seconds.with_precision_and_scale(8, 6)?))
}

/// Seconds since the epoch with microseconds, as `DECIMAL(20, 6)`.
fn epoch(values: &TimestampMicrosecondArray) -> Result<ArrayRef> {
    let seconds: Decimal128Array = values.iter().map(|us| us.map(i128::from)).collect();
    Ok(Arc::new(seconds.with_precision_and_scale(20, 6)?))
}

/// Argument `index` as microseconds since the epoch (the time zone is kept aside).
fn micros(name: &str, args: &[ArrayRef], index: usize) -> Result<TimestampMicrosecondArray> {
    let arg = argument(name, args, index)?;
    let tz = match arg.data_type() {
        DataType::Timestamp(_, tz) => tz.clone(),
        _ => None,
    };
    let cast_to = DataType::Timestamp(TimeUnit::Microsecond, tz);
    Ok(cast(arg, &cast_to)?
        .as_primitive::<TimestampMicrosecondType>()
        .clone())
}

/// The zone the values of `data_type` are read in: `session` for instants (timestamps with a
/// zone, whichever zone the type names), UTC (no shift) for zone-less timestamps and dates.
fn reading_zone(data_type: &DataType, session: &TimeZone) -> TimeZone {
    match data_type {
        DataType::Timestamp(_, Some(_)) => session.clone(),
        _ => TimeZone::utc(),
    }
}

/// Argument `index` (a timestamp or date) as zone-less wall-clock microseconds: instants in
/// `zone`, zone-less timestamps as they are, dates at their midnight. NULL where the wall-clock
/// time is out of range.
fn wall_clock(
    name: &str,
    args: &[ArrayRef],
    index: usize,
    zone: &TimeZone,
) -> Result<TimestampMicrosecondArray> {
    let values = micros(name, args, index)?;
    let zone = reading_zone(values.data_type(), zone);
    let local = if zone.is_utc() {
        values
    } else {
        values.unary_opt(|t| zone.local_micros(t))
    };
    Ok(local.with_timezone_opt(None::<Arc<str>>))
}

/// Argument `index` as dates (the planner cast it to `Date32`).
fn dates<'a>(name: &str, args: &'a [ArrayRef], index: usize) -> Result<&'a Date32Array> {
    let arg = argument(name, args, index)?;
    arg.as_primitive_opt::<Date32Type>()
        .ok_or_else(|| wrong_type(name, index, arg, "a date"))
}

/// Argument `index` as integers (the planner cast it to `Int64`).
fn integers<'a>(name: &str, args: &'a [ArrayRef], index: usize) -> Result<&'a Int64Array> {
    let arg = argument(name, args, index)?;
    arg.as_primitive_opt::<Int64Type>()
        .ok_or_else(|| wrong_type(name, index, arg, "an integer"))
}

/// Argument `index` as strings (the planner cast it to `Utf8`).
fn strings<'a>(name: &str, args: &'a [ArrayRef], index: usize) -> Result<&'a StringArray> {
    let arg = argument(name, args, index)?;
    arg.as_string_opt::<i32>()
        .ok_or_else(|| wrong_type(name, index, arg, "a string"))
}

fn wrong_type(name: &str, index: usize, arg: &ArrayRef, expected: &str) -> ExecError {
    ExecError::Execution(format!(
        "{name}: argument {} must be {expected}, not {}",
        index + 1,
        arg.data_type()
    ))
}

/// The first value of a literal string argument; `None` when it is NULL or there are no rows
/// (the call then gives NULL for every row).
fn first_string(name: &str, args: &[ArrayRef], index: usize) -> Result<Option<String>> {
    let arg = cast(argument(name, args, index)?, &DataType::Utf8)?;
    let arg = arg.as_string::<i32>();
    Ok(arg.iter().next().flatten().map(str::to_string))
}

/// The first value of a literal string argument.
fn literal_string(name: &str, args: &[ArrayRef], index: usize) -> Result<String> {
    match first_string(name, args, index)? {
        Some(value) => Ok(value),
        None => exec_err(format!(
            "{name}: argument {} must be a non-null literal",
            index + 1
        )),
    }
}

/// `window(ts, '1 hour')`: the tumbling window containing `ts`, as `struct<start, end>`.
fn window(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let DataType::Struct(fields) = return_type else {
        return exec_err(format!("window must return a struct, not {return_type}"));
    };
    let width = rsql_plan::function::parse_interval_micros(&literal_string("window", args, 1)?)
        .map_err(|e| crate::error::ExecError::Execution(e.to_string()))?;
    let values = micros("window", args, 0)?;
    // Windows are aligned to the epoch, as Spark's: integer arithmetic on the instants, whatever
    // zone the values are shown in.
    let starts: TimestampMicrosecondArray = values.unary(|t| t - t.rem_euclid(width));
    let ends: TimestampMicrosecondArray = starts.unary(|s| s + width);
    let columns = [starts, ends]
        .into_iter()
        .zip(fields.iter())
        .map(|(instants, field)| as_timestamp_type(instants, field.data_type()))
        .collect::<Result<Vec<_>>>()?;
    let nulls = values.nulls().cloned();
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        nulls,
    )?))
}

/// `instants` (microseconds since the epoch) as `data_type`: relabelled when that is a
/// microsecond timestamp in any zone (the instants stay the same), cast otherwise.
fn as_timestamp_type(
    instants: TimestampMicrosecondArray,
    data_type: &DataType,
) -> Result<ArrayRef> {
    match data_type {
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            Ok(Arc::new(instants.with_timezone_opt(tz.clone())))
        }
        other => Ok(cast(&(Arc::new(instants) as ArrayRef), other)?),
    }
}
