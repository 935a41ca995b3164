//! `min(x)` and `max(x)` for every orderable type: primitive types (numbers, decimals, dates,
//! times) compared as native values in arrow's total order, every other type compared in
//! arrow's row format. Both orders put NaN above every number, as Spark does.

use std::cmp::Ordering;

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowNativeTypeOp, AsArray, PrimitiveArray, downcast_primitive, new_null_array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{ArrowPrimitiveType, DataType};

use crate::aggregate::{GroupsAccumulator, ensure_groups, for_each_valid};
use crate::error::Result;
use crate::rows::RowCodec;

/// Keeps the smallest (`keep` is `Less`) or largest (`Greater`) non-null value of
/// `data_type` per group.
pub(crate) fn min_max_accumulator(
    data_type: &DataType,
    keep: Ordering,
) -> Result<Box<dyn GroupsAccumulator>> {
    macro_rules! primitive {
        ($t:ty) => {
            Box::new(PrimitiveMinMax::<$t>::new(data_type, keep))
        };
    }
    Ok(downcast_primitive! {
        data_type => (primitive),
        _ => Box::new(MinMaxAccumulator(BestValues::new(data_type, keep)?)),
    })
}

/// The smallest or largest non-null value of each group, for a primitive type.
struct PrimitiveMinMax<T: ArrowPrimitiveType> {
    data_type: DataType,
    keep: Ordering,
    best: Vec<T::Native>,
    seen: Vec<bool>,
}

impl<T: ArrowPrimitiveType> PrimitiveMinMax<T> {
    fn new(data_type: &DataType, keep: Ordering) -> Self {
        PrimitiveMinMax {
            data_type: data_type.clone(),
            keep,
            best: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn fold(
        &mut self,
        values: &ArrayRef,
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.best, total_groups, T::Native::default());
        ensure_groups(&mut self.seen, total_groups, false);
        let values = if values.data_type() == &self.data_type {
            Arc::clone(values)
        } else {
            cast(values, &self.data_type)?
        };
        let keep = self.keep;
        let (best, seen) = (&mut self.best, &mut self.seen);
        for_each_valid(values.as_primitive::<T>(), group_indices, |group, value| {
            if !seen[group] || value.compare(best[group]) == keep {
                best[group] = value;
                seen[group] = true;
            }
        });
        Ok(())
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for PrimitiveMinMax<T> {
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
        ensure_groups(&mut self.best, total_groups, T::Native::default());
        ensure_groups(&mut self.seen, total_groups, false);
        let nulls = NullBuffer::from(std::mem::take(&mut self.seen));
        let best = std::mem::take(&mut self.best);
        Ok(Arc::new(
            PrimitiveArray::<T>::new(best.into(), Some(nulls))
                .with_data_type(self.data_type.clone()),
        ))
    }

    fn size(&self) -> usize {
        self.best.capacity() * std::mem::size_of::<T::Native>() + self.seen.capacity()
    }
}

/// The smallest or largest non-null value of each group so far.
pub(crate) struct BestValues {
    codec: RowCodec,
    data_type: DataType,
    keep: Ordering,
    /// Row bytes of the best value per group so far.
    best: Vec<Option<Box<[u8]>>>,
    /// Bytes held by `best`'s values.
    value_bytes: usize,
}

impl BestValues {
    /// Keeps the smallest (`keep` is `Less`) or largest (`Greater`) value of `data_type`.
    pub(crate) fn new(data_type: &DataType, keep: Ordering) -> Result<Self> {
        Ok(BestValues {
            codec: RowCodec::new(std::slice::from_ref(data_type))?,
            data_type: data_type.clone(),
            keep,
            best: Vec::new(),
            value_bytes: 0,
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
                let replaced = self.best[group].replace(candidate.data().into());
                self.value_bytes += candidate.data().len();
                self.value_bytes -= replaced.map_or(0, |old| old.len());
                on_better(group, row);
            }
        }
        Ok(())
    }

    /// The best value of groups `0..total_groups`, NULL for groups without one; emptied.
    pub(crate) fn take(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.best, total_groups, None);
        let best = std::mem::take(&mut self.best);
        self.value_bytes = 0;
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
        self.value_bytes + self.best.capacity() * 16
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

#[cfg(test)]
mod tests {
    use arrow::array::Float64Array;
    use proptest::prelude::*;

    use super::*;

    fn floats() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            Just(Some(f64::NAN)),
            Just(Some(-0.0)),
            Just(Some(0.0)),
            Just(Some(f64::NEG_INFINITY)),
            (-3i32..3).prop_map(|v| Some(f64::from(v))),
        ]
    }

    /// Each group's extreme value in `f64::total_cmp` order (NaN highest), row at a time.
    fn reference(rows: &[(usize, Option<f64>)], groups: usize, keep: Ordering) -> Vec<Option<f64>> {
        let mut best: Vec<Option<f64>> = vec![None; groups];
        for &(group, value) in rows {
            if let Some(value) = value
                && best[group].is_none_or(|b| value.total_cmp(&b) == keep)
            {
                best[group] = Some(value);
            }
        }
        best
    }

    proptest! {
        /// Two partial accumulators over a random split, merged, match the reference.
        #[test]
        fn float_min_max_match_total_order_reference(
            rows in prop::collection::vec((0usize..4, floats()), 0..120),
            split in 0usize..120,
            max in any::<bool>(),
        ) {
            let keep = if max { Ordering::Greater } else { Ordering::Less };
            let split = split.min(rows.len());
            let groups = 4;
            let partial = |part: &[(usize, Option<f64>)]| {
                let mut accumulator = min_max_accumulator(&DataType::Float64, keep).unwrap();
                let values: ArrayRef =
                    Arc::new(part.iter().map(|&(_, v)| v).collect::<Float64Array>());
                let indices: Vec<usize> = part.iter().map(|&(g, _)| g).collect();
                accumulator.update_batch(&[values], &indices, groups).unwrap();
                accumulator.state(groups).unwrap()
            };
            let mut merged = min_max_accumulator(&DataType::Float64, keep).unwrap();
            for part in [&rows[..split], &rows[split..]] {
                let identity: Vec<usize> = (0..groups).collect();
                merged.merge_batch(&partial(part), &identity, groups).unwrap();
            }
            let result = merged.evaluate(groups).unwrap();
            let result: Vec<Option<u64>> =
                result.as_primitive::<arrow::datatypes::Float64Type>().iter().map(|v| v.map(f64::to_bits)).collect();
            let expected: Vec<Option<u64>> =
                reference(&rows, groups, keep).into_iter().map(|v| v.map(f64::to_bits)).collect();
            prop_assert_eq!(result, expected);
        }
    }
}
