//! `min(x)` and `max(x)` for every orderable type, compared in arrow's row format.

use std::cmp::Ordering;

use arrow::array::{ArrayRef, new_null_array};
use arrow::datatypes::DataType;

use crate::aggregate::{GroupsAccumulator, ensure_groups};
use crate::error::Result;
use crate::rows::RowCodec;

/// Keeps the smallest (`keep` is `Less`) or largest (`Greater`) non-null value of
/// `data_type` per group.
pub(crate) fn min_max_accumulator(
    data_type: &DataType,
    keep: Ordering,
) -> Result<Box<dyn GroupsAccumulator>> {
    Ok(Box::new(MinMaxAccumulator(BestValues::new(
        data_type, keep,
    )?)))
}

/// The smallest or largest non-null value of each group so far.
pub(crate) struct BestValues {
    codec: RowCodec,
    data_type: DataType,
    keep: Ordering,
    /// Row bytes of the best value per group so far.
    best: Vec<Option<Box<[u8]>>>,
}

impl BestValues {
    /// Keeps the smallest (`keep` is `Less`) or largest (`Greater`) value of `data_type`.
    pub(crate) fn new(data_type: &DataType, keep: Ordering) -> Result<Self> {
        Ok(BestValues {
            codec: RowCodec::new(std::slice::from_ref(data_type))?,
            data_type: data_type.clone(),
            keep,
            best: Vec::new(),
        })
    }

    /// Folds the non-null `values` into their groups, calling `on_better(group, row)` whenever
    /// a row beats its group's best so far (ties keep the earlier value).
    pub(crate) fn fold(
        &mut self,
        values: &ArrayRef,
        group_indices: &[usize],
        total_groups: usize,
        mut on_better: impl FnMut(usize, usize),
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
                on_better(group, row);
            }
        }
        Ok(())
    }

    /// The best value of groups `0..total_groups`, NULL for groups without one; emptied.
    pub(crate) fn take(&mut self, total_groups: usize) -> Result<ArrayRef> {
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

    /// Approximate heap bytes held.
    pub(crate) fn size(&self) -> usize {
        self.best.iter().flatten().map(|b| b.len()).sum::<usize>() + self.best.capacity() * 16
    }
}

struct MinMaxAccumulator(BestValues);

impl GroupsAccumulator for MinMaxAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.0
            .fold(&values[0], group_indices, total_groups, |_, _| {})
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.0
            .fold(&states[0], group_indices, total_groups, |_, _| {})
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(total_groups)?])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        self.0.take(total_groups)
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}
