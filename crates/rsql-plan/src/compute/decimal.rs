//! Exact `Decimal128` arithmetic with Spark's semantics: operands of any scales, the result
//! rounded half up (away from zero) to the result scale, and NULL when the result does not fit
//! its precision (Spark's non-ANSI overflow) or a divisor is zero. Intermediate values may be
//! 256-bit, so products and scaled dividends of 38-digit operands do not overflow; a quotient
//! whose scaled dividend needs more than 76 digits is NULL. Values are computed in `i128` when
//! every intermediate fits and in `i256` otherwise.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Datum, Decimal128Array};
use arrow::compute::binary;
use arrow::datatypes::{DataType, Decimal128Type, i256};
use arrow::error::ArrowError;

use super::output_len;
use crate::expr::Operator;

/// `left op right` for two decimal operands, with the decimal type `result`.
pub(super) fn arithmetic(
    left: &dyn Datum,
    op: Operator,
    right: &dyn Datum,
    result: &DataType,
) -> Result<ArrayRef, ArrowError> {
    let len = output_len(left, right);
    let ((l, l_scalar), (r, r_scalar)) = (left.get(), right.get());
    let kernel = DecimalKernel::new(l.data_type(), op, r.data_type(), result)?;
    let (l, r) = (
        l.as_primitive::<Decimal128Type>(),
        r.as_primitive::<Decimal128Type>(),
    );
    // The operand types' precisions first; failing that, the largest magnitudes in the batch
    // (stored values are usually far below their type's limit).
    let exact = kernel
        .never_overflows(kernel.left_max, kernel.right_max)
        .or_else(|| {
            kernel
                .has_unchecked_form()
                .then(|| kernel.never_overflows(magnitude(l), magnitude(r)))
                .flatten()
        });
    if let Some(exact) = exact.filter(|_| !(l_scalar && r_scalar)) {
        let values = match (l_scalar, r_scalar) {
            (false, false) => binary(l, r, exact)?,
            (true, _) if l.is_valid(0) => {
                let left = l.value(0);
                r.unary(|right| exact(left, right))
            }
            (_, true) if r.is_valid(0) => {
                let right = r.value(0);
                l.unary(|left| exact(left, right))
            }
            _ => Decimal128Array::new_null(len),
        };
        let (precision, scale) = (kernel.precision, kernel.scale);
        return Ok(Arc::new(values.with_precision_and_scale(precision, scale)?));
    }
    let values: Decimal128Array = (0..len)
        .map(|row| {
            let li = if l_scalar { 0 } else { row };
            let ri = if r_scalar { 0 } else { row };
            if l.is_null(li) || r.is_null(ri) {
                return None;
            }
            kernel.apply(l.value(li), r.value(ri))
        })
        .collect();
    let (precision, scale) = (kernel.precision, kernel.scale);
    Ok(Arc::new(values.with_precision_and_scale(precision, scale)?))
}

/// The largest magnitude among `values`' slots (null ones included, which only loosens it):
/// what bounds a batch's results or sums without looking at each value.
pub fn largest_magnitude(values: &Decimal128Array) -> u128 {
    values
        .values()
        .iter()
        .fold(0, |largest, value| largest.max(value.unsigned_abs()))
}

fn magnitude(values: &Decimal128Array) -> i256 {
    i256::from_parts(largest_magnitude(values), 0)
}

fn parts(data_type: &DataType) -> Result<(u8, i8), ArrowError> {
    match data_type {
        DataType::Decimal128(p, s) => Ok((*p, *s)),
        other => Err(ArrowError::InvalidArgumentError(format!(
            "expected a decimal, got {other}"
        ))),
    }
}

/// 10 to the power `exp` (`exp` at most 76).
fn pow10(exp: i16) -> Result<i256, ArrowError> {
    u32::try_from(exp)
        .ok()
        .and_then(|exp| i256::from_i128(10).checked_pow(exp))
        .ok_or_else(|| ArrowError::InvalidArgumentError(format!("decimal scale step {exp}")))
}

/// The integer operations the kernels need, for `i128` (the fast path, enough for most values)
/// and `i256` (when an intermediate value needs more than 128 bits).
trait Wide: Copy + Ord {
    const ONE: Self;
    const MINUS_ONE: Self;
    const TWO: Self;
    fn add(self, other: Self) -> Option<Self>;
    fn sub(self, other: Self) -> Option<Self>;
    fn mul(self, other: Self) -> Option<Self>;
    fn div(self, other: Self) -> Option<Self>;
    fn rem(self, other: Self) -> Option<Self>;
    fn abs(self) -> Option<Self>;
    fn negative(self) -> bool;
}

