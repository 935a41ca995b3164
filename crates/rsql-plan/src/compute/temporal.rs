//! Date and timestamp arithmetic as Spark's `TimeAdd`, `DateAddInterval` and
//! `SubtractTimestamps`: see [`binary_types`](crate::coercion::binary_types) for the types.
//!
//! An interval moves an instant (a timestamp with a zone) on the session zone's wall clock, as
//! Spark's `timestampAddInterval`: its months first (clamped to the month's last day, as
//! `add_months`), then its days (a day is not always 24 hours), each step resolved as Java's
//! `ZonedDateTime` resolves it (the offset kept where it still fits, see
//! [`TimeZone::instant_near`]), and then its sub-day part as elapsed time. A zone-less
//! timestamp (`TIMESTAMP_NTZ`) is its own wall clock. A date moves from its midnight in the
//! zone and becomes the date of the instant it reaches.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Datum, PrimitiveBuilder};
use arrow::compute::cast;
use arrow::compute::kernels::numeric;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, IntervalMonthDayNano, IntervalMonthDayNanoType,
    IntervalUnit, TimeUnit, TimestampMicrosecondType,
};
use arrow::error::ArrowError;
use chrono::{DateTime, Days, Months, NaiveDateTime};

use super::cast_datum;
use super::eval_mode::value_text;
use crate::expr::Operator;
use crate::time_zone::TimeZone;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Whether `data_type` is a date, a timestamp or an interval.
pub(super) fn is_temporal(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) | DataType::Interval(_)
    )
}

fn unsupported(left: &DataType, op: Operator, right: &DataType) -> ArrowError {
    ArrowError::InvalidArgumentError(format!(
        "cannot apply '{}' to {left} and {right}",
        op.symbol()
    ))
}

/// `left op right` where one side is a date, a timestamp or an interval, in the session time
/// zone `zone`.
pub(super) fn arithmetic(
    left: &dyn Datum,
    op: Operator,
    right: &dyn Datum,
    zone: &TimeZone,
) -> Result<ArrayRef, ArrowError> {
    let (l, r) = (left.get().0.data_type(), right.get().0.data_type());
    match (l, op, r) {
        (DataType::Interval(_), Operator::Plus, _) => arithmetic(right, op, left, zone),
        (DataType::Date32, Operator::Plus | Operator::Minus, DataType::Interval(_)) => {
            shift::<Date32Type>(left, op, right, |day, interval| {
                let midnight = zone.instant(i64::from(day).checked_mul(MICROS_PER_DAY)?)?;
                let moved = shift_instant(midnight, interval, zone)?;
                i32::try_from(zone.local_micros(moved)?.div_euclid(MICROS_PER_DAY)).ok()
            })
        }
        (DataType::Timestamp(_, tz), Operator::Plus | Operator::Minus, DataType::Interval(_)) => {
            // A zone-less timestamp is a wall-clock time: UTC arithmetic on it is exact.
            let utc = TimeZone::utc();
            let zone = if tz.is_some() { zone } else { &utc };
            let micros = cast_datum(
                left,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )?;
            let moved = shift::<TimestampMicrosecondType>(micros.as_ref(), op, right, |t, i| {
                shift_instant(t, i, zone)
            })?;
            cast(&moved, l)
        }
        (DataType::Date32, Operator::Minus, DataType::Date32) => {
            let (l, r) = (
                cast_datum(left, &DataType::Int32)?,
                cast_datum(right, &DataType::Int32)?,
            );
            numeric::sub_wrapping(l.as_ref(), r.as_ref())
        }
        (DataType::Timestamp(..), Operator::Minus, DataType::Timestamp(..)) => {
            let duration = numeric::sub(left, right)?;
            cast(&duration, &DataType::Interval(IntervalUnit::MonthDayNano))
        }
        _ => Err(unsupported(l, op, r)),
    }
}

