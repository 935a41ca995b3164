//! Signatures of the date and time functions with Spark's names, argument types and result
//! types (`date_add`, `months_between`, `to_date`, `from_unixtime`, `dayofweek`, ...), and the
//! values of the clock functions (`current_date`, `now`), which the binder substitutes once per
//! query.
//!
//! Time zone: timestamps with a zone are instants, typed `Timestamp(µs, "UTC")` whatever the
//! session zone; the session's [`TimeZone`] decides how the executor reads and writes them, and
//! which date `current_date` is.

use std::sync::Arc;

use arrow_schema::{DataType, TimeUnit};
use datafusion_common::ScalarValue;

use super::scalar::{
    bad_argument, builtin, int32, integer_arg, string_arg, timestamp_arg, utc_timestamp, utf8,
};
use super::{Arity, ScalarFunctionSignature};
use crate::coercion::{is_numeric, is_string, value_type};
use crate::error::Result;
use crate::time_zone::TimeZone;

/// The zone every instant the planner makes is typed with (its session zone does not show in
/// the type, as Spark's `TimestampType`).
const INSTANT_ZONE: &str = "UTC";

const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// The value `name()` takes in a query that started `now_micros` microseconds after the epoch
/// in a session whose zone is `zone` (today's date there), when `name` is a clock function
/// taking no argument (`current_date`, `current_timestamp`, `now`, `unix_timestamp`); `None`
/// otherwise.
pub fn clock_value(name: &str, now_micros: i64, zone: &TimeZone) -> Option<ScalarValue> {
    match name {
        "current_date" => i32::try_from(zone.local_micros(now_micros)?.div_euclid(MICROS_PER_DAY))
            .ok()
            .map(|days| ScalarValue::Date32(Some(days))),
        "current_timestamp" | "now" => Some(ScalarValue::TimestampMicrosecond(
            Some(now_micros),
            Some(Arc::from(INSTANT_ZONE)),
        )),
        "unix_timestamp" => Some(ScalarValue::Int64(Some(
            now_micros.div_euclid(MICROS_PER_SECOND),
        ))),
        _ => None,
    }
}

/// What one argument is cast to.
#[derive(Clone, Copy)]
enum Kind {
    /// A date: dates, timestamps (their date in their zone) and date strings.
    Date,
    /// A microsecond timestamp (see `timestamp_arg`).
    Timestamp,
    /// An `Int64`.
    Integer,
    /// A `Float64` from any number.
    Number,
    /// A `Utf8` string.
    Text,
    /// A boolean.
    Boolean,
    /// Text stays text (to be parsed); dates and timestamps become dates.
    TextOrDate,
    /// Text stays text (to be parsed); timestamps stay timestamps and dates become the instant
    /// of their midnight in the session zone.
    TextOrTimestamp,
}

fn date_arg(function: &str, index: usize, data_type: &DataType) -> Result<DataType> {
    match value_type(data_type) {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) | DataType::Null => {
            Ok(DataType::Date32)
        }
        s if is_string(s) => Ok(DataType::Date32),
        other => Err(bad_argument(function, index, other)),
    }
}

impl Kind {
    fn coerce(self, function: &str, index: usize, data_type: &DataType) -> Result<DataType> {
        let value = value_type(data_type);
        match self {
            Kind::Date => date_arg(function, index, value),
            Kind::Timestamp => timestamp_arg(function, index, value),
            Kind::Integer => integer_arg(function, index, value),
            Kind::Number if is_numeric(value) || value == &DataType::Null => Ok(DataType::Float64),
            Kind::Boolean if matches!(value, DataType::Boolean | DataType::Null) => {
                Ok(DataType::Boolean)
            }
            Kind::Number | Kind::Boolean => Err(bad_argument(function, index, value)),
            Kind::Text => string_arg(function, index, value),
            Kind::TextOrDate | Kind::TextOrTimestamp if is_string(value) => Ok(DataType::Utf8),
            Kind::TextOrTimestamp if matches!(value, DataType::Date32 | DataType::Date64) => Ok(
                DataType::Timestamp(TimeUnit::Microsecond, Some(INSTANT_ZONE.into())),
            ),
            Kind::TextOrDate => date_arg(function, index, value),
            Kind::TextOrTimestamp => timestamp_arg(function, index, value),
        }
    }
}

/// Casts argument `i` to `kinds[i]` (the last kind for any further arguments).
fn each(function: &str, args: &[DataType], kinds: &[Kind]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| {
            let kind = kinds.get(i).or(kinds.last()).copied();
            kind.ok_or_else(|| bad_argument(function, i, t))?
                .coerce(function, i, t)
        })
        .collect()
}

fn no_args(_: &str, _: &[DataType]) -> Result<Vec<DataType>> {
    Ok(Vec::new())
}

fn date(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::Date])
}

fn timestamp(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::Timestamp])
}

fn integers(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::Integer])
}

fn date_integer(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::Date, Kind::Integer])
}

fn date_text(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::Date, Kind::Text])
}

fn text_or_date(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::TextOrDate, Kind::Text])
}

fn text_or_timestamp(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::TextOrTimestamp, Kind::Text])
}

fn integer_text(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(function, args, &[Kind::Integer, Kind::Text])
}

