//! Type coercion: which type two operands meet at, Spark-flavoured.
//!
//! - Numbers widen: integers to the wider integer (mixed signed/unsigned to `Int64`), anything with
//!   a float to `Float64` (`Float32` only when both sides are `Float32`). Decimals meet integers
//!   and decimals as a decimal wide enough for both ([`decimal`]), and floats as `Float64`.
//! - `/` divides integers and floats as `Float64`: Spark's `1 / 2` is `0.5`, not `0`. Decimal
//!   arithmetic (with integers widened to decimals) stays decimal, with Spark's result precision
//!   and scale ([`decimal::decimal_result`]); results that overflow them are NULL.
//! - Dates and timestamps take intervals: `date ± interval` is a date (a sub-day part of the
//!   interval moves the date's midnight and the result is that instant's day, as Spark's
//!   non-ANSI `date_add_interval`), `timestamp ± interval` a timestamp, `date - date` the number
//!   of days between them as `Int32` (as `datediff`), `timestamp - timestamp` an interval of
//!   nanoseconds only.
//! - A string meets a timestamp or a date as that timestamp or date (so
//!   `ts >= '2017-09-17 12:00:00'` compares instants), and a number as that number.
//! - Dictionary-encoded values meet others as their value type; `NULL` meets anything as it.
//!
//! The functions here decide types; [`TypeCoercion`] applies them to expressions, node by node
//! for the SQL binder and over whole trees ([`coerce_expr`]) for expressions built in code.

mod castable;
mod decimal;
mod expr;

use std::sync::Arc;

use arrow_schema::{DataType, Field, TimeUnit};

use crate::error::{PlanError, Result};
use crate::expr::{Expr, Operator};

pub use castable::can_cast;
pub use decimal::{
    MAX_PRECISION, as_decimal, avg_decimal, decimal_parts, decimal_result, literal_decimal,
    sum_decimal, wider_decimal,
};
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
    if matches!(left, DataType::Decimal128(..)) || matches!(right, DataType::Decimal128(..)) {
        return Some(match (as_decimal(left), as_decimal(right)) {
            (Some(l), Some(r)) => wider_decimal(l, r),
            _ => DataType::Float64,
        });
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
        (DataType::List(l), DataType::List(r)) => Some(DataType::List(Arc::new(
            Field::new_list_field(common_type(l.data_type(), r.data_type())?, true),
        ))),
        _ => None,
    }
}

/// The types the operands of `left op right` are cast to, and the type of its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryTypes {
    /// The type the left operand is cast to.
    pub left: DataType,
    /// The type the right operand is cast to.
    pub right: DataType,
    /// The type of the result.
    pub result: DataType,
}

impl BinaryTypes {
    fn same(operand: DataType, result: DataType) -> Self {
        BinaryTypes {
            left: operand.clone(),
            right: operand,
            result,
        }
    }
}

fn is_interval(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Interval(_))
}

fn interval() -> DataType {
    DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano)
}

/// The types of date and timestamp arithmetic (see the module documentation), or `None` when
/// neither operand is a date or a timestamp.
fn temporal_types(left: &DataType, op: Operator, right: &DataType) -> Option<BinaryTypes> {
    use DataType::{Date32, Date64, Int32, Timestamp};
    let additive = matches!(op, Operator::Plus | Operator::Minus);
    let types = |l: &DataType, r: &DataType, result: DataType| BinaryTypes {
        left: l.clone(),
        right: r.clone(),
        result,
    };
    Some(match (left, right) {
        (Date32 | Date64, i) if additive && is_interval(i) => types(&Date32, &interval(), Date32),
        (i, Date32 | Date64) if op == Operator::Plus && is_interval(i) => {
            types(&interval(), &Date32, Date32)
        }
        (Timestamp(unit, tz), i) if additive && is_interval(i) => {
            let ts = Timestamp(*unit, tz.clone());
            types(&ts, &interval(), ts.clone())
        }
        (i, Timestamp(unit, tz)) if op == Operator::Plus && is_interval(i) => {
            let ts = Timestamp(*unit, tz.clone());
            types(&interval(), &ts, ts.clone())
        }
        (Date32 | Date64, Date32 | Date64) if op == Operator::Minus => {
            BinaryTypes::same(Date32, Int32)
        }
        (Timestamp(..) | Date32 | Date64, Timestamp(..) | Date32 | Date64)
            if op == Operator::Minus =>
        {
            BinaryTypes::same(common_type(left, right)?, interval())
        }
        _ => return None,
    })
}

