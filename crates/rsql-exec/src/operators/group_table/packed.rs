//! Group keys of two to four columns that each fit in 64 bits: integers, dates, times,
//! timestamps and durations as their bits, strings (plain or dictionary-encoded) as dense ids
//! from an interner per column. A row's key is packed into `N` words kept inline in the hash
//! table, so a probe compares the words in the slot it reads instead of an encoded row held
//! elsewhere, and no key is encoded or copied per row.

use std::sync::Arc;

use arrow::array::{Array, ArrayData, ArrayRef, DictionaryArray, Int32Array, make_array};
use arrow::buffer::{Buffer, NullBuffer, ScalarBuffer};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type};

use super::{GroupKeys, TaggedGroups};
use crate::aggregate::interner::Interner;
use crate::error::{ExecError, Result};

/// The most key columns packed (one null bit each in [`PackedKey::nulls`]).
pub(super) const MAX_PACKED_COLUMNS: usize = 4;

/// Whether a key column of `data_type` can be packed into a word.
pub(super) fn packable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value_type) => is_string(value_type),
        other => is_string(other) || bits_width(other).is_some(),
    }
}

fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The byte width of the integer-like types kept as their bits.
fn bits_width(data_type: &DataType) -> Option<usize> {
    use DataType::*;
    match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Date32 | Date64
        | Time32(_) | Time64(_) | Timestamp(..) | Duration(_) => data_type.primitive_width(),
        _ => None,
    }
}

/// One row's key: a word per column (0 where the column is NULL) and a bit per NULL column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedKey<const N: usize> {
    words: [u64; N],
    nulls: u8,
}

impl<const N: usize> PackedKey<N> {
    const EMPTY: Self = PackedKey {
        words: [0; N],
        nulls: 0,
    };

    /// A multiply-fold hash of the words: every bit of a word reaches the high bits, which
    /// the table's tags are taken from, and the low bits, which pick its buckets.
    fn hash(&self) -> u64 {
        const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut hash = 0x243F_6A88_85A3_08D3 ^ u64::from(self.nulls);
        for word in self.words {
            let product = u128::from(hash ^ word) * u128::from(MULTIPLIER);
            hash = (product as u64) ^ ((product >> 64) as u64);
        }
        hash
    }
}

/// How one key column becomes words and back.
enum ColumnCodec {
    /// Integer-like values as their bits, sign-extended from `width` bytes.
    Bits { data_type: DataType, width: usize },
    /// Strings (of `data_type`, plain or dictionary-encoded) as the ids their interner gives
    /// them.
    Interned {
        data_type: DataType,
        value_type: DataType,
        interner: Box<Interner>,
    },
}

impl ColumnCodec {
    fn try_new(data_type: &DataType) -> Result<Self> {
        let value_type = match data_type {
            DataType::Dictionary(_, value_type) => value_type.as_ref(),
            other => other,
        };
        if is_string(value_type) {
            return Ok(ColumnCodec::Interned {
                data_type: data_type.clone(),
                value_type: value_type.clone(),
                interner: Box::new(Interner::new(value_type)?),
            });
        }
        match bits_width(data_type) {
            Some(width) => Ok(ColumnCodec::Bits {
                data_type: data_type.clone(),
                width,
            }),
            None => Err(ExecError::Execution(format!(
                "a {data_type} key column cannot be packed"
            ))),
        }
    }

    /// Writes `column`'s words into word `c` of `keys` (and its NULLs into bit `c`).
    fn pack<const N: usize>(
        &mut self,
        column: &ArrayRef,
        c: usize,
        keys: &mut [PackedKey<N>],
    ) -> Result<()> {
        match self {
            ColumnCodec::Bits { data_type, width } => {
                let column = if column.data_type() == data_type {
                    Arc::clone(column)
                } else {
                    cast(column, data_type)?
                };
                let data = column.to_data();
                let (buffer, offset, len) = (data.buffers()[0].clone(), data.offset(), data.len());
                match width {
                    1 => set_words(keys, c, ScalarBuffer::<i8>::new(buffer, offset, len).iter()),
                    2 => set_words(
                        keys,
                        c,
                        ScalarBuffer::<i16>::new(buffer, offset, len).iter(),
                    ),
                    4 => set_words(
                        keys,
                        c,
                        ScalarBuffer::<i32>::new(buffer, offset, len).iter(),
                    ),
                    _ => set_words(
                        keys,
                        c,
                        ScalarBuffer::<i64>::new(buffer, offset, len).iter(),
                    ),
                }
                if let Some(nulls) = column.logical_nulls() {
                    for (key, valid) in keys.iter_mut().zip(nulls.iter()) {
                        if !valid {
                            key.words[c] = 0;
                            key.nulls |= 1 << c;
                        }
                    }
                }
            }
            ColumnCodec::Interned { interner, .. } => {
                for (key, id) in keys.iter_mut().zip(interner.intern(column)?) {
                    match id {
                        Some(id) => key.words[c] = u64::from(id),
                        None => key.nulls |= 1 << c,
                    }
                }
            }
        }
        Ok(())
    }

