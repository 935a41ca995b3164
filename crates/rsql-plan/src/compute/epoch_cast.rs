//! Casts between instants and numbers, which Spark reads as seconds since the epoch: a
//! timestamp cast to an integer is its whole seconds (rounded down), to a float or a decimal
//! its seconds with their fraction; a number cast to a timestamp is that many seconds after
//! 1970-01-01 00:00:00 UTC (a fraction below a microsecond dropped). A value out of range is
//! NULL (an error under ANSI mode), where Spark without ANSI mode wraps integers around.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int64Array, TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Decimal128Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use arrow::error::ArrowError;

const MICROS_PER_SECOND: i64 = 1_000_000;

/// `values` cast to `to` when one is an instant and the other a number; `None` otherwise.
pub(super) fn cast_with_epoch(
    values: &ArrayRef,
    to: &DataType,
) -> Option<Result<ArrayRef, ArrowError>> {
    let from = values.data_type();
    match (from, to) {
        (DataType::Timestamp(_, Some(_)), t) if t.is_numeric() => Some(to_seconds(values, to)),
        (f, DataType::Timestamp(_, Some(zone))) if f.is_numeric() => {
            Some(from_seconds(values).and_then(|micros| {
                let instants: ArrayRef = Arc::new(micros.with_timezone(Arc::clone(zone)));
                if instants.data_type() == to {
                    Ok(instants)
                } else {
                    cast(&instants, to)
                }
            }))
        }
        _ => None,
    }
}

/// Instants as seconds since the epoch, of the numeric type `to`.
fn to_seconds(values: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    // A cast between timestamps that ends without a zone keeps the numbers.
    let micros = cast(values, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    let micros = micros.as_primitive::<TimestampMicrosecondType>();
    if to.is_integer() {
        let seconds: Int64Array = micros.unary(|t| t.div_euclid(MICROS_PER_SECOND));
        return cast(&seconds, to);
    }
    if matches!(to, DataType::Decimal128(..)) {
        // Exact: microseconds are millionths of a second.
        let seconds: Decimal128Array = micros.unary::<_, Decimal128Type>(i128::from);
        return cast(&seconds.with_precision_and_scale(38, 6)?, to);
    }
    let seconds: Float64Array = micros.unary(|t| t as f64 / MICROS_PER_SECOND as f64);
    cast(&seconds, to)
}

/// Numbers of seconds since the epoch as microseconds since the epoch.
fn from_seconds(values: &ArrayRef) -> Result<TimestampMicrosecondArray, ArrowError> {
    Ok(match values.data_type() {
        DataType::Decimal128(_, scale) => {
            let scale = i32::from(*scale);
            values
                .as_primitive::<Decimal128Type>()
                .unary_opt(|v| i64::try_from(shift_decimal(v, 6 - scale)?).ok())
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let seconds = cast(values, &DataType::Float64)?;
            seconds.as_primitive::<Float64Type>().unary_opt(|s| {
                let micros = (s * MICROS_PER_SECOND as f64).trunc();
                // i64::MAX is 2^63 - 1; the float 2^63 is the first value past it.
                (micros.is_finite() && micros.abs() < 9_223_372_036_854_775_808.0)
                    .then_some(micros as i64)
            })
        }
        _ => {
            let seconds = cast(values, &DataType::Int64)?;
            seconds
                .as_primitive::<Int64Type>()
                .unary_opt(|s| s.checked_mul(MICROS_PER_SECOND))
        }
    })
}

/// `value` times ten to the power `exponent`, truncated towards zero when `exponent` is negative;
/// `None` on overflow.
fn shift_decimal(value: i128, exponent: i32) -> Option<i128> {
    let factor = 10i128.checked_pow(exponent.unsigned_abs())?;
    if exponent >= 0 {
        value.checked_mul(factor)
    } else {
        Some(value / factor)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Float32Array;

    use super::*;

    fn instants(values: Vec<Option<i64>>) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    }

    fn utc() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    // By hand: -1.5 s is 1969-12-31 23:59:58.5, whose whole seconds (rounded down) are -2.
    #[test]
    fn instants_become_seconds() {
        let values = instants(vec![Some(1_500_000), Some(-1_500_000), None]);
        let out = cast_with_epoch(&values, &DataType::Int64).unwrap().unwrap();
        let got: Vec<_> = out.as_primitive::<Int64Type>().iter().collect();
        assert_eq!(got, [Some(1), Some(-2), None]);
        let out = cast_with_epoch(&values, &DataType::Float64)
            .unwrap()
            .unwrap();
        let got: Vec<_> = out.as_primitive::<Float64Type>().iter().collect();
        assert_eq!(got, [Some(1.5), Some(-1.5), None]);
        let out = cast_with_epoch(&values, &DataType::Decimal128(10, 3))
            .unwrap()
            .unwrap();
        let got: Vec<_> = out.as_primitive::<Decimal128Type>().iter().collect();
        assert_eq!(got, [Some(1_500), Some(-1_500), None]);
    }

    #[test]
    fn seconds_become_instants_or_null_out_of_range() {
        let micros = |out: ArrayRef| -> Vec<Option<i64>> {
            out.as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect()
        };
        let seconds: ArrayRef = Arc::new(Int64Array::from(vec![Some(-2), Some(i64::MAX), None]));
        let out = cast_with_epoch(&seconds, &utc()).unwrap().unwrap();
        assert_eq!(out.data_type(), &utc());
        assert_eq!(micros(out), [Some(-2_000_000), None, None]);
        let seconds: ArrayRef = Arc::new(Float32Array::from(vec![-1.5, f32::NAN, f32::INFINITY]));
        let out = cast_with_epoch(&seconds, &utc()).unwrap().unwrap();
        assert_eq!(micros(out), [Some(-1_500_000), None, None]);
        // 1.2345678 s is truncated to 1.234567 s.
        let seconds: ArrayRef = Arc::new(
            Decimal128Array::from(vec![12_345_678])
                .with_precision_and_scale(8, 7)
                .unwrap(),
        );
        let out = cast_with_epoch(&seconds, &utc()).unwrap().unwrap();
        assert_eq!(micros(out), [Some(1_234_567)]);
    }
}
