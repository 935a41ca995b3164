//! `range(..)` and `generate_series(..)`: a table of one `BIGINT` column of evenly spaced
//! integers, described by its bounds. The rows are generated when the scan runs.

use std::any::Any;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion_common::stats::Precision;
use datafusion_common::{ColumnStatistics, ScalarValue, Statistics};

use super::source::TableSource;
use crate::error::{PlanError, Result};

/// The integers `start, start + step, ...`, `len` of them; every one fits in an `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IntegerRange {
    start: i64,
    step: i64,
    len: u64,
}

impl IntegerRange {
    /// The integers from `start` up to `stop` by `step` (down to it for a negative step),
    /// `stop` itself included only when `inclusive`. Empty when `stop` lies on the other side
    /// of `start`; a zero step is an error.
    pub fn new(start: i64, stop: i64, step: i64, inclusive: bool) -> Result<Self> {
        if step == 0 {
            return Err(PlanError::invalid("the step of a range cannot be 0"));
        }
        let (distance, step_size) = (i128::from(stop) - i128::from(start), i128::from(step).abs());
        // Steps that stay strictly before `stop` (or reach it when inclusive), counted along
        // the direction of `step`.
        let toward = if step > 0 { distance } else { -distance };
        let len = match (toward, inclusive) {
            (d, true) if d >= 0 => d / step_size + 1,
            (d, false) if d > 0 => (d - 1) / step_size + 1,
            _ => 0,
        };
        Ok(IntegerRange {
            start,
            step,
            len: u64::try_from(len).map_err(|_| PlanError::invalid("the range is too long"))?,
        })
    }

    /// How many integers the range holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range holds no integer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `index`-th integer (`index < len`).
    pub fn value(&self, index: u64) -> i64 {
        // Within the range every value lies between `start` and `stop`, so this cannot wrap.
        let offset = i128::from(self.step) * i128::from(index);
        i64::try_from(i128::from(self.start) + offset).unwrap_or(i64::MAX)
    }

    /// The integers at positions `from..to` of this range, as a range of their own.
    pub fn slice(&self, from: u64, to: u64) -> IntegerRange {
        let to = to.min(self.len);
        let from = from.min(to);
        IntegerRange {
            start: if from < self.len {
                self.value(from)
            } else {
                self.start
            },
            step: self.step,
            len: to - from,
        }
    }

    /// The smallest and largest integer, if any.
    fn bounds(&self) -> Option<(i64, i64)> {
        let last = self.value(self.len.checked_sub(1)?);
        Some((self.start.min(last), self.start.max(last)))
    }
}

/// The table a `range` or `generate_series` call stands for: one non-null `Int64` column.
#[derive(Debug, Clone)]
pub struct RangeSource {
    range: IntegerRange,
    schema: SchemaRef,
}

impl RangeSource {
    /// A table of the integers of `range` in a column called `column`.
    pub fn new(range: IntegerRange, column: &str) -> Self {
        let field = Field::new(column, DataType::Int64, false);
        RangeSource {
            range,
            schema: Arc::new(Schema::new(vec![field])),
        }
    }

    /// The integers the table holds.
    pub fn range(&self) -> IntegerRange {
        self.range
    }
}

impl TableSource for RangeSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Exact row count, size and bounds: the range is known without generating it.
    fn statistics(&self) -> Statistics {
        let rows = usize::try_from(self.range.len()).unwrap_or(usize::MAX);
        let mut column = ColumnStatistics::new_unknown().with_null_count(Precision::Exact(0));
        if let Some((min, max)) = self.range.bounds() {
            column = column
                .with_min_value(Precision::Exact(ScalarValue::Int64(Some(min))))
                .with_max_value(Precision::Exact(ScalarValue::Int64(Some(max))));
        }
        Statistics {
            num_rows: Precision::Exact(rows),
            total_byte_size: Precision::Exact(rows.saturating_mul(8)),
            column_statistics: vec![column],
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integers a range holds, by a plain loop as a reference.
    fn reference(start: i64, stop: i64, step: i64, inclusive: bool) -> Vec<i64> {
        let mut values = Vec::new();
        let mut value = start;
        let before = |v: i64| match (step > 0, inclusive) {
            (true, false) => v < stop,
            (true, true) => v <= stop,
            (false, false) => v > stop,
            (false, true) => v >= stop,
        };
        while before(value) {
            values.push(value);
            value += step;
        }
        values
    }

    fn values(range: IntegerRange) -> Vec<i64> {
        (0..range.len()).map(|i| range.value(i)).collect()
    }

    #[test]
    fn lengths_match_a_loop() {
        for start in -7..7 {
            for stop in -7..7 {
                for step in [-3, -2, -1, 1, 2, 3] {
                    for inclusive in [false, true] {
                        let range = IntegerRange::new(start, stop, step, inclusive).unwrap();
                        assert_eq!(
                            values(range),
                            reference(start, stop, step, inclusive),
                            "{start} {stop} {step} {inclusive}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn extreme_bounds_do_not_overflow() {
        let all = IntegerRange::new(i64::MIN, i64::MAX, 1, false).unwrap();
        assert_eq!(all.len(), u64::MAX);
        assert_eq!(all.value(all.len() - 1), i64::MAX - 1);
        // Every i64 is one more integer than a u64 counts.
        assert!(IntegerRange::new(i64::MIN, i64::MAX, 1, true).is_err());
        let down = IntegerRange::new(i64::MAX, i64::MIN, -(1 << 62), false).unwrap();
        assert_eq!(down.len(), 4);
        assert_eq!(down.value(3), -(1 << 62) - 1);
    }

    #[test]
    fn zero_step_is_an_error() {
        assert!(IntegerRange::new(0, 10, 0, false).is_err());
    }

    #[test]
    fn slices_partition_the_range() {
        let range = IntegerRange::new(10, -10, -3, false).unwrap();
        let mut joined = values(range.slice(0, 2));
        joined.extend(values(range.slice(2, 5)));
        joined.extend(values(range.slice(5, 100)));
        assert_eq!(joined, values(range));
        assert!(range.slice(9, 4).is_empty());
    }

    #[test]
    fn statistics_are_exact() {
        let source = RangeSource::new(IntegerRange::new(5, 0, -2, true).unwrap(), "range");
        let statistics = source.statistics();
        assert_eq!(statistics.num_rows, Precision::Exact(3));
        let column = &statistics.column_statistics[0];
        assert_eq!(
            column.min_value,
            Precision::Exact(ScalarValue::Int64(Some(1)))
        );
        assert_eq!(
            column.max_value,
            Precision::Exact(ScalarValue::Int64(Some(5)))
        );
    }
}
