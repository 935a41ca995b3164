//! Arithmetic on Arrow values with rsql's (Spark's) semantics, shared by the executor and
//! constant folding so that a folded constant is exactly what the executor would compute.
//!
//! Operands arrive with the types [`binary_types`](crate::coercion::binary_types) chose:
//! integers and floats go to Arrow's wrapping kernels (division and remainder by zero are NULL,
//! as Spark), decimals to [`decimal`]'s exact kernels, dates and timestamps to [`temporal`].
//! `CAST` is [`spark_cast`]. Under [`EvalMode::Ansi`] integer overflow, decimal overflow,
//! division by zero and failed casts are errors instead.

mod cast;
mod decimal;
mod epoch_cast;
mod eval_mode;
mod temporal;
mod zoned_cast;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Datum, Int8Array, Scalar};
use arrow::compute::kernels::{cmp, numeric};
use arrow::compute::{cast, nullif, or};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

use crate::expr::Operator;
use crate::time_zone::TimeZone;

pub use cast::spark_cast;
pub use decimal::largest_magnitude;
pub use eval_mode::EvalMode;

/// `left op right` for an arithmetic `op`, with the result type `result` (as
/// [`binary_types`](crate::coercion::binary_types) gave it), failing under
/// [`EvalMode::Ansi`] where the lenient mode wraps or gives NULL. Dates and timestamps move on
/// the wall clock of the session time zone `zone`. Two scalar operands give a one-row array.
pub fn arithmetic(
    left: &dyn Datum,
    op: Operator,
    right: &dyn Datum,
    result: &DataType,
    mode: EvalMode,
    zone: &TimeZone,
) -> Result<ArrayRef, ArrowError> {
    let (l, r) = (left.get().0.data_type(), right.get().0.data_type());
    if temporal::is_temporal(l) || temporal::is_temporal(r) {
        return temporal::arithmetic(left, op, right, zone);
    }
    numeric_arithmetic(left, op, right, result, mode)
}

/// [`arithmetic`] on numbers and decimals, which no time zone affects.
pub fn numeric_arithmetic(
    left: &dyn Datum,
    op: Operator,
    right: &dyn Datum,
    result: &DataType,
    mode: EvalMode,
) -> Result<ArrayRef, ArrowError> {
    let (l, r) = (left.get().0.data_type(), right.get().0.data_type());
    if matches!(l, DataType::Decimal128(..)) && matches!(r, DataType::Decimal128(..)) {
        let out = decimal::arithmetic(left, op, right, result)?;
        return check_arithmetic(mode, left, op, right, out, "decimal");
    }
    let strict = mode == EvalMode::Ansi;
    let out = match op {
        Operator::Plus if strict => numeric::add(left, right),
        Operator::Minus if strict => numeric::sub(left, right),
        Operator::Multiply if strict => numeric::mul(left, right),
        Operator::Plus => numeric::add_wrapping(left, right),
        Operator::Minus => numeric::sub_wrapping(left, right),
        Operator::Multiply => numeric::mul_wrapping(left, right),
        Operator::Divide => numeric::div(left, nonzero(right)?.as_ref()),
        Operator::Modulo => numeric::rem(left, nonzero(right)?.as_ref()),
        other => Err(ArrowError::InvalidArgumentError(format!(
            "'{}' is not arithmetic",
            other.symbol()
        ))),
    };
    let out = out.map_err(|error| match error {
        // Arrow's checked kernels say "Overflow happened on: a + b".
        ArrowError::ArithmeticOverflow(message) => eval_mode::overflow(
            "integer",
            message.trim_start_matches("Overflow happened on: "),
            &eval_mode::type_text(result),
        ),
        other => other,
    })?;
    check_arithmetic(mode, left, op, right, out, "integer")
}

/// `-values`: the smallest integer of its type negates to itself in the lenient mode and is an
/// error under [`EvalMode::Ansi`].
pub fn negate(values: &dyn Array, mode: EvalMode) -> Result<ArrayRef, ArrowError> {
    match mode {
        EvalMode::Lenient => numeric::neg_wrapping(values),
        EvalMode::Ansi => numeric::neg(values).map_err(|error| match error {
            // Arrow's checked kernel says "Overflow happened on: - a".
            ArrowError::ArithmeticOverflow(message) => eval_mode::overflow(
                "integer",
                &format!(
                    "-({})",
                    message.trim_start_matches("Overflow happened on: - ")
                ),
                &eval_mode::type_text(values.data_type()),
            ),
            other => other,
        }),
    }
}

/// Under ANSI mode, the error for the first row whose operands are present but whose result
/// `out` is NULL: a division by zero, or else an overflow of `kind` arithmetic.
fn check_arithmetic(
    mode: EvalMode,
    left: &dyn Datum,
    op: Operator,
    right: &dyn Datum,
    out: ArrayRef,
    kind: &str,
) -> Result<ArrayRef, ArrowError> {
    if mode == EvalMode::Lenient {
        return Ok(out);
    }
    let ((l, l_scalar), (r, r_scalar)) = (left.get(), right.get());
    let Some(row) = eval_mode::first_lost_row(&[(l, l_scalar), (r, r_scalar)], out.as_ref()) else {
        return Ok(out);
    };
    let at = |values: &dyn Array, is_scalar: bool| {
        eval_mode::value_text(values, if is_scalar { 0 } else { row })
    };
    let (left_text, right_text) = (at(l, l_scalar), at(r, r_scalar));
    let divisor = r.slice(if r_scalar { 0 } else { row }, 1);
    let zero = nonzero(&divisor)?.get().0.is_null(0);
    if matches!(op, Operator::Divide | Operator::Modulo) && zero {
        return Err(eval_mode::divide_by_zero(
            &left_text,
            op.symbol(),
            &right_text,
        ));
    }
    Err(eval_mode::overflow(
        kind,
        &format!("{left_text} {} {right_text}", op.symbol()),
        &eval_mode::type_text(out.data_type()),
    ))
}

/// The divisor with zeros replaced by null, so that `x / 0` and `x % 0` are null.
fn nonzero(divisor: &dyn Datum) -> Result<Box<dyn Datum>, ArrowError> {
    let (values, is_scalar) = divisor.get();
    let zero: ArrayRef = Arc::new(Int8Array::from(vec![0]));
    let zero = cast(&zero, values.data_type())?;
    let mut is_zero = cmp::eq(&values, &Scalar::new(&zero))?;
    if values.data_type().is_floating() {
        // Arrow compares floats by their bits, so -0.0 needs its own test.
        let negative_zero = numeric::neg_wrapping(&zero)?;
        is_zero = or(&is_zero, &cmp::eq(&values, &Scalar::new(negative_zero))?)?;
    }
    Ok(datum(nullif(values, &is_zero)?, is_scalar))
}

/// `values` as a datum: a scalar when `is_scalar` (a one-row array), else an array.
fn datum(values: ArrayRef, is_scalar: bool) -> Box<dyn Datum> {
    if is_scalar {
        Box::new(Scalar::new(values))
    } else {
        Box::new(values)
    }
}

/// `value` cast to `to`, keeping whether it is a scalar.
fn cast_datum(value: &dyn Datum, to: &DataType) -> Result<Box<dyn Datum>, ArrowError> {
    let (values, is_scalar) = value.get();
    Ok(datum(cast(values, to)?, is_scalar))
}

/// The number of rows `left op right` produces.
fn output_len(left: &dyn Datum, right: &dyn Datum) -> usize {
    match (left.get(), right.get()) {
        ((l, false), _) => l.len(),
        (_, (r, false)) => r.len(),
        _ => 1,
    }
}
