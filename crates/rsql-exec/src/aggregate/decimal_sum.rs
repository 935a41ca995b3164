//! Exact sums of `Decimal128` values per group, in `i128`: a group whose sum leaves the sum
//! type's precision is NULL from then on (Spark's non-ANSI overflow), and says so in its partial
//! state so that merging cannot mistake it for a group without values; under ANSI mode that
//! overflow is an error instead.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Decimal128Array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Decimal128Type};

use crate::aggregate::{GroupsAccumulator, ensure_groups, for_each_valid};
use crate::error::{Result, exec_err};
use rsql_plan::compute::EvalMode;

/// Per-group decimal sums at one scale.
pub(crate) struct DecimalSums {
    sums: Vec<i128>,
    seen: Vec<bool>,
    overflowed: Vec<bool>,
    /// Under [`EvalMode::Ansi`] an overflow is an error; else the group's sum is NULL.
    mode: EvalMode,
    /// 10 to the sum type's precision: sums must stay smaller in magnitude.
    limit: u128,
    precision: u8,
    scale: i8,
}

impl DecimalSums {
    /// Sums in `sum_type`, a `Decimal128` whose scale the added values share, overflowing as
    /// `mode` says.
    pub(crate) fn new(sum_type: &DataType, mode: EvalMode) -> Result<Self> {
        let DataType::Decimal128(precision, scale) = sum_type else {
            return exec_err(format!("a decimal sum cannot be a {sum_type}"));
        };
        Ok(DecimalSums {
            sums: Vec::new(),
            seen: Vec::new(),
            overflowed: Vec::new(),
            mode,
            limit: 10_u128.pow(u32::from(*precision)),
            precision: *precision,
            scale: *scale,
        })
    }

    /// The precision and scale of the sums.
    pub(crate) fn parts(&self) -> (u8, i8) {
        (self.precision, self.scale)
    }

    fn grow(&mut self, total_groups: usize) {
        ensure_groups(&mut self.sums, total_groups, 0);
        ensure_groups(&mut self.seen, total_groups, false);
        ensure_groups(&mut self.overflowed, total_groups, false);
    }

    /// Adds `values` (decimals of the sums' scale, any precision) into their groups.
    pub(crate) fn add(
        &mut self,
        values: &ArrayRef,
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.grow(total_groups);
        match values.data_type() {
            DataType::Decimal128(_, scale) if *scale == self.scale => {}
            other => {
                return exec_err(format!(
                    "a decimal sum at scale {} cannot add {other}",
                    self.scale
                ));
            }
        }
        let limit = self.limit;
        let (sums, seen, overflowed) = (&mut self.sums, &mut self.seen, &mut self.overflowed);
        let values = values.as_primitive::<Decimal128Type>();
        for_each_valid(values, group_indices, |group, value| {
            seen[group] = true;
            match sums[group].checked_add(value) {
                Some(sum) if sum.unsigned_abs() < limit => sums[group] = sum,
                _ => overflowed[group] = true,
            }
        });
        self.check()
    }

    /// Under ANSI mode, the error for a group whose sum overflowed.
    fn check(&self) -> Result<()> {
        if self.mode == EvalMode::Ansi && self.overflowed.contains(&true) {
            return exec_err(format!(
                "decimal overflow: sum does not fit DECIMAL({},{}) (ansi_mode is on)",
                self.precision, self.scale
            ));
        }
        Ok(())
    }

    /// Marks the groups whose merged partial sums overflowed.
    pub(crate) fn merge_overflowed(
        &mut self,
        flags: &ArrayRef,
        group_indices: &[usize],
    ) -> Result<()> {
        let flags = flags.as_boolean();
        for (row, &group) in group_indices.iter().enumerate() {
            if flags.value(row) {
                self.overflowed[group] = true;
            }
        }
        self.check()
    }

    /// The sums of groups `0..total_groups` (NULL where a group saw no value or overflowed)
    /// and the overflow flags; emptied.
    pub(crate) fn take(&mut self, total_groups: usize) -> Result<(Decimal128Array, BooleanArray)> {
        self.grow(total_groups);
        let overflowed = std::mem::take(&mut self.overflowed);
        let valid: Vec<bool> = std::mem::take(&mut self.seen)
            .into_iter()
            .zip(&overflowed)
            .map(|(seen, overflowed)| seen && !overflowed)
            .collect();
        let sums = Decimal128Array::new(
            std::mem::take(&mut self.sums).into(),
            Some(NullBuffer::from(valid)),
        )
        .with_precision_and_scale(self.precision, self.scale)?;
        Ok((sums, BooleanArray::from(overflowed)))
    }

    pub(crate) fn size(&self) -> usize {
        self.sums.capacity() * 16 + self.seen.capacity() + self.overflowed.capacity()
    }
}

/// `sum(decimal)`: state is the sum and its overflow flag.
pub(crate) struct DecimalSumAccumulator {
    sums: DecimalSums,
}

impl DecimalSumAccumulator {
    pub(crate) fn new(sum_type: &DataType, mode: EvalMode) -> Result<Self> {
        Ok(DecimalSumAccumulator {
            sums: DecimalSums::new(sum_type, mode)?,
        })
    }
}

impl GroupsAccumulator for DecimalSumAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&values[0], group_indices, total_groups)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&states[0], group_indices, total_groups)?;
        self.sums.merge_overflowed(&states[1], group_indices)
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        let (sums, overflowed) = self.sums.take(total_groups)?;
        Ok(vec![Arc::new(sums), Arc::new(overflowed)])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        Ok(Arc::new(self.sums.take(total_groups)?.0))
    }

    fn size(&self) -> usize {
        self.sums.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimals(values: Vec<Option<i128>>, precision: u8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(values)
                .with_precision_and_scale(precision, 2)
                .unwrap(),
        )
    }

    #[test]
    fn sums_are_exact_and_overflow_is_null_after_merging() {
        // Sum type DECIMAL(3,2): |sum| must stay below 10.00.
        let sum_type = DataType::Decimal128(3, 2);
        let mut partial = DecimalSumAccumulator::new(&sum_type, EvalMode::Lenient).unwrap();
        // Group 0: 0.10 + 0.20 = 0.30; group 1: 9.99 + 0.01 overflows; group 2: no values.
        let values = decimals(vec![Some(10), Some(999), Some(20), Some(1), None], 3);
        partial
            .update_batch(&[values], &[0, 1, 0, 1, 2], 3)
            .unwrap();
        let state = partial.state(3).unwrap();
        let mut last = DecimalSumAccumulator::new(&sum_type, EvalMode::Lenient).unwrap();
        last.merge_batch(&state, &[0, 1, 2], 3).unwrap();
        // Another partition adds 0.05 to every group.
        let more = decimals(vec![Some(5), Some(5), Some(5)], 3);
        let flags: ArrayRef = Arc::new(BooleanArray::from(vec![false; 3]));
        last.merge_batch(&[more, flags], &[0, 1, 2], 3).unwrap();
        let out = last.evaluate(3).unwrap();
        let out: Vec<_> = out.as_primitive::<Decimal128Type>().iter().collect();
        assert_eq!(out, vec![Some(35), None, Some(5)]);
    }
}
