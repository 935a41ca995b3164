//! Signatures of the numeric functions, with Spark's argument and result types: `abs` keeps its
//! type, the transcendental functions work on `DOUBLE`, `round`/`bround` keep integers and
//! doubles and give decimals Spark's rounded type, `floor`/`ceil` give `BIGINT` (decimals a
//! decimal of scale 0), `mod`/`pmod` type as `%`, `div` is `BIGINT`.

use std::sync::Arc;

use arrow_schema::DataType;
use datafusion_common::ScalarValue;

use super::scalar::{bad_argument, builtin, common, first_arg_type, integer_arg};
use super::{Arity, ScalarFunctionSignature};
use crate::coercion::{MAX_PRECISION, as_decimal, binary_types, is_numeric, is_string, value_type};
use crate::error::{PlanError, Result};
use crate::expr::Operator;

/// A number as it is; strings and NULL become `DOUBLE` (Spark's implicit cast for numeric
/// parameters).
pub(super) fn numeric_arg(function: &str, index: usize, data_type: &DataType) -> Result<DataType> {
    match value_type(data_type) {
        t if is_numeric(t) => Ok(t.clone()),
        t if is_string(t) || t == &DataType::Null => Ok(DataType::Float64),
        other => Err(bad_argument(function, index, other)),
    }
}

/// Every argument a number (see [`numeric_arg`]).
fn numbers(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| numeric_arg(function, i, t))
        .collect()
}

/// Every argument a `DOUBLE`.
pub(super) fn doubles(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| numeric_arg(function, i, t).map(|_| DataType::Float64))
        .collect()
}

/// `DOUBLE`, whatever the arguments.
pub(super) fn float64(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Float64)
}

/// `BIGINT`, whatever the arguments.
fn int64(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int64)
}

/// `round(x[, scale])`: a number, then an integer scale (kept as it is, so that a literal stays
/// a literal for [`round_type`]).
fn round_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let mut coerced = vec![numeric_arg(function, 0, &args[0])?];
    if let Some(scale) = args.get(1) {
        integer_arg(function, 1, scale)?;
        coerced.push(value_type(scale).clone());
    }
    Ok(coerced)
}

/// The literal integer scale of a `round`-like call (0 when absent).
fn literal_scale(function: &str, literals: &[Option<&ScalarValue>]) -> Result<i64> {
    let Some(literal) = literals.get(1) else {
        return Ok(0);
    };
    let scale = literal.and_then(|value| match value {
        ScalarValue::Int8(v) => v.map(i64::from),
        ScalarValue::Int16(v) => v.map(i64::from),
        ScalarValue::Int32(v) => v.map(i64::from),
        ScalarValue::Int64(v) => *v,
        _ => None,
    });
    scale.ok_or_else(|| {
        PlanError::invalid(format!(
            "function '{function}' needs a literal integer scale"
        ))
    })
}

/// The type Spark's `round(decimal(p, s), scale)` has: one more integer digit than the input
/// (rounding up may carry), and the scale cut to `scale`, or scale 0 with at least `-scale + 1`
/// digits for a negative `scale`; at most 38 digits.
fn rounded_decimal(precision: u8, scale: i8, to_scale: i64) -> DataType {
    let (p, s) = (i64::from(precision), i64::from(scale));
    let integer_digits = p - s + 1;
    let max = i64::from(MAX_PRECISION);
    let (precision, scale) = if to_scale < 0 {
        (integer_digits.max(1 - to_scale).min(max), 0)
    } else {
        let scale = s.min(to_scale);
        ((integer_digits + scale).min(max), scale)
    };
    // Both are within 0..=38.
    DataType::Decimal128(precision as u8, scale as i8)
}

/// `round(x, scale)`: integers and floats keep their type, decimals get [`rounded_decimal`].
fn round_type(
    function: &str,
    args: &[DataType],
    literals: &[Option<&ScalarValue>],
) -> Result<DataType> {
    let scale = literal_scale(function, literals)?;
    Ok(match &args[0] {
        DataType::Decimal128(p, s) => rounded_decimal(*p, *s, scale),
        other => other.clone(),
    })
}

/// `floor`/`ceil`: decimals as they are, integers as `BIGINT`, other numbers as `DOUBLE` (Spark's
/// `DOUBLE`, `DECIMAL`, `BIGINT` alternatives).
fn floor_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    Ok(vec![match numeric_arg(function, 0, &args[0])? {
        t @ DataType::Decimal128(..) => t,
        t if t.is_integer() => DataType::Int64,
        _ => DataType::Float64,
    }])
}

/// `floor`/`ceil` of `DECIMAL(p, s)` is `DECIMAL(p - s + 1, 0)` (`DECIMAL(p, 0)` stays), of
/// anything else `BIGINT`.
fn floor_type(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(match args[0] {
        DataType::Decimal128(p, 0) => DataType::Decimal128(p, 0),
        DataType::Decimal128(p, s) => rounded_decimal(p, s, 0),
        _ => DataType::Int64,
    })
}

