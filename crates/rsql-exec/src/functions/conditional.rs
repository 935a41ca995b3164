//! Conditional functions: `if`/`iff`, `coalesce`/`ifnull`/`nvl`, `nvl2`, `nullif`, `nanvl`,
//! `zeroifnull`, `nullifzero`.
//!
//! The planner casts the values a call chooses between to one type, and each call picks per
//! row with Arrow's `zip`. Both branches are computed for every row; that is safe because
//! rsql's expressions do not fail on the rows a branch would skip (division by zero is NULL,
//! a bad cast is NULL), so `if(x = 0, NULL, 1 / x)` never errors.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, new_null_array};
use arrow::compute::kernels::{cmp, zip::zip};
use arrow::compute::{cast, is_not_null, is_null, nullif};
use arrow::datatypes::{DataType, Float64Type};
use datafusion_common::ScalarValue;

use crate::error::Result;
use crate::expr::ScalarUdf;
use crate::functions::{argument, function, holds};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    vec![
        function("if", |args, t| if_("if", args, t)),
        function("iff", |args, t| if_("iff", args, t)),
        function("coalesce", coalesce),
        function("ifnull", coalesce),
        function("nvl", coalesce),
        function("nvl2", nvl2),
        function("nullif", |args, _| {
            let (a, b) = (argument("nullif", args, 0)?, argument("nullif", args, 1)?);
            Ok(nullif(a, &cmp::eq(a, b)?)?)
        }),
        function("nanvl", nanvl),
        function("zeroifnull", |args, t| {
            let x = argument("zeroifnull", args, 0)?;
            Ok(zip(&is_null(x)?, &zero(t)?, &cast(x, t)?)?)
        }),
        function("nullifzero", |args, t| {
            let x = cast(argument("nullifzero", args, 0)?, t)?;
            Ok(nullif(&x, &cmp::eq(&x, &zero(t)?)?)?)
        }),
    ]
}

/// The zero of a numeric type as an Arrow scalar.
fn zero(data_type: &DataType) -> Result<arrow::array::Scalar<ArrayRef>> {
    Ok(ScalarValue::new_zero(data_type)?.to_scalar()?)
}

/// Per row `then` where `when` holds, else `otherwise`, both cast to `result`.
fn choose(
    when: &BooleanArray,
    then: &ArrayRef,
    otherwise: &ArrayRef,
    result: &DataType,
) -> Result<ArrayRef> {
    if result == &DataType::Null {
        return Ok(new_null_array(result, when.len()));
    }
    let (then, otherwise) = (cast(then, result)?, cast(otherwise, result)?);
    Ok(zip(&holds(when), &then, &otherwise)?)
}

/// `if(condition, a, b)`: `a` where the condition holds, else `b` (also when it is NULL).
fn if_(name: &str, args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let condition = cast(argument(name, args, 0)?, &DataType::Boolean)?;
    let (a, b) = (argument(name, args, 1)?, argument(name, args, 2)?);
    choose(condition.as_boolean(), a, b, result)
}

/// `nvl2(x, a, b)`: `a` where `x` is not NULL, else `b`.
fn nvl2(args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let x = argument("nvl2", args, 0)?;
    let (a, b) = (argument("nvl2", args, 1)?, argument("nvl2", args, 2)?);
    choose(&is_not_null(x)?, a, b, result)
}

/// `nanvl(x, y)`: `y` where `x` is NaN, else `x`.
fn nanvl(args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let (x, y) = (argument("nanvl", args, 0)?, argument("nanvl", args, 1)?);
    let x = cast(x, &DataType::Float64)?;
    let is_nan = BooleanArray::from_unary(x.as_primitive::<Float64Type>(), f64::is_nan);
    choose(&is_nan, y, &x, result)
}

/// The first non-null argument per row.
fn coalesce(args: &[ArrayRef], result_type: &DataType) -> Result<ArrayRef> {
    let mut result = cast(argument("coalesce", args, 0)?, result_type)?;
    for next in &args[1..] {
        let next = cast(next, result_type)?;
        let missing = is_null(&result)?;
        result = zip(&missing, &next, &result)?;
    }
    Ok(result)
}
