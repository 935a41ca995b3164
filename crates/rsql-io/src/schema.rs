//! Merging the schemas of many files into one, widening compatible differences.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{IoError, Result};

/// Serde for a schema as the bytes of an Arrow IPC schema message (for
/// `#[serde(with = "rsql_io::ipc_schema")]`): exact for every Arrow type.
pub mod ipc_schema {
    use std::io::Cursor;

    use arrow::datatypes::SchemaRef;
    use arrow::ipc::reader::StreamReader;
    use arrow::ipc::writer::StreamWriter;
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `schema` as IPC bytes.
    pub fn serialize<S: Serializer>(schema: &SchemaRef, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = StreamWriter::try_new(Vec::new(), schema)
            .and_then(StreamWriter::into_inner)
            .map_err(S::Error::custom)?;
        bytes.serialize(serializer)
    }

    /// Reads a schema written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SchemaRef, D::Error> {
        let bytes = Vec::<u8>::deserialize(deserializer)?;
        StreamReader::try_new(Cursor::new(bytes), None)
            .map(|reader| reader.schema())
            .map_err(D::Error::custom)
    }
}

/// Merges per-file schemas (given with the file's name) into one.
///
/// Columns keep the order of first appearance. A column missing from some file becomes
/// nullable. Types widen: integers to the wider integer, integers and floats to `Float64`,
/// `Utf8` and dictionary-encoded `Utf8` to the dictionary, timestamps to the finer unit.
/// Anything else that differs is an [`IoError::SchemaConflict`] naming both files.
pub fn merge_schemas<'a>(
    schemas: impl IntoIterator<Item = (String, &'a Schema)>,
) -> Result<SchemaRef> {
    let mut fields: Vec<(Field, String)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (seen_files, (file, schema)) in schemas.into_iter().enumerate() {
        for field in schema.fields() {
            match index.get(field.name()) {
                None => {
                    index.insert(field.name().clone(), fields.len());
                    let field = field
                        .as_ref()
                        .clone()
                        .with_nullable(field.is_nullable() || seen_files > 0);
                    fields.push((field.with_metadata(HashMap::new()), file.clone()));
                }
                Some(&i) => {
                    let (merged, first_file) = &mut fields[i];
                    let data_type =
                        widen(merged.data_type(), field.data_type()).ok_or_else(|| {
                            IoError::SchemaConflict {
                                column: field.name().clone(),
                                first_file: first_file.clone(),
                                first_type: merged.data_type().to_string(),
                                second_file: file.clone(),
                                second_type: field.data_type().to_string(),
                            }
                        })?;
                    *merged = merged
                        .clone()
                        .with_data_type(data_type)
                        .with_nullable(merged.is_nullable() || field.is_nullable());
                }
            }
        }
        for (merged, _) in fields.iter_mut() {
            if schema.field_with_name(merged.name()).is_err() {
                *merged = merged.clone().with_nullable(true);
            }
        }
    }
    Ok(Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(field, _)| field)
            .collect::<Vec<_>>(),
    )))
}

/// The narrowest type holding values of both `a` and `b`, if they are compatible.
fn widen(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    let signed_width = |t: &DataType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    match (a, b) {
        (Null, other) | (other, Null) => Some(other.clone()),
        (x, y) if signed_width(x).is_some() && signed_width(y).is_some() => {
            Some(if signed_width(x) > signed_width(y) {
                x.clone()
            } else {
                y.clone()
            })
        }
        (x, y) if (x.is_integer() || x.is_floating()) && (y.is_integer() || y.is_floating()) => {
            Some(Float64)
        }
        (Dictionary(_, value), Utf8) | (Utf8, Dictionary(_, value)) if value.as_ref() == &Utf8 => {
            Some(Dictionary(Box::new(Int32), Box::new(Utf8)))
        }
        (Utf8, LargeUtf8) | (LargeUtf8, Utf8) => Some(LargeUtf8),
        (Timestamp(u1, tz1), Timestamp(u2, tz2)) if tz1 == tz2 => {
            Some(Timestamp(if u1 > u2 { *u1 } else { *u2 }, tz1.clone()))
        }
        _ => None,
    }
}