fn months_between_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    each(
        function,
        args,
        &[Kind::Timestamp, Kind::Timestamp, Kind::Boolean],
    )
}

fn make_timestamp_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let mut kinds = [Kind::Integer; 6];
    kinds[5] = Kind::Number;
    each(function, args, &kinds)
}

fn date32(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Date32)
}

fn int64(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int64)
}

fn float64(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Float64)
}

/// The date and time signatures (the older `date_trunc`, `date_format`, `to_timestamp`,
/// `date_part`, `year`..`hour` and `window` are in `scalar.rs`).
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    let b = builtin;
    let one = Arity::Exact(1);
    let mut all = vec![
        b("date_add", Arity::Exact(2), date_integer, date32),
        b("date_sub", Arity::Exact(2), date_integer, date32),
        b("add_months", Arity::Exact(2), date_integer, date32),
        b("datediff", Arity::Exact(2), date, int32),
        b(
            "months_between",
            Arity::Range(2, 3),
            months_between_args,
            float64,
        ),
        b("last_day", one, date, date32),
        b("next_day", Arity::Exact(2), date_text, date32),
        b("trunc", Arity::Exact(2), date_text, date32),
        b("to_date", Arity::Range(1, 2), text_or_date, date32),
        b(
            "unix_timestamp",
            Arity::Range(0, 2),
            text_or_timestamp,
            int64,
        ),
        b(
            "to_unix_timestamp",
            Arity::Range(1, 2),
            text_or_timestamp,
            int64,
        ),
        b("from_unixtime", Arity::Range(1, 2), integer_text, utf8),
        b("make_date", Arity::Exact(3), integers, date32),
        b(
            "make_timestamp",
            Arity::Exact(6),
            make_timestamp_args,
            utc_timestamp,
        ),
        b("current_date", Arity::Exact(0), no_args, date32),
        b("current_timestamp", Arity::Exact(0), no_args, utc_timestamp),
        b("now", Arity::Exact(0), no_args, utc_timestamp),
        b("minute", one, timestamp, int32),
        b("second", one, timestamp, int32),
        b("unix_date", one, date, int32),
        b("date_from_unix_date", one, integers, date32),
        b("timestamp_seconds", one, integers, utc_timestamp),
        b("timestamp_millis", one, integers, utc_timestamp),
        b("timestamp_micros", one, integers, utc_timestamp),
    ];
    for name in [
        "dayofweek",
        "dayofmonth",
        "dayofyear",
        "weekofyear",
        "quarter",
        "weekday",
    ] {
        all.push(b(name, one, date, int32));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::super::FunctionRegistry;
    use super::*;

    fn session_timestamp_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some(INSTANT_ZONE.into()))
    }

    #[test]
    fn date_functions_cast_timestamps_and_strings_to_dates() {
        let registry = FunctionRegistry::new();
        let coerced = registry
            .coerce_scalar_args("date_add", &[DataType::Utf8, DataType::Int32])
            .unwrap();
        assert_eq!(coerced, vec![DataType::Date32, DataType::Int64]);
        let coerced = registry
            .coerce_scalar_args("datediff", &[session_timestamp_type(), DataType::Date32])
            .unwrap();
        assert_eq!(coerced, vec![DataType::Date32; 2]);
        assert_eq!(
            registry
                .scalar_return_type("months_between", &coerced, &[None, None])
                .unwrap(),
            DataType::Float64
        );
    }

    #[test]
    fn wrong_types_are_refused_when_planning() {
        let registry = FunctionRegistry::new();
        let err = registry
            .coerce_scalar_args("date_add", &[DataType::Date32, DataType::Utf8])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: function 'date_add' cannot take argument 2 of type Utf8"
        );
        assert!(
            registry
                .coerce_scalar_args("last_day", &[DataType::Boolean])
                .is_err()
        );
        assert!(
            registry
                .coerce_scalar_args(
                    "months_between",
                    &[DataType::Date32, DataType::Date32, DataType::Int64]
                )
                .is_err()
        );
    }

    #[test]
    fn clock_values_come_from_one_instant() {
        // 2024-02-29T23:59:59.5Z.
        let now = 1_709_251_199_500_000;
        let utc = TimeZone::utc();
        assert_eq!(
            clock_value("current_date", now, &utc),
            Some(ScalarValue::Date32(Some(19782)))
        );
        assert_eq!(
            clock_value("unix_timestamp", now, &utc),
            Some(ScalarValue::Int64(Some(1_709_251_199)))
        );
        assert_eq!(
            clock_value("now", now, &utc).map(|v| v.data_type()),
            Some(session_timestamp_type())
        );
        assert_eq!(clock_value("date_add", now, &utc), None);
        // Already March 1st in Paris (UTC+1), still February 29th in New York.
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        assert_eq!(
            clock_value("current_date", now, &paris),
            Some(ScalarValue::Date32(Some(19783)))
        );
        let new_york = TimeZone::parse("America/New_York").unwrap();
        assert_eq!(
            clock_value("current_date", now, &new_york),
            Some(ScalarValue::Date32(Some(19782)))
        );
        assert_eq!(
            clock_value("now", now, &paris),
            clock_value("now", now, &utc)
        );
    }
}
