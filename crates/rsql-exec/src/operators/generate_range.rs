//! Generating the batches of `range(..)` lazily: one partition's share of the integers, a
//! batch at a time, so a scan that is cut short (a `LIMIT`) never builds the rest.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use rsql_plan::plan::IntegerRange;

use crate::error::Result;

/// The integers partition `partition` of `partitions` holds: an even, contiguous share.
pub fn range_partition(range: IntegerRange, partition: usize, partitions: usize) -> IntegerRange {
    let share = |p: usize| {
        let scaled = u128::from(range.len()) * p as u128 / partitions.max(1) as u128;
        u64::try_from(scaled).unwrap_or(u64::MAX)
    };
    range.slice(share(partition), share(partition + 1))
}

/// Batches of at most `batch_rows` rows of `range`, in `schema`: its one `Int64` column, or no
/// column at all when the scan reads none (`count(*)`).
#[derive(Debug)]
pub struct RangeBatches {
    range: IntegerRange,
    next: u64,
    batch_rows: u64,
    schema: SchemaRef,
}

impl RangeBatches {
    /// The batches of `range` in `schema`, `batch_rows` (at least one) at a time.
    pub fn new(range: IntegerRange, schema: SchemaRef, batch_rows: usize) -> Self {
        RangeBatches {
            range,
            next: 0,
            batch_rows: u64::try_from(batch_rows.max(1)).unwrap_or(u64::MAX),
            schema,
        }
    }

    fn batch(&self, from: u64, to: u64) -> Result<RecordBatch> {
        let rows = usize::try_from(to - from).unwrap_or(usize::MAX);
        let columns: Vec<ArrayRef> = if self.schema.fields().is_empty() {
            Vec::new()
        } else {
            let values: Int64Array = (from..to).map(|i| self.range.value(i)).collect();
            vec![Arc::new(values)]
        };
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &options,
        )?)
    }
}

impl Iterator for RangeBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.range.len() {
            return None;
        }
        let from = self.next;
        let to = from.saturating_add(self.batch_rows).min(self.range.len());
        self.next = to;
        Some(self.batch(from, to))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;

    fn int_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new(
            "range",
            DataType::Int64,
            false,
        )]))
    }

    fn values(batches: RangeBatches) -> Vec<i64> {
        batches
            .flat_map(|b| {
                b.unwrap()
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[test]
    fn partitions_cover_the_range_once_in_order() {
        let range = IntegerRange::new(-3, 40, 3, false).unwrap();
        let expected: Vec<i64> = (-3..40).step_by(3).collect();
        for partitions in [1, 2, 3, 7, 20, 64] {
            let mut all = Vec::new();
            for p in 0..partitions {
                let share = range_partition(range, p, partitions);
                all.extend(values(RangeBatches::new(share, int_schema(), 4)));
            }
            assert_eq!(all, expected, "{partitions} partitions");
        }
    }

    #[test]
    fn batches_are_cut_at_the_batch_size() {
        let range = IntegerRange::new(0, 10, 1, false).unwrap();
        let sizes: Vec<usize> = RangeBatches::new(range, int_schema(), 4)
            .map(|b| b.unwrap().num_rows())
            .collect();
        assert_eq!(sizes, vec![4, 4, 2]);
    }

    #[test]
    fn no_columns_still_counts_rows() {
        let range = IntegerRange::new(0, 10, 1, true).unwrap();
        let batches = RangeBatches::new(range, Arc::new(Schema::empty()), 4);
        let rows: usize = batches.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 11);
    }

    #[test]
    fn a_huge_range_is_generated_only_as_far_as_it_is_read() {
        let range = IntegerRange::new(0, i64::MAX, 1, false).unwrap();
        let mut batches = RangeBatches::new(range_partition(range, 1, 2), int_schema(), 8192);
        let first = batches.next().unwrap().unwrap();
        assert_eq!(first.num_rows(), 8192);
        let column = first.column(0).as_primitive::<Int64Type>();
        assert_eq!(column.value(0), i64::MAX / 2);
    }
}
