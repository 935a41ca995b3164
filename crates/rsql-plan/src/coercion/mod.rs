//! Type coercion: which type two operands meet at, Spark-flavoured.
//!
//! - Numbers widen: integers to the wider integer (mixed signed/unsigned to `Int64`), anything with
//!   a float to `Float64` (`Float32` only when both sides are `Float32`), decimals mixed with other
//!   types to `Float64`.
//! - `/` always divides as `Float64`, even between integers: Spark's `1 / 2` is `0.5`, not `0`.
//! - A string meets a timestamp or a date as that timestamp or date (so
//!   `ts >= '2017-09-17 12:00:00'` compares instants), and a number as that number.
//! - Dictionary-encoded values meet others as their value type; `NULL` meets anything as it.
//!
//! The functions here decide types; [`TypeCoercion`] applies them to expressions, node by node
//! for the SQL binder and over whole trees ([`coerce_expr`]) for expressions built in code.

mod expr;

use arrow_schema::{DataType, TimeUnit};

use crate::error::{PlanError, Result};
use crate::expr::{Expr, Operator};

pub use expr::{TypeCoercion, coerce_expr};

/// Whether `data_type` is an integer, float or decimal type.
pub fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric()
}

/// Whether `data_type` is a string type (`Utf8`, `LargeUtf8`, `Utf8View`).
pub fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The value type of a dictionary type; any other type unchanged.
pub fn value_type(data_type: &DataType) -> &DataType {
    match data_type {
        DataType::Dictionary(_, value) => value,
        other => other,
    }
}

fn float_rank(data_type: &DataType) -> Option<u8> {
    match data_type {
        DataType::Float16 => Some(1),
        DataType::Float32 => Some(2),
        DataType::Float64 => Some(3),
        _ => None,
    }
}

/// The width in bytes and signedness of an integer type.
fn integer_shape(data_type: &DataType) -> Option<(u8, bool)> {
    Some(match data_type {
        DataType::Int8 => (1, true),
        DataType::Int16 => (2, true),
        DataType::Int32 => (4, true),
        DataType::Int64 => (8, true),
        DataType::UInt8 => (1, false),
        DataType::UInt16 => (2, false),
        DataType::UInt32 => (4, false),
        DataType::UInt64 => (8, false),
        _ => return None,
    })
}

fn integer_of(width: u8, signed: bool) -> DataType {
    match (width, signed) {
        (1, true) => DataType::Int8,
        (2, true) => DataType::Int16,
        (4, true) => DataType::Int32,
        (1, false) => DataType::UInt8,
        (2, false) => DataType::UInt16,
        (4, false) => DataType::UInt32,
        (8, false) => DataType::UInt64,
        _ => DataType::Int64,
    }
}

/// The type two numeric types widen to, or `None` if one is not numeric.
pub fn numeric_supertype(left: &DataType, right: &DataType) -> Option<DataType> {
    if !is_numeric(left) || !is_numeric(right) {
        return None;
    }
    if left == right {
        return Some(left.clone());
    }
    if let (Some((lw, ls)), Some((rw, rs))) = (integer_shape(left), integer_shape(right)) {
        return Some(if ls == rs {
            integer_of(lw.max(rw), ls)
        } else {
            DataType::Int64
        });
    }
    match (float_rank(left), float_rank(right)) {
        (Some(2), Some(2)) => Some(DataType::Float32),
        _ => Some(DataType::Float64),
    }
}

fn timestamp_micros(tz: Option<std::sync::Arc<str>>) -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, tz)
}

/// The type two operands of a comparison (or branches of a CASE, arguments of coalesce, inputs
/// of a union column) meet at, or `None` when they cannot be compared.
pub fn common_type(left: &DataType, right: &DataType) -> Option<DataType> {
    let (left, right) = (value_type(left), value_type(right));
    if left == right {
        return Some(left.clone());
    }
    match (left, right) {
        (DataType::Null, other) | (other, DataType::Null) => Some(other.clone()),
        (l, r) if is_numeric(l) && is_numeric(r) => numeric_supertype(l, r),
        (l, r) if is_string(l) && is_string(r) => Some(DataType::Utf8),
        (DataType::Timestamp(_, tz), DataType::Timestamp(_, _)) => {
            Some(timestamp_micros(tz.clone()))
        }
        (DataType::Timestamp(unit, tz), s) | (s, DataType::Timestamp(unit, tz)) if is_string(s) => {
            Some(DataType::Timestamp(*unit, tz.clone()))
        }
        (DataType::Timestamp(_, tz), DataType::Date32 | DataType::Date64)
        | (DataType::Date32 | DataType::Date64, DataType::Timestamp(_, tz)) => {
            Some(timestamp_micros(tz.clone()))
        }
        (date @ (DataType::Date32 | DataType::Date64), s)
        | (s, date @ (DataType::Date32 | DataType::Date64))
            if is_string(s) =>
        {
            Some(date.clone())
        }
        (n, s) | (s, n) if is_string(s) && is_numeric(n) => Some(n.clone()),
        _ => None,
    }
}