/// `mod`/`pmod`: the operand types `%` gives numbers (strings as `DOUBLE`).
fn modulo_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let numbers = numbers(function, args)?;
    let types = binary_types(&numbers[0], Operator::Modulo, &numbers[1])?;
    Ok(vec![types.left, types.right])
}

fn modulo_type(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(binary_types(&args[0], Operator::Modulo, &args[1])?.result)
}

/// `div`: two decimals when either is a decimal (and the other one converts exactly), else two
/// `BIGINT`s (floats are truncated first, as Spark's implicit cast).
fn div_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let numbers = numbers(function, args)?;
    let any_decimal = numbers
        .iter()
        .any(|t| matches!(t, DataType::Decimal128(..)));
    match (as_decimal(&numbers[0]), as_decimal(&numbers[1])) {
        (Some((p1, s1)), Some((p2, s2))) if any_decimal => Ok(vec![
            DataType::Decimal128(p1, s1),
            DataType::Decimal128(p2, s2),
        ]),
        _ => Ok(vec![DataType::Int64; 2]),
    }
}

/// Whether values of `data_type` can be ordered by `greatest`/`least`.
fn orderable(data_type: &DataType) -> bool {
    is_numeric(data_type)
        || is_string(data_type)
        || matches!(
            data_type,
            DataType::Null
                | DataType::Boolean
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
        )
}

/// `greatest`/`least`: the common type of all arguments, which must be orderable.
fn ordered_common(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let coerced = common(function, args)?;
    match coerced.first() {
        Some(t) if !orderable(t) => Err(bad_argument(function, 0, t)),
        _ => Ok(coerced),
    }
}

/// `rand([seed])`: an integer seed.
fn seed_arg(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| integer_arg(function, i, t))
        .collect()
}

/// The numeric built-in signatures.
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    let one = Arity::Exact(1);
    let double = |name| builtin(name, one, doubles, float64);
    let mut all = vec![
        builtin("abs", one, numbers, first_arg_type),
        builtin("round", Arity::Range(1, 2), round_args, round_type),
        builtin("bround", Arity::Range(1, 2), round_args, round_type),
        builtin("floor", one, floor_args, floor_type),
        builtin("ceil", one, floor_args, floor_type),
        builtin("ceiling", one, floor_args, floor_type),
        builtin("log", Arity::Range(1, 2), doubles, float64),
        builtin("power", Arity::Exact(2), doubles, float64),
        builtin("pow", Arity::Exact(2), doubles, float64),
        builtin("atan2", Arity::Exact(2), doubles, float64),
        builtin("mod", Arity::Exact(2), modulo_args, modulo_type),
        builtin("pmod", Arity::Exact(2), modulo_args, modulo_type),
        builtin("div", Arity::Exact(2), div_args, int64),
        builtin(
            "greatest",
            Arity::AtLeast(2),
            ordered_common,
            first_arg_type,
        ),
        builtin("least", Arity::AtLeast(2), ordered_common, first_arg_type),
        builtin("pi", Arity::Exact(0), doubles, float64),
        builtin("e", Arity::Exact(0), doubles, float64),
        builtin("rand", Arity::Range(0, 1), seed_arg, float64),
        builtin("random", Arity::Range(0, 1), seed_arg, float64),
    ];
    all.extend(
        [
            "sign", "signum", "sqrt", "cbrt", "exp", "ln", "log10", "log2", "sin", "cos", "tan",
            "cot", "asin", "acos", "atan", "sinh", "cosh", "tanh", "degrees", "radians",
        ]
        .map(double),
    );
    all
}

#[cfg(test)]
mod tests {
    use super::super::FunctionRegistry;
    use super::*;

    fn return_type(name: &str, args: &[DataType], literals: &[Option<&ScalarValue>]) -> DataType {
        let registry = FunctionRegistry::new();
        let coerced = registry.coerce_scalar_args(name, args).unwrap();
        registry
            .scalar_return_type(name, &coerced, literals)
            .unwrap()
    }

    #[test]
    fn abs_keeps_the_type_and_transcendentals_are_doubles() {
        assert_eq!(
            return_type("abs", &[DataType::Int32], &[None]),
            DataType::Int32
        );
        assert_eq!(
            return_type("abs", &[DataType::Decimal128(5, 2)], &[None]),
            DataType::Decimal128(5, 2)
        );
        assert_eq!(
            return_type("abs", &[DataType::Utf8], &[None]),
            DataType::Float64
        );
        assert_eq!(
            return_type("sqrt", &[DataType::Int8], &[None]),
            DataType::Float64
        );
        assert_eq!(
            return_type("signum", &[DataType::Int64], &[None]),
            DataType::Float64
        );
        assert_eq!(
            return_type(
                "log",
                &[DataType::Int32, DataType::Decimal128(3, 1)],
                &[None, None]
            ),
            DataType::Float64
        );
        let registry = FunctionRegistry::new();
        assert_eq!(
            registry
                .coerce_scalar_args("sqrt", &[DataType::Boolean])
                .unwrap_err()
                .to_string(),
            "type mismatch: function 'sqrt' cannot take argument 1 of type Boolean"
        );
    }

