//! Group keys to dense group indices: the hash table at the heart of a hash aggregation.
//!
//! One key column of a primitive type (numbers, decimals, dates, times, intervals) is kept
//! as native values, hashed and compared without any encoding ([`PrimitiveKeys`]). One
//! dictionary-encoded column is grouped a dictionary value at a time ([`DictionaryKeys`]); one
//! string column is kept as byte views, short strings inline in the table ([`StringKeys`]).
//! Two to four columns of integers, dates, times or strings are packed into a word each
//! (strings as interned ids), the words inline in the table ([`PackedKeys`]). Any other
//! keys (strings, several columns, nested types) are kept in arrow's row format, hashed a
//! column at a time ([`RowKeys`]). Both find groups through [`TaggedGroups`], a 32-bit tag of
//! each key's hash in its slot: a probe compares tags before it reads a key, and growing the
//! table never hashes or reads a key again.

mod dictionary;
mod packed;
mod primitive;
mod rows;
mod strings;

use arrow::array::{ArrayRef, downcast_primitive};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use datafusion_common::hash_utils::RandomState;
use hashbrown::HashTable;

use crate::error::Result;
use dictionary::DictionaryKeys;
use packed::{MAX_PACKED_COLUMNS, PackedKeys, packable};
use primitive::PrimitiveKeys;
use rows::RowKeys;
use strings::StringKeys;

/// The seed of the group tables' hashes: fixed, so that runs are repeatable.
const GROUP_HASH_SEED: u64 = 0;

/// Group keys seen so far, numbered densely in order of first appearance.
pub(crate) struct GroupTable {
    /// `None` without group columns: every row then belongs to the single group 0.
    keys: Option<Box<dyn GroupKeys>>,
}

impl GroupTable {
    /// A table for keys of `key_types` (none: a global aggregation).
    pub(crate) fn new(key_types: &[DataType]) -> Result<Self> {
        let keys: Option<Box<dyn GroupKeys>> = match key_types {
            [] => None,
            [DataType::Dictionary(_, value_type)] => {
                Some(Box::new(DictionaryKeys::try_new(value_type)?))
            }
            [string @ (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)] => {
                Some(Box::new(StringKeys::new(string)))
            }
            [single] => match primitive_keys(single) {
                Some(keys) => Some(keys),
                None => Some(Box::new(RowKeys::try_new(key_types)?)),
            },
            several if several.len() <= MAX_PACKED_COLUMNS && several.iter().all(packable) => {
                Some(packed_keys(several)?)
            }
            _ => Some(Box::new(RowKeys::try_new(key_types)?)),
        };
        Ok(GroupTable { keys })
    }

    /// Number of groups.
    pub(crate) fn len(&self) -> usize {
        self.keys.as_ref().map_or(1, |keys| keys.len())
    }

    /// Approximate bytes held.
    pub(crate) fn size(&self) -> usize {
        self.keys.as_ref().map_or(0, |keys| keys.size())
    }

    /// The group index of every row of `key_columns`, adding new groups as they appear.
    pub(crate) fn group_indices(
        &mut self,
        key_columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<usize>> {
        let mut groups = Vec::with_capacity(num_rows);
        match &mut self.keys {
            None => groups.resize(num_rows, 0),
            Some(keys) => keys.intern(key_columns, &mut groups)?,
        }
        Ok(groups)
    }

    /// The key columns, one row per group in group order; the table is emptied.
    pub(crate) fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        self.keys
            .as_mut()
            .map_or(Ok(Vec::new()), |keys| keys.emit())
    }
}

/// One way of storing group keys.
trait GroupKeys: Send {
    /// Appends the group of every row of `key_columns` to `groups`, adding new groups.
    fn intern(&mut self, key_columns: &[ArrayRef], groups: &mut Vec<usize>) -> Result<()>;

    /// Number of groups.
    fn len(&self) -> usize;

    /// Approximate bytes held.
    fn size(&self) -> usize;

    /// The key columns in group order; emptied.
    fn emit(&mut self) -> Result<Vec<ArrayRef>>;
}

