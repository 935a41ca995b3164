//! [`EvalMode`]: whether a value an expression cannot compute is NULL (or wraps) or an error,
//! and the checks the kernels run under ANSI mode.
//!
//! The lenient kernels mark what they cannot compute with a NULL (a decimal overflow, a zero
//! divisor, text that is no number). Under ANSI mode a row whose operands are all present but
//! whose result is NULL is therefore exactly a row the kernel could not compute: the checks here
//! find the first such row and describe it, so the strict mode costs a null count per batch
//! where nothing fails and the lenient kernels stay as they are.

use arrow::array::{Array, ArrayRef};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};

use crate::sql::sql_type_name;

/// How expressions treat a value they cannot compute: Spark's `spark.sql.ansi.enabled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EvalMode {
    /// Spark 3's default: integer arithmetic wraps around; decimal overflow, division by zero
    /// and casts of values that do not fit or do not parse give NULL.
    #[default]
    Lenient,
    /// Spark's ANSI mode: each of those is an error naming the value and the type.
    Ansi,
}

/// The first row where every operand is present but `result` is NULL (`None` when there is
/// none). Operands are `(values, is_scalar)` pairs as [`Datum::get`](arrow::array::Datum::get)
/// gives them; a scalar operand holds one row for every row of the result.
pub(super) fn first_lost_row(operands: &[(&dyn Array, bool)], result: &dyn Array) -> Option<usize> {
    let lost = result.logical_nulls()?;
    // Logical nulls, so that a NULL-typed operand counts as absent.
    let operands: Vec<_> = operands
        .iter()
        .map(|(values, is_scalar)| (values.logical_nulls(), *is_scalar))
        .collect();
    let present = |row: usize| {
        operands.iter().all(|(nulls, is_scalar)| {
            let row = if *is_scalar { 0 } else { row };
            nulls.as_ref().is_none_or(|nulls| nulls.is_valid(row))
        })
    };
    (0..result.len()).find(|&row| lost.is_null(row) && present(row))
}

/// `values[row]` as SQL text: strings quoted, everything else as Arrow displays it.
pub(super) fn value_text(values: &dyn Array, row: usize) -> String {
    let text = ArrayFormatter::try_new(values, &FormatOptions::default())
        .map(|formatter| formatter.value(row).to_string())
        .unwrap_or_else(|_| "?".into());
    if matches!(
        values.data_type(),
        arrow::datatypes::DataType::Utf8
            | arrow::datatypes::DataType::LargeUtf8
            | arrow::datatypes::DataType::Utf8View
    ) {
        format!("'{text}'")
    } else {
        text
    }
}

/// The SQL name of `data_type` as error messages spell it (`DECIMAL(38,0)`, `BIGINT`).
pub(super) fn type_text(data_type: &arrow::datatypes::DataType) -> String {
    sql_type_name(data_type).to_uppercase()
}

/// The error for a division or remainder by zero under ANSI mode.
pub(super) fn divide_by_zero(left: &str, symbol: &str, right: &str) -> ArrowError {
    ArrowError::ComputeError(format!(
        "division by zero: {left} {symbol} {right} (ansi_mode is on; NULLIF(divisor, 0) gives \
         NULL instead)"
    ))
}

/// The error for an arithmetic result that does not fit its type under ANSI mode.
pub(super) fn overflow(kind: &str, expression: &str, result_type: &str) -> ArrowError {
    ArrowError::ComputeError(format!(
        "{kind} overflow: {expression} does not fit {result_type} (ansi_mode is on)"
    ))
}