/// `instant` moved by `interval` in `zone`: months, then days on the wall clock, then the rest
/// (whole microseconds) as elapsed time; `None` out of range.
fn shift_instant(instant: i64, interval: IntervalMonthDayNano, zone: &TimeZone) -> Option<i64> {
    let wall_clock = |instant: i64| {
        zone.local_micros(instant)
            .and_then(DateTime::from_timestamp_micros)
            .map(|t| t.naive_utc())
    };
    let resolve = |local: NaiveDateTime, near: i64| {
        zone.instant_near(local.and_utc().timestamp_micros(), near)
    };
    let mut moved = instant;
    if interval.months != 0 {
        let local = wall_clock(moved)?;
        let months = Months::new(interval.months.unsigned_abs());
        let local = if interval.months > 0 {
            local.checked_add_months(months)?
        } else {
            local.checked_sub_months(months)?
        };
        moved = resolve(local, moved)?;
    }
    if interval.days != 0 {
        let local = wall_clock(moved)?;
        let days = Days::new(u64::from(interval.days.unsigned_abs()));
        let local = if interval.days > 0 {
            local.checked_add_days(days)?
        } else {
            local.checked_sub_days(days)?
        };
        moved = resolve(local, moved)?;
    }
    moved.checked_add(interval.nanoseconds / 1_000)
}

/// `values op intervals` row by row with `move_by` (`-` negates the interval, as Spark's
/// `TimeAdd(t, -i)`): NULL where an operand is NULL, an error where a value leaves the range.
fn shift<T: ArrowPrimitiveType>(
    values: &dyn Datum,
    op: Operator,
    intervals: &dyn Datum,
    move_by: impl Fn(T::Native, IntervalMonthDayNano) -> Option<T::Native>,
) -> Result<ArrayRef, ArrowError> {
    let intervals = cast_datum(intervals, &DataType::Interval(IntervalUnit::MonthDayNano))?;
    let ((values, values_scalar), (intervals, intervals_scalar)) = (values.get(), intervals.get());
    let values = values.as_primitive::<T>();
    let intervals = intervals.as_primitive::<IntervalMonthDayNanoType>();
    let rows = match (values_scalar, intervals_scalar) {
        (false, _) => values.len(),
        (true, false) => intervals.len(),
        (true, true) => 1,
    };
    let mut out = PrimitiveBuilder::<T>::with_capacity(rows);
    for row in 0..rows {
        let v = if values_scalar { 0 } else { row };
        let i = if intervals_scalar { 0 } else { row };
        if values.is_null(v) || intervals.is_null(i) {
            out.append_null();
            continue;
        }
        let interval = intervals.value(i);
        let interval = if op == Operator::Minus {
            negated(interval)
        } else {
            Some(interval)
        };
        let moved = interval.and_then(|interval| move_by(values.value(v), interval));
        let Some(moved) = moved else {
            return Err(ArrowError::ComputeError(format!(
                "{} {} {} is out of range",
                value_text(values, v),
                op.symbol(),
                value_text(intervals, i)
            )));
        };
        out.append_value(moved);
    }
    Ok(Arc::new(
        out.finish().with_data_type(values.data_type().clone()),
    ))
}