    /// The column of `words` (NULL where `nulls` says) in the key's type, emptying the
    /// interner.
    fn unpack(&mut self, words: Vec<u64>, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
        match self {
            ColumnCodec::Bits { data_type, width } => {
                let buffer = match width {
                    1 => Buffer::from_iter(words.into_iter().map(|w| w as i8)),
                    2 => Buffer::from_iter(words.into_iter().map(|w| w as i16)),
                    4 => Buffer::from_iter(words.into_iter().map(|w| w as i32)),
                    _ => Buffer::from_iter(words.into_iter().map(|w| w as i64)),
                };
                let len = buffer.len() / *width;
                let data = ArrayData::builder(data_type.clone())
                    .len(len)
                    .add_buffer(buffer)
                    .nulls(nulls)
                    .build()?;
                Ok(make_array(data))
            }
            ColumnCodec::Interned {
                data_type,
                value_type,
                interner,
            } => {
                let emptied = Box::new(Interner::new(value_type)?);
                let interner = std::mem::replace(interner, emptied);
                let values = interner.decode(0..interner.len() as u32)?;
                let ids = words.into_iter().map(|w| w as i32).collect::<Vec<_>>();
                let keys = Int32Array::new(ids.into(), nulls);
                let dictionary = DictionaryArray::<Int32Type>::try_new(keys, values)?;
                Ok(cast(&dictionary, data_type)?)
            }
        }
    }

    fn size(&self) -> usize {
        match self {
            ColumnCodec::Bits { .. } => 0,
            ColumnCodec::Interned { interner, .. } => interner.size(),
        }
    }
}

/// Sets word `c` of each key to the sign-extended bits of its value.
fn set_words<'a, T, const N: usize>(
    keys: &mut [PackedKey<N>],
    c: usize,
    values: impl Iterator<Item = &'a T>,
) where
    T: Copy + Into<i64> + 'a,
{
    for (key, &value) in keys.iter_mut().zip(values) {
        key.words[c] = value.into() as u64;
    }
}

/// Keys of `N` packable columns, each group's packed key inline in the table.
pub(super) struct PackedKeys<const N: usize> {
    columns: Vec<ColumnCodec>,
    /// Each group's key.
    keys: Vec<PackedKey<N>>,
    /// Every group's number by its key's tag: eight bytes a slot instead of the key's own, the
    /// table of millions of groups is a third of the size.
    groups: TaggedGroups,
}

impl<const N: usize> PackedKeys<N> {
    /// A table for keys of `key_types` (`N` of them, each [`packable`]).
    pub(super) fn try_new(key_types: &[DataType]) -> Result<Self> {
        if key_types.len() != N || N > MAX_PACKED_COLUMNS {
            return Err(ExecError::Execution(format!(
                "{} key columns cannot be packed into {N} words",
                key_types.len()
            )));
        }
        Ok(PackedKeys {
            columns: key_types
                .iter()
                .map(ColumnCodec::try_new)
                .collect::<Result<_>>()?,
            keys: Vec::new(),
            groups: TaggedGroups::default(),
        })
    }

    fn group_of(&mut self, key: PackedKey<N>) -> usize {
        let keys = &self.keys;
        let (group, is_new) = self
            .groups
            .group_of(key.hash(), keys.len(), |group| keys[group] == key);
        if is_new {
            self.keys.push(key);
        }
        group
    }
}

impl<const N: usize> GroupKeys for PackedKeys<N> {
    fn intern(&mut self, key_columns: &[ArrayRef], groups: &mut Vec<usize>) -> Result<()> {
        let rows = key_columns.first().map_or(0, |column| column.len());
        let mut keys = vec![PackedKey::<N>::EMPTY; rows];
        for (c, (codec, column)) in self.columns.iter_mut().zip(key_columns).enumerate() {
            codec.pack(column, c, &mut keys)?;
        }
        groups.reserve(rows);
        for key in keys {
            groups.push(self.group_of(key));
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn size(&self) -> usize {
        let key = std::mem::size_of::<PackedKey<N>>();
        self.keys.capacity() * key
            + self.groups.size()
            + self.columns.iter().map(ColumnCodec::size).sum::<usize>()
    }

    fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        let keys = std::mem::take(&mut self.keys);
        self.groups.clear();
        self.columns
            .iter_mut()
            .enumerate()
            .map(|(c, codec)| {
                let words = keys.iter().map(|key| key.words[c]).collect();
                let nulls = keys.iter().any(|key| key.nulls & (1 << c) != 0).then(|| {
                    NullBuffer::from_iter(keys.iter().map(|key| key.nulls & (1 << c) == 0))
                });
                codec.unpack(words, nulls)
            })
            .collect()
    }
}
