//! Dense ids for the distinct values an accumulator sees, so that per-group work is on small
//! integers rather than on the values. Dictionary-encoded input (as Parquet gives it) is
//! interned a dictionary at a time: each distinct value of a batch is hashed once, and every row
//! then costs one array lookup.

use std::hash::BuildHasher;

use arrow::array::{Array, ArrayData, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use arrow::row::{Row, Rows};
use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::Result;
use crate::rows::RowCodec;

/// Interned values of one type, numbered in order of first appearance.
pub(crate) struct Interner {
    codec: RowCodec,
    values: Rows,
    ids: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// The last dictionary interned and the ids of its values: the batches of one Parquet
    /// column chunk share their dictionary, which is then interned once, not once per batch.
    last_dictionary: Option<(ArrayData, Vec<Option<u32>>)>,
}

impl Interner {
    /// An interner for values of `value_type` (input may also be dictionary-encoded values of
    /// that type).
    pub(crate) fn new(value_type: &DataType) -> Result<Self> {
        let codec = RowCodec::new(std::slice::from_ref(value_type))?;
        Ok(Interner {
            values: codec.empty_rows(),
            codec,
            ids: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            last_dictionary: None,
        })
    }

    /// The id of every row of `values` (`None` for nulls), interning new values.
    pub(crate) fn intern(&mut self, values: &ArrayRef) -> Result<Vec<Option<u32>>> {
        if let Some(dictionary) = values.as_any_dictionary_opt() {
            if dictionary.values().is_empty() {
                // No values to point at: every key is null.
                return Ok(vec![None; values.len()]);
            }
            let remap = self.dictionary_ids(dictionary.values())?;
            let keys = dictionary.normalized_keys();
            return Ok(match values.nulls() {
                None => keys.into_iter().map(|key| remap[key]).collect(),
                Some(nulls) => keys
                    .into_iter()
                    .zip(nulls.iter())
                    .map(|(key, valid)| if valid { remap[key] } else { None })
                    .collect(),
            });
        }
        self.intern_all(values)
    }

    /// The ids of a dictionary's values, reused while batches share the dictionary's buffers.
    fn dictionary_ids(&mut self, dictionary: &ArrayRef) -> Result<&[Option<u32>]> {
        let data = dictionary.to_data();
        let reuse = matches!(&self.last_dictionary, Some((last, _)) if last.ptr_eq(&data));
        if !reuse {
            let ids = self.intern_all(dictionary)?;
            self.last_dictionary = Some((data, ids));
        }
        Ok(self
            .last_dictionary
            .as_ref()
            .map_or(&[], |(_, ids)| ids.as_slice()))
    }

    /// The ids of the rows of a plain (not dictionary-encoded) array.
    fn intern_all(&mut self, values: &ArrayRef) -> Result<Vec<Option<u32>>> {
        let rows = self.codec.encode_keys(std::slice::from_ref(values))?;
        let nulls = values.logical_nulls();
        Ok((0..values.len())
            .map(|row| {
                let valid = nulls.as_ref().is_none_or(|nulls| nulls.is_valid(row));
                valid.then(|| self.intern_row(rows.row(row)))
            })
            .collect())
    }

    fn intern_row(&mut self, row: Row<'_>) -> u32 {
        let Interner {
            values,
            ids,
            hasher,
            ..
        } = self;
        let bytes = row.data();
        let hash = hasher.hash_one(bytes);
        if let Some(&id) = ids.find(hash, |&id| values.row(id as usize).data() == bytes) {
            return id;
        }
        let id = values.num_rows() as u32;
        values.push(row);
        ids.insert_unique(hash, id, |&id| {
            hasher.hash_one(values.row(id as usize).data())
        });
        id
    }

    /// The values with the given ids, in order, as one array of the value type.
    pub(crate) fn decode(&self, ids: impl IntoIterator<Item = u32>) -> Result<ArrayRef> {
        let rows = ids
            .into_iter()
            .map(|id| self.values.row(id as usize).data());
        Ok(self.codec.decode(rows)?.remove(0))
    }

    /// The encoded bytes of the value with id `id`: comparing them compares the values
    /// (ascending, as Arrow's row format orders them).
    pub(crate) fn bytes(&self, id: u32) -> &[u8] {
        self.values.row(id as usize).data()
    }

    /// The number of values interned.
    pub(crate) fn len(&self) -> usize {
        self.values.num_rows()
    }

    /// Approximate bytes held.
    pub(crate) fn size(&self) -> usize {
        self.values.size() + self.ids.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{DictionaryArray, Int32Array, StringArray};
    use arrow::datatypes::Int32Type;

    use super::*;

    #[test]
    fn plain_and_dictionary_values_share_ids_and_nulls_get_none() {
        let mut interner = Interner::new(&DataType::Utf8).unwrap();
        let plain: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), None, Some("a")]));
        assert_eq!(interner.intern(&plain).unwrap(), [Some(0), None, Some(1)]);
        let dictionary: DictionaryArray<Int32Type> = vec![Some("a"), Some("c"), None, Some("a")]
            .into_iter()
            .collect();
        let dictionary: ArrayRef = Arc::new(dictionary);
        assert_eq!(
            interner.intern(&dictionary).unwrap(),
            [Some(1), Some(2), None, Some(1)]
        );
        let all_null = DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(vec![None, None]),
            Arc::new(StringArray::from(Vec::<&str>::new())),
        )
        .unwrap();
        assert_eq!(
            interner.intern(&(Arc::new(all_null) as ArrayRef)).unwrap(),
            [None, None]
        );
        let decoded = interner.decode([2, 0, 1]).unwrap();
        assert_eq!(
            decoded.as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some("c"), Some("b"), Some("a")]
        );
    }

    #[test]
    fn batches_sharing_a_dictionary_reuse_its_ids_and_a_new_dictionary_is_interned() {
        let mut interner = Interner::new(&DataType::Utf8).unwrap();
        let chunk: DictionaryArray<Int32Type> = vec![Some("x"), Some("y"), Some("x"), None]
            .into_iter()
            .collect();
        let chunk: ArrayRef = Arc::new(chunk);
        // Two batches of one column chunk: slices sharing the dictionary's buffers.
        assert_eq!(
            interner.intern(&chunk.slice(0, 2)).unwrap(),
            [Some(0), Some(1)]
        );
        assert_eq!(
            interner.intern(&chunk.slice(2, 2)).unwrap(),
            [Some(0), None]
        );
        let other: DictionaryArray<Int32Type> = vec![Some("z"), Some("x")].into_iter().collect();
        assert_eq!(
            interner.intern(&(Arc::new(other) as ArrayRef)).unwrap(),
            [Some(2), Some(0)]
        );
    }
}
