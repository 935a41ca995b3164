//! Group keys of any types, stored in arrow's row format.

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use arrow::row::{Row, Rows};
use datafusion_common::hash_utils::{RandomState, create_hashes};
use hashbrown::HashTable;

use super::{GroupKeys, hasher};
use crate::error::Result;
use crate::rows::{RowCodec, normalize_zeros};

/// Keys of any column types as byte rows, with each group's hash.
pub(super) struct RowKeys {
    codec: RowCodec,
    /// Each group's key row.
    keys: Rows,
    /// Each group's hash.
    hashes: Vec<u64>,
    table: HashTable<usize>,
    hasher: RandomState,
}

impl RowKeys {
    pub(super) fn try_new(key_types: &[DataType]) -> Result<Self> {
        let codec = RowCodec::new(key_types)?;
        Ok(RowKeys {
            keys: codec.empty_rows(),
            codec,
            hashes: Vec::new(),
            table: HashTable::new(),
            hasher: hasher(),
        })
    }
}

impl RowKeys {
    /// The rows of `columns` and their hashes, as this table encodes and hashes keys.
    pub(super) fn encode(&self, columns: &[ArrayRef]) -> Result<(Rows, Vec<u64>)> {
        let columns: Vec<ArrayRef> = columns.iter().map(normalize_zeros).collect();
        let rows = self.codec.encode(&columns)?;
        let mut hashes = vec![0; rows.num_rows()];
        create_hashes(&columns, &self.hasher, &mut hashes)?;
        Ok((rows, hashes))
    }

    /// The group of the key `row` whose hash is `hash`, added if new.
    pub(super) fn group_of(&mut self, row: Row<'_>, hash: u64) -> usize {
        let RowKeys {
            keys,
            hashes,
            table,
            ..
        } = self;
        let bytes = row.data();
        let found = table.find(hash, |&group| {
            hashes[group] == hash && keys.row(group).data() == bytes
        });
        match found {
            Some(&group) => group,
            None => {
                let group = hashes.len();
                keys.push(row);
                hashes.push(hash);
                table.insert_unique(hash, group, |&group| hashes[group]);
                group
            }
        }
    }
}

impl GroupKeys for RowKeys {
    fn intern(&mut self, key_columns: &[ArrayRef], groups: &mut Vec<usize>) -> Result<()> {
        let (rows, hashes) = self.encode(key_columns)?;
        for (row, &hash) in rows.iter().zip(&hashes) {
            groups.push(self.group_of(row, hash));
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.hashes.len()
    }

    fn size(&self) -> usize {
        self.keys.size()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
            + self.table.capacity() * (std::mem::size_of::<usize>() + 1)
    }

    fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        let keys = std::mem::replace(&mut self.keys, self.codec.empty_rows());
        self.hashes.clear();
        self.table.clear();
        self.codec.decode_rows(&keys)
    }
}
