//! What the text readers (NDJSON, CSV) do with a malformed record, as Spark's `mode` option,
//! and the `_corrupt_record` column that keeps such records in `PERMISSIVE` mode.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{IoError, Result};

/// The column holding, in [`ReadMode::Permissive`], the text of each malformed record (null
/// for good ones).
///
/// A dataset has it when its explicit schema names it (as a string column), or when schema
/// inference in `PERMISSIVE` mode met a malformed record in its sample; it is then the last
/// data column. In the other modes it stays null.
pub const CORRUPT_RECORD_COLUMN: &str = "_corrupt_record";

/// How a text reader treats a malformed record: a line that is not valid JSON, not an object,
/// holds a value of the wrong type, has the wrong number of CSV fields or is not valid UTF-8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReadMode {
    /// A malformed record becomes a row of nulls, with its text in
    /// [`CORRUPT_RECORD_COLUMN`] when the schema has that column (Spark's default).
    #[default]
    Permissive,
    /// A malformed record is skipped.
    DropMalformed,
    /// The first malformed record fails the read with an error naming its file and line.
    FailFast,
}

impl ReadMode {
    /// Every mode with its name, as Spark spells it.
    const NAMES: [(&'static str, ReadMode); 3] = [
        ("PERMISSIVE", ReadMode::Permissive),
        ("DROPMALFORMED", ReadMode::DropMalformed),
        ("FAILFAST", ReadMode::FailFast),
    ];

    /// The mode named `name` (case-insensitive).
    pub fn parse(name: &str) -> Result<Self> {
        Self::NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, mode)| mode)
            .ok_or_else(|| {
                IoError::Invalid(format!(
                    "unknown read mode '{name}' (the modes are PERMISSIVE, DROPMALFORMED and \
                     FAILFAST)"
                ))
            })
    }
}

/// Whether `field` is the corrupt-record column.
pub(crate) fn is_corrupt_record(field: &Field) -> bool {
    field.name() == CORRUPT_RECORD_COLUMN && field.data_type() == &DataType::Utf8
}

/// `schema` with a nullable [`CORRUPT_RECORD_COLUMN`] appended, unless it has one.
pub(crate) fn with_corrupt_record(schema: Schema) -> Schema {
    if schema.fields().iter().any(|f| is_corrupt_record(f)) {
        return schema;
    }
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        CORRUPT_RECORD_COLUMN,
        DataType::Utf8,
        true,
    )));
    Schema::new(fields)
}

/// The columns a text reader produces, split into what its decoder reads from the file and
/// the corrupt-record column it fills itself.
#[derive(Debug, Clone)]
pub(crate) struct ReadColumns {
    /// The columns produced, in order.
    pub output: SchemaRef,
    /// Where [`CORRUPT_RECORD_COLUMN`] sits in `output`, if it is there.
    pub corrupt: Option<usize>,
    /// The columns of the file, in file order (the data schema without the corrupt column).
    pub file: SchemaRef,
    /// Indices into `file` of the decoded columns, in output order.
    pub decoded: Vec<usize>,
}

impl ReadColumns {
    /// The columns at `projection` of `data_schema`.
    pub fn new(data_schema: &Schema, projection: &[usize]) -> Result<Self> {
        let corrupt_at = data_schema
            .fields()
            .iter()
            .position(|f| is_corrupt_record(f));
        let file_index = |index: usize| match corrupt_at {
            Some(at) if index > at => index - 1,
            _ => index,
        };
        let output = data_schema
            .project(projection)
            .map_err(|e| IoError::Invalid(format!("bad projection: {e}")))?;
        let file: Vec<_> = data_schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != corrupt_at)
            .map(|(_, f)| Arc::clone(f))
            .collect();
        Ok(ReadColumns {
            output: Arc::new(output),
            corrupt: projection.iter().position(|&i| Some(i) == corrupt_at),
            file: Arc::new(Schema::new(file)),
            decoded: projection
                .iter()
                .filter(|&&i| Some(i) != corrupt_at)
                .map(|&i| file_index(i))
                .collect(),
        })
    }

    /// The schema of the decoded columns.
    pub fn decoded_schema(&self) -> Result<SchemaRef> {
        self.file
            .project(&self.decoded)
            .map(Arc::new)
            .map_err(|e| IoError::Invalid(format!("bad projection: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_case_insensitively() {
        assert_eq!(ReadMode::parse("failFast").unwrap(), ReadMode::FailFast);
        assert_eq!(
            ReadMode::parse("DROPMALFORMED").unwrap(),
            ReadMode::DropMalformed
        );
        let message = ReadMode::parse("lenient").unwrap_err().to_string();
        assert!(message.contains("'lenient'") && message.contains("FAILFAST"));
    }

    #[test]
    fn the_corrupt_column_is_split_from_the_file_columns() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new(CORRUPT_RECORD_COLUMN, DataType::Utf8, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        let columns = ReadColumns::new(&schema, &[2, 1, 0]).unwrap();
        assert_eq!(columns.corrupt, Some(1));
        assert_eq!(columns.file.fields().len(), 2);
        assert_eq!(columns.decoded, vec![1, 0]);
        let names: Vec<_> = columns
            .decoded_schema()
            .unwrap()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, vec!["b", "a"]);
    }
}
