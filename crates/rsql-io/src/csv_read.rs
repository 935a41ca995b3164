//! CSV files: dialect options, schema inference and decoding under a [`ReadMode`].
//!
//! Records are split by the `csv` crate, which knows each one's line; a record with the wrong
//! number of fields or bytes that are not UTF-8 is malformed. The others are re-encoded in a
//! plain dialect (doubled quotes, no escape character) for Arrow's decoder, which parses and
//! types the fields.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow::csv::reader::{Decoder, Format, ReaderBuilder};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use csv::ByteRecord;
use regex::Regex;

use crate::error::{IoError, Result};
use crate::listing::ListedFile;
use crate::read_mode::{ReadColumns, ReadMode, with_corrupt_record};
use crate::text_records::{ChunkDecoder, ChunkReader, RecordSource, TextFileReader, TextRecord};

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
    /// What a malformed record does (Spark's `mode`; `PERMISSIVE` by default).
    pub mode: ReadMode,
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
            mode: ReadMode::default(),
        }
    }
}

impl CsvOptions {
    /// Sets one option by name, as Spark (`header`, `sep`/`delimiter`, `quote`, `nullValue`,
    /// `mode`) or DuckDB (`delim`, `nullstr`) spell it; names are case-insensitive.
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
            "mode" => self.mode = ReadMode::parse(value)?,
            other => {
                return Err(IoError::Invalid(format!(
                    "unknown CSV option '{other}' (the options are header, delimiter, quote, \
                     nullValue, mode)"
                )));
            }
        }
        Ok(())
    }

    /// Arrow's reading of the re-encoded records: the header flag, delimiter, quote and null
    /// string; quotes inside fields are doubled.
    fn format(&self) -> Result<Format> {
        let mut format = Format::default()
            .with_header(self.header)
            .with_delimiter(self.delimiter)
            .with_quote(self.quote);
        if let Some(null) = &self.null_string {
            let pattern = format!("^(?:{})?$", regex::escape(null));
            let regex = Regex::new(&pattern)
                .map_err(|e| IoError::Invalid(format!("bad CSV null string {null:?}: {e}")))?;
            format = format.with_null_regex(regex);
        }
        Ok(format)
    }

    /// A splitter of `input` into records (after the header line, when there is one).
    fn splitter<R: Read>(&self, input: R) -> csv::Reader<R> {
        csv::ReaderBuilder::new()
            .has_headers(self.header)
            .flexible(true)
            .delimiter(self.delimiter)
            .quote(self.quote)
            .escape(self.escape)
            .from_reader(input)
    }

    /// `record` in the plain dialect Arrow decodes, newline-terminated.
    fn encode(&self, record: &ByteRecord) -> Vec<u8> {
        let (delimiter, quote) = (self.delimiter, self.quote);
        let mut out = Vec::with_capacity(record.as_slice().len() + record.len() + 1);
        for (i, field) in record.iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            let special = |&b: &u8| b == delimiter || b == quote || b == b'\n' || b == b'\r';
            // A lone empty field is quoted, or the line would be blank.
            if field.iter().any(special) || (record.len() == 1 && field.is_empty()) {
                out.push(quote);
                for &byte in field {
                    if byte == quote {
                        out.push(quote);
                    }
                    out.push(byte);
                }
                out.push(quote);
            } else {
                out.extend_from_slice(field);
            }
        }
        out.push(b'\n');
        out
    }
}

/// The records of one CSV file, checked for their number of fields and UTF-8.
struct Records<R: Read> {
    splitter: csv::Reader<R>,
    options: CsvOptions,
    file: String,
    /// How many fields a record must have.
    fields: usize,
    record: ByteRecord,
}

impl<R: Read> Records<R> {
    fn new(input: R, file: &ListedFile, options: &CsvOptions, fields: usize) -> Self {
        Records {
            splitter: options.splitter(input),
            options: options.clone(),
            file: file.source.name(),
            fields,
            record: ByteRecord::new(),
        }
    }

    /// The header (or, without one, the first record), as field names.
    fn header(&mut self) -> Result<ByteRecord> {
        let file = &self.file;
        self.splitter
            .byte_headers()
            .cloned()
            .map_err(|error| split_error(file, error))
    }
}

impl<R: Read> RecordSource for Records<R> {
    fn next_record(&mut self) -> Result<Option<TextRecord>> {
        let more = self
            .splitter
            .read_byte_record(&mut self.record)
            .map_err(|error| split_error(&self.file, error))?;
        if !more {
            return Ok(None);
        }
        let found = self.record.len();
        let problem = if found != self.fields {
            Some(format!("expected {} fields, found {found}", self.fields))
        } else {
            self.record
                .iter()
                .position(|field| std::str::from_utf8(field).is_err())
                .map(|i| format!("field {} is not valid UTF-8", i + 1))
        };
        Ok(Some(TextRecord {
            line: self.record.position().map_or(0, |p| p.line() as usize),
            bytes: self.options.encode(&self.record),
            problem,
        }))
    }
}

/// An error of the record splitter: a read failure, or input it cannot split.
fn split_error(file: &str, error: csv::Error) -> IoError {
    let line = error.position().map_or(0, |p| p.line() as usize);
    let message = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(source) => IoError::fs(file, source),
        _ => IoError::MalformedRecord {
            format: "CSV",
            file: file.to_string(),
            line,
            message,
        },
    }
}

