//! Dense ids for the distinct values an accumulator sees, so that per-group work is on small
//! integers rather than on the values. Dictionary-encoded input (as Parquet gives it) is
//! interned a dictionary at a time: each distinct value of a batch is hashed once, and every row
//! then costs one array lookup.

use std::hash::BuildHasher;

use arrow::array::{Array, ArrayData, ArrayRef, AsArray, BinaryArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::row::Rows;
use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::Result;
use crate::rows::RowCodec;

/// Interned values of one type, numbered in order of first appearance.
pub(crate) struct Interner {
    values: Values,
    ids: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// The last dictionary interned and the ids of its values: the batches of one Parquet
    /// column chunk share their dictionary, which is then interned once, not once per batch.
    last_dictionary: Option<(ArrayData, Vec<Option<u32>>)>,
}

/// The interned values, each as bytes that compare as the values do (ascending).
enum Values {
    /// Strings as their UTF-8 bytes, back to back: hashed and compared as they come.
    Strings {
        data_type: DataType,
        bytes: Vec<u8>,
        /// Where each value starts in `bytes`, then where the last one ends.
        offsets: Vec<usize>,
    },
    /// Any other type in arrow's row format.
    Rows { codec: RowCodec, rows: Rows },
}

impl Values {
    fn new(value_type: &DataType) -> Result<Self> {
        if matches!(
            value_type,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            return Ok(Values::Strings {
                data_type: value_type.clone(),
                bytes: Vec::new(),
                offsets: vec![0],
            });
        }
        let codec = RowCodec::new(std::slice::from_ref(value_type))?;
        Ok(Values::Rows {
            rows: codec.empty_rows(),
            codec,
        })
    }

    fn get(&self, id: u32) -> &[u8] {
        let id = id as usize;
        match self {
            Values::Strings { bytes, offsets, .. } => &bytes[offsets[id]..offsets[id + 1]],
            Values::Rows { rows, .. } => rows.row(id).data(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Values::Strings { offsets, .. } => offsets.len() - 1,
            Values::Rows { rows, .. } => rows.num_rows(),
        }
    }

    /// Appends the value encoded as `bytes` (a string's UTF-8, or a row of the codec).
    fn push(&mut self, value: &[u8]) {
        match self {
            Values::Strings { bytes, offsets, .. } => {
                bytes.extend_from_slice(value);
                offsets.push(bytes.len());
            }
            Values::Rows { codec, rows } => codec.push(rows, value),
        }
    }

    fn size(&self) -> usize {
        match self {
            Values::Strings { bytes, offsets, .. } => {
                bytes.capacity() + offsets.capacity() * std::mem::size_of::<usize>()
            }
            Values::Rows { rows, .. } => rows.size(),
        }
    }
}

impl Interner {
    /// An interner for values of `value_type` (input may also be dictionary-encoded values of
    /// that type).
    pub(crate) fn new(value_type: &DataType) -> Result<Self> {
        Ok(Interner {
            values: Values::new(value_type)?,
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
        if let Values::Rows { codec, .. } = &self.values {
            let rows = codec.encode_keys(std::slice::from_ref(values))?;
            let nulls = values.logical_nulls();
            return Ok((0..values.len())
                .map(|row| {
                    let valid = nulls.as_ref().is_none_or(|nulls| nulls.is_valid(row));
                    valid.then(|| self.intern_bytes(rows.row(row).data()))
                })
                .collect());
        }
        let intern_string =
            |value: Option<&str>| value.map(|value| self.intern_bytes(value.as_bytes()));
        Ok(match values.data_type() {
            DataType::Utf8 => values
                .as_string::<i32>()
                .iter()
                .map(intern_string)
                .collect(),
            DataType::LargeUtf8 => values
                .as_string::<i64>()
                .iter()
                .map(intern_string)
                .collect(),
            DataType::Utf8View => values.as_string_view().iter().map(intern_string).collect(),
            _ => {
                let strings = cast(values, &DataType::Utf8)?;
                strings
                    .as_string::<i32>()
                    .iter()
                    .map(intern_string)
                    .collect()
            }
        })
    }

    /// The id of the value encoded as `bytes`, interned when new.
    fn intern_bytes(&mut self, bytes: &[u8]) -> u32 {
        let Interner {
            values,
            ids,
            hasher,
            ..
        } = self;
        let hash = hasher.hash_one(bytes);
        if let Some(&id) = ids.find(hash, |&id| values.get(id) == bytes) {
            return id;
        }
        let id = values.len() as u32;
        values.push(bytes);
        ids.insert_unique(hash, id, |&id| hasher.hash_one(values.get(id)));
        id
    }

    /// The values with the given ids, in order, as one array of the value type.
    pub(crate) fn decode(&self, ids: impl IntoIterator<Item = u32>) -> Result<ArrayRef> {
        let ids = ids.into_iter();
        match &self.values {
            Values::Strings { data_type, .. } => {
                let values: Vec<&[u8]> = ids.map(|id| self.values.get(id)).collect();
                let binary = BinaryArray::from_iter_values(values);
                Ok(cast(&binary, data_type)?)
            }
            Values::Rows { codec, rows } => {
                let rows = ids.map(|id| rows.row(id as usize).data());
                Ok(codec.decode(rows)?.remove(0))
            }
        }
    }

    /// The bytes of the value with id `id`: comparing them compares the values (ascending,
    /// as Arrow's row format orders them; strings by their UTF-8 bytes).
    pub(crate) fn bytes(&self, id: u32) -> &[u8] {
        self.values.get(id)
    }

    /// The number of values interned.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Approximate bytes held.
    pub(crate) fn size(&self) -> usize {
        self.values.size() + self.ids.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        DictionaryArray, Int32Array, LargeStringArray, StringArray, StringViewArray,
    };
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
    fn large_and_view_strings_intern_and_decode_in_their_own_type() {
        let long = "a string longer than twelve bytes";
        let large: ArrayRef = Arc::new(LargeStringArray::from(vec![Some("q"), None, Some("q")]));
        let views: ArrayRef = Arc::new(StringViewArray::from(vec![long, "", long]));
        let cases: [(ArrayRef, Vec<Option<u32>>, ArrayRef); 2] = [
            (
                large,
                vec![Some(0), None, Some(0)],
                Arc::new(LargeStringArray::from(vec!["q"])),
            ),
            (
                views,
                vec![Some(0), Some(1), Some(0)],
                Arc::new(StringViewArray::from(vec![long, ""])),
            ),
        ];
        for (values, ids, distinct) in cases {
            let mut interner = Interner::new(values.data_type()).unwrap();
            assert_eq!(interner.intern(&values).unwrap(), ids);
            let decoded = interner.decode(0..interner.len() as u32).unwrap();
            assert_eq!(decoded.as_ref(), distinct.as_ref());
        }
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
