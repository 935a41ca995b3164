//! Date and time functions on microsecond timestamps (UTC).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::compute::kernels::temporal::{DatePart, date_part};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use rsql_plan::function::DateField;

use crate::error::{Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::{argument, function};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    vec![
        function("year", |args, _| part("year", args, DatePart::Year)),
        function("month", |args, _| part("month", args, DatePart::Month)),
        function("day", |args, _| part("day", args, DatePart::Day)),
        function("hour", |args, _| part("hour", args, DatePart::Hour)),
        function("date_part", date_part_of),
        function("date_trunc", date_trunc),
        function("date_format", date_format),
        // Text is read in the zone the planner typed the result with (UTC).
        function("to_timestamp", |args, return_type| {
            Ok(cast(argument("to_timestamp", args, 0)?, return_type)?)
        }),
        function("window", window),
    ]
}

fn part(name: &str, args: &[ArrayRef], part: DatePart) -> Result<ArrayRef> {
    Ok(date_part(argument(name, args, 0)?, part)?)
}

/// `date_part(field, x)` (and `EXTRACT(field FROM x)`): the field the planner checked, of a date
/// or timestamp, typed as [`DateField::data_type`] says.
fn date_part_of(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let name = literal_string("date_part", args, 0)?;
    let Some(field) = DateField::parse(&name) else {
        return exec_err(format!("date_part: unknown field '{name}'"));
    };
    let value = argument("date_part", args, 1)?;
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
        DateField::Second => return seconds(&micros("date_part", args, 1)?),
        DateField::Epoch => return epoch(&micros("date_part", args, 1)?),
    };
    if matches!(field, DateField::Hour | DateField::Minute) {
        // Dates have no time of day: read them as their midnight.
        return Ok(date_part(&micros("date_part", args, 1)?, arrow_part)?);
    }
    Ok(date_part(value, arrow_part)?)
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

/// The first value of a literal string argument.
fn literal_string(name: &str, args: &[ArrayRef], index: usize) -> Result<String> {
    let arg = cast(argument(name, args, index)?, &DataType::Utf8)?;
    let arg = arg.as_string::<i32>();
    match arg.iter().next().flatten() {
        Some(value) => Ok(value.to_string()),
        None => exec_err(format!(
            "{name}: argument {} must be a non-null literal",
            index + 1
        )),
    }
}

fn datetime(micros: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

/// `date_trunc(unit, ts)`: `ts` rounded down to the start of its year, month, day, hour,
/// minute or second.
fn date_trunc(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let unit = literal_string("date_trunc", args, 0)?.to_lowercase();
    let values = micros("date_trunc", args, 1)?;
    let truncate = |d: NaiveDateTime| -> Option<NaiveDateTime> {
        let d = d.with_nanosecond(0)?;
        match unit.as_str() {
            "second" => Some(d),
            "minute" => d.with_second(0),
            "hour" => d.with_second(0)?.with_minute(0),
            "day" | "dd" => d.date().and_hms_opt(0, 0, 0),
            "month" | "mon" | "mm" => d.date().with_day(1)?.and_hms_opt(0, 0, 0),
            "year" | "yyyy" | "yy" => d.date().with_day(1)?.with_month(1)?.and_hms_opt(0, 0, 0),
            _ => None,
        }
    };
    if ![
        "second", "minute", "hour", "day", "dd", "month", "mon", "mm", "year", "yyyy", "yy",
    ]
    .contains(&unit.as_str())
    {
        return exec_err(format!("date_trunc: unsupported unit '{unit}'"));
    }
    let out: TimestampMicrosecondArray = values
        .iter()
        .map(|v| {
            v.and_then(datetime)
                .and_then(truncate)
                .map(|d| d.and_utc().timestamp_micros())
        })
        .collect();
    Ok(cast(&(Arc::new(out) as ArrayRef), return_type)?)
}

/// Translates a Spark datetime pattern (`yyyy-MM-dd'T'HH:mm:ss`) to a chrono format string.
fn chrono_format(pattern: &str) -> Result<String> {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal text; '' is a quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let spec = match (c, run) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', n) if n <= 3 => "%3f",
            ('S', _) => "%6f",
            ('a', _) => "%p",
            ('E', n) if n <= 3 => "%a",
            ('E', _) => "%A",
            (c, _) if c.is_ascii_alphabetic() => {
                return exec_err(format!(
                    "date_format: unsupported pattern letter '{c}' in '{pattern}'"
                ));
            }
            _ => "",
        };
        if spec.is_empty() {
            for _ in 0..run {
                out.push(c);
            }
        } else {
            out.push_str(spec);
        }
        i += run;
    }
    Ok(out)
}

/// `date_format(ts, pattern)` with Spark's pattern letters, in UTC.
fn date_format(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let values = micros("date_format", args, 0)?;
    let format = chrono_format(&literal_string("date_format", args, 1)?)?;
    let out: StringArray = values
        .iter()
        .map(|v| v.and_then(datetime).map(|d| d.format(&format).to_string()))
        .collect();
    Ok(Arc::new(out))
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

#[cfg(test)]
mod tests {
    use super::chrono_format;

    #[test]
    fn spark_patterns_translate_to_chrono() {
        assert_eq!(
            chrono_format("yyyy-MM-dd'T'HH:mm:ss").unwrap(),
            "%Y-%m-%dT%H:%M:%S"
        );
        assert_eq!(
            chrono_format("dd/MM/yy h:mm a").unwrap(),
            "%d/%m/%y %I:%M %p"
        );
        assert!(chrono_format("yyyy-QQ").is_err());
    }
}