macro_rules! wide {
    ($t:ty, $one:expr, $minus_one:expr, $two:expr) => {
        impl Wide for $t {
            const ONE: Self = $one;
            const MINUS_ONE: Self = $minus_one;
            const TWO: Self = $two;
            fn add(self, other: Self) -> Option<Self> {
                self.checked_add(other)
            }
            fn sub(self, other: Self) -> Option<Self> {
                self.checked_sub(other)
            }
            fn mul(self, other: Self) -> Option<Self> {
                self.checked_mul(other)
            }
            fn div(self, other: Self) -> Option<Self> {
                self.checked_div(other)
            }
            fn rem(self, other: Self) -> Option<Self> {
                self.checked_rem(other)
            }
            fn abs(self) -> Option<Self> {
                self.checked_abs()
            }
            fn negative(self) -> bool {
                self.is_negative()
            }
        }
    };
}

wide!(i128, 1, -1, 2);
wide!(i256, i256::ONE, i256::MINUS_ONE, i256::from_i128(2));

/// `n / d` rounded half away from zero; `None` when `d` is zero or on overflow.
fn div_half_up<T: Wide>(n: T, d: T) -> Option<T> {
    let quotient = n.div(d)?;
    let remainder = n.rem(d)?;
    if remainder.abs()?.mul(T::TWO)? >= d.abs()? {
        let away = if n.negative() == d.negative() {
            T::ONE
        } else {
            T::MINUS_ONE
        };
        quotient.add(away)
    } else {
        Some(quotient)
    }
}

/// The scale factors of one operation in one integer width.
struct Factors<T> {
    /// Factors bringing the left and right operands to the working scale (or, for division,
    /// multiplying the dividend and the divisor).
    left: T,
    right: T,
    /// The divisor taking the working scale down to the result scale.
    rescale: T,
}

impl<T: Wide> Factors<T> {
    /// The exact result of `left op right` rounded to the result scale; `None` on overflow of
    /// `T` or a zero divisor.
    fn apply(&self, op: Operator, left: T, right: T) -> Option<T> {
        let l = left.mul(self.left)?;
        let r = right.mul(self.right)?;
        let exact = match op {
            Operator::Plus => l.add(r)?,
            Operator::Minus => l.sub(r)?,
            Operator::Multiply => l.mul(r)?,
            Operator::Divide => div_half_up(l, r)?,
            Operator::Modulo => l.rem(r)?,
            _ => return None,
        };
        if self.rescale == T::ONE {
            Some(exact)
        } else {
            div_half_up(exact, self.rescale)
        }
    }
}

/// One decimal operation with its scale factors worked out once per batch.
struct DecimalKernel {
    op: Operator,
    /// The largest unscaled magnitudes the operands' precisions allow.
    left_max: i256,
    right_max: i256,
    /// The factors as `i128`, when they fit.
    narrow: Option<Factors<i128>>,
    wide: Factors<i256>,
    /// 10 to the result precision: results must be smaller in magnitude.
    limit: i128,
    precision: u8,
    scale: i8,
}

impl DecimalKernel {
    fn new(
        left: &DataType,
        op: Operator,
        right: &DataType,
        result: &DataType,
    ) -> Result<Self, ArrowError> {
        let ((p1, s1), (p2, s2), (precision, scale)) =
            (parts(left)?, parts(right)?, parts(result)?);
        let largest = |precision: u8| pow10(i16::from(precision)).map(|p| p - i256::ONE);
        let (s1, s2, rs) = (i16::from(s1), i16::from(s2), i16::from(scale));
        let one = i256::ONE;
        let (left_factor, right_factor, working) = match op {
            Operator::Plus | Operator::Minus | Operator::Modulo => {
                let working = s1.max(s2);
                (pow10(working - s1)?, pow10(working - s2)?, working)
            }
            Operator::Multiply => (one, one, s1 + s2),
            // The quotient of l / 10^s1 by r / 10^s2 at scale rs is l * 10^(rs - s1 + s2) / r.
            Operator::Divide => {
                let shift = rs - s1 + s2;
                if shift >= 0 {
                    (pow10(shift)?, one, rs)
                } else {
                    (one, pow10(-shift)?, rs)
                }
            }
            other => {
                return Err(ArrowError::InvalidArgumentError(format!(
                    "'{}' is not arithmetic",
                    other.symbol()
                )));
            }
        };
        let wide = Factors {
            left: left_factor,
            right: right_factor,
            rescale: pow10(working - rs)?,
        };
        let narrow = match (
            wide.left.to_i128(),
            wide.right.to_i128(),
            wide.rescale.to_i128(),
        ) {
            (Some(left), Some(right), Some(rescale)) => Some(Factors {
                left,
                right,
                rescale,
            }),
            _ => None,
        };
        let limit = pow10(i16::from(precision))?
            .to_i128()
            .ok_or_else(|| ArrowError::InvalidArgumentError(format!("precision {precision}")))?;
        Ok(DecimalKernel {
            op,
            left_max: largest(p1)?,
            right_max: largest(p2)?,
            narrow,
            wide,
            limit,
            precision,
            scale,
        })
    }

