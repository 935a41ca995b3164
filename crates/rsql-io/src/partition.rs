//! Hive-style partition columns: discovery from `key=value` directories, type inference,
//! constant columns for batches, and value ranges for pruning.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, DictionaryArray, Int32Array, StringArray, UInt64Array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, FieldRef, Int32Type, Schema};

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use crate::error::{IoError, Result};
use crate::listing::ListedFile;
use crate::predicate::ValueRanges;

/// The directory value Hive and Spark write for a null partition value.
pub const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The characters Spark percent-escapes in partition directory values.
const ESCAPED: &AsciiSet = &CONTROLS
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'\'')
    .add(b'*')
    .add(b'/')
    .add(b':')
    .add(b'=')
    .add(b'?')
    .add(b'\\')
    .add(b'{')
    .add(b'[')
    .add(b']')
    .add(b'^');

/// A partition value as written in a `key=value` directory name.
pub fn escape_value(value: &str) -> String {
    utf8_percent_encode(value, ESCAPED).to_string()
}

/// The partition value a `key=value` directory name stands for.
fn unescape_value(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The partition columns of a dataset and each file's values for them.
#[derive(Debug, Clone, Default)]
pub struct Partitioning {
    /// One field per partition column, typed `Dictionary(Int32, value type)`.
    fields: Vec<FieldRef>,
    /// Per partition column, one value per file (in listing order), of the value type.
    values: Vec<ArrayRef>,
}

impl Partitioning {
    /// Discovers partition columns from the files' `key=value` directories.
    ///
    /// Types are inferred (`Int32` or `Int64` when every value is an integer, else `Utf8`)
    /// unless `overrides` has a field of the same name, whose type then wins.
    pub fn discover(files: &[ListedFile], overrides: &Schema) -> Result<Self> {
        let Some(first) = files.first() else {
            return Ok(Self::default());
        };
        let keys: Vec<&str> = first
            .partition_segments
            .iter()
            .map(|(key, _)| key.as_str())
            .collect();
        for file in files {
            let other: Vec<&str> = file
                .partition_segments
                .iter()
                .map(|(key, _)| key.as_str())
                .collect();
            if other != keys {
                return Err(IoError::Invalid(format!(
                    "conflicting partition directories: {} has [{}], {} has [{}]",
                    first.source.name(),
                    keys.join(", "),
                    file.source.name(),
                    other.join(", ")
                )));
            }
        }
        let mut fields = Vec::with_capacity(keys.len());
        let mut values = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let raw: StringArray = files
                .iter()
                .map(|file| {
                    let value = file.partition_segments[index].1.as_str();
                    (value != HIVE_DEFAULT_PARTITION).then(|| unescape_value(value))
                })
                .collect();
            let value_type = match overrides.field_with_name(key) {
                Ok(field) => field.data_type().clone(),
                Err(_) => infer_type(&raw),
            };
            let typed = cast_with_options(
                &raw,
                &value_type,
                &CastOptions {
                    safe: false,
                    ..Default::default()
                },
            )
            .map_err(|error| {
                IoError::Invalid(format!(
                    "partition column `{key}` cannot be read as {value_type}: {error}"
                ))
            })?;
            fields.push(Arc::new(Field::new(
                *key,
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(value_type)),
                true,
            )));
            values.push(typed);
        }
        Ok(Partitioning { fields, values })
    }

    /// The partition fields, in path order.
    pub fn fields(&self) -> &[FieldRef] {
        &self.fields
    }

    /// A constant column of `rows` rows holding file `file`'s value of partition column `column`.
    pub fn constant_column(&self, column: usize, file: usize, rows: usize) -> ArrayRef {
        let value = self.values[column].slice(file, 1);
        let keys = if value.is_null(0) {
            Int32Array::new_null(rows)
        } else {
            Int32Array::from(vec![0; rows])
        };
        Arc::new(DictionaryArray::<Int32Type>::new(keys, value))
    }

    /// File `file`'s value of partition column `name` as a one-row array of its value type;
    /// `None` when `name` is not a partition column.
    pub fn value(&self, name: &str, file: usize) -> Option<ArrayRef> {
        let index = self.fields.iter().position(|f| f.name() == name)?;
        Some(self.values[index].slice(file, 1))
    }

    /// Value ranges of partition column `name` over the files (min = max = the value), for
    /// pruning whole files; `None` when `name` is not a partition column.
    pub fn ranges(&self, name: &str) -> Option<ValueRanges> {
        let index = self.fields.iter().position(|f| f.name() == name)?;
        let values = &self.values[index];
        let nulls: UInt64Array = (0..values.len())
            .map(|i| Some(u64::from(values.is_null(i))))
            .collect();
        Some(ValueRanges {
            mins: values.clone(),
            maxes: values.clone(),
            null_counts: Some(nulls),
            row_counts: Some(UInt64Array::from(vec![1; values.len()])),
        })
    }
}

/// `Int32` when every non-null value parses as one, then `Int64`, else `Utf8`.
fn infer_type(values: &StringArray) -> DataType {
    let all = |parse: fn(&str) -> bool| values.iter().flatten().all(parse);
    if all(|v| v.parse::<i32>().is_ok()) {
        DataType::Int32
    } else if all(|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else {
        DataType::Utf8
    }
}
