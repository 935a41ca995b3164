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
use crate::error::Result;

/// Counts the string values of each group; evaluates to
/// [`count_values_type`](rsql_plan::function::count_values_type)`(Utf8)`.
#[derive(Default)]
pub(crate) struct CountValuesAccumulator {
    /// Interned value -> id.
    ids: HashMap<String, u32>,
    /// Id -> value.
    values: Vec<String>,
    /// Per group: value id -> count.
    groups: Vec<HashMap<u32, i64>>,
}

impl CountValuesAccumulator {
    fn intern(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(value.to_string());
        self.ids.insert(value.to_string(), id);
        id
    }

    fn ensure_groups(&mut self, total_groups: usize) {
        if self.groups.len() < total_groups {
            self.groups.resize_with(total_groups, HashMap::new);
        }
    }

    /// Interned ids of each row's value (`None` for nulls).
    fn row_ids(&mut self, values: &ArrayRef) -> Result<Vec<Option<u32>>> {
        if let Some(dictionary) = values.as_any_dictionary_opt() {
            let words = cast(dictionary.values(), &DataType::Utf8)?;
            let words = words.as_string::<i32>();
            let remap: Vec<Option<u32>> = words.iter().map(|w| w.map(|w| self.intern(w))).collect();
            let keys = dictionary.normalized_keys();
            return Ok((0..values.len())
                .map(|row| {
                    if values.is_valid(row) {
                        remap[keys[row]]
                    } else {
                        None
                    }
                })
                .collect());
        }
        let strings = cast(values, &DataType::Utf8)?;
        Ok(strings
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(|s| self.intern(s)))
            .collect())
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
        let keys = maps.keys().as_string::<i32>();
        let counts = maps.values().as_primitive::<Int64Type>();
        let offsets = maps.value_offsets();
        for (map, &group) in group_indices.iter().enumerate() {
            for entry in offsets[map] as usize..offsets[map + 1] as usize {
                let id = self.intern(keys.value(entry));
                *self.groups[group].entry(id).or_default() += counts.value(entry);
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
        for group in std::mem::take(&mut self.groups) {
            let mut entries: Vec<(&str, i64)> = group
                .into_iter()
                .map(|(id, n)| (self.values[id as usize].as_str(), n))
                .collect();
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
        self.values.iter().map(|v| 2 * v.len() + 32).sum::<usize>()
            + self.groups.iter().map(|g| g.capacity() * 16).sum::<usize>()
    }
}
