//! Arithmetic on Arrow values with rsql's (Spark's) semantics, shared by the executor and
//! constant folding so that a folded constant is exactly what the executor would compute.
//!
//! Operands arrive with the types [`binary_types`](crate::coercion::binary_types) chose:
//! integers and floats go to Arrow's wrapping kernels (division and remainder by zero are NULL,
//! as Spark), decimals to [`decimal`]'s exact kernels, dates and timestamps to [`temporal`].
//! `CAST` is [`spark_cast`].

mod cast;
mod decimal;
mod temporal;
mod zoned_cast;

use std::sync::Arc;

use arrow::array::{ArrayRef, Datum, Int8Array, Scalar};
use arrow::compute::kernels::{cmp, numeric};
use arrow::compute::{cast, nullif, or};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

use crate::expr::Operator;

pub use cast::spark_cast;

/// `left op right` for an arithmetic `op`, with the result type `result` (as
/// [`binary_types`](crate::coercion::binary_types) gave it). Two scalar operands give a
/// one-row array.
pub fn arithmetic(
    left: &dyn Datum,
    op: Operator,
    right: &dyn Datum,
    result: &DataType,
) -> Result<ArrayRef, ArrowError> {
    let (l, r) = (left.get().0.data_type(), right.get().0.data_type());
    if matches!(l, DataType::Decimal128(..)) && matches!(r, DataType::Decimal128(..)) {
        return decimal::arithmetic(left, op, right, result);
    }
    if temporal::is_temporal(l) || temporal::is_temporal(r) {
        return temporal::arithmetic(left, op, right);
    }
    match op {
        Operator::Plus => numeric::add_wrapping(left, right),
        Operator::Minus => numeric::sub_wrapping(left, right),
        Operator::Multiply => numeric::mul_wrapping(left, right),
        Operator::Divide => numeric::div(left, nonzero(right)?.as_ref()),
        Operator::Modulo => numeric::rem(left, nonzero(right)?.as_ref()),
        other => Err(ArrowError::InvalidArgumentError(format!(
            "'{}' is not arithmetic",
            other.symbol()
        ))),
    }
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
