//! Signatures of the conditional functions: `if`/`iff`, `ifnull`/`nvl`, `nvl2`, `nanvl`,
//! `zeroifnull`, `nullifzero` (`coalesce` and `nullif` are with the other scalars). The values
//! a call chooses between meet at their common type, as the branches of a `CASE`.

use std::sync::Arc;

use arrow_schema::DataType;

use super::math::{doubles, float64, numeric_arg};
use super::scalar::{bad_argument, builtin, common, first_arg_type};
use super::{Arity, ScalarFunctionSignature};
use crate::coercion::{common_type, value_type};
use crate::error::Result;

/// `if(condition, a, b)`: a boolean condition, then `a` and `b` at their common type.
fn condition_then_common(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let condition = match value_type(&args[0]) {
        DataType::Boolean | DataType::Null => DataType::Boolean,
        other => return Err(bad_argument(function, 0, other)),
    };
    let values = common(function, &args[1..]).map_err(|_| bad_argument(function, 2, &args[2]))?;
    Ok([vec![condition], values].concat())
}

/// `nvl2(x, a, b)`: `x` of any type, then `a` and `b` at their common type.
fn any_then_common(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let values = common(function, &args[1..]).map_err(|_| bad_argument(function, 2, &args[2]))?;
    Ok([vec![value_type(&args[0]).clone()], values].concat())
}

fn second_arg_type(
    _: &str,
    args: &[DataType],
    _: &[Option<&datafusion_common::ScalarValue>],
) -> Result<DataType> {
    Ok(args.get(1).cloned().unwrap_or(DataType::Null))
}

/// `zeroifnull(x)`/`nullifzero(x)`: a number at the type it meets the literal `0` (an `INT`)
/// at, as Spark's `coalesce(x, 0)`/`nullif(x, 0)`.
fn number_with_zero(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let number = numeric_arg(function, 0, &args[0])?;
    let number = match value_type(&args[0]) {
        DataType::Null => DataType::Null,
        _ => number,
    };
    let target = common_type(&number, &DataType::Int32)
        .ok_or_else(|| bad_argument(function, 0, &args[0]))?;
    Ok(vec![target])
}

/// The conditional built-in signatures.
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    let if_ = |name| {
        builtin(
            name,
            Arity::Exact(3),
            condition_then_common,
            second_arg_type,
        )
    };
    vec![
        if_("if"),
        if_("iff"),
        builtin("ifnull", Arity::Exact(2), common, first_arg_type),
        builtin("nvl", Arity::Exact(2), common, first_arg_type),
        builtin("nvl2", Arity::Exact(3), any_then_common, second_arg_type),
        builtin("nanvl", Arity::Exact(2), doubles, float64),
        builtin(
            "zeroifnull",
            Arity::Exact(1),
            number_with_zero,
            first_arg_type,
        ),
        builtin(
            "nullifzero",
            Arity::Exact(1),
            number_with_zero,
            first_arg_type,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::FunctionRegistry;
    use super::*;

    fn coerce(name: &str, args: &[DataType]) -> Result<Vec<DataType>> {
        FunctionRegistry::new().coerce_scalar_args(name, args)
    }

    fn return_type(name: &str, args: &[DataType]) -> DataType {
        let registry = FunctionRegistry::new();
        let coerced = registry.coerce_scalar_args(name, args).unwrap();
        registry
            .scalar_return_type(name, &coerced, &vec![None; coerced.len()])
            .unwrap()
    }

    #[test]
    fn if_takes_a_boolean_and_two_values_of_a_common_type() {
        assert_eq!(
            coerce("if", &[DataType::Boolean, DataType::Int32, DataType::Null]).unwrap(),
            vec![DataType::Boolean, DataType::Int32, DataType::Int32]
        );
        assert_eq!(
            return_type("iff", &[DataType::Null, DataType::Int32, DataType::Float64]),
            DataType::Float64
        );
        assert_eq!(
            coerce("if", &[DataType::Int32, DataType::Int32, DataType::Int32])
                .unwrap_err()
                .to_string(),
            "type mismatch: function 'if' cannot take argument 1 of type Int32"
        );
        assert!(
            coerce(
                "if",
                &[DataType::Boolean, DataType::Int32, DataType::Boolean]
            )
            .is_err()
        );
    }

    #[test]
    fn nvl_family_meets_at_the_common_type() {
        assert_eq!(
            return_type("nvl", &[DataType::Int32, DataType::Int64]),
            DataType::Int64
        );
        assert_eq!(
            return_type("ifnull", &[DataType::Null, DataType::Utf8]),
            DataType::Utf8
        );
        assert_eq!(
            coerce("nvl2", &[DataType::Utf8, DataType::Int8, DataType::Int16]).unwrap(),
            vec![DataType::Utf8, DataType::Int16, DataType::Int16]
        );
        assert_eq!(
            return_type("nanvl", &[DataType::Float32, DataType::Int32]),
            DataType::Float64
        );
    }

    #[test]
    fn zeroifnull_types_as_coalesce_with_an_int_zero() {
        assert_eq!(
            return_type("zeroifnull", &[DataType::Int8]),
            DataType::Int32
        );
        assert_eq!(
            return_type("nullifzero", &[DataType::Int64]),
            DataType::Int64
        );
        assert_eq!(
            return_type("zeroifnull", &[DataType::Null]),
            DataType::Int32
        );
        assert_eq!(
            return_type("zeroifnull", &[DataType::Decimal128(5, 2)]),
            DataType::Decimal128(12, 2)
        );
        assert!(coerce("nullifzero", &[DataType::Date32]).is_err());
    }
}
