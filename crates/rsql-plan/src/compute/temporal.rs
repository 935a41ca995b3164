//! Date and timestamp arithmetic on Arrow kernels (month steps clamp to the month's last day,
//! as Spark's `add_months`): see [`binary_types`](crate::coercion::binary_types) for the types.

use arrow::array::{ArrayRef, Datum};
use arrow::compute::cast;
use arrow::compute::kernels::numeric;
use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use arrow::error::ArrowError;

use super::cast_datum;
use crate::expr::Operator;

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

/// `left op right` where one side is a date, a timestamp or an interval.
pub(super) fn arithmetic(
    left: &dyn Datum,
    op: Operator,
    right: &dyn Datum,
) -> Result<ArrayRef, ArrowError> {
    let (l, r) = (left.get().0.data_type(), right.get().0.data_type());
    match (l, op, r) {
        (DataType::Interval(_), Operator::Plus, _) => arithmetic(right, op, left),
        (DataType::Date32, Operator::Plus | Operator::Minus, DataType::Interval(_)) => {
            // Through the date's midnight, so a sub-day part moves it to the instant's day.
            let midnight = cast_datum(left, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let moved = shift(midnight.as_ref(), op, right)?;
            cast(&moved, &DataType::Date32)
        }
        (DataType::Timestamp(..), Operator::Plus | Operator::Minus, DataType::Interval(_)) => {
            shift(left, op, right)
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

/// A timestamp moved by an interval: months first, then days, then the rest.
fn shift(
    timestamp: &dyn Datum,
    op: Operator,
    interval: &dyn Datum,
) -> Result<ArrayRef, ArrowError> {
    if op == Operator::Plus {
        numeric::add(timestamp, interval)
    } else {
        numeric::sub(timestamp, interval)
    }
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

    fn days(out: ArrayRef) -> Vec<i32> {
        out.as_primitive::<Date32Type>().values().to_vec()
    }

    #[test]
    fn month_steps_clamp_to_the_last_day() {
        // 2024-01-31 + 1 month = 2024-02-29; 2024-02-29 - 12 months = 2023-02-28.
        let out = arithmetic(&dates(&[19753]), Operator::Plus, &interval(1, 0, 0));
        assert_eq!(days(out.unwrap()), vec![19782]);
        let out = arithmetic(&dates(&[19782]), Operator::Minus, &interval(12, 0, 0));
        assert_eq!(days(out.unwrap()), vec![19416]);
    }

    #[test]
    fn days_and_sub_day_parts_move_dates() {
        // 1998-12-01 - 90 days = 1998-09-02; 1998-12-01 - 1 hour is 1998-11-30 23:00.
        let out = arithmetic(&dates(&[10561]), Operator::Minus, &interval(0, 90, 0));
        assert_eq!(days(out.unwrap()), vec![10471]);
        let hour = 3_600_000_000_000;
        let out = arithmetic(&dates(&[10561]), Operator::Minus, &interval(0, 0, hour));
        assert_eq!(days(out.unwrap()), vec![10560]);
        let out = arithmetic(&interval(0, 1, hour), Operator::Plus, &dates(&[10561]));
        assert_eq!(days(out.unwrap()), vec![10562]);
    }

    #[test]
    fn date_minus_date_counts_days() {
        let out = arithmetic(&dates(&[10561]), Operator::Minus, &dates(&[10471])).unwrap();
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
        let out = arithmetic(&ts, Operator::Plus, &interval(1, 1, 0)).unwrap();
        let moved = out.as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(moved, 1_709_287_200_000_000);
        let later: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![moved]).with_timezone("UTC"));
        let out = arithmetic(&later, Operator::Minus, &ts).unwrap();
        // 30 days: 2 592 000 s.
        let diff = out.as_primitive::<IntervalMonthDayNanoType>().value(0);
        assert_eq!(diff, IntervalMonthDayNano::new(0, 0, 2_592_000_000_000_000));
        assert!(out.is_valid(0));
    }
}