/// Native storage for a single key column of `key_type`, where it is primitive.
fn primitive_keys(key_type: &DataType) -> Option<Box<dyn GroupKeys>> {
    macro_rules! boxed {
        ($t:ty) => {
            Some(Box::new(PrimitiveKeys::<$t>::new(key_type)))
        };
    }
    downcast_primitive! {
        key_type => (boxed),
        _ => None,
    }
}

/// Packed storage for two to [`MAX_PACKED_COLUMNS`] packable key columns.
fn packed_keys(key_types: &[DataType]) -> Result<Box<dyn GroupKeys>> {
    Ok(match key_types.len() {
        2 => Box::new(PackedKeys::<2>::try_new(key_types)?),
        3 => Box::new(PackedKeys::<3>::try_new(key_types)?),
        _ => Box::new(PackedKeys::<4>::try_new(key_types)?),
    })
}

/// The validity of `groups` keys where only `null_group`, if any, is NULL.
fn nulls_of(groups: usize, null_group: Option<usize>) -> Option<NullBuffer> {
    null_group.map(|null_group| {
        let mut valid = vec![true; groups];
        valid[null_group] = false;
        NullBuffer::from(valid)
    })
}

fn hasher() -> RandomState {
    RandomState::with_seed(GROUP_HASH_SEED)
}

/// Group numbers by key hash, each slot `(group, tag)` with the 32-bit tag of the key's hash:
/// a probe compares tags before it reads a key, and growing rehashes from the tags without
/// reading keys. Eight bytes a slot; the keys themselves are kept by the caller.
#[derive(Default)]
struct TaggedGroups {
    table: HashTable<(u32, u32)>,
}

impl TaggedGroups {
    /// The group whose key hashes to `hash` and is the one `is_key` recognises by group number,
    /// and `false`; or, when there is none, `next` entered as a new group, and `true` (the
    /// caller then stores its key).
    fn group_of(
        &mut self,
        hash: u64,
        next: usize,
        is_key: impl Fn(usize) -> bool,
    ) -> (usize, bool) {
        let tag = tag_of(hash);
        let hash = table_hash(tag);
        if let Some(&(group, _)) = self
            .table
            .find(hash, |&(group, held)| held == tag && is_key(group as usize))
        {
            return (group as usize, false);
        }
        self.table
            .insert_unique(hash, (next as u32, tag), |&(_, tag)| table_hash(tag));
        (next, true)
    }

    /// Heap bytes of the slots.
    fn size(&self) -> usize {
        self.table.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
    }

    fn clear(&mut self) {
        self.table.clear();
    }
}

/// The 32-bit tag of a key's hash, kept in its slot.
fn tag_of(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32
}

