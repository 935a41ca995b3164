//! Rounding kernels for `round`, `bround`, `floor` and `ceil`, with Spark's semantics.
//!
//! - Decimals round exactly (in `i128`) and are NULL when the result does not fit the result
//!   type the planner chose.
//! - Doubles round the way Spark does, through their shortest decimal representation (Spark
//!   rounds `BigDecimal(x.toString)`): `round(2.675, 2)` is `2.68`, although the binary value of
//!   2.675 is slightly below it. NaN and infinities are returned as they are.
//! - Integers round with a negative scale exactly; a result that overflows the type is NULL
//!   (Spark wraps around).

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, PrimitiveArray};
use arrow::compute::cast;
use arrow::datatypes::{ArrowPrimitiveType, DataType, Decimal128Type, Float32Type, Float64Type};

use crate::error::{Result, exec_err};

/// How a dropped fraction is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Half away from zero (Spark's `round`, `HALF_UP`).
    HalfUp,
    /// Half to the even neighbour (Spark's `bround`, `HALF_EVEN`).
    HalfEven,
    /// Towards negative infinity.
    Floor,
    /// Towards positive infinity.
    Ceil,
}

impl Mode {
    /// Whether the quotient `q` (of a value of sign `negative`) moves one step away from zero,
    /// given the dropped remainder `r` of divisor `d` (`|r| < d`).
    fn away_from_zero(self, q: i128, r: i128, d: i128, negative: bool) -> bool {
        if r == 0 {
            return false;
        }
        // `2|r|` cannot overflow: `|r| < d <= 10^38 < i128::MAX / 2`.
        let twice = 2 * r.abs();
        match self {
            Mode::HalfUp => twice >= d,
            Mode::HalfEven => twice > d || (twice == d && q % 2 != 0),
            Mode::Floor => negative,
            Mode::Ceil => !negative,
        }
    }
}

/// `v` (an unscaled decimal) with its last `drop` digits rounded away by `mode`; `None` on
/// overflow.
fn round_unscaled(v: i128, drop: u32, mode: Mode) -> Option<i128> {
    let Some(d) = 10_i128.checked_pow(drop) else {
        // |v| < 10^38 < d / 2: only floor/ceil of a non-zero value move, to an unrepresentable
        // power of ten.
        return match mode {
            Mode::Floor if v < 0 => None,
            Mode::Ceil if v > 0 => None,
            _ => Some(0),
        };
    };
    let (q, r) = (v / d, v % d);
    if mode.away_from_zero(q, r, d, v < 0) {
        Some(if v < 0 { q - 1 } else { q + 1 })
    } else {
        Some(q)
    }
}

/// Decimals rounded to `scale` digits after the point by `mode`, as the decimal type `result`
/// (its scale is `max(0, min(scale, input scale))`); NULL where the result does not fit.
pub(super) fn round_decimal(
    input: &ArrayRef,
    scale: i64,
    mode: Mode,
    result: &DataType,
) -> Result<ArrayRef> {
    let (DataType::Decimal128(_, s), DataType::Decimal128(rp, rs)) = (input.data_type(), result)
    else {
        return exec_err(format!("cannot round {} to {result}", input.data_type()));
    };
    let (s, rs) = (i64::from(*s), i64::from(*rs));
    // Round at scale `k`, then move to the result scale (only up, for negative `k`).
    let k = scale.min(s);
    let drop = u32::try_from(s - k).unwrap_or(u32::MAX);
    let lift = 10_i128.checked_pow(u32::try_from(rs - k).unwrap_or(u32::MAX));
    let limit = 10_i128.pow(u32::from(*rp));
    let values: Decimal128Array = input
        .as_primitive::<Decimal128Type>()
        .iter()
        .map(|v| {
            let rounded = round_unscaled(v?, drop, mode)?;
            let value = if rounded == 0 {
                0
            } else {
                rounded.checked_mul(lift?)?
            };
            (value.abs() < limit).then_some(value)
        })
        .collect();
    Ok(std::sync::Arc::new(
        values.with_precision_and_scale(*rp, rs as i8)?,
    ))
}

/// `x` rounded to `scale` digits after the point through its shortest decimal representation.
fn round_f64(x: f64, scale: i64, mode: Mode) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    // `{:e}` prints the shortest digits that read back as `x`: "2.675e0".
    let text = format!("{:e}", x.abs());
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return x;
    };
    let fraction_digits = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i64;
    let (Ok(digits), Ok(exponent)) = (
        mantissa.replace('.', "").parse::<i128>(),
        exponent.parse::<i64>(),
    ) else {
        return x;
    };
    // |x| = digits * 10^(exponent - fraction_digits).
    let drop = -(exponent - fraction_digits) - scale;
    if drop <= 0 {
        return x;
    }
    let signed = if x < 0.0 { -digits } else { digits };
    match round_unscaled(signed, u32::try_from(drop).unwrap_or(u32::MAX), mode) {
        Some(0) | None => 0.0,
        Some(q) => format!("{q}e{}", -scale).parse().unwrap_or(x),
    }
}

