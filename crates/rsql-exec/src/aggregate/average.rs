//! `avg(x)`: the mean as `Float64`; state is a sum and a count.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type};

use crate::aggregate::sum::SumAccumulator;
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::{Result, exec_err};

/// The arithmetic mean of numeric values per group; null for groups without values.
#[derive(Debug, Default)]
pub struct Average;

impl AggregateUdf for Average {
    fn name(&self) -> &str {
        "avg"
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [arg] if arg.is_numeric() || *arg == DataType::Null => Ok(DataType::Float64),
            [other] => exec_err(format!("avg is not supported for {other}")),
            _ => exec_err(format!("avg takes one argument, got {}", args.len())),
        }
    }

    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>> {
        self.return_type(args)?;
        Ok(vec![
            Field::new("sum", DataType::Float64, true),
            Field::new("count", DataType::Int64, false),
        ])
    }

    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.return_type(args)?;
        Ok(Box::new(AverageAccumulator::default()))
    }
}

#[derive(Default)]
struct AverageAccumulator {
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
