//! Group keys of one dictionary-encoded column (as Parquet gives string columns): each
//! dictionary value is encoded and hashed once, when a row first points at it, and every row
//! then costs one array lookup. Batches of one Parquet column chunk share their dictionary, so
//! its values are looked up once per chunk, not once per batch.

use arrow::array::{Array, ArrayData, ArrayRef, AsArray, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::row::Rows;

use super::GroupKeys;
use super::rows::RowKeys;
use crate::error::Result;

/// Keys of one column whose type is a dictionary of `value_type`, grouped by value.
pub(super) struct DictionaryKeys {
    value_type: DataType,
    /// The groups, keyed by the values (not the dictionary codes).
    values: RowKeys,
    /// The group of NULL, once a row has been NULL.
    null_group: Option<usize>,
    /// The dictionary last seen, with its values encoded and each one's group once known.
    last: Option<InternedDictionary>,
}

/// A dictionary's values, encoded and hashed, and the group of each value rows pointed at.
struct InternedDictionary {
    data: ArrayData,
    rows: Rows,
    hashes: Vec<u64>,
    groups: Vec<Option<usize>>,
}

impl DictionaryKeys {
    pub(super) fn try_new(value_type: &DataType) -> Result<Self> {
        Ok(DictionaryKeys {
            value_type: value_type.clone(),
            values: RowKeys::try_new(std::slice::from_ref(value_type))?,
            null_group: None,
            last: None,
        })
    }

    fn null_group(&mut self) -> Result<usize> {
        if let Some(group) = self.null_group {
            return Ok(group);
        }
        let (rows, hashes) = self.values.encode(&[new_null_array(&self.value_type, 1)])?;
        let group = self.values.group_of(rows.row(0), hashes[0]);
        Ok(*self.null_group.insert(group))
    }
}

impl GroupKeys for DictionaryKeys {
    fn intern(&mut self, key_columns: &[ArrayRef], groups: &mut Vec<usize>) -> Result<()> {
        let column = &key_columns[0];
        let Some(dictionary) = column.as_any_dictionary_opt() else {
            // Plain values (a batch that was not dictionary-encoded).
            let values = cast(column, &self.value_type)?;
            return self.values.intern(&[values], groups);
        };
        if column.is_empty() {
            return Ok(());
        }
        if dictionary.values().is_empty() {
            // No values to point at: every row is NULL.
            let null_group = self.null_group()?;
            groups.extend(std::iter::repeat_n(null_group, column.len()));
            return Ok(());
        }
        let data = dictionary.values().to_data();
        if !self
            .last
            .as_ref()
            .is_some_and(|last| last.data.ptr_eq(&data))
        {
            let (rows, hashes) = self
                .values
                .encode(std::slice::from_ref(dictionary.values()))?;
            self.last = Some(InternedDictionary {
                groups: vec![None; rows.num_rows()],
                data,
                rows,
                hashes,
            });
        }
        let codes = dictionary.normalized_keys();
        let key_nulls = dictionary.keys().nulls().cloned();
        for (row, code) in codes.into_iter().enumerate() {
            if key_nulls.as_ref().is_some_and(|nulls| nulls.is_null(row)) {
                groups.push(self.null_group()?);
                continue;
            }
            let Some(last) = self.last.as_mut() else {
                unreachable!("the dictionary was interned above");
            };
            let group = match last.groups[code] {
                Some(group) => group,
                None => {
                    let group = self.values.group_of(last.rows.row(code), last.hashes[code]);
                    last.groups[code] = Some(group);
                    group
                }
            };
            groups.push(group);
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn size(&self) -> usize {
        let dictionary = self.last.as_ref().map_or(0, |last| {
            last.rows.size() + last.hashes.capacity() * 8 + last.groups.capacity() * 16
        });
        self.values.size() + dictionary
    }

    fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        self.null_group = None;
        self.last = None;
        self.values.emit()
    }
}
