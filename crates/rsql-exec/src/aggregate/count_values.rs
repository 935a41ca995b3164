//! `count_values(x)`: how often each string occurs in a group, as `map<string, bigint>` — the
//! user-defined aggregate of the Spark-vs-Dask talk.
//!
//! Values are interned once per accumulator; dictionary-encoded input (as Parquet gives it) maps
//! each batch's dictionary to interned ids once, so the per-row work is two array lookups and a
//! small hash-map increment.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Builder, MapBuilder, MapFieldNames, StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use hashbrown::HashMap;

use crate::aggregate::GroupsAccumulator;
use crate::aggregate::interner::Interner;
use crate::error::Result;

/// Counts the string values of each group; evaluates to
/// [`count_values_type`](rsql_plan::function::count_values_type)`(Utf8)`.
pub(crate) struct CountValuesAccumulator {
    values: Interner,
    /// Per group: value id -> count.
    groups: Vec<HashMap<u32, i64>>,
}

impl CountValuesAccumulator {
    /// An accumulator of strings (plain or dictionary-encoded).
    pub(crate) fn try_new() -> Result<Self> {
        Ok(CountValuesAccumulator {
            values: Interner::new(&DataType::Utf8)?,
            groups: Vec::new(),
        })
    }

    fn ensure_groups(&mut self, total_groups: usize) {
        if self.groups.len() < total_groups {
            self.groups.resize_with(total_groups, HashMap::new);
        }
    }

    /// Interned ids of each row's value (`None` for nulls); other string types become `Utf8`.
    fn row_ids(&mut self, values: &ArrayRef) -> Result<Vec<Option<u32>>> {
        let is_utf8 = |t: &DataType| t == &DataType::Utf8;
        let plain = match values.data_type() {
            DataType::Dictionary(_, value) if is_utf8(value) => Arc::clone(values),
            t if is_utf8(t) => Arc::clone(values),
            _ => cast(values, &DataType::Utf8)?,
        };
        self.values.intern(&plain)
    }
}

impl GroupsAccumulator for CountValuesAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_groups);
        let ids = self.row_ids(&values[0])?;
        for (id, &group) in ids.into_iter().zip(group_indices) {
            if let Some(id) = id {
                *self.groups[group].entry(id).or_default() += 1;
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
        self.ensure_groups(total_groups);
        let maps = states[0].as_map();
        let ids = self.row_ids(maps.keys())?;
        let counts = maps.values().as_primitive::<Int64Type>();
        let offsets = maps.value_offsets();
        for (map, &group) in group_indices.iter().enumerate() {
            let entries = offsets[map] as usize..offsets[map + 1] as usize;
            for (id, &count) in ids[entries.clone()].iter().zip(&counts.values()[entries]) {
                if let Some(id) = id {
                    *self.groups[group].entry(*id).or_default() += count;
                }
            }
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(total_groups)?])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        self.ensure_groups(total_groups);
        let names = MapFieldNames {
            entry: "entries".into(),
            key: "key".into(),
            value: "value".into(),
        };
        let mut builder = MapBuilder::new(Some(names), StringBuilder::new(), Int64Builder::new());
        let groups = std::mem::take(&mut self.groups);
        let words = self.values.decode(
            groups
                .iter()
                .flat_map(|group| group.iter().map(|(&id, _)| id)),
        )?;
        let words = words.as_string::<i32>();
        let mut next_word = 0;
        for group in groups {
            let mut entries: Vec<(&str, i64)> = group
                .iter()
                .enumerate()
                .map(|(i, (_, &n))| (words.value(next_word + i), n))
                .collect();
            next_word += entries.len();
            entries.sort_unstable();
            for (value, count) in entries {
                builder.keys().append_value(value);
                builder.values().append_value(count);
            }
            builder.append(true)?;
        }
        Ok(Arc::new(builder.finish()))
    }

    fn size(&self) -> usize {
        self.values.size() + self.groups.iter().map(|g| g.capacity() * 16).sum::<usize>()
    }
}
