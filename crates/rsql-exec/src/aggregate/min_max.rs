//! `min(x)` and `max(x)` for every orderable type, compared in arrow's row format.

use std::cmp::Ordering;

use arrow::array::{ArrayRef, new_null_array};
use arrow::datatypes::{DataType, Field};

use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::{Result, exec_err};
use crate::rows::RowCodec;

/// The smallest (`Less`) or largest (`Greater`) non-null value per group.
#[derive(Debug)]
pub struct MinMax {
    name: &'static str,
    keep: Ordering,
}

impl MinMax {
    /// `min`.
    pub fn min() -> Self {
        MinMax {
            name: "min",
            keep: Ordering::Less,
        }
    }

    /// `max`.
    pub fn max() -> Self {
        MinMax {
            name: "max",
            keep: Ordering::Greater,
        }
    }
}

impl AggregateUdf for MinMax {
    fn name(&self) -> &str {
        self.name
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [arg] => Ok(arg.clone()),
            _ => exec_err(format!(
                "{} takes one argument, got {}",
                self.name,
                args.len()
            )),
        }
    }

    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>> {
        Ok(vec![Field::new(self.name, self.return_type(args)?, true)])
    }

    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        let data_type = self.return_type(args)?;
        Ok(Box::new(MinMaxAccumulator {
            codec: RowCodec::new(std::slice::from_ref(&data_type))?,
            data_type,
            keep: self.keep,
            best: Vec::new(),
        }))
    }
}

struct MinMaxAccumulator {
    codec: RowCodec,
    data_type: DataType,
    keep: Ordering,
    /// Row bytes of the best value per group so far.
    best: Vec<Option<Box<[u8]>>>,
}

impl MinMaxAccumulator {
    fn fold(
        &mut self,
        values: &ArrayRef,
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.best, total_groups, None);
        let rows = self.codec.encode(std::slice::from_ref(values))?;
        for (row, &group) in group_indices.iter().enumerate() {
            if values.is_null(row) {
                continue;
            }
            let candidate = rows.row(row);
            let better = match &self.best[group] {
                None => true,
                Some(best) => candidate.data().cmp(best) == self.keep,
            };
            if better {
                self.best[group] = Some(candidate.data().into());
            }
        }
        Ok(())
    }
}

impl GroupsAccumulator for MinMaxAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.fold(&values[0], group_indices, total_groups)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.fold(&states[0], group_indices, total_groups)
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(total_groups)?])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.best, total_groups, None);
        let best = std::mem::take(&mut self.best);
        if best.is_empty() {
            return Ok(new_null_array(&self.data_type, 0));
        }
        // Decode the groups that have a value, then scatter them among nulls.
        let present: Vec<&[u8]> = best.iter().flatten().map(|b| b.as_ref()).collect();
        let decoded = self.codec.decode(present)?.remove(0);
        let mut next = 0u32;
        let indices: arrow::array::UInt32Array = best
            .iter()
            .map(|b| {
                b.as_ref().map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        Ok(arrow::compute::take(&decoded, &indices, None)?)
    }

    fn size(&self) -> usize {
        self.best.iter().flatten().map(|b| b.len()).sum::<usize>() + self.best.capacity() * 16
    }
}
