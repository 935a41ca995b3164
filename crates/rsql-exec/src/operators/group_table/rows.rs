//! Group keys of any types, stored in arrow's row format.

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use arrow::row::{Row, Rows};
use datafusion_common::hash_utils::{RandomState, create_hashes};

use super::{GroupKeys, TaggedGroups, hasher};
use crate::error::Result;
use crate::rows::{RowCodec, normalize_zeros};

/// Keys of any column types as byte rows, with each group's hash.
pub(super) struct RowKeys {
    codec: RowCodec,
    /// Each group's key row.
    keys: Rows,
    /// Every group's number by its key's tag.
    groups: TaggedGroups,
    hasher: RandomState,
}

impl RowKeys {
    pub(super) fn try_new(key_types: &[DataType]) -> Result<Self> {
        let codec = RowCodec::new(key_types)?;
        Ok(RowKeys {
            keys: codec.empty_rows(),
            codec,
            groups: TaggedGroups::default(),
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
        let keys = &self.keys;
        let bytes = row.data();
        let (group, is_new) = self.groups.group_of(hash, keys.num_rows(), |group| {
            keys.row(group).data() == bytes
        });
        if is_new {
            self.keys.push(row);
        }
        group
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
        self.keys.num_rows()
    }

    fn size(&self) -> usize {
        self.keys.size() + self.groups.size()
    }

    fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        let keys = std::mem::replace(&mut self.keys, self.codec.empty_rows());
        self.groups.clear();
        self.codec.decode_rows(&keys)
    }
}
