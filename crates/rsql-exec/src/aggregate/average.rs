//! `avg(x)`: the mean as `Float64`; state is a sum and a count.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::datatypes::{Float64Type, Int64Type};

use crate::aggregate::sum::SumAccumulator;
use crate::aggregate::{GroupsAccumulator, ensure_groups};
use crate::error::Result;

/// The arithmetic mean of numeric values per group; null for groups without values.
#[derive(Default)]
pub(crate) struct AverageAccumulator {
    sums: SumAccumulator<Float64Type>,
    counts: Vec<i64>,
}

impl GroupsAccumulator for AverageAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&values[0], group_indices, total_groups)?;
        ensure_groups(&mut self.counts, total_groups, 0);
        for (row, &group) in group_indices.iter().enumerate() {
            self.counts[group] += i64::from(values[0].is_valid(row));
        }
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&states[0], group_indices, total_groups)?;
        ensure_groups(&mut self.counts, total_groups, 0);
        let counts = states[1].as_primitive::<Int64Type>();
        for (row, &group) in group_indices.iter().enumerate() {
            self.counts[group] += counts.value(row);
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        ensure_groups(&mut self.counts, total_groups, 0);
        let sums = Arc::new(self.sums.take(total_groups));
        let counts = Arc::new(Int64Array::from(std::mem::take(&mut self.counts)));
        Ok(vec![sums, counts])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.counts, total_groups, 0);
        let sums = self.sums.take(total_groups);
        let counts = std::mem::take(&mut self.counts);
        let means: Float64Array = sums
            .iter()
            .zip(counts)
            .map(|(sum, count)| sum.filter(|_| count > 0).map(|s| s / count as f64))
            .collect();
        Ok(Arc::new(means))
    }

    fn size(&self) -> usize {
        self.sums.size() + self.counts.capacity() * 8
    }
}
