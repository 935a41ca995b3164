//! `sum(x)`: integers sum to `Int64` (wrapping on overflow, as Spark without ANSI mode, and an
//! error under it), floats to `Float64`, decimals exactly ([`DecimalSumAccumulator`]); the sum
//! of no non-null values is null.

use std::sync::Arc;

use arrow::array::{ArrayRef, ArrowNativeTypeOp, AsArray, PrimitiveArray};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{ArrowPrimitiveType, DataType, Float64Type, Int64Type};

use crate::aggregate::decimal_sum::DecimalSumAccumulator;
use crate::aggregate::{GroupsAccumulator, ensure_groups, for_each_valid};
use crate::error::{Result, exec_err};
use rsql_plan::compute::EvalMode;
use rsql_plan::sql::sql_type_name;

/// An accumulator adding values up in `sum_type` (the type the signature says `sum` returns);
/// `mode` says whether an overflow wraps (integers) or is NULL (decimals), or is an error.
pub(crate) fn sum_accumulator(
    sum_type: &DataType,
    mode: EvalMode,
) -> Result<Box<dyn GroupsAccumulator>> {
    match sum_type {
        DataType::Int64 => Ok(Box::new(SumAccumulator::<Int64Type>::new(mode))),
        DataType::Float64 => Ok(Box::<SumAccumulator<Float64Type>>::default()),
        DataType::Decimal128(..) => Ok(Box::new(DecimalSumAccumulator::new(sum_type, mode)?)),
        other => exec_err(format!("sum in {other} is not supported yet")),
    }
}

/// Per-group sums of one primitive type, with a flag for groups that saw a value.
pub(crate) struct SumAccumulator<T: ArrowPrimitiveType> {
    sums: Vec<T::Native>,
    seen: Vec<bool>,
    /// Under [`EvalMode::Ansi`] an integer overflow is an error; else it wraps.
    mode: EvalMode,
}

impl<T: ArrowPrimitiveType> Default for SumAccumulator<T> {
    fn default() -> Self {
        Self::new(EvalMode::Lenient)
    }
}

impl<T: ArrowPrimitiveType> SumAccumulator<T> {
    /// Empty sums, overflowing as `mode` says.
    pub(crate) fn new(mode: EvalMode) -> Self {
        SumAccumulator {
            sums: Vec::new(),
            seen: Vec::new(),
            mode,
        }
    }

    /// Adds `values` (cast to `T`) into their groups.
    pub(crate) fn add(
        &mut self,
        values: &ArrayRef,
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.sums, total_groups, T::Native::ZERO);
        ensure_groups(&mut self.seen, total_groups, false);
        let values = cast(values, &T::DATA_TYPE)?;
        let (sums, seen) = (&mut self.sums, &mut self.seen);
        if self.mode == EvalMode::Lenient {
            for_each_valid(values.as_primitive::<T>(), group_indices, |group, value| {
                sums[group] = sums[group].add_wrapping(value);
                seen[group] = true;
            });
            return Ok(());
        }
        let mut overflowed = false;
        for_each_valid(values.as_primitive::<T>(), group_indices, |group, value| {
            match sums[group].add_checked(value) {
                Ok(sum) => sums[group] = sum,
                Err(_) => overflowed = true,
            }
            seen[group] = true;
        });
        if overflowed {
            return exec_err(format!(
                "integer overflow: sum does not fit {} (ansi_mode is on)",
                sql_type_name(&T::DATA_TYPE).to_uppercase()
            ));
        }
        Ok(())
    }

    /// The sums of groups `0..total_groups`, null where a group saw no value; the accumulator
    /// is emptied.
    pub(crate) fn take(&mut self, total_groups: usize) -> PrimitiveArray<T> {
        ensure_groups(&mut self.sums, total_groups, T::Native::ZERO);
        ensure_groups(&mut self.seen, total_groups, false);
        let nulls = NullBuffer::from(std::mem::take(&mut self.seen));
        PrimitiveArray::<T>::new(std::mem::take(&mut self.sums).into(), Some(nulls))
    }

    pub(crate) fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<T::Native>() + self.seen.capacity()
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for SumAccumulator<T> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.add(&values[0], group_indices, total_groups)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.add(&states[0], group_indices, total_groups)
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(total_groups)?])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        Ok(Arc::new(self.take(total_groups)))
    }

    fn size(&self) -> usize {
        SumAccumulator::size(self)
    }
}
