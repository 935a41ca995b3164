//! NDJSON files: schema inference from a sample and line-numbered decoding under a
//! [`ReadMode`].

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::json::reader::{Decoder, ReaderBuilder, infer_json_schema_from_iterator};
use arrow::record_batch::RecordBatch;

use crate::error::{IoError, Result};
use crate::listing::ListedFile;
use crate::read_mode::{ReadColumns, ReadMode, with_corrupt_record};
use crate::text_records::{ChunkDecoder, ChunkReader, RecordSource, TextFileReader, TextRecord};

/// How NDJSON files are read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JsonOptions {
    /// How many records (over all files, in listing order) schema inference looks at.
    pub infer_records: usize,
    /// What a malformed line does (Spark's `mode`; `PERMISSIVE` by default).
    pub mode: ReadMode,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            infer_records: 1000,
            mode: ReadMode::default(),
        }
    }
}

/// The non-blank lines of a file, numbered from one.
struct Lines {
    reader: BufReader<Box<dyn Read + Send>>,
    file: String,
    number: usize,
}

impl RecordSource for Lines {
    /// The next non-blank line, newline-terminated; one that is not UTF-8 is malformed.
    fn next_record(&mut self) -> Result<Option<TextRecord>> {
        loop {
            let mut bytes = Vec::new();
            let read = self
                .reader
                .read_until(b'\n', &mut bytes)
                .map_err(|e| IoError::fs(&self.file, e))?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
            }
            let problem = std::str::from_utf8(&bytes)
                .err()
                .map(|e| format!("not valid UTF-8: {e}"));
            return Ok(Some(TextRecord {
                line: self.number,
                bytes,
                problem,
            }));
        }
    }
}

impl Lines {
    fn open(file: &ListedFile) -> Result<Self> {
        Ok(Lines {
            reader: BufReader::new(file.source.open_read()?),
            file: file.source.name(),
            number: 0,
        })
    }
}

/// The JSON object a line holds, or why it holds none.
fn parse_object(record: &TextRecord) -> std::result::Result<serde_json::Value, String> {
    if let Some(problem) = &record.problem {
        return Err(problem.clone());
    }
    match serde_json::from_slice::<serde_json::Value>(&record.bytes) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err("not a JSON object".to_string()),
        Err(error) => {
            // serde_json counts lines and columns within the record: keep only the column.
            let text = error.to_string();
            let message = text
                .split_once(" at line ")
                .map_or(text.as_str(), |(m, _)| m);
            Err(format!("{message} at column {}", error.column()))
        }
    }
}

/// Infers a schema from the first `options.infer_records` records of `files`. In `PERMISSIVE`
/// mode a malformed line in the sample adds the corrupt-record column; in `FAILFAST` it is an
/// error; in `DROPMALFORMED` it is skipped.
pub fn infer_schema(files: &[ListedFile], options: &JsonOptions) -> Result<SchemaRef> {
    let mut values = Vec::new();
    let mut malformed = false;
    'files: for file in files {
        let mut lines = Lines::open(file)?;
        while values.len() < options.infer_records {
            let Some(record) = lines.next_record()? else {
                continue 'files;
            };
            match parse_object(&record) {
                Ok(value) => values.push(value),
                Err(message) if options.mode == ReadMode::FailFast => {
                    return Err(record.malformed("JSON", &lines.file, message));
                }
                Err(_) => malformed = true,
            }
        }
        break;
    }
    let name = files.first().map(|f| f.source.name()).unwrap_or_default();
    let schema = infer_json_schema_from_iterator(values.into_iter().map(Ok))
        .map_err(|source| IoError::arrow(name, source))?;
    Ok(Arc::new(
        if malformed && options.mode == ReadMode::Permissive {
            with_corrupt_record(schema)
        } else {
            schema
        },
    ))
}

/// Arrow's NDJSON decoder over chunks of lines.
struct JsonChunkDecoder {
    schema: SchemaRef,
    /// The most rows one decode may produce.
    capacity: usize,
    decoder: Decoder,
}

impl JsonChunkDecoder {
    /// A decoder for chunks of up to `lines` lines. It has room for more rows than that, so
    /// that a line holding two objects shows as a row count that does not match.
    fn new(schema: SchemaRef, lines: usize) -> std::result::Result<Self, ArrowError> {
        let capacity = lines.saturating_mul(2).max(2);
        let decoder = build_decoder(&schema, capacity)?;
        Ok(JsonChunkDecoder {
            schema,
            capacity,
            decoder,
        })
    }

    fn try_decode(&mut self, records: &[&[u8]]) -> std::result::Result<RecordBatch, ArrowError> {
        for record in records {
            if self.decoder.decode(record)? < record.len() {
                return Err(ArrowError::JsonError(
                    "a line holds too many records".into(),
                ));
            }
        }
        Ok(self
            .decoder
            .flush()?
            .unwrap_or_else(|| RecordBatch::new_empty(Arc::clone(&self.schema))))
    }
}

/// A decoder of rows of `schema`; a number or boolean read into a string column keeps its JSON
/// text, as Spark reads it (and as inference widens a column that holds both to a string).
fn build_decoder(schema: &SchemaRef, capacity: usize) -> std::result::Result<Decoder, ArrowError> {
    ReaderBuilder::new(Arc::clone(schema))
        .with_batch_size(capacity)
        .with_coerce_primitive(true)
        .build_decoder()
}

impl ChunkDecoder for JsonChunkDecoder {
    fn decode(&mut self, records: &[&[u8]]) -> std::result::Result<RecordBatch, ArrowError> {
        let result = self.try_decode(records);
        if result.is_err() {
            // The decoder's state is unknown after an error: start afresh.
            self.decoder = build_decoder(&self.schema, self.capacity)?;
        }
        result
    }

    fn null_record(&self) -> Vec<u8> {
        b"{}\n".to_vec()
    }
}

/// A reader of `file` decoding the columns at `projection` of `data_schema`; malformed lines
/// that are dropped or nulled are added to `bad_records`.
pub(crate) fn open(
    file: &ListedFile,
    data_schema: &Schema,
    projection: &[usize],
    batch_size: usize,
    options: &JsonOptions,
    bad_records: Arc<AtomicU64>,
) -> Result<impl Iterator<Item = Result<RecordBatch>> + Send + use<>> {
    let name = file.source.name();
    let columns = ReadColumns::new(data_schema, projection)?;
    let decoder = JsonChunkDecoder::new(columns.decoded_schema()?, batch_size)
        .map_err(|source| IoError::arrow(name.clone(), source))?;
    Ok(TextFileReader {
        records: Lines::open(file)?,
        chunks: ChunkReader {
            file: name,
            format: "JSON",
            decoder,
            mode: options.mode,
            columns,
            bad_records,
        },
        batch_size,
    })
}
