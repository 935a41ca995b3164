//! Group keys of one string column, as byte views in the hash table: a key of at most 12 bytes
//! lives whole in its table entry, a longer one as its length, first 4 bytes and place in one
//! buffer (arrow's `StringView` layout). Probing compares the views first, so short keys never
//! leave the table and long ones are read only when length and prefix already match.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, LargeStringArray};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion_common::hash_utils::RandomState;
use hashbrown::HashTable;

use super::{GroupKeys, hasher, nulls_of};
use crate::error::Result;

/// Bytes a key may have to be held whole in its view.
const INLINE_BYTES: usize = 12;

/// One key in the table: its hash, its view and its group.
#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    view: u128,
    group: u32,
}

/// Keys of one string column (`Utf8`, `LargeUtf8` or `Utf8View`).
pub(super) struct StringKeys {
    data_type: DataType,
    table: HashTable<Entry>,
    /// Every group's key, one after another (the NULL group's is empty).
    data: Vec<u8>,
    /// Where each group's key starts in `data`, and where the last ends.
    offsets: Vec<i64>,
    null_group: Option<usize>,
    hasher: RandomState,
}

/// The view of `bytes`, whose copy starts at `offset` in the keys' buffer.
fn view(bytes: &[u8], offset: usize) -> u128 {
    let len = bytes.len() as u128;
    if bytes.len() <= INLINE_BYTES {
        let mut inline = [0u8; 16];
        inline[..bytes.len()].copy_from_slice(bytes);
        len | (u128::from_le_bytes(inline) << 32)
    } else {
        let prefix = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        len | (u128::from(prefix) << 32) | ((offset as u128) << 64)
    }
}

/// Whether a probe's view `probe` (made with offset 0) and an entry's view `stored` may be the
/// same key: equal length and prefix (or, inline, equal bytes).
fn views_match(probe: u128, stored: u128) -> bool {
    let inline = (probe as u32 as usize) <= INLINE_BYTES;
    if inline {
        probe == stored
    } else {
        // Length and prefix: the low 64 bits.
        probe as u64 == stored as u64
    }
}

impl StringKeys {
    pub(super) fn new(data_type: &DataType) -> Self {
        StringKeys {
            data_type: data_type.clone(),
            table: HashTable::new(),
            data: Vec::new(),
            offsets: vec![0],
            null_group: None,
            hasher: hasher(),
        }
    }

    fn push_key(&mut self, bytes: &[u8]) -> usize {
        let group = self.offsets.len() - 1;
        self.data.extend_from_slice(bytes);
        self.offsets.push(self.data.len() as i64);
        group
    }

    fn group_of(&mut self, bytes: &[u8]) -> usize {
        let hash = self.hasher.hash_one(bytes);
        let probe = view(bytes, 0);
        let StringKeys {
            table,
            data,
            offsets,
            ..
        } = self;
        let found = table.find(hash, |entry| {
            entry.hash == hash
                && views_match(probe, entry.view)
                && (bytes.len() <= INLINE_BYTES || {
                    let start = offsets[entry.group as usize] as usize;
                    &data[start..start + bytes.len()] == bytes
                })
        });
        if let Some(entry) = found {
            return entry.group as usize;
        }
        let offset = self.data.len();
        let group = self.push_key(bytes);
        let entry = Entry {
            hash,
            view: view(bytes, offset),
            group: group as u32,
        };
        self.table.insert_unique(hash, entry, |entry| entry.hash);
        group
    }

    fn null_group(&mut self) -> usize {
        if let Some(group) = self.null_group {
            return group;
        }
        let group = self.push_key(&[]);
        self.null_group = Some(group);
        group
    }

    fn intern_strings<'a>(
        &mut self,
        values: impl Iterator<Item = Option<&'a str>>,
        groups: &mut Vec<usize>,
    ) {
        for value in values {
            groups.push(match value {
                Some(value) => self.group_of(value.as_bytes()),
                None => self.null_group(),
            });
        }
    }
}

impl GroupKeys for StringKeys {
    fn intern(&mut self, key_columns: &[ArrayRef], groups: &mut Vec<usize>) -> Result<()> {
        let column = &key_columns[0];
        match column.data_type() {
            DataType::Utf8 => self.intern_strings(column.as_string::<i32>().iter(), groups),
            DataType::LargeUtf8 => self.intern_strings(column.as_string::<i64>().iter(), groups),
            DataType::Utf8View => self.intern_strings(column.as_string_view().iter(), groups),
            _ => {
                let column = cast(column, &DataType::LargeUtf8)?;
                self.intern_strings(column.as_string::<i64>().iter(), groups);
            }
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn size(&self) -> usize {
        self.data.capacity()
            + self.offsets.capacity() * std::mem::size_of::<i64>()
            + self.table.capacity() * (std::mem::size_of::<Entry>() + 1)
    }

    fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let data = std::mem::take(&mut self.data);
        let groups = offsets.len() - 1;
        let nulls = nulls_of(groups, self.null_group.take());
        self.table.clear();
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        let keys: ArrayRef = Arc::new(LargeStringArray::try_new(offsets, data.into(), nulls)?);
        Ok(vec![if self.data_type == DataType::LargeUtf8 {
            keys
        } else {
            cast(&keys, &self.data_type)?
        }])
    }
}