    /// Whether the operation may run as a plain `i128` function: a sum, difference or product
    /// in `i128` factors with no rounding to the result scale.
    fn has_unchecked_form(&self) -> bool {
        matches!(
            self.op,
            Operator::Plus | Operator::Minus | Operator::Multiply
        ) && self
            .narrow
            .as_ref()
            .is_some_and(|factors| factors.rescale == 1)
    }

    /// A plain `i128` function computing every result exactly, when operands no larger in
    /// magnitude than `left_max` and `right_max` rule out overflow, rounding and division:
    /// sums, differences and products whose largest possible magnitude fits the result
    /// precision (most arithmetic on stored prices and quantities). Such a kernel runs without
    /// checks, vectorised over whole arrays.
    fn never_overflows(
        &self,
        left_max: i256,
        right_max: i256,
    ) -> Option<impl Fn(i128, i128) -> i128 + use<>> {
        if !self.has_unchecked_form() {
            return None;
        }
        let factors = self.narrow.as_ref()?;
        let (fl, fr) = (factors.left, factors.right);
        let bound = match self.op {
            Operator::Plus | Operator::Minus => left_max
                .checked_mul(i256::from_i128(fl))?
                .checked_add(right_max.checked_mul(i256::from_i128(fr))?)?,
            Operator::Multiply => left_max.checked_mul(right_max)?,
            _ => return None,
        };
        if bound >= i256::from_i128(self.limit) {
            return None;
        }
        let op = self.op;
        Some(move |left: i128, right: i128| match op {
            Operator::Plus => left * fl + right * fr,
            Operator::Minus => left * fl - right * fr,
            _ => left * right,
        })
    }

    /// The result for one pair of unscaled values, or `None` (NULL) on overflow or a zero
    /// divisor: in `i128` when every intermediate value fits, else in `i256`.
    fn apply(&self, left: i128, right: i128) -> Option<i128> {
        let narrow = self
            .narrow
            .as_ref()
            .and_then(|factors| factors.apply(self.op, left, right));
        let value = match narrow {
            Some(value) => value,
            None => {
                let wide =
                    self.wide
                        .apply(self.op, i256::from_i128(left), i256::from_i128(right))?;
                wide.to_i128()?
            }
        };
        (value.checked_abs()? < self.limit).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Scalar;

    fn decimals(values: &[Option<i128>], precision: u8, scale: i8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(values.to_vec())
                .with_precision_and_scale(precision, scale)
                .unwrap(),
        )
    }

    fn run(left: ArrayRef, op: Operator, right: ArrayRef, result: DataType) -> Vec<Option<i128>> {
        let out = arithmetic(&left, op, &right, &result).unwrap();
        assert_eq!(out.data_type(), &result);
        out.as_primitive::<Decimal128Type>().iter().collect()
    }

    // Expected values computed by hand.
    #[test]
    fn addition_aligns_scales() {
        // 1.25 + 0.5 = 1.75 at scale 2; -1.25 + NULL = NULL.
        let out = run(
            decimals(&[Some(125), Some(-125)], 3, 2),
            Operator::Plus,
            decimals(&[Some(5), None], 2, 1),
            DataType::Decimal128(4, 2),
        );
        assert_eq!(out, vec![Some(175), None]);
    }

