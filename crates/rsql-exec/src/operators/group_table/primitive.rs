//! Group keys of one primitive column, stored as native values. Small non-negative integers
//! (below [`DENSE_KEYS`]) find their group by indexing an array instead of hashing.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowNativeTypeOp, AsArray, PrimitiveArray};
use arrow::compute::cast;
use arrow::datatypes::{ArrowNativeType, ArrowPrimitiveType, DataType};
use datafusion_common::hash_utils::{HashValue, RandomState};
use hashbrown::HashTable;

use super::{GroupKeys, hasher, nulls_of};
use crate::error::Result;
use crate::rows::normalize_zeros;

/// Integer keys below this are grouped through [`PrimitiveKeys::dense`] (a `u32` each at most).
const DENSE_KEYS: usize = 1 << 16;

/// Keys of one primitive column: each group's value, and the group of NULL if there is one.
pub(super) struct PrimitiveKeys<T: ArrowPrimitiveType> {
    data_type: DataType,
    /// Whether the keys are integers, so that small ones may be grouped densely.
    integer: bool,
    /// For each integer key below [`DENSE_KEYS`] seen so far (the array grows to the largest),
    /// its group plus one, 0 where the key has not been seen. Such keys are never in `table`.
    dense: Vec<u32>,
    /// Each group's key (a placeholder for the NULL group).
    values: Vec<T::Native>,
    null_group: Option<usize>,
    /// `(key, group)` of every non-NULL key: the key is kept inline so a probe reads one slot.
    table: HashTable<(T::Native, usize)>,
    hasher: RandomState,
}

impl<T: ArrowPrimitiveType> PrimitiveKeys<T>
where
    T::Native: HashValue,
{
    pub(super) fn new(data_type: &DataType) -> Self {
        PrimitiveKeys {
            data_type: data_type.clone(),
            integer: data_type.is_integer(),
            dense: Vec::new(),
            values: Vec::new(),
            null_group: None,
            table: HashTable::new(),
            hasher: hasher(),
        }
    }

    fn group_of(&mut self, value: T::Native) -> usize {
        if self.integer
            && let Some(index) = value.to_usize().filter(|&index| index < DENSE_KEYS)
        {
            return self.dense_group_of(index, value);
        }
        let PrimitiveKeys {
            values,
            table,
            hasher,
            ..
        } = self;
        let hash = value.hash_one(hasher);
        match table.find(hash, |(key, _)| key.is_eq(value)) {
            Some(&(_, group)) => group,
            None => {
                let group = values.len();
                values.push(value);
                table.insert_unique(hash, (value, group), |(key, _)| key.hash_one(hasher));
                group
            }
        }
    }

    /// The group of small integer key `value`, at `index` of [`PrimitiveKeys::dense`].
    fn dense_group_of(&mut self, index: usize, value: T::Native) -> usize {
        if index >= self.dense.len() {
            let len = (index + 1).next_power_of_two().min(DENSE_KEYS);
            self.dense.resize(len, 0);
        }
        match self.dense[index] {
            0 => {
                let group = self.values.len();
                self.values.push(value);
                self.dense[index] = group as u32 + 1;
                group
            }
            slot => slot as usize - 1,
        }
    }

    fn null_group(&mut self) -> usize {
        *self.null_group.get_or_insert_with(|| {
            self.values.push(T::Native::default());
            self.values.len() - 1
        })
    }
}

impl<T: ArrowPrimitiveType> GroupKeys for PrimitiveKeys<T>
where
    T::Native: HashValue,
{
    fn intern(&mut self, key_columns: &[ArrayRef], groups: &mut Vec<usize>) -> Result<()> {
        let mut column = normalize_zeros(&key_columns[0]);
        if column.data_type() != &self.data_type {
            column = cast(&column, &self.data_type)?;
        }
        let keys = column.as_primitive::<T>();
        match keys.nulls().filter(|nulls| nulls.null_count() > 0) {
            None => {
                // A key equal to the row before's has its group: clustered keys (a table
                // sorted by the key) probe once per run.
                let mut previous: Option<(T::Native, usize)> = None;
                groups.extend(keys.values().iter().map(|&value| {
                    let group = match previous {
                        Some((key, group)) if key.is_eq(value) => group,
                        _ => self.group_of(value),
                    };
                    previous = Some((value, group));
                    group
                }));
            }
            Some(nulls) => {
                for (&value, valid) in keys.values().iter().zip(nulls.iter()) {
                    let group = if valid {
                        self.group_of(value)
                    } else {
                        self.null_group()
                    };
                    groups.push(group);
                }
            }
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn size(&self) -> usize {
        let native = std::mem::size_of::<T::Native>();
        self.values.capacity() * native
            + self.dense.capacity() * std::mem::size_of::<u32>()
            + self.table.capacity() * (std::mem::size_of::<(T::Native, usize)>() + 1)
    }

    fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        let values = std::mem::take(&mut self.values);
        let nulls = nulls_of(values.len(), self.null_group.take());
        self.table.clear();
        self.dense = Vec::new();
        let keys =
            PrimitiveArray::<T>::new(values.into(), nulls).with_data_type(self.data_type.clone());
        Ok(vec![Arc::new(keys)])
    }
}