/// The table's hash of a tag: spread over 64 bits, for the bucket (low bits) and the control
/// byte (high bits) alike.
fn table_hash(tag: u32) -> u64 {
    u64::from(tag).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::hash::Hash;
    use std::sync::Arc;

    use arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use proptest::prelude::*;

    use super::*;

    /// Groups numbered by first appearance, row at a time: the reference for a table.
    fn reference_groups<K: Hash + Eq + Clone>(keys: &[K]) -> (Vec<usize>, Vec<K>) {
        let mut seen: HashMap<K, usize> = HashMap::new();
        let mut firsts = Vec::new();
        let groups = keys
            .iter()
            .map(|key| {
                *seen.entry(key.clone()).or_insert_with(|| {
                    firsts.push(key.clone());
                    firsts.len() - 1
                })
            })
            .collect();
        (groups, firsts)
    }

    /// Feeds `columns` to a table of `types` in batches of `batch_rows` rows; returns every
    /// row's group and the emitted key columns.
    fn run_table(
        types: &[DataType],
        columns: &[ArrayRef],
        batch_rows: usize,
    ) -> (Vec<usize>, Vec<ArrayRef>) {
        let mut table = GroupTable::new(types).unwrap();
        let rows = columns[0].len();
        let mut groups = Vec::new();
        for start in (0..rows).step_by(batch_rows) {
            let len = batch_rows.min(rows - start);
            let batch: Vec<ArrayRef> = columns.iter().map(|c| c.slice(start, len)).collect();
            groups.extend(table.group_indices(&batch, len).unwrap());
        }
        assert_eq!(table.len(), groups.iter().max().map_or(0, |g| g + 1));
        (groups, table.emit().unwrap())
    }

    /// A float key as SQL compares it: `-0.0` is `0.0`, NaN equals NaN.
    fn float_key(value: Option<f64>) -> Option<u64> {
        value.map(|v| (v + 0.0).to_bits())
    }

    fn floats() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            Just(Some(0.0)),
            Just(Some(-0.0)),
            Just(Some(f64::NAN)),
            (-5i32..5).prop_map(|v| Some(f64::from(v) / 2.0)),
        ]
    }

    proptest! {
        #[test]
        fn integer_keys_group_as_a_row_at_a_time_reference(
            keys in prop::collection::vec(
                prop::option::weighted(0.9, prop_oneof![
                    4 => -50i64..50,
                    1 => 65_530i64..65_540,
                    1 => prop_oneof![Just(i64::MIN), Just(i64::MAX)],
                ]),
                0..300,
            ),
            batch_rows in 1usize..64,
        ) {
            // Small non-negative keys are grouped densely, the others (negative, from 65,536
            // on) hashed: both kinds, and keys on either side of the limit, in one table.
            let column: ArrayRef = Arc::new(Int64Array::from(keys.clone()));
            let (groups, emitted) = run_table(&[DataType::Int64], &[column], batch_rows);
            let (expected, firsts) = reference_groups(&keys);
            prop_assert_eq!(groups, expected);
            prop_assert_eq!(emitted[0].as_ref(), &Int64Array::from(firsts) as &dyn Array);
        }

        #[test]
        fn float_keys_hold_zeros_together_and_nans_together(
            keys in prop::collection::vec(floats(), 0..200),
            batch_rows in 1usize..64,
        ) {
            let column: ArrayRef = Arc::new(Float64Array::from(keys.clone()));
            let (groups, emitted) = run_table(&[DataType::Float64], &[column], batch_rows);
            let normalised: Vec<Option<u64>> = keys.iter().copied().map(float_key).collect();
            let (expected, firsts) = reference_groups(&normalised);
            prop_assert_eq!(groups, expected);
            let emitted = emitted[0].as_any().downcast_ref::<Float64Array>().unwrap();
            let emitted: Vec<Option<u64>> = emitted.iter().map(float_key).collect();
            prop_assert_eq!(emitted, firsts);
        }

        #[test]
        fn string_and_integer_keys_group_as_a_row_at_a_time_reference(
            keys in prop::collection::vec(
                (prop::option::weighted(0.8, "[ab]{0,3}"), prop::option::weighted(0.8, 0i64..4)),
                0..300,
            ),
            batch_rows in 1usize..64,
        ) {
            let strings: ArrayRef =
                Arc::new(keys.iter().map(|(s, _)| s.clone()).collect::<StringArray>());
            let integers: ArrayRef =
                Arc::new(keys.iter().map(|(_, i)| *i).collect::<Int64Array>());
            let (groups, emitted) = run_table(
                &[DataType::Utf8, DataType::Int64],
                &[strings, integers],
                batch_rows,
            );
            let (expected, firsts) = reference_groups(&keys);
            prop_assert_eq!(groups, expected);
            let (first_strings, first_integers): (Vec<_>, Vec<_>) = firsts.into_iter().unzip();
            prop_assert_eq!(emitted[0].as_ref(), &StringArray::from(first_strings) as &dyn Array);
            prop_assert_eq!(emitted[1].as_ref(), &Int64Array::from(first_integers) as &dyn Array);
        }
    }

    proptest! {
        /// Dictionary-encoded keys group by value: batches with their own dictionaries or
        /// the previous batch's (as a Parquet column chunk's batches share theirs), with
        /// unused dictionary values, NULL codes and NULL values, and plain batches among them.
        #[test]
        fn dictionary_keys_group_by_value(
            batches in prop::collection::vec(
                (
                    prop::collection::vec(prop::option::weighted(0.8, "[abc]{0,2}"), 0..6),
                    prop::collection::vec(prop::option::weighted(0.9, 0usize..8), 0..40),
                    0..3,
                ),
                1..6,
            ),
        ) {
            let key_type =
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            let mut table = GroupTable::new(std::slice::from_ref(&key_type)).unwrap();
            let mut keys: Vec<Option<String>> = Vec::new();
            let mut groups = Vec::new();
            let mut previous: Option<(Vec<Option<String>>, ArrayRef)> = None;
            for (dictionary, codes, kind) in batches {
                // kind 0: plain strings; 1: a new dictionary; 2: the previous dictionary.
                let (dictionary, values) = match (&previous, kind) {
                    (Some(previous), 2) => previous.clone(),
                    _ => {
                        let values: ArrayRef = Arc::new(StringArray::from(dictionary.clone()));
                        (dictionary, values)
                    }
                };
                let rows: Vec<Option<String>> = codes
                    .iter()
                    .map(|code| {
                        code.filter(|_| !dictionary.is_empty())
                            .and_then(|c| dictionary[c % dictionary.len()].clone())
                    })
                    .collect();
                let column: ArrayRef = if kind == 0 {
                    Arc::new(rows.iter().cloned().collect::<StringArray>())
                } else {
                    let codes: arrow::array::Int32Array = codes
                        .iter()
                        .map(|code| {
                            code.filter(|_| !dictionary.is_empty())
                                .map(|c| (c % dictionary.len()) as i32)
                        })
                        .collect();
                    Arc::new(
                        arrow::array::DictionaryArray::try_new(codes, Arc::clone(&values))
                            .unwrap(),
                    )
                };
                groups.extend(table.group_indices(&[column], rows.len()).unwrap());
                keys.extend(rows);
                previous = Some((dictionary, values));
            }
            let (expected, firsts) = reference_groups(&keys);
            prop_assert_eq!(groups, expected);
            let emitted = table.emit().unwrap();
            let emitted = arrow::compute::cast(&emitted[0], &DataType::Utf8).unwrap();
            prop_assert_eq!(emitted.as_ref(), &StringArray::from(firsts) as &dyn Array);
        }
    }

    proptest! {
        /// One string key column, in each string type: short keys (inline in the table) and
        /// long ones sharing prefixes, the empty string apart from NULL.
        #[test]
        fn string_keys_group_as_a_row_at_a_time_reference(
            keys in prop::collection::vec(
                prop::option::weighted(0.9, prop_oneof!["[ab]{0,3}", "abcdefghijkl[ab]{0,3}"]),
                0..300,
            ),
            batch_rows in 1usize..64,
            string_type in prop_oneof![
                Just(DataType::Utf8),
                Just(DataType::LargeUtf8),
                Just(DataType::Utf8View),
            ],
        ) {
            let column: ArrayRef = Arc::new(keys.iter().cloned().collect::<StringArray>());
            let column = arrow::compute::cast(&column, &string_type).unwrap();
            let (groups, emitted) =
                run_table(std::slice::from_ref(&string_type), &[column], batch_rows);
            let (expected, firsts) = reference_groups(&keys);
            prop_assert_eq!(groups, expected);
            prop_assert_eq!(emitted[0].data_type(), &string_type);
            let emitted = arrow::compute::cast(&emitted[0], &DataType::Utf8).unwrap();
            prop_assert_eq!(emitted.as_ref(), &StringArray::from(firsts) as &dyn Array);
        }
    }

    proptest! {
        /// Two to four packed key columns (integers of several widths and signs, dates,
        /// plain and dictionary-encoded strings), NULLs in each, group as a row-at-a-time
        /// reference, and emit the keys of each group.
        #[test]
        fn packed_keys_group_as_a_row_at_a_time_reference(
            keys in prop::collection::vec(
                (
                    prop::option::weighted(0.8, -3i64..3),
                    prop::option::weighted(0.8, "[ab]{0,2}"),
                    prop::option::weighted(0.8, prop_oneof![Just(0u64), Just(u64::MAX), Just(7)]),
                    prop::option::weighted(0.8, -2i32..2),
                ),
                0..300,
            ),
            columns in 2usize..=4,
            dictionary in any::<bool>(),
            batch_rows in 1usize..64,
        ) {
            use arrow::array::{Date32Array, UInt64Array};
            let strings: ArrayRef =
                Arc::new(keys.iter().map(|k| k.1.clone()).collect::<StringArray>());
            let (string_type, strings) = if dictionary {
                let dictionary_type =
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                (dictionary_type.clone(), arrow::compute::cast(&strings, &dictionary_type).unwrap())
            } else {
                (DataType::Utf8, strings)
            };
            let all: Vec<(DataType, ArrayRef)> = vec![
                (DataType::Int64, Arc::new(keys.iter().map(|k| k.0).collect::<Int64Array>())),
                (string_type, strings),
                (DataType::UInt64, Arc::new(keys.iter().map(|k| k.2).collect::<UInt64Array>())),
                (DataType::Date32, Arc::new(keys.iter().map(|k| k.3).collect::<Date32Array>())),
            ];
            let (types, arrays): (Vec<DataType>, Vec<ArrayRef>) =
                all.into_iter().take(columns).unzip();
            let (groups, emitted) = run_table(&types, &arrays, batch_rows);
            let tuples: Vec<_> = keys
                .iter()
                .map(|k| {
                    let (a, b, c, d) = k.clone();
                    (a, b, if columns > 2 { c } else { None }, if columns > 3 { d } else { None })
                })
                .collect();
            let (expected, firsts) = reference_groups(&tuples);
            prop_assert_eq!(groups, expected);
            prop_assert_eq!(emitted.len(), columns);
            let column = |c: usize| arrow::compute::cast(&emitted[c], &types[c]).unwrap();
            prop_assert_eq!(
                column(0).to_data(),
                firsts.iter().map(|f| f.0).collect::<Int64Array>().to_data()
            );
            let emitted_strings = arrow::compute::cast(&emitted[1], &DataType::Utf8).unwrap();
            prop_assert_eq!(
                emitted_strings.as_ref(),
                &firsts.iter().map(|f| f.1.clone()).collect::<StringArray>() as &dyn Array
            );
            if columns > 2 {
                prop_assert_eq!(
                    column(2).to_data(),
                    firsts.iter().map(|f| f.2).collect::<UInt64Array>().to_data()
                );
            }
            if columns > 3 {
                prop_assert_eq!(
                    column(3).to_data(),
                    firsts.iter().map(|f| f.3).collect::<Date32Array>().to_data()
                );
            }
        }
    }

    #[test]
    fn a_packed_table_emptied_by_emit_groups_anew() {
        let types = [DataType::Int32, DataType::Utf8];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(arrow::array::Int32Array::from(vec![1, 2, 1])),
            Arc::new(StringArray::from(vec!["x", "y", "x"])),
        ];
        let mut table = GroupTable::new(&types).unwrap();
        assert_eq!(table.group_indices(&columns, 3).unwrap(), vec![0, 1, 0]);
        assert_eq!(table.emit().unwrap()[0].len(), 2);
        let again: Vec<ArrayRef> = columns.iter().map(|c| c.slice(1, 2)).collect();
        assert_eq!(table.group_indices(&again, 2).unwrap(), vec![0, 1]);
        let emitted = table.emit().unwrap();
        let strings = arrow::compute::cast(&emitted[1], &DataType::Utf8).unwrap();
        assert_eq!(
            strings.as_ref(),
            &StringArray::from(vec!["y", "x"]) as &dyn Array
        );
    }

    #[test]
    fn no_keys_is_one_group() {
        let mut table = GroupTable::new(&[]).unwrap();
        assert_eq!(table.group_indices(&[], 3).unwrap(), vec![0, 0, 0]);
        assert_eq!(table.len(), 1);
        assert!(table.emit().unwrap().is_empty());
    }
}