/// The types of arithmetic with a decimal operand, or `None` when neither is a decimal. A
/// decimal with an integer or a decimal stays decimal; with anything else it is `Float64`.
fn decimal_types(left: &DataType, op: Operator, right: &DataType) -> Option<BinaryTypes> {
    if decimal_parts(left).is_none() && decimal_parts(right).is_none() {
        return None;
    }
    match (as_decimal(left), as_decimal(right)) {
        (Some(l), Some(r)) => Some(BinaryTypes {
            left: DataType::Decimal128(l.0, l.1),
            right: DataType::Decimal128(r.0, r.1),
            result: decimal_result(l, op, r)?,
        }),
        _ if is_numeric(left) && is_numeric(right) => {
            Some(BinaryTypes::same(DataType::Float64, DataType::Float64))
        }
        _ => None,
    }
}

/// The types the operands of `left op right` are cast to, and the type of the result.
pub fn binary_types(left: &DataType, op: Operator, right: &DataType) -> Result<BinaryTypes> {
    let mismatch = || {
        PlanError::type_mismatch(format!(
            "cannot apply '{}' to {left} and {right}",
            op.symbol()
        ))
    };
    if op.is_logical() {
        let ok = |t: &DataType| matches!(t, DataType::Boolean | DataType::Null);
        return if ok(left) && ok(right) {
            Ok(BinaryTypes::same(DataType::Boolean, DataType::Boolean))
        } else {
            Err(mismatch())
        };
    }
    if op.is_comparison() {
        let operand = common_type(left, right).ok_or_else(mismatch)?;
        return Ok(BinaryTypes::same(operand, DataType::Boolean));
    }
    let (left, right) = (value_type(left), value_type(right));
    if let Some(types) = temporal_types(left, op, right) {
        return Ok(types);
    }
    let operand = match (left, right) {
        // Two untyped NULLs meet at Spark's default numeric type (the kernels have no
        // arithmetic on NULL arrays).
        (DataType::Null, DataType::Null) => DataType::Float64,
        (DataType::Null, other) | (other, DataType::Null) if is_numeric(other) => other.clone(),
        (l, r) => {
            if let Some(types) = decimal_types(l, op, r) {
                return Ok(types);
            }
            numeric_supertype(l, r).ok_or_else(mismatch)?
        }
    };
    if decimal_parts(&operand).is_some() {
        // NULL with a decimal: the decimal rule applied to the decimal on both sides.
        return decimal_types(&operand, op, &operand).ok_or_else(mismatch);
    }
    if op == Operator::Divide {
        Ok(BinaryTypes::same(DataType::Float64, DataType::Float64))
    } else {
        Ok(BinaryTypes::same(operand.clone(), operand))
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
        let types = binary_types(&DataType::Int64, Operator::Divide, &DataType::Int32).unwrap();
        assert_eq!(
            types,
            BinaryTypes::same(DataType::Float64, DataType::Float64)
        );
        let types = binary_types(&DataType::Int64, Operator::Modulo, &DataType::Int32).unwrap();
        assert_eq!(types.result, DataType::Int64);
    }

    #[test]
    fn decimal_arithmetic_stays_decimal_and_floats_make_it_double() {
        let price = DataType::Decimal128(15, 2);
        let types = binary_types(&price, Operator::Multiply, &DataType::Int32).unwrap();
        assert_eq!(
            types,
            BinaryTypes {
                left: price.clone(),
                right: DataType::Decimal128(10, 0),
                result: DataType::Decimal128(26, 2),
            }
        );
        let types = binary_types(&DataType::Float32, Operator::Plus, &price).unwrap();
        assert_eq!(
            types,
            BinaryTypes::same(DataType::Float64, DataType::Float64)
        );
        let types = binary_types(&DataType::Null, Operator::Plus, &price).unwrap();
        assert_eq!(types.result, DataType::Decimal128(16, 2));
        assert_eq!(
            common_type(&price, &DataType::Decimal128(3, 3)),
            Some(DataType::Decimal128(16, 3))
        );
        assert_eq!(
            common_type(&price, &DataType::Int64),
            Some(DataType::Decimal128(22, 2))
        );
        assert_eq!(
            common_type(&price, &DataType::Float64),
            Some(DataType::Float64)
        );
    }

    #[test]
    fn dates_and_timestamps_take_intervals() {
        let interval = DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano);
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let date = DataType::Date32;
        assert_eq!(
            binary_types(&date, Operator::Minus, &interval)
                .unwrap()
                .result,
            date
        );
        let types = binary_types(&interval, Operator::Plus, &ts).unwrap();
        assert_eq!((types.left, types.result), (interval.clone(), ts.clone()));
        assert_eq!(
            binary_types(&date, Operator::Minus, &date).unwrap().result,
            DataType::Int32
        );
        let types = binary_types(&ts, Operator::Minus, &date).unwrap();
        assert_eq!((types.right, types.result), (ts.clone(), interval.clone()));
        assert!(binary_types(&interval, Operator::Minus, &date).is_err());
        assert!(binary_types(&date, Operator::Multiply, &interval).is_err());
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
