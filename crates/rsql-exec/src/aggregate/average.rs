//! `avg(x)`: the mean as `Float64`, or of decimals as an exact decimal; state is a sum and a
//! count (and, for decimals, the sum's overflow flag).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Float64Type, Int64Type, i256};

use crate::aggregate::decimal_sum::DecimalSums;
use crate::aggregate::sum::SumAccumulator;
use crate::aggregate::{GroupsAccumulator, ensure_groups};
use crate::error::{Result, exec_err};
use rsql_plan::compute::EvalMode;

/// The accumulator for `avg` of `arg` values with the result type `result`; `mode` says
/// whether a decimal sum that overflows makes the mean NULL or is an error.
pub(crate) fn average_accumulator(
    arg: &DataType,
    result: &DataType,
    mode: EvalMode,
) -> Result<Box<dyn GroupsAccumulator>> {
    match (arg, result) {
        (DataType::Decimal128(p, s), DataType::Decimal128(rp, rs)) => {
            let sum_type = rsql_plan::coercion::sum_decimal(*p, *s);
            Ok(Box::new(DecimalAverageAccumulator {
                sums: DecimalSums::new(&sum_type, mode)?,
                counts: GroupCounts::default(),
                precision: *rp,
                scale: *rs,
            }))
        }
        (_, DataType::Float64) => Ok(Box::<AverageAccumulator>::default()),
        _ => exec_err(format!("avg of {arg} as {result} is not supported")),
    }
}

/// The number of non-null values per group: the count half of both means' states.
#[derive(Default)]
struct GroupCounts(Vec<i64>);

impl GroupCounts {
    /// Counts the non-null rows of `values` into their groups.
    fn count_values(&mut self, values: &ArrayRef, group_indices: &[usize], total_groups: usize) {
        ensure_groups(&mut self.0, total_groups, 0);
        match values.logical_nulls() {
            None => group_indices.iter().for_each(|&group| self.0[group] += 1),
            Some(nulls) => {
                for (&group, valid) in group_indices.iter().zip(nulls.iter()) {
                    self.0[group] += i64::from(valid);
                }
            }
        }
    }

    /// Adds partial counts (an `Int64` state column) into their groups.
    fn merge(&mut self, counts: &ArrayRef, group_indices: &[usize], total_groups: usize) {
        ensure_groups(&mut self.0, total_groups, 0);
        let counts = counts.as_primitive::<Int64Type>();
        for (&count, &group) in counts.values().iter().zip(group_indices) {
            self.0[group] += count;
        }
    }

    /// The counts of groups `0..total_groups`; emptied.
    fn take(&mut self, total_groups: usize) -> Vec<i64> {
        ensure_groups(&mut self.0, total_groups, 0);
        std::mem::take(&mut self.0)
    }

    fn size(&self) -> usize {
        self.0.capacity() * 8
    }
}

/// The arithmetic mean of numeric values per group as `Float64`; null for groups without values.
#[derive(Default)]
pub(crate) struct AverageAccumulator {
    sums: SumAccumulator<Float64Type>,
    counts: GroupCounts,
}

impl GroupsAccumulator for AverageAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&values[0], group_indices, total_groups)?;
        self.counts
            .count_values(&values[0], group_indices, total_groups);
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&states[0], group_indices, total_groups)?;
        self.counts.merge(&states[1], group_indices, total_groups);
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        let sums = Arc::new(self.sums.take(total_groups));
        let counts = Arc::new(Int64Array::from(self.counts.take(total_groups)));
        Ok(vec![sums, counts])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        let sums = self.sums.take(total_groups);
        let counts = self.counts.take(total_groups);
        let means: Float64Array = sums
            .iter()
            .zip(counts)
            .map(|(sum, count)| sum.filter(|_| count > 0).map(|s| s / count as f64))
            .collect();
        Ok(Arc::new(means))
    }

    fn size(&self) -> usize {
        self.sums.size() + self.counts.size()
    }
}