/// Infers a schema from the first records of the first of `files`. In `PERMISSIVE` mode a
/// malformed record in the sample adds the corrupt-record column; in `FAILFAST` it is an
/// error; in `DROPMALFORMED` it is skipped.
pub fn infer_schema(files: &[ListedFile], options: &CsvOptions) -> Result<SchemaRef> {
    let Some(file) = files.first() else {
        return Ok(Arc::new(Schema::empty()));
    };
    let name = file.source.name();
    let mut records = Records::new(file.source.open_read()?, file, options, 0);
    let header = records.header()?;
    records.fields = header.len();
    // The well-formed records of the sample, re-encoded, after the header.
    let mut sample = if options.header {
        options.encode(&header)
    } else {
        Vec::new()
    };
    let mut malformed = false;
    for _ in 0..options.infer_records {
        let Some(record) = records.next_record()? else {
            break;
        };
        match &record.problem {
            None => sample.extend_from_slice(&record.bytes),
            Some(problem) if options.mode == ReadMode::FailFast => {
                return Err(record.malformed("CSV", &name, problem));
            }
            Some(_) => malformed = true,
        }
    }
    let (schema, _) = options
        .format()?
        .infer_schema(sample.as_slice(), None)
        .map_err(|source| IoError::arrow(name, source))?;
    Ok(Arc::new(
        if malformed && options.mode == ReadMode::Permissive {
            with_corrupt_record(schema)
        } else {
            schema
        },
    ))
}

/// Arrow's CSV decoder over chunks of re-encoded records.
struct CsvChunkDecoder {
    columns: ReadColumns,
    /// The schema of the decoded columns.
    decoded: SchemaRef,
    format: Format,
    /// The null record's bytes.
    null_record: Vec<u8>,
    capacity: usize,
    decoder: Decoder,
}

impl CsvChunkDecoder {
    fn new(columns: ReadColumns, options: &CsvOptions, capacity: usize) -> Result<Self> {
        let format = options.format()?.with_header(false);
        let decoder = build_decoder(&columns, &format, capacity);
        let fields = columns.file.fields().len();
        let empty = ByteRecord::from(vec![""; fields.max(1)]);
        Ok(CsvChunkDecoder {
            null_record: options.encode(&empty),
            decoded: columns.decoded_schema()?,
            columns,
            format,
            capacity,
            decoder,
        })
    }

    fn try_decode(&mut self, records: &[&[u8]]) -> std::result::Result<RecordBatch, ArrowError> {
        for record in records {
            let mut rest = *record;
            while !rest.is_empty() {
                let used = self.decoder.decode(rest)?;
                if used == 0 {
                    return Err(ArrowError::CsvError("the decoder took no input".into()));
                }
                rest = &rest[used..];
            }
        }
        Ok(self
            .decoder
            .flush()?
            .unwrap_or_else(|| RecordBatch::new_empty(Arc::clone(&self.decoded))))
    }
}

fn build_decoder(columns: &ReadColumns, format: &Format, capacity: usize) -> Decoder {
    ReaderBuilder::new(Arc::clone(&columns.file))
        .with_format(format.clone())
        .with_batch_size(capacity)
        .with_projection(columns.decoded.clone())
        .build_decoder()
}

impl ChunkDecoder for CsvChunkDecoder {
    fn decode(&mut self, records: &[&[u8]]) -> std::result::Result<RecordBatch, ArrowError> {
        let result = self.try_decode(records);
        if result.is_err() {
            // The decoder's state is unknown after an error: start afresh.
            self.decoder = build_decoder(&self.columns, &self.format, self.capacity);
        }
        result.map_err(without_row_number)
    }

    fn null_record(&self) -> Vec<u8> {
        self.null_record.clone()
    }
}

/// `error` without the row number Arrow puts in parse errors: it counts the records of one
/// chunk, not the lines of the file, which the error around it names.
fn without_row_number(error: ArrowError) -> ArrowError {
    match error {
        ArrowError::ParseError(message) => match message.split_once(" at line ") {
            Some((before, after)) => {
                let rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
                ArrowError::ParseError(format!("{before}{rest}"))
            }
            None => ArrowError::ParseError(message),
        },
        other => other,
    }
}

/// A reader of `file` decoding the columns at `projection` of `data_schema`; malformed records
/// that are dropped or nulled are added to `bad_records`.
pub(crate) fn open(
    file: &ListedFile,
    data_schema: &Schema,
    projection: &[usize],
    batch_size: usize,
    options: &CsvOptions,
    bad_records: Arc<AtomicU64>,
) -> Result<impl Iterator<Item = Result<RecordBatch>> + Send + use<>> {
    let columns = ReadColumns::new(data_schema, projection)?;
    let fields = columns.file.fields().len();
    Ok(TextFileReader {
        records: Records::new(file.source.open_read()?, file, options, fields),
        chunks: ChunkReader {
            file: file.source.name(),
            format: "CSV",
            decoder: CsvChunkDecoder::new(columns.clone(), options, batch_size)?,
            mode: options.mode,
            columns,
            bad_records,
        },
        batch_size,
    })
}