fn round_floats<T: ArrowPrimitiveType>(
    input: &ArrayRef,
    f: impl Fn(T::Native) -> T::Native,
) -> ArrayRef {
    let values: PrimitiveArray<T> = input.as_primitive::<T>().unary(f);
    std::sync::Arc::new(values)
}

/// `round`/`bround` of any number to `scale` digits, as `result` (see the module docs).
pub(super) fn round(
    input: &ArrayRef,
    scale: i64,
    mode: Mode,
    result: &DataType,
) -> Result<ArrayRef> {
    match input.data_type() {
        DataType::Decimal128(..) => round_decimal(input, scale, mode, result),
        DataType::Float64 => Ok(round_floats::<Float64Type>(input, |x| {
            round_f64(x, scale, mode)
        })),
        // Spark widens a float to a double and rounds that.
        DataType::Float32 => Ok(round_floats::<Float32Type>(input, |x| {
            round_f64(f64::from(x), scale, mode) as f32
        })),
        t if t.is_integer() && scale >= 0 => Ok(input.clone()),
        t if t.is_integer() => {
            let wide = DataType::Decimal128(38, 0);
            let rounded = round_decimal(&cast(input, &wide)?, scale, mode, &wide)?;
            Ok(cast(&rounded, t)?)
        }
        other => exec_err(format!("cannot round a value of type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int32Array};

    use super::*;

    // Expected values computed by hand.
    #[test]
    fn doubles_round_their_shortest_decimal_form() {
        let f = |x, s, m| round_f64(x, s, m);
        assert_eq!(f(2.675, 2, Mode::HalfUp), 2.68);
        assert_eq!(f(2.5, 0, Mode::HalfUp), 3.0);
        assert_eq!(f(-2.5, 0, Mode::HalfUp), -3.0);
        assert_eq!(f(2.5, 0, Mode::HalfEven), 2.0);
        assert_eq!(f(3.5, 0, Mode::HalfEven), 4.0);
        assert_eq!(f(1234.5, -2, Mode::HalfUp), 1200.0);
        assert_eq!(f(1250.0, -2, Mode::HalfEven), 1200.0);
        assert_eq!(f(0.4, 0, Mode::HalfUp), 0.0);
        assert_eq!(f(1e300, -400, Mode::HalfUp), 0.0);
        assert_eq!(f(1.5e-300, 2, Mode::HalfUp), 0.0);
        assert!(f(f64::NAN, 1, Mode::HalfUp).is_nan());
        assert_eq!(f(f64::INFINITY, 1, Mode::HalfUp), f64::INFINITY);
    }

    #[test]
    fn decimals_round_exactly_and_overflow_to_null() {
        // 1.25, -1.25, 9.99 at scale 2 to scale 1 as DECIMAL(3,1).
        let input: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(125), Some(-125), Some(999), None])
                .with_precision_and_scale(3, 2)
                .unwrap(),
        );
        let out = |mode, result| {
            round_decimal(&input, 1, mode, &result)
                .unwrap()
                .as_primitive::<Decimal128Type>()
                .iter()
                .collect::<Vec<_>>()
        };
        let d31 = DataType::Decimal128(3, 1);
        assert_eq!(
            out(Mode::HalfUp, d31.clone()),
            vec![Some(13), Some(-13), Some(100), None]
        );
        assert_eq!(
            out(Mode::HalfEven, d31),
            vec![Some(12), Some(-12), Some(100), None]
        );
        assert_eq!(
            out(Mode::Floor, DataType::Decimal128(2, 1)),
            vec![Some(12), Some(-13), Some(99), None]
        );
        // 10.0 does not fit DECIMAL(2,1).
        assert_eq!(
            out(Mode::HalfUp, DataType::Decimal128(2, 1)),
            vec![Some(13), Some(-13), None, None]
        );
        // To -1 places at scale 0: 0, -0, 10.
        let tens = round_decimal(&input, -1, Mode::Ceil, &DataType::Decimal128(3, 0)).unwrap();
        assert_eq!(
            tens.as_primitive::<Decimal128Type>()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(10), Some(0), Some(10), None]
        );
    }

    #[test]
    fn integers_round_with_negative_scales() {
        let input: ArrayRef = Arc::new(Int32Array::from(vec![
            Some(125),
            Some(-135),
            Some(i32::MAX),
        ]));
        let out = round(&input, -1, Mode::HalfUp, &DataType::Int32).unwrap();
        assert_eq!(
            out.as_primitive::<arrow::datatypes::Int32Type>()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(130), Some(-140), None]
        );
        let doubles: ArrayRef = Arc::new(Float64Array::from(vec![0.125]));
        let out = round(&doubles, 2, Mode::HalfEven, &DataType::Float64).unwrap();
        assert_eq!(out.as_primitive::<Float64Type>().value(0), 0.12);
    }
}