/// The type the operands of `left op right` are cast to, and the type of the result.
pub fn binary_types(
    left: &DataType,
    op: Operator,
    right: &DataType,
) -> Result<(DataType, DataType)> {
    let mismatch = || {
        PlanError::type_mismatch(format!(
            "cannot apply '{}' to {left} and {right}",
            op.symbol()
        ))
    };
    if op.is_logical() {
        let ok = |t: &DataType| matches!(t, DataType::Boolean | DataType::Null);
        return if ok(left) && ok(right) {
            Ok((DataType::Boolean, DataType::Boolean))
        } else {
            Err(mismatch())
        };
    }
    if op.is_comparison() {
        let operand = common_type(left, right).ok_or_else(mismatch)?;
        return Ok((operand, DataType::Boolean));
    }
    let (left, right) = (value_type(left), value_type(right));
    let operand = match (left, right) {
        (DataType::Null, DataType::Null) => DataType::Null,
        (DataType::Null, other) | (other, DataType::Null) if is_numeric(other) => other.clone(),
        (l, r) => numeric_supertype(l, r).ok_or_else(mismatch)?,
    };
    if op == Operator::Divide && operand != DataType::Null {
        Ok((DataType::Float64, DataType::Float64))
    } else {
        Ok((operand.clone(), operand))
    }
}

/// `expr` converted to `target`: unchanged if it already has that type, otherwise wrapped in a
/// `CAST`.
pub fn cast_if_needed(expr: Expr, from: &DataType, target: &DataType) -> Expr {
    if from == target {
        expr
    } else {
        expr.cast_to(target.clone())
    }
}

/// Like [`cast_if_needed`], for an operand of a comparison: a dictionary-encoded operand whose
/// value type is `target` stays as it is (Arrow compares dictionaries with plain values), so
/// `customer = 'a.com'` on a dictionary partition column keeps its `column = literal` shape.
pub fn cast_for_comparison(expr: Expr, from: &DataType, target: &DataType) -> Expr {
    if value_type(from) == target {
        expr
    } else {
        cast_if_needed(expr, from, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_widen_and_mixed_signedness_goes_to_int64() {
        assert_eq!(
            numeric_supertype(&DataType::Int32, &DataType::Int64),
            Some(DataType::Int64)
        );
        assert_eq!(
            numeric_supertype(&DataType::UInt8, &DataType::Int8),
            Some(DataType::Int64)
        );
        assert_eq!(
            numeric_supertype(&DataType::Int32, &DataType::Float32),
            Some(DataType::Float64)
        );
        assert_eq!(numeric_supertype(&DataType::Utf8, &DataType::Int8), None);
    }

    #[test]
    fn integer_division_is_double_division_like_spark() {
        let (operand, result) =
            binary_types(&DataType::Int64, Operator::Divide, &DataType::Int32).unwrap();
        assert_eq!((operand, result), (DataType::Float64, DataType::Float64));
        let (_, result) =
            binary_types(&DataType::Int64, Operator::Modulo, &DataType::Int32).unwrap();
        assert_eq!(result, DataType::Int64);
    }

    #[test]
    fn strings_meet_timestamps_as_timestamps() {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(common_type(&DataType::Utf8, &ts), Some(ts.clone()));
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert_eq!(common_type(&dict, &DataType::Utf8), Some(DataType::Utf8));
        assert_eq!(common_type(&DataType::Boolean, &ts), None);
    }

    #[test]
    fn dictionary_operands_of_comparisons_stay_uncast() {
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let column = crate::col("customer");
        assert_eq!(
            cast_for_comparison(column.clone(), &dict, &DataType::Utf8),
            column
        );
        assert_eq!(
            cast_if_needed(column.clone(), &dict, &DataType::Utf8),
            column.cast_to(DataType::Utf8)
        );
    }

    #[test]
    fn mismatched_operands_are_type_errors() {
        let err = binary_types(&DataType::Utf8, Operator::Plus, &DataType::Boolean).unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: cannot apply '+' to Utf8 and Boolean"
        );
        assert!(binary_types(&DataType::Int64, Operator::And, &DataType::Boolean).is_err());
    }
}
