//! Serde `with` modules for the Arrow and DataFusion values that expressions and plans hold,
//! which have no serde impls of their own.
//!
//! Column references travel as `{relation, name}`; data types, schemas, scalar values and record
//! batches as Arrow IPC streams, which carry every Arrow type (nested, dictionary-encoded,
//! timestamps with zones) and field metadata exactly. Use them as
//! `#[serde(with = "rsql_plan::codec::scalar")]` on a field of the matching type.

use std::io::Cursor;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use datafusion_common::TableReference;
use serde::de::{Deserializer, Error as _, SeqAccess, Visitor};
use serde::ser::{Error as _, Serializer};
use serde::{Deserialize, Serialize};

/// A [`datafusion_common::Column`] as its relation and name (source spans are dropped).
pub mod column {
    use datafusion_common::Column;

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct ColumnRepr {
        relation: Option<TableRef>,
        name: String,
    }

    /// Serializes `column`.
    pub fn serialize<S: Serializer>(column: &Column, serializer: S) -> Result<S::Ok, S::Error> {
        ColumnRepr {
            relation: column.relation.as_ref().map(TableRef::from),
            name: column.name.clone(),
        }
        .serialize(serializer)
    }

    /// Deserializes a column.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Column, D::Error> {
        let repr = ColumnRepr::deserialize(deserializer)?;
        Ok(Column::new(
            repr.relation.map(TableReference::from),
            repr.name,
        ))
    }
}

/// A [`DataType`](arrow::datatypes::DataType) as an IPC schema of one field of that type.
pub mod data_type {
    use arrow::datatypes::DataType;

    use super::*;

    /// Serializes `data_type`.
    pub fn serialize<S: Serializer>(
        data_type: &DataType,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        super::data_types::serialize(std::slice::from_ref(data_type), serializer)
    }

    /// Deserializes a data type.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DataType, D::Error> {
        let mut types = super::data_types::deserialize(deserializer)?;
        match (types.pop(), types.is_empty()) {
            (Some(data_type), true) => Ok(data_type),
            _ => Err(D::Error::custom("expected a schema of one field")),
        }
    }
}

/// A list of [`DataType`](arrow::datatypes::DataType)s as an IPC schema of one field per type.
pub mod data_types {
    use arrow::datatypes::{DataType, Field};

    use super::*;

    /// Serializes `types`.
    pub fn serialize<S: Serializer>(types: &[DataType], serializer: S) -> Result<S::Ok, S::Error> {
        let fields: Vec<Field> = types
            .iter()
            .map(|data_type| Field::new("", data_type.clone(), true))
            .collect();
        encode(&Schema::new(fields), &[], serializer)
    }

    /// Deserializes a list of data types.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<DataType>, D::Error> {
        let (schema, _) = decode(deserializer)?;
        Ok(schema
            .fields()
            .iter()
            .map(|field| field.data_type().clone())
            .collect())
    }
}

/// A [`ScalarValue`](datafusion_common::ScalarValue) as an IPC stream of its one-row array.
pub mod scalar {
    use arrow::datatypes::Field;
    use datafusion_common::ScalarValue;

    use super::*;

    /// Serializes `value`.
    pub fn serialize<S: Serializer>(value: &ScalarValue, serializer: S) -> Result<S::Ok, S::Error> {
        let array = value.to_array().map_err(S::Error::custom)?;
        let schema = Arc::new(Schema::new(vec![Field::new(
            "",
            array.data_type().clone(),
            true,
        )]));
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), vec![array]).map_err(S::Error::custom)?;
        encode(&schema, &[batch], serializer)
    }

    /// Deserializes a scalar value.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<ScalarValue, D::Error> {
        let (_, batches) = decode(deserializer)?;
        match batches.as_slice() {
            [batch] if batch.num_columns() == 1 && batch.num_rows() == 1 => {
                ScalarValue::try_from_array(batch.column(0), 0).map_err(D::Error::custom)
            }
            _ => Err(D::Error::custom(
                "a scalar value is one batch of one column and one row",
            )),
        }
    }
}

/// A [`SchemaRef`] as an IPC schema message.
pub mod schema {
    use super::*;

    /// Serializes `schema`.
    pub fn serialize<S: Serializer>(schema: &SchemaRef, serializer: S) -> Result<S::Ok, S::Error> {
        encode(schema, &[], serializer)
    }