/// `interval` with every part negated; `None` when one does not negate.
fn negated(interval: IntervalMonthDayNano) -> Option<IntervalMonthDayNano> {
    Some(IntervalMonthDayNano::new(
        interval.months.checked_neg()?,
        interval.days.checked_neg()?,
        interval.nanoseconds.checked_neg()?,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        Array, AsArray, Date32Array, IntervalMonthDayNanoArray, Scalar, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{
        Date32Type, IntervalMonthDayNano, IntervalMonthDayNanoType, TimestampMicrosecondType,
    };

    use super::*;

    /// Days since 1970-01-01 of a date, worked out by hand: 2024-01-31 is 19753, 2024-02-29 is
    /// 19782, 2023-02-28 is 19416, 1998-12-01 is 10561 and 1998-09-02 is 10471.
    fn dates(days: &[i32]) -> ArrayRef {
        Arc::new(Date32Array::from(days.to_vec()))
    }

    fn interval(months: i32, days: i32, nanos: i64) -> Scalar<ArrayRef> {
        Scalar::new(Arc::new(IntervalMonthDayNanoArray::from(vec![
            IntervalMonthDayNano::new(months, days, nanos),
        ])) as ArrayRef)
    }

    fn in_utc(left: &dyn Datum, op: Operator, right: &dyn Datum) -> Result<ArrayRef, ArrowError> {
        arithmetic(left, op, right, &TimeZone::utc())
    }

    fn days(out: ArrayRef) -> Vec<i32> {
        out.as_primitive::<Date32Type>().values().to_vec()
    }

    #[test]
    fn month_steps_clamp_to_the_last_day() {
        // 2024-01-31 + 1 month = 2024-02-29; 2024-02-29 - 12 months = 2023-02-28.
        let out = in_utc(&dates(&[19753]), Operator::Plus, &interval(1, 0, 0));
        assert_eq!(days(out.unwrap()), vec![19782]);
        let out = in_utc(&dates(&[19782]), Operator::Minus, &interval(12, 0, 0));
        assert_eq!(days(out.unwrap()), vec![19416]);
    }

    #[test]
    fn days_and_sub_day_parts_move_dates() {
        // 1998-12-01 - 90 days = 1998-09-02; 1998-12-01 - 1 hour is 1998-11-30 23:00.
        let out = in_utc(&dates(&[10561]), Operator::Minus, &interval(0, 90, 0));
        assert_eq!(days(out.unwrap()), vec![10471]);
        let hour = 3_600_000_000_000;
        let out = in_utc(&dates(&[10561]), Operator::Minus, &interval(0, 0, hour));
        assert_eq!(days(out.unwrap()), vec![10560]);
        let out = in_utc(&interval(0, 1, hour), Operator::Plus, &dates(&[10561]));
        assert_eq!(days(out.unwrap()), vec![10562]);
    }

    #[test]
    fn date_minus_date_counts_days() {
        let out = in_utc(&dates(&[10561]), Operator::Minus, &dates(&[10471])).unwrap();
        assert_eq!(
            out.as_primitive::<arrow::datatypes::Int32Type>().value(0),
            90
        );
    }

    #[test]
    fn timestamps_take_intervals_and_differ_by_intervals() {
        // 2024-01-31 10:00 UTC (1706695200 s) + 1 month 1 day = 2024-03-01 10:00 (1709287200 s).
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_706_695_200_000_000]).with_timezone("UTC"),
        );
        let out = in_utc(&ts, Operator::Plus, &interval(1, 1, 0)).unwrap();
        let moved = out.as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(moved, 1_709_287_200_000_000);
        let later: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![moved]).with_timezone("UTC"));
        let out = in_utc(&later, Operator::Minus, &ts).unwrap();
        // 30 days: 2 592 000 s.
        let diff = out.as_primitive::<IntervalMonthDayNanoType>().value(0);
        assert_eq!(diff, IntervalMonthDayNano::new(0, 0, 2_592_000_000_000_000));
        assert!(out.is_valid(0));
    }

    /// `seconds` since the epoch moved by `interval` in Paris, in seconds.
    fn in_paris(seconds: i64, op: Operator, interval: Scalar<ArrayRef>) -> i64 {
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![seconds * 1_000_000]).with_timezone("UTC"),
        );
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let out = arithmetic(&ts, op, &interval, &paris).unwrap();
        out.as_primitive::<TimestampMicrosecondType>().value(0) / 1_000_000
    }

    #[test]
    fn days_and_months_move_the_session_zones_wall_clock() {
        let day = || interval(0, 1, 0);
        // 2024-03-30 12:00 CET (11:00Z) + 1 day = 2024-03-31 12:00 CEST (10:00Z): 23 hours.
        assert_eq!(
            in_paris(1_711_796_400, Operator::Plus, day()),
            1_711_879_200
        );
        // 02:30 on March 31st is in the spring gap: 03:30 CEST (01:30Z), as Java resolves it.
        assert_eq!(
            in_paris(1_711_762_200, Operator::Plus, day()),
            1_711_848_600
        );
        // 02:30 on October 27th happens twice; each side keeps its own offset.
        assert_eq!(
            in_paris(1_729_902_600, Operator::Plus, day()),
            1_729_989_000
        );
        assert_eq!(
            in_paris(1_730_079_000, Operator::Minus, day()),
            1_729_992_600
        );
        // 2024-01-31 00:30 CET (2024-01-30 23:30Z) + 1 month = 2024-02-29 00:30 CET (23:30Z
        // on the 28th), where UTC's wall clock gives the 29th.
        let month = interval(1, 0, 0);
        assert_eq!(
            in_paris(1_706_657_400, Operator::Plus, month),
            1_709_163_000
        );
    }

    #[test]
    fn out_of_range_results_are_errors() {
        let out = in_utc(&dates(&[i32::MAX]), Operator::Plus, &interval(0, 1, 0));
        assert!(out.unwrap_err().to_string().contains("out of range"));
        let out = in_utc(&dates(&[0]), Operator::Minus, &interval(i32::MIN, 0, 0));
        assert!(out.unwrap_err().to_string().contains("out of range"));
    }
}