    #[test]
    fn products_round_half_up_when_the_scale_is_cut() {
        // 0.005 * 0.1 = 0.0005, rounded to scale 3 is 0.001; -0.0005 is -0.001.
        let out = run(
            decimals(&[Some(5), Some(-5)], 3, 3),
            Operator::Multiply,
            decimals(&[Some(1), Some(1)], 1, 1),
            DataType::Decimal128(5, 3),
        );
        assert_eq!(out, vec![Some(1), Some(-1)]);
    }

    #[test]
    fn division_rounds_and_zero_divisors_are_null() {
        // 2.00 / 3 = 0.666667 at scale 6; 1.00 / -8 = -0.125000; 1.00 / 0 = NULL.
        let divisor: ArrayRef = decimals(&[Some(3), Some(-8), Some(0)], 1, 0);
        let out = run(
            decimals(&[Some(200), Some(100), Some(100)], 3, 2),
            Operator::Divide,
            divisor,
            DataType::Decimal128(9, 6),
        );
        assert_eq!(out, vec![Some(666_667), Some(-125_000), None]);
    }

    #[test]
    fn overflow_is_null() {
        // 99 + 1 = 100 does not fit DECIMAL(2,0); 98 + 1 does.
        let out = run(
            decimals(&[Some(99), Some(98)], 2, 0),
            Operator::Plus,
            decimals(&[Some(1), Some(1)], 1, 0),
            DataType::Decimal128(2, 0),
        );
        assert_eq!(out, vec![None, Some(99)]);
    }

    #[test]
    fn products_beyond_128_bits_are_exact() {
        // (10^27 + 10^-10) * 1 as DECIMAL(38,10) * DECIMAL(38,10): the unscaled product
        // (10^37 + 1) * 10^10 needs more than 128 bits; at scale 6 it is 10^27 exactly.
        let out = run(
            decimals(&[Some(10_i128.pow(37) + 1)], 38, 10),
            Operator::Multiply,
            decimals(&[Some(10_i128.pow(10))], 38, 10),
            DataType::Decimal128(38, 6),
        );
        assert_eq!(out, vec![Some(10_i128.pow(33))]);
    }

    #[test]
    fn remainder_has_the_dividend_sign_and_scalars_broadcast() {
        // -7.5 % 2 = -1.5; 7.5 % 2 = 1.5.
        let dividend = decimals(&[Some(-75), Some(75)], 2, 1);
        let divisor = Scalar::new(decimals(&[Some(2)], 1, 0));
        let out = arithmetic(
            &dividend,
            Operator::Modulo,
            &divisor,
            &DataType::Decimal128(2, 1),
        )
        .unwrap();
        let out: Vec<_> = out.as_primitive::<Decimal128Type>().iter().collect();
        assert_eq!(out, vec![Some(-15), Some(15)]);
    }

    /// The exact value of `left op right` as a fraction `numerator / denominator` of unscaled
    /// values, rounded half up to `scale` digits: a reference independent of the kernel's
    /// per-operator scale factors (small precisions keep it within `i128`).
    fn reference(
        (a, s1): (i128, u32),
        op: Operator,
        (b, s2): (i128, u32),
        (precision, scale): (u8, i8),
    ) -> Option<i128> {
        let (p1, p2) = (10_i128.pow(s1), 10_i128.pow(s2));
        let (numerator, denominator) = match op {
            Operator::Plus => (a * p2 + b * p1, p1 * p2),
            Operator::Minus => (a * p2 - b * p1, p1 * p2),
            Operator::Multiply => (a * b, p1 * p2),
            Operator::Divide if b != 0 => (a * p2, b * p1),
            Operator::Modulo if b != 0 => ((a * p2) % (b * p1), p1 * p2),
            _ => return None,
        };
        let scaled = numerator * 10_i128.pow(u32::try_from(scale).ok()?);
        let (q, r) = (scaled / denominator, scaled % denominator);
        let rounded = if 2 * r.abs() >= denominator.abs() {
            q + scaled.signum() * denominator.signum()
        } else {
            q
        };
        (rounded.abs() < 10_i128.pow(u32::from(precision))).then_some(rounded)
    }

