//! CSV files: dialect options, schema inference and decoding.

use std::sync::Arc;

use arrow::csv::reader::{Format, ReaderBuilder};
use arrow::datatypes::SchemaRef;
use regex::Regex;

use crate::error::{IoError, Result};
use crate::listing::ListedFile;

/// The CSV dialect and inference settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CsvOptions {
    /// Whether the first line names the columns.
    pub header: bool,
    /// The field delimiter.
    pub delimiter: u8,
    /// The quote character.
    pub quote: u8,
    /// The character escaping a quote inside a quoted field; `None` for a doubled quote.
    pub escape: Option<u8>,
    /// A field equal to this string is null (an empty field is always null).
    pub null_string: Option<String>,
    /// How many records of the first file schema inference looks at.
    pub infer_records: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: true,
            delimiter: b',',
            quote: b'"',
            escape: None,
            null_string: None,
            infer_records: 1000,
        }
    }
}

impl CsvOptions {
    /// Sets one option by name, as Spark (`header`, `sep`/`delimiter`, `quote`, `nullValue`)
    /// or DuckDB (`delim`, `nullstr`) spell it; names are case-insensitive.
    pub fn set_option(&mut self, key: &str, value: &str) -> Result<()> {
        let single_byte = |what: &str| match value.as_bytes() {
            [byte] => Ok(*byte),
            _ => Err(IoError::Invalid(format!(
                "the CSV {what} must be one character, got '{value}'"
            ))),
        };
        match key.to_lowercase().as_str() {
            "header" => {
                self.header = value.parse().map_err(|_| {
                    IoError::Invalid(format!(
                        "the CSV header option is true or false, got '{value}'"
                    ))
                })?;
            }
            "sep" | "delimiter" | "delim" => self.delimiter = single_byte("delimiter")?,
            "quote" => self.quote = single_byte("quote")?,
            "nullvalue" | "nullstr" | "null" => self.null_string = Some(value.to_string()),
            other => {
                return Err(IoError::Invalid(format!(
                    "unknown CSV option '{other}' (the options are header, delimiter, quote, nullValue)"
                )));
            }
        }
        Ok(())
    }

    fn format(&self) -> Result<Format> {
        let mut format = Format::default()
            .with_header(self.header)
            .with_delimiter(self.delimiter)
            .with_quote(self.quote);
        if let Some(escape) = self.escape {
            format = format.with_escape(escape);
        }
        if let Some(null) = &self.null_string {
            let pattern = format!("^(?:{})?$", regex::escape(null));
            let regex = Regex::new(&pattern)
                .map_err(|e| IoError::Invalid(format!("bad CSV null string {null:?}: {e}")))?;
            format = format.with_null_regex(regex);
        }
        Ok(format)
    }
}

/// Infers a schema from the first records of the first of `files`.
pub fn infer_schema(files: &[ListedFile], options: &CsvOptions) -> Result<SchemaRef> {
    let Some(file) = files.first() else {
        return Ok(Arc::new(arrow::datatypes::Schema::empty()));
    };
    let (schema, _) = options
        .format()?
        .infer_schema(file.source.open_read()?, Some(options.infer_records))
        .map_err(|source| IoError::arrow(file.source.name(), source))?;
    Ok(Arc::new(schema))
}

/// A reader decoding the columns at `projection` of `schema` from `file`.
pub fn open(
    file: &ListedFile,
    schema: SchemaRef,
    projection: Vec<usize>,
    batch_size: usize,
    options: &CsvOptions,
) -> Result<arrow::csv::reader::Reader<Box<dyn std::io::Read + Send>>> {
    ReaderBuilder::new(schema)
        .with_format(options.format()?)
        .with_batch_size(batch_size)
        .with_projection(projection)
        .build(file.source.open_read()?)
        .map_err(|source| IoError::arrow(file.source.name(), source))
}
