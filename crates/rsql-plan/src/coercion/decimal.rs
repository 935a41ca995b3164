//! Spark's decimal type rules (`spark.sql.decimalOperations.allowPrecisionLoss=true`, the
//! default): the precision and scale of `+ - * / %` results, the decimal an integer widens to,
//! and the decimal two decimals meet at in comparisons, `CASE`, `coalesce` and `UNION`.

use arrow_schema::DataType;
use datafusion_common::ScalarValue;

use crate::expr::Operator;

/// The largest precision (and scale) of `Decimal128`, as Spark's `DecimalType.MAX_PRECISION`.
pub const MAX_PRECISION: u8 = 38;

/// The smallest scale a result keeps when its precision is cut to 38 (Spark's
/// `MINIMUM_ADJUSTED_SCALE`).
const MIN_ADJUSTED_SCALE: i16 = 6;

/// The precision and scale of a `Decimal128` type.
pub fn decimal_parts(data_type: &DataType) -> Option<(u8, i8)> {
    match data_type {
        DataType::Decimal128(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// The decimal an integer type converts to without loss (Spark: `TINYINT` is `DECIMAL(3,0)`,
/// `SMALLINT` `(5,0)`, `INT` `(10,0)`, `BIGINT` `(20,0)`); decimals unchanged; `None` otherwise.
pub fn as_decimal(data_type: &DataType) -> Option<(u8, i8)> {
    Some(match data_type {
        DataType::Decimal128(p, s) => (*p, *s),
        DataType::Int8 | DataType::UInt8 => (3, 0),
        DataType::Int16 | DataType::UInt16 => (5, 0),
        DataType::Int32 | DataType::UInt32 => (10, 0),
        DataType::Int64 | DataType::UInt64 => (20, 0),
        _ => return None,
    })
}

/// The narrowest decimal holding an integer literal (Spark's `DecimalType.fromLiteral`): `1` is
/// `DECIMAL(1,0)`, `-250` is `DECIMAL(3,0)`. Used for integer literals next to decimals, so
/// `price * 2` stays as narrow as the value needs.
pub fn literal_decimal(value: &ScalarValue) -> Option<DataType> {
    let digits = match value {
        ScalarValue::Int8(Some(v)) => digits(i128::from(*v)),
        ScalarValue::Int16(Some(v)) => digits(i128::from(*v)),
        ScalarValue::Int32(Some(v)) => digits(i128::from(*v)),
        ScalarValue::Int64(Some(v)) => digits(i128::from(*v)),
        ScalarValue::UInt8(Some(v)) => digits(i128::from(*v)),
        ScalarValue::UInt16(Some(v)) => digits(i128::from(*v)),
        ScalarValue::UInt32(Some(v)) => digits(i128::from(*v)),
        ScalarValue::UInt64(Some(v)) => digits(i128::from(*v)),
        _ => return None,
    };
    Some(DataType::Decimal128(digits, 0))
}

/// The number of decimal digits of `value` (at least 1).
fn digits(value: i128) -> u8 {
    let mut n = value.unsigned_abs();
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// A result type of `precision` and `scale` fitted into 38 digits as Spark does: when the
/// precision is too large, the integer digits are kept and the scale is cut, but not below 6
/// (or the scale itself when that is smaller).
fn adjust(precision: i16, scale: i16) -> DataType {
    let max = i16::from(MAX_PRECISION);
    if precision <= max {
        return decimal(precision, scale);
    }
    let integer_digits = precision - scale;
    let min_scale = scale.min(MIN_ADJUSTED_SCALE);
    decimal(max, (max - integer_digits).max(min_scale))
}

fn decimal(precision: i16, scale: i16) -> DataType {
    // Both are within 0..=38 by construction.
    DataType::Decimal128(precision as u8, scale as i8)
}

/// The type of `left op right` for two decimals (`(precision, scale)` each), or `None` for an
/// operator that is not arithmetic.
pub fn decimal_result(left: (u8, i8), op: Operator, right: (u8, i8)) -> Option<DataType> {
    let (p1, s1) = (i16::from(left.0), i16::from(left.1));
    let (p2, s2) = (i16::from(right.0), i16::from(right.1));
    let scale = s1.max(s2);
    Some(match op {
        Operator::Plus | Operator::Minus => adjust((p1 - s1).max(p2 - s2) + scale + 1, scale),
        Operator::Multiply => adjust(p1 + p2 + 1, s1 + s2),
        Operator::Divide => {
            let scale = MIN_ADJUSTED_SCALE.max(s1 + p2 + 1);
            adjust(p1 - s1 + s2 + scale, scale)
        }
        Operator::Modulo => adjust((p1 - s1).min(p2 - s2) + scale, scale),
        _ => return None,
    })
}

/// The decimal two decimals meet at without losing integer digits or scale, bounded to 38
/// digits (Spark's `widerDecimalType`).
pub fn wider_decimal(left: (u8, i8), right: (u8, i8)) -> DataType {
    let (p1, s1) = (i16::from(left.0), i16::from(left.1));
    let (p2, s2) = (i16::from(right.0), i16::from(right.1));
    let scale = s1.max(s2);
    let range = (p1 - s1).max(p2 - s2);
    let max = i16::from(MAX_PRECISION);
    decimal((range + scale).min(max), scale.min(max))
}

/// The decimal `sum` adds a `DECIMAL(p, s)` column in: `DECIMAL(min(38, p + 10), s)`.
pub fn sum_decimal(precision: u8, scale: i8) -> DataType {
    DataType::Decimal128((precision + 10).min(MAX_PRECISION), scale)
}

/// The decimal `avg` of a `DECIMAL(p, s)` column has: `DECIMAL(min(38, p + 4), min(38, s + 4))`.
pub fn avg_decimal(precision: u8, scale: i8) -> DataType {
    let max = MAX_PRECISION as i8;
    DataType::Decimal128((precision + 4).min(MAX_PRECISION), (scale + 4).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected types computed by hand from Spark's rules (DecimalPrecision / arithmetic.scala).
    #[test]
    fn addition_keeps_the_larger_scale_and_one_more_integer_digit() {
        assert_eq!(
            decimal_result((15, 2), Operator::Plus, (1, 0)),
            Some(DataType::Decimal128(16, 2))
        );
        assert_eq!(
            decimal_result((10, 4), Operator::Minus, (12, 1)),
            Some(DataType::Decimal128(16, 4))
        );
    }

    #[test]
    fn multiplication_adds_precisions_and_scales() {
        assert_eq!(
            decimal_result((15, 2), Operator::Multiply, (16, 2)),
            Some(DataType::Decimal128(32, 4))
        );
        // 32 + 16 + 1 = 49 digits, scale 6: 43 integer digits do not fit, scale stays at 6.
        assert_eq!(
            decimal_result((32, 4), Operator::Multiply, (16, 2)),
            Some(DataType::Decimal128(38, 6))
        );
        // 38 + 38 + 1 digits with scale 20: 57 integer digits, the scale is cut to 6.
        assert_eq!(
            decimal_result((38, 10), Operator::Multiply, (38, 10)),
            Some(DataType::Decimal128(38, 6))
        );
    }

    #[test]
    fn division_keeps_at_least_six_fraction_digits() {
        // scale max(6, 2 + 2 + 1) = 6, precision 25 - 2 + 1 + 6 = 30.
        assert_eq!(
            decimal_result((25, 2), Operator::Divide, (2, 1)),
            Some(DataType::Decimal128(30, 6))
        );
        // scale 2 + 15 + 1 = 18, precision 13 + 2 + 18 = 33.
        assert_eq!(
            decimal_result((15, 2), Operator::Divide, (15, 2)),
            Some(DataType::Decimal128(33, 18))
        );
        // scale 38 + 1 = 39 with 38 integer digits: precision 77 is cut to (38, 6).
        assert_eq!(
            decimal_result((38, 0), Operator::Divide, (38, 0)),
            Some(DataType::Decimal128(38, 6))
        );
        // 28 integer digits, scale 11 + 20 + 1 = 32: 60 digits, scale cut to 38 - 28 = 10.
        assert_eq!(
            decimal_result((38, 11), Operator::Divide, (20, 1)),
            Some(DataType::Decimal128(38, 10))
        );
    }

    #[test]
    fn remainder_has_the_smaller_integer_part() {
        assert_eq!(
            decimal_result((15, 2), Operator::Modulo, (5, 0)),
            Some(DataType::Decimal128(7, 2))
        );
        assert_eq!(decimal_result((15, 2), Operator::Eq, (5, 0)), None);
    }

    #[test]
    fn integers_become_decimals_and_literals_take_their_digits() {
        assert_eq!(as_decimal(&DataType::Int32), Some((10, 0)));
        assert_eq!(as_decimal(&DataType::Int64), Some((20, 0)));
        assert_eq!(as_decimal(&DataType::Float64), None);
        assert_eq!(
            literal_decimal(&ScalarValue::Int64(Some(1))),
            Some(DataType::Decimal128(1, 0))
        );
        assert_eq!(
            literal_decimal(&ScalarValue::Int64(Some(-250))),
            Some(DataType::Decimal128(3, 0))
        );
        assert_eq!(literal_decimal(&ScalarValue::Int64(None)), None);
    }

    #[test]
    fn wider_decimal_keeps_integer_digits_and_scale() {
        assert_eq!(wider_decimal((15, 2), (3, 3)), DataType::Decimal128(16, 3));
        assert_eq!(wider_decimal((38, 0), (10, 5)), DataType::Decimal128(38, 5));
    }

    #[test]
    fn sum_and_avg_widen_within_38_digits() {
        assert_eq!(sum_decimal(15, 2), DataType::Decimal128(25, 2));
        assert_eq!(sum_decimal(35, 2), DataType::Decimal128(38, 2));
        assert_eq!(avg_decimal(15, 2), DataType::Decimal128(19, 6));
        assert_eq!(avg_decimal(38, 36), DataType::Decimal128(38, 38));
    }
}