    /// Deserializes a schema.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SchemaRef, D::Error> {
        Ok(decode(deserializer)?.0)
    }
}

/// A [`DFSchemaRef`](datafusion_common::DFSchemaRef) as its Arrow schema and the qualifier of
/// each field. Functional dependencies are not carried: rsql does not derive any.
pub mod df_schema {
    use datafusion_common::{DFSchema, DFSchemaRef};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct DFSchemaRepr {
        qualifiers: Vec<Option<TableRef>>,
        #[serde(with = "super::schema")]
        schema: SchemaRef,
    }

    /// Serializes `schema`.
    pub fn serialize<S: Serializer>(
        schema: &DFSchemaRef,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        DFSchemaRepr {
            qualifiers: schema
                .iter()
                .map(|(qualifier, _)| qualifier.map(TableRef::from))
                .collect(),
            schema: Arc::clone(schema.inner()),
        }
        .serialize(serializer)
    }

    /// Deserializes a qualified schema.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DFSchemaRef, D::Error> {
        let repr = DFSchemaRepr::deserialize(deserializer)?;
        let qualifiers = repr
            .qualifiers
            .into_iter()
            .map(|q| q.map(TableReference::from))
            .collect();
        DFSchema::from_field_specific_qualified_schema(qualifiers, &repr.schema)
            .map(Arc::new)
            .map_err(D::Error::custom)
    }
}

/// A [`RecordBatch`] as an IPC stream of its schema and itself.
pub mod batch {
    use super::*;

    /// Serializes `batch`.
    pub fn serialize<S: Serializer>(batch: &RecordBatch, serializer: S) -> Result<S::Ok, S::Error> {
        encode(&batch.schema(), std::slice::from_ref(batch), serializer)
    }

    /// Deserializes a batch.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RecordBatch, D::Error> {
        let (_, mut batches) = decode(deserializer)?;
        match (batches.pop(), batches.is_empty()) {
            (Some(batch), true) => Ok(batch),
            _ => Err(D::Error::custom("expected an IPC stream of one batch")),
        }
    }
}

/// A table reference, as plain data.
#[derive(Serialize, Deserialize)]
enum TableRef {
    Bare {
        table: String,
    },
    Partial {
        schema: String,
        table: String,
    },
    Full {
        catalog: String,
        schema: String,
        table: String,
    },
}

impl From<&TableReference> for TableRef {
    fn from(reference: &TableReference) -> Self {
        match reference {
            TableReference::Bare { table } => TableRef::Bare {
                table: table.to_string(),
            },
            TableReference::Partial { schema, table } => TableRef::Partial {
                schema: schema.to_string(),
                table: table.to_string(),
            },
            TableReference::Full {
                catalog,
                schema,
                table,
            } => TableRef::Full {
                catalog: catalog.to_string(),
                schema: schema.to_string(),
                table: table.to_string(),
            },
        }
    }
}

impl From<TableRef> for TableReference {
    fn from(reference: TableRef) -> Self {
        match reference {
            TableRef::Bare { table } => TableReference::bare(table),
            TableRef::Partial { schema, table } => TableReference::partial(schema, table),
            TableRef::Full {
                catalog,
                schema,
                table,
            } => TableReference::full(catalog, schema, table),
        }
    }
}

/// Writes `schema` and `batches` as an IPC stream, serialized as a byte string.
fn encode<S: Serializer>(
    schema: &Schema,
    batches: &[RecordBatch],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let write = || -> Result<Vec<u8>, ArrowError> {
        let mut writer = StreamWriter::try_new(Vec::new(), schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.into_inner()
    };
    let bytes = write().map_err(S::Error::custom)?;
    serializer.serialize_bytes(&bytes)
}

/// Reads an IPC stream written by [`encode`].
fn decode<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<(SchemaRef, Vec<RecordBatch>), D::Error> {
    let bytes = deserializer.deserialize_byte_buf(BytesVisitor)?;
    let reader = StreamReader::try_new(Cursor::new(bytes), None).map_err(D::Error::custom)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(D::Error::custom)?;
    Ok((schema, batches))
}

/// Accepts a byte string, or a sequence of bytes from formats without one (JSON).
struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Arrow IPC bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
        Ok(bytes.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(bytes)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(byte) = seq.next_element()? {
            bytes.push(byte);
        }
        Ok(bytes)
    }
}
