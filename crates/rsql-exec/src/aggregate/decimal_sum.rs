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
use rsql_plan::compute::{EvalMode, largest_magnitude};

/// Per-group decimal sums at one scale.
pub(crate) struct DecimalSums {
    sums: Vec<i128>,
    seen: Vec<bool>,
    overflowed: Vec<bool>,
    /// Under [`EvalMode::Ansi`] an overflow is an error; else the group's sum is NULL.
    mode: EvalMode,
    /// 10 to the sum type's precision: sums must stay smaller in magnitude.
    limit: u128,
    /// An upper bound on the magnitude of every group's sum, while it stays below `limit`:
    /// then a batch whose values cannot take any sum past the limit adds without checks.
    /// `u128::MAX` once sums come near the limit, when every addition is checked.
    bound: u128,
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
            bound: 0,
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
        let values = values.as_primitive::<Decimal128Type>();
        let headroom = self.headroom_for(values);
        let limit = self.limit;
        let (sums, seen, overflowed) = (&mut self.sums, &mut self.seen, &mut self.overflowed);
        match headroom {
            Some(bound) => {
                for_each_valid(values, group_indices, |group, value| {
                    seen[group] = true;
                    sums[group] += value;
                });
                self.bound = bound;
            }
            None => {
                for_each_valid(values, group_indices, |group, value| {
                    seen[group] = true;
                    match sums[group].checked_add(value) {
                        Some(sum) if sum.unsigned_abs() < limit => sums[group] = sum,
                        _ => overflowed[group] = true,
                    }
                });
                // Checked sums stay below the limit.
                self.bound = self.bound.max(limit - 1);
            }
        }
        self.check()
    }

    /// The bound on every sum after adding `values`, when it stays below the limit so that no
    /// addition needs checking. The bound is the batch's length times its largest magnitude
    /// on top of the bound so far; when that reaches the limit, the bound is tightened once to
    /// the largest sum, and if the batch still might overflow, every later addition is checked.
    fn headroom_for(&mut self, values: &Decimal128Array) -> Option<u128> {
        if self.bound == u128::MAX {
            return None;
        }
        let batch = largest_magnitude(values).checked_mul(values.len() as u128)?;
        let within = |bound: u128| bound.checked_add(batch).filter(|&bound| bound < self.limit);
        within(self.bound).or_else(|| {
            self.bound = self
                .sums
                .iter()
                .map(|sum| sum.unsigned_abs())
                .max()
                .unwrap_or(0);
            let tightened = within(self.bound);
            if tightened.is_none() {
                self.bound = u128::MAX;
            }
            tightened
        })
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
        self.bound = 0;
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

    /// Row-at-a-time sums: `None` for a group with no values or whose running sum left
    /// `limit` at some point.
    fn reference(
        batches: &[Vec<(usize, Option<i128>)>],
        groups: usize,
        limit: i128,
    ) -> Vec<Option<i128>> {
        let mut sums = vec![None; groups];
        let mut overflowed = vec![false; groups];
        for &(group, value) in batches.iter().flatten() {
            let Some(value) = value else { continue };
            let sum = sums[group].unwrap_or(0) + value;
            if sum.abs() >= limit {
                overflowed[group] = true;
            }
            sums[group] = Some(sum);
        }
        sums.into_iter()
            .zip(overflowed)
            .map(|(sum, overflowed)| sum.filter(|_| !overflowed))
            .collect()
    }

    proptest::proptest! {
        /// Unchecked additions (while the batches cannot reach the limit) and checked ones
        /// (near it) agree with a row-at-a-time reference, whatever the order of batches.
        #[test]
        fn sums_near_the_limit_match_the_reference(
            batches in proptest::collection::vec(
                proptest::collection::vec(
                    (0..4_usize, proptest::option::weighted(0.9, -2_000_i128..2_000)),
                    0..40,
                ),
                0..12,
            ),
            big in proptest::bool::ANY,
        ) {
            // DECIMAL(5,2) sums: below 1000.00 in magnitude, so that the values (a third
            // of the batches are scaled up to about the limit) overflow some groups.
            let limit = 100_000_i128;
            let batches: Vec<Vec<_>> = batches
                .into_iter()
                .enumerate()
                .map(|(index, rows)| {
                    let scale = if big && index % 3 == 0 { 40 } else { 1 };
                    rows.into_iter().map(|(group, value)| (group, value.map(|v| v * scale))).collect()
                })
                .collect();
            let mut sums = DecimalSumAccumulator::new(&DataType::Decimal128(5, 2), EvalMode::Lenient).unwrap();
            for rows in &batches {
                let groups: Vec<usize> = rows.iter().map(|(group, _)| *group).collect();
                let values = decimals(rows.iter().map(|(_, value)| *value).collect(), 6);
                sums.update_batch(&[values], &groups, 4).unwrap();
            }
            let out = sums.evaluate(4).unwrap();
            let out: Vec<_> = out.as_primitive::<Decimal128Type>().iter().collect();
            proptest::prop_assert_eq!(out, reference(&batches, 4, limit));
        }
    }
}
