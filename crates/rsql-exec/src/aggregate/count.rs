//! `count(*)` and `count(x)`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::Int64Type;

use crate::aggregate::{GroupsAccumulator, ensure_groups};
use crate::error::Result;

/// Counts rows (no argument) or non-null values (one argument) per group.
#[derive(Default)]
pub(crate) struct CountAccumulator {
    counts: Vec<i64>,
}

impl GroupsAccumulator for CountAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.counts, total_groups, 0);
        match values.first().and_then(|v| v.logical_nulls()) {
            Some(nulls) => {
                for (row, &group) in group_indices.iter().enumerate() {
                    self.counts[group] += i64::from(nulls.is_valid(row));
                }
            }
            None => {
                for &group in group_indices {
                    self.counts[group] += 1;
                }
            }
        }
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.counts, total_groups, 0);
        let partial = states[0].as_primitive::<Int64Type>();
        for (row, &group) in group_indices.iter().enumerate() {
            self.counts[group] += partial.value(row);
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(total_groups)?])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.counts, total_groups, 0);
        Ok(Arc::new(Int64Array::from(std::mem::take(&mut self.counts))))
    }

    fn size(&self) -> usize {
        self.counts.capacity() * 8
    }
}
