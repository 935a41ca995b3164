//! Which `CAST`s a query may write: Spark's `Cast.canCast` (without ANSI mode) where rsql's cast
//! kernel ([`spark_cast`](crate::compute::spark_cast)) converts the pair, so that a cast that
//! cannot work is a type error when the query is planned, not a failure when it runs.
//!
//! Spark allows a few casts whose every value is NULL without ANSI mode (a date to a number or
//! a boolean); they are errors here, as in Spark's ANSI mode, rather than a column of NULLs.

use arrow::compute::can_cast_types;
use arrow_schema::DataType;

use super::{is_numeric, is_string, value_type};

/// Whether values of `from` can be cast to `to`.
pub fn can_cast(from: &DataType, to: &DataType) -> bool {
    let (from, to) = (value_type(from), value_type(to));
    if from == to || from == &DataType::Null {
        return true;
    }
    spark_allows(from, to) && can_cast_types(from, to)
}

/// Spark's `Cast.canCast` without ANSI mode, less the casts that are always NULL.
fn spark_allows(from: &DataType, to: &DataType) -> bool {
    use DataType::{
        Boolean, Date32, Date64, FixedSizeList, Interval, LargeList, List, Map, Struct, Timestamp,
    };
    let date = |t: &DataType| matches!(t, Date32 | Date64);
    let integral = |t: &DataType| t.is_integer();
    match (from, to) {
        (_, t) if is_string(t) => true,
        (s, DataType::Binary | DataType::LargeBinary) => is_string(s) || integral(s),
        (s, Boolean) => is_string(s) || is_numeric(s) || matches!(s, Timestamp(_, Some(_))),
        // Any timestamp: another unit or zone is the same instant or wall-clock time.
        (s, Timestamp(_, Some(_))) => {
            is_string(s) || is_numeric(s) || date(s) || matches!(s, Boolean | Timestamp(..))
        }
        (s, Timestamp(_, None)) => is_string(s) || date(s) || matches!(s, Timestamp(..)),
        (s, t) if date(t) => is_string(s) || date(s) || matches!(s, Timestamp(..)),
        (s, Interval(_)) => is_string(s),
        (s, t) if is_numeric(t) => {
            is_string(s) || is_numeric(s) || matches!(s, Boolean | Timestamp(_, Some(_)))
        }
        (List(from) | LargeList(from) | FixedSizeList(from, _), List(to)) => {
            can_cast(from.data_type(), to.data_type())
        }
        (Map(from, _), Map(to, _)) => can_cast(from.data_type(), to.data_type()),
        (Struct(from), Struct(to)) => {
            from.len() == to.len()
                && from
                    .iter()
                    .zip(to.iter())
                    .all(|(f, t)| can_cast(f.data_type(), t.data_type()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::{Field, TimeUnit};

    use super::*;

    fn list(item: DataType) -> DataType {
        DataType::List(Arc::new(Field::new_list_field(item, true)))
    }

    // Spark 3.5's canCast, by hand from its documentation of CAST.
    #[test]
    fn spark_casts_are_allowed_and_the_rest_are_not() {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let ntz = DataType::Timestamp(TimeUnit::Microsecond, None);
        let allowed = [
            (DataType::Utf8, DataType::Int32),
            (DataType::Int64, DataType::Utf8),
            (DataType::Float64, DataType::Decimal128(10, 2)),
            (DataType::Boolean, DataType::Int8),
            (DataType::Utf8, DataType::Date32),
            (ts.clone(), DataType::Date32),
            (DataType::Date32, ts.clone()),
            (ntz.clone(), ts.clone()),
            (
                DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Paris".into())),
                ts.clone(),
            ),
            (ts.clone(), DataType::Int64),
            (DataType::Int64, ts.clone()),
            (DataType::Null, list(DataType::Int32)),
            (list(DataType::Int32), list(DataType::Utf8)),
            (list(DataType::Int32), DataType::Utf8),
            (list(DataType::Utf8), list(DataType::Date32)),
        ];
        for (from, to) in allowed {
            assert!(can_cast(&from, &to), "{from} to {to}");
        }
        let refused = [
            (DataType::Date32, DataType::Float64),
            (DataType::Date32, DataType::Boolean),
            (DataType::Int32, DataType::Date32),
            (DataType::Boolean, DataType::Date32),
            (list(DataType::Int32), DataType::Int32),
            (DataType::Int32, list(DataType::Int32)),
            (DataType::Boolean, ntz),
        ];
        for (from, to) in refused {
            assert!(!can_cast(&from, &to), "{from} to {to}");
        }
    }
}