    fn operand() -> impl proptest::strategy::Strategy<Value = (u8, i8, i128)> {
        use proptest::prelude::*;
        (1_u8..=9).prop_flat_map(|p| {
            let max = 10_i128.pow(u32::from(p)) - 1;
            (Just(p), 0..=p as i8, -max..=max)
        })
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_exact_fractions(
            (p1, s1, a) in operand(),
            (p2, s2, b) in operand(),
            op in proptest::sample::select(vec![
                Operator::Plus,
                Operator::Minus,
                Operator::Multiply,
                Operator::Divide,
                Operator::Modulo,
            ]),
        ) {
            let result = crate::coercion::decimal_result((p1, s1), op, (p2, s2)).unwrap();
            let DataType::Decimal128(rp, rs) = result else { unreachable!() };
            let out = run(
                decimals(&[Some(a)], p1, s1),
                op,
                decimals(&[Some(b)], p2, s2),
                result.clone(),
            );
            let expected = reference((a, s1 as u32), op, (b, s2 as u32), (rp, rs));
            proptest::prop_assert_eq!(out, vec![expected]);
            // The 256-bit path, which the kernel takes only past 128 bits, agrees too.
            let kernel = DecimalKernel::new(
                &DataType::Decimal128(p1, s1),
                op,
                &DataType::Decimal128(p2, s2),
                &result,
            )
            .unwrap();
            let wide = kernel
                .wide
                .apply(op, i256::from_i128(a), i256::from_i128(b))
                .and_then(|v| v.to_i128())
                .filter(|v| v.abs() < kernel.limit);
            proptest::prop_assert_eq!(wide, expected);
        }
    }

    fn decimal_operand() -> impl Strategy<Value = (u8, i8, Vec<Option<i128>>)> {
        (1u8..=12, 0i8..=6).prop_flat_map(|(precision, scale)| {
            let max = 10i128.pow(u32::from(precision)) - 1;
            let scale = scale.min(precision as i8);
            (
                Just(precision),
                Just(scale),
                prop::collection::vec(prop::option::weighted(0.9, -max..=max), 8),
            )
        })
    }

    use proptest::prelude::*;

    proptest! {
        /// Sums, differences and products, of columns and of a scalar with a column, with
        /// NULLs, equal the exact fractions, whether the vectorised kernel (no overflow possible
        /// for the types or for the batch's values) or the checked one (a tight result
        /// precision) runs.
        #[test]
        fn additive_and_multiplicative_kernels_match_exact_arithmetic(
            (p1, s1, left) in decimal_operand(),
            (p2, s2, right) in decimal_operand(),
            op in prop_oneof![Just(Operator::Plus), Just(Operator::Minus), Just(Operator::Multiply)],
            tight in any::<bool>(),
            shape in 0..4,
            shrink in 0_u32..4,
        ) {
            // Values well below their type's limit let a tight result take the vectorised
            // kernel on the batch's magnitudes.
            let shrunk = |values: Vec<Option<i128>>| -> Vec<Option<i128>> {
                values.into_iter().map(|v| v.map(|v| v / 10_i128.pow(shrink))).collect()
            };
            let (left, right) = (shrunk(left), shrunk(right));
            let scale = if op == Operator::Multiply { s1 + s2 } else { s1.max(s2) };
            let needed = if op == Operator::Multiply {
                p1 + p2
            } else {
                p1.max(p2) + 1 + (s1 - s2).unsigned_abs()
            };
            let precision = if tight { needed.saturating_sub(2).max(scale as u8).max(1) } else { needed.min(38) };
            let result = DataType::Decimal128(precision, scale);
            // shape 0: two columns; 1: a scalar and a column; 2: a column and a scalar; 3: two
            // scalars.
            let (lefts, rights) = match shape {
                0 => (left.clone(), right.clone()),
                1 => (vec![left[0]; right.len()], right.clone()),
                2 => (left.clone(), vec![right[0]; left.len()]),
                _ => (vec![left[0]], vec![right[0]]),
            };
            let operand = |values: &[Option<i128>], p, s, scalar: bool| -> Box<dyn Datum> {
                if scalar {
                    Box::new(Scalar::new(decimals(&values[..1], p, s)))
                } else {
                    Box::new(decimals(values, p, s))
                }
            };
            let out = arithmetic(
                operand(&left, p1, s1, shape == 1 || shape == 3).as_ref(),
                op,
                operand(&right, p2, s2, shape >= 2).as_ref(),
                &result,
            )
            .unwrap();
            let actual: Vec<Option<i128>> = out.as_primitive::<Decimal128Type>().iter().collect();
            let expected: Vec<Option<i128>> = lefts
                .iter()
                .zip(&rights)
                .map(|(&l, &r)| {
                    reference((l?, s1 as u32), op, (r?, s2 as u32), (precision, scale))
                })
                .collect();
            prop_assert_eq!(actual, expected);
        }
    }
}