/// The mean of decimals per group, exact: the sum (`DECIMAL(p + 10, s)`) divided by the count at
/// the result scale, rounded half up; NULL for groups without values, whose sum overflowed, or
/// whose mean does not fit the result precision.
struct DecimalAverageAccumulator {
    sums: DecimalSums,
    counts: GroupCounts,
    precision: u8,
    scale: i8,
}

impl DecimalAverageAccumulator {
    /// `sum / count` at the result scale (`sum` at the sums' scale), half up.
    fn mean(&self, sum: i128, count: i64) -> Option<i128> {
        let shift = u32::try_from(i32::from(self.scale) - i32::from(self.sums.parts().1)).ok()?;
        let numerator =
            i256::from_i128(sum).checked_mul(i256::from_i128(10).checked_pow(shift)?)?;
        let count = i256::from_i128(i128::from(count));
        let quotient = numerator.checked_div(count)?;
        let remainder = numerator.checked_rem(count)?;
        let twice = remainder.checked_abs()?.checked_mul(i256::from_i128(2))?;
        let mean = if twice >= count {
            let away = if numerator.is_negative() {
                i256::MINUS_ONE
            } else {
                i256::ONE
            };
            quotient.checked_add(away)?
        } else {
            quotient
        };
        let limit = i256::from_i128(10).checked_pow(u32::from(self.precision))?;
        (mean.checked_abs()? < limit)
            .then(|| mean.to_i128())
            .flatten()
    }
}

impl GroupsAccumulator for DecimalAverageAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&values[0], group_indices, total_groups)?;
        self.counts
            .count_values(&values[0], group_indices, total_groups);
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.sums.add(&states[0], group_indices, total_groups)?;
        self.sums.merge_overflowed(&states[2], group_indices)?;
        self.counts.merge(&states[1], group_indices, total_groups);
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        let (sums, overflowed) = self.sums.take(total_groups)?;
        let counts = Int64Array::from(self.counts.take(total_groups));
        Ok(vec![Arc::new(sums), Arc::new(counts), Arc::new(overflowed)])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        let (sums, _) = self.sums.take(total_groups)?;
        let counts = self.counts.take(total_groups);
        let means: Decimal128Array = sums
            .iter()
            .zip(counts)
            .map(|(sum, count)| sum.filter(|_| count > 0).and_then(|s| self.mean(s, count)))
            .collect();
        Ok(Arc::new(
            means.with_precision_and_scale(self.precision, self.scale)?,
        ))
    }

    fn size(&self) -> usize {
        self.sums.size() + self.counts.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_means_round_half_up_at_four_more_digits() {
        // avg(DECIMAL(15,2)) is DECIMAL(19,6). Group 0: (0.01 + 0.02 + 0.02) / 3 =
        // 0.0166666.. -> 0.016667; group 1: -1.00 / 8 = -0.125000; group 2: no values.
        let arg = DataType::Decimal128(15, 2);
        let mut avg =
            average_accumulator(&arg, &DataType::Decimal128(19, 6), EvalMode::Lenient).unwrap();
        let values: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(1), Some(2), Some(2), Some(-100), None])
                .with_precision_and_scale(15, 2)
                .unwrap(),
        );
        avg.update_batch(&[values], &[0, 0, 0, 1, 2], 3).unwrap();
        let state = avg.state(3).unwrap();
        // Seven more zero-valued rows of group 1 from another partition: count 8.
        let mut last =
            average_accumulator(&arg, &DataType::Decimal128(19, 6), EvalMode::Lenient).unwrap();
        last.merge_batch(&state, &[0, 1, 2], 3).unwrap();
        let zeros: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(0)])
                .with_precision_and_scale(25, 2)
                .unwrap(),
        );
        let more = vec![
            zeros,
            Arc::new(Int64Array::from(vec![7])) as ArrayRef,
            Arc::new(arrow::array::BooleanArray::from(vec![false])) as ArrayRef,
        ];
        last.merge_batch(&more, &[1], 3).unwrap();
        let out = last.evaluate(3).unwrap();
        let out: Vec<_> = out
            .as_primitive::<arrow::datatypes::Decimal128Type>()
            .iter()
            .collect();
        assert_eq!(out, vec![Some(16_667), Some(-125_000), None]);
    }
}