/// Checks a cast's result under `mode`: under ANSI mode, a present value cast to NULL is an
/// error naming the value and the target type.
pub(super) fn check_cast(
    mode: EvalMode,
    input: &ArrayRef,
    output: ArrayRef,
) -> Result<ArrayRef, ArrowError> {
    if mode == EvalMode::Lenient {
        return Ok(output);
    }
    let Some(row) = first_lost_row(&[(input.as_ref(), false)], output.as_ref()) else {
        return Ok(output);
    };
    let (from, to) = (input.data_type(), output.data_type());
    let reason = if sql_type_name(from) == "string" {
        "it is malformed"
    } else {
        "it is out of range"
    };
    Err(ArrowError::CastError(format!(
        "cannot cast {} of type {} to {}: {reason} (ansi_mode is on; TRY_CAST gives NULL \
         instead)",
        value_text(input.as_ref(), row),
        type_text(from),
        type_text(to),
    )))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Decimal128Array, Float64Array, Int32Array, Int64Array, NullArray, Scalar};
    use arrow::datatypes::DataType;

    use super::*;
    use crate::compute::{negate, numeric_arithmetic, spark_cast};
    use crate::expr::Operator;
    use crate::time_zone::TimeZone;

    fn cast(values: ArrayRef, to: &DataType, mode: EvalMode) -> Result<ArrayRef, ArrowError> {
        spark_cast(&values, to, &TimeZone::utc(), mode)
    }

    // Expected messages and values by hand, from Spark's CAST_INVALID_INPUT, CAST_OVERFLOW,
    // DIVIDE_BY_ZERO and ARITHMETIC_OVERFLOW errors.
    #[test]
    fn casts_fail_only_on_present_values_that_do_not_convert() {
        let text: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![
            Some("1"),
            None,
            Some("x"),
        ]));
        let lenient = cast(Arc::clone(&text), &DataType::Int32, EvalMode::Lenient).unwrap();
        assert_eq!(lenient.null_count(), 2);
        let err = cast(Arc::clone(&text), &DataType::Int32, EvalMode::Ansi).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot cast 'x' of type STRING to INT: it is malformed"),
            "{err}"
        );
        let ok = cast(text.slice(0, 2), &DataType::Int32, EvalMode::Ansi).unwrap();
        assert_eq!(ok.null_count(), 1);

        let wide: ArrayRef = Arc::new(Int64Array::from(vec![3_000_000_000]));
        let err = cast(wide, &DataType::Int32, EvalMode::Ansi).unwrap_err();
        assert!(
            err.to_string()
                .contains("3000000000 of type BIGINT to INT: it is out of range")
        );
        let nan: ArrayRef = Arc::new(Float64Array::from(vec![f64::NAN]));
        assert!(cast(nan, &DataType::Int64, EvalMode::Ansi).is_err());
        // A NULL-typed value is absent, not lost.
        let nulls: ArrayRef = Arc::new(NullArray::new(2));
        assert_eq!(
            cast(nulls, &DataType::Int32, EvalMode::Ansi).unwrap().len(),
            2
        );
    }

    #[test]
    fn integer_arithmetic_wraps_or_fails() {
        let max: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(i64::MAX)]));
        let one = Scalar::new(Int64Array::from(vec![1]));
        let wrapped = numeric_arithmetic(
            &max,
            Operator::Plus,
            &one,
            &DataType::Int64,
            EvalMode::Lenient,
        );
        let wrapped = wrapped.unwrap();
        assert_eq!(
            wrapped.as_ref(),
            &Int64Array::from(vec![Some(2), None, Some(i64::MIN)])
        );
        let err = numeric_arithmetic(&max, Operator::Plus, &one, &DataType::Int64, EvalMode::Ansi)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("integer overflow: 9223372036854775807 + 1 does not fit BIGINT"),
            "{err}"
        );
        let min: ArrayRef = Arc::new(Int32Array::from(vec![i32::MIN]));
        assert_eq!(
            negate(&min, EvalMode::Lenient).unwrap().as_ref(),
            min.as_ref()
        );
        let err = negate(&min, EvalMode::Ansi).unwrap_err().to_string();
        assert!(err.contains("-(-2147483648) does not fit INT"), "{err}");
    }

    #[test]
    fn division_by_zero_fails_only_with_a_present_dividend() {
        let dividends: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None]));
        let divisors: ArrayRef = Arc::new(Float64Array::from(vec![Some(2.0), Some(0.0)]));
        let out = numeric_arithmetic(
            &dividends,
            Operator::Divide,
            &divisors,
            &DataType::Float64,
            EvalMode::Ansi,
        )
        .unwrap();
        assert_eq!(out.as_ref(), &Float64Array::from(vec![Some(0.5), None]));
        let zero = Scalar::new(Float64Array::from(vec![-0.0]));
        let err = numeric_arithmetic(
            &dividends,
            Operator::Modulo,
            &zero,
            &DataType::Float64,
            EvalMode::Ansi,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("division by zero: 1.0 % -0.0"),
            "{err}"
        );
    }

    #[test]
    fn decimal_overflow_fails_naming_the_operation_and_type() {
        let big: ArrayRef = Arc::new(
            Decimal128Array::from(vec![10_i128.pow(37)])
                .with_precision_and_scale(38, 0)
                .unwrap(),
        );
        let hundred = Scalar::new(
            Decimal128Array::from(vec![100])
                .with_precision_and_scale(3, 0)
                .unwrap(),
        );
        let result = DataType::Decimal128(38, 0);
        let lenient = numeric_arithmetic(
            &big,
            Operator::Multiply,
            &hundred,
            &result,
            EvalMode::Lenient,
        );
        assert_eq!(lenient.unwrap().null_count(), 1);
        let err = numeric_arithmetic(&big, Operator::Multiply, &hundred, &result, EvalMode::Ansi)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "decimal overflow: 10000000000000000000000000000000000000 * 100 does not fit \
                 DECIMAL(38,0)"
            ),
            "{err}"
        );
    }
}
