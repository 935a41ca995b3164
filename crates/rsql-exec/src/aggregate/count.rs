//! `count(*)` and `count(x)`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, Int64Type};

use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::{Result, exec_err};

/// Counts rows (no argument) or non-null values (one argument).
#[derive(Debug, Default)]
pub struct Count;

impl AggregateUdf for Count {
    fn name(&self) -> &str {
        "count"
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.len() {
            0 | 1 => Ok(DataType::Int64),
            n => exec_err(format!("count takes at most one argument, got {n}")),
        }
    }

    fn state_fields(&self, _args: &[DataType]) -> Result<Vec<Field>> {
        Ok(vec![Field::new("count", DataType::Int64, false)])
    }

    fn accumulator(&self, _args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(CountAccumulator::default()))
    }
}

#[derive(Default)]
struct CountAccumulator {
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
