//! `mode(x)`: the most frequent non-null value of a group (Spark and DuckDB), of `x`'s type;
//! NULL for a group without non-null values. Ties go to the smallest value (Spark's
//! `mode(x, true)`), so the answer does not depend on the order rows arrive in.
//!
//! Values are interned once per accumulator; a group holds a count per distinct value, and its
//! partial state is its distinct values with their counts.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, ListArray, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Int64Type};
use hashbrown::HashMap;
use rsql_plan::{AggregateFunctionSignature, Arity, coercion};

use crate::aggregate::interner::Interner;
use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::Result;

/// `mode`: see the [module documentation](self).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mode;

fn list_field(value: &DataType) -> Arc<Field> {
    Arc::new(Field::new_list_field(value.clone(), true))
}

impl AggregateFunctionSignature for Mode {
    fn name(&self) -> &str {
        "mode"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    /// Dictionary-encoded values stay encoded: each dictionary is interned once.
    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        Ok(args.to_vec())
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(coercion::value_type(&args[0]).clone())
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        let value = self.return_type(args)?;
        Ok(vec![
            Field::new("values", DataType::List(list_field(&value)), false),
            Field::new(
                "counts",
                DataType::List(list_field(&DataType::Int64)),
                false,
            ),
        ])
    }
}

impl AggregateUdf for Mode {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check("mode", args.len())?;
        let value_type = self.return_type(args)?;
        Ok(Box::new(ModeAccumulator {
            values: Interner::new(&value_type)?,
            value_type,
            groups: Vec::new(),
        }))
    }
}

/// Per group: value id -> count.
struct ModeAccumulator {
    value_type: DataType,
    values: Interner,
    groups: Vec<HashMap<u32, i64>>,
}

impl ModeAccumulator {
    fn ensure_groups(&mut self, total_groups: usize) {
        if self.groups.len() < total_groups {
            self.groups.resize_with(total_groups, HashMap::new);
        }
    }

    /// Adds `counts[i]` (1 if `None`) of value `ids[i]` to group `groups[i]`.
    fn add(&mut self, ids: &[Option<u32>], groups: impl Iterator<Item = (usize, i64)>) {
        for (id, (group, count)) in ids.iter().zip(groups) {
            if let Some(id) = id {
                *self.groups[group].entry(*id).or_default() += count;
            }
        }
    }

    /// The id of the most frequent value of `group` (the smallest among ties).
    fn mode_of(&self, group: &HashMap<u32, i64>) -> Option<u32> {
        group
            .iter()
            .max_by(|(a, n), (b, m)| {
                n.cmp(m)
                    .then_with(|| self.values.bytes(**b).cmp(self.values.bytes(**a)))
            })
            .map(|(&id, _)| id)
    }
}

impl GroupsAccumulator for ModeAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_groups);
        let ids = self.values.intern(&values[0])?;
        self.add(&ids, group_indices.iter().map(|&g| (g, 1)));
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_groups);
        let values = states[0].as_list::<i32>();
        let counts = states[1].as_list::<i32>();
        let ids = self.values.intern(values.values())?;
        let counts = counts.values().as_primitive::<Int64Type>().values();
        let offsets = values.value_offsets();
        let rows = group_indices
            .iter()
            .enumerate()
            .flat_map(|(row, &group)| (offsets[row]..offsets[row + 1]).map(move |_| group));
        self.add(&ids, rows.zip(counts.iter().copied()));
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        self.ensure_groups(total_groups);
        let groups = std::mem::take(&mut self.groups);
        let offsets = OffsetBuffer::from_lengths(groups.iter().map(HashMap::len));
        let values = self
            .values
            .decode(groups.iter().flat_map(|g| g.keys().copied()))?;
        let counts = Int64Array::from_iter_values(groups.iter().flat_map(|g| g.values().copied()));
        let values =
            ListArray::try_new(list_field(&self.value_type), offsets.clone(), values, None)?;
        let counts = ListArray::try_new(
            list_field(&DataType::Int64),
            offsets,
            Arc::new(counts),
            None,
        )?;
        Ok(vec![Arc::new(values), Arc::new(counts)])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        self.ensure_groups(total_groups);
        let groups = std::mem::take(&mut self.groups);
        let modes: Vec<Option<u32>> = groups.iter().map(|g| self.mode_of(g)).collect();
        // Decode each group's mode once, then place them (NULL where a group had none).
        let decoded = self.values.decode(modes.iter().flatten().copied())?;
        let mut next = 0;
        let positions: UInt32Array = modes
            .iter()
            .map(|mode| {
                mode.map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        Ok(take(&decoded, &positions, None)?)
    }

    fn size(&self) -> usize {
        self.values.size() + self.groups.iter().map(|g| g.capacity() * 16).sum::<usize>()
    }
}