    // Expected types from Spark's RoundBase.dataType, computed by hand.
    #[test]
    fn round_gives_decimals_spark_types() {
        let two = ScalarValue::Int32(Some(2));
        let minus_two = ScalarValue::Int32(Some(-2));
        let d = DataType::Decimal128(5, 3);
        // DECIMAL(5,3) to 2 places: 3 integer digits (one more), scale 2.
        assert_eq!(
            return_type("round", &[d.clone(), DataType::Int32], &[None, Some(&two)]),
            DataType::Decimal128(5, 2)
        );
        // To -2 places: scale 0, at least 3 digits.
        assert_eq!(
            return_type(
                "bround",
                &[d.clone(), DataType::Int32],
                &[None, Some(&minus_two)]
            ),
            DataType::Decimal128(3, 0)
        );
        assert_eq!(
            return_type("round", &[d], &[None]),
            DataType::Decimal128(3, 0)
        );
        assert_eq!(rounded_decimal(38, 0, 2), DataType::Decimal128(38, 0));
        assert_eq!(rounded_decimal(3, 1, 5), DataType::Decimal128(4, 1));
        assert_eq!(
            return_type(
                "round",
                &[DataType::Int16, DataType::Int32],
                &[None, Some(&two)]
            ),
            DataType::Int16
        );
        let registry = FunctionRegistry::new();
        let err = registry
            .scalar_return_type(
                "round",
                &[DataType::Float64, DataType::Int32],
                &[None, None],
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "function 'round' needs a literal integer scale"
        );
        assert!(
            registry
                .coerce_scalar_args("round", &[DataType::Float64, DataType::Float64])
                .is_err()
        );
    }

    #[test]
    fn floor_and_ceil_are_bigint_or_scale_zero_decimals() {
        assert_eq!(
            return_type("floor", &[DataType::Float64], &[None]),
            DataType::Int64
        );
        assert_eq!(
            return_type("ceil", &[DataType::Int8], &[None]),
            DataType::Int64
        );
        assert_eq!(
            return_type("ceiling", &[DataType::Decimal128(10, 2)], &[None]),
            DataType::Decimal128(9, 0)
        );
        assert_eq!(
            return_type("floor", &[DataType::Decimal128(7, 0)], &[None]),
            DataType::Decimal128(7, 0)
        );
    }

    #[test]
    fn mod_types_as_remainder_and_div_is_bigint() {
        let registry = FunctionRegistry::new();
        assert_eq!(
            registry
                .coerce_scalar_args("pmod", &[DataType::Int32, DataType::Int64])
                .unwrap(),
            vec![DataType::Int64; 2]
        );
        // Spark: precision min(p1 - s1, p2 - s2) + max(s1, s2) = min(3, 10) + 2.
        assert_eq!(
            return_type(
                "mod",
                &[DataType::Decimal128(5, 2), DataType::Int32],
                &[None, None]
            ),
            DataType::Decimal128(5, 2)
        );
        assert_eq!(
            registry
                .coerce_scalar_args("div", &[DataType::Decimal128(5, 2), DataType::Int32])
                .unwrap(),
            vec![DataType::Decimal128(5, 2), DataType::Decimal128(10, 0)]
        );
        assert_eq!(
            registry
                .coerce_scalar_args("div", &[DataType::Float64, DataType::Int32])
                .unwrap(),
            vec![DataType::Int64; 2]
        );
        assert_eq!(
            return_type("div", &[DataType::Int32, DataType::Int32], &[None, None]),
            DataType::Int64
        );
    }

    #[test]
    fn greatest_meets_at_the_common_type_of_orderable_values() {
        assert_eq!(
            return_type(
                "greatest",
                &[DataType::Int32, DataType::Null, DataType::Float64],
                &[None, None, None]
            ),
            DataType::Float64
        );
        let registry = FunctionRegistry::new();
        assert!(
            registry
                .coerce_scalar_args("least", &[DataType::Int32, DataType::Boolean])
                .is_err()
        );
        assert!(
            registry
                .coerce_scalar_args("least", &[DataType::Int32])
                .is_err()
        );
        assert_eq!(return_type("pi", &[], &[]), DataType::Float64);
        assert_eq!(
            return_type("rand", &[DataType::Int32], &[None]),
            DataType::Float64
        );
    }
}
