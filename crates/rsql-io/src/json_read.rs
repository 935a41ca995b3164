//! NDJSON files: schema inference from a sample and line-numbered decoding.

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;
use arrow::json::reader::{Decoder, ReaderBuilder, infer_json_schema_from_iterator};
use arrow::record_batch::RecordBatch;

use crate::error::{IoError, Result};
use crate::listing::ListedFile;

/// How NDJSON files are read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JsonOptions {
    /// How many records (over all files, in listing order) schema inference looks at.
    pub infer_records: usize,
    /// Spark's `PERMISSIVE` mode: a malformed record becomes a row of nulls and is counted,
    /// instead of failing the read.
    pub permissive: bool,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            infer_records: 1000,
            permissive: false,
        }
    }
}

/// Reads lines of `file`, numbering them from one, and hands the non-blank ones to `visit`
/// until it returns `false`.
fn for_each_line(
    file: &ListedFile,
    mut visit: impl FnMut(usize, &str) -> Result<bool>,
) -> Result<()> {
    let mut reader = BufReader::new(file.source.open_read()?);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        number += 1;
        let read = reader
            .read_line(&mut line)
            .map_err(|e| malformed(file, number, e))?;
        if read == 0 {
            return Ok(());
        }
        if !line.trim().is_empty() && !visit(number, &line)? {
            return Ok(());
        }
    }
}

fn malformed(file: &ListedFile, line: usize, message: impl ToString) -> IoError {
    IoError::MalformedJson {
        file: file.source.name(),
        line,
        message: message.to_string(),
    }
}

/// Infers a schema from the first `options.infer_records` records of `files`.
pub fn infer_schema(files: &[ListedFile], options: &JsonOptions) -> Result<SchemaRef> {
    let mut values = Vec::new();
    for file in files {
        for_each_line(file, |number, line| {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(value) => values.push(value),
                Err(_) if options.permissive => {}
                Err(error) => return Err(malformed(file, number, error)),
            }
            Ok(values.len() < options.infer_records)
        })?;
        if values.len() >= options.infer_records {
            break;
        }
    }
    let name = files.first().map(|f| f.source.name()).unwrap_or_default();
    let schema = infer_json_schema_from_iterator(values.into_iter().map(Ok))
        .map_err(|source| IoError::arrow(name, source))?;
    Ok(Arc::new(schema))
}

/// A fresh decoder of records of `schema` for `file`.
fn new_decoder(file: &ListedFile, schema: &SchemaRef, batch_size: usize) -> Result<Decoder> {
    ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_size)
        .build_decoder()
        .map_err(|source| IoError::arrow(file.source.name(), source))
}

/// Decodes one NDJSON file into batches of `schema`.
pub struct JsonFileReader {
    file: ListedFile,
    lines: std::io::Lines<BufReader<Box<dyn std::io::Read + Send>>>,
    line_number: usize,
    schema: SchemaRef,
    decoder: Decoder,
    batch_size: usize,
    permissive: bool,
    bad_records: Arc<AtomicU64>,
}

impl JsonFileReader {
    /// Opens `file`; bad records in permissive mode are added to `bad_records`.
    pub fn open(
        file: &ListedFile,
        schema: SchemaRef,
        batch_size: usize,
        options: &JsonOptions,
        bad_records: Arc<AtomicU64>,
    ) -> Result<Self> {
        let decoder = new_decoder(file, &schema, batch_size)?;
        Ok(JsonFileReader {
            lines: BufReader::new(file.source.open_read()?).lines(),
            file: file.clone(),
            line_number: 0,
            schema,
            decoder,
            batch_size,
            permissive: options.permissive,
            bad_records,
        })
    }

    /// The next up to `batch_size` non-blank lines with their line numbers.
    fn next_lines(&mut self) -> Result<Vec<(usize, String)>> {
        let mut lines = Vec::with_capacity(self.batch_size);
        while lines.len() < self.batch_size {
            let Some(line) = self.lines.next() else { break };
            self.line_number += 1;
            let line = line.map_err(|e| malformed(&self.file, self.line_number, e))?;
            if !line.trim().is_empty() {
                lines.push((self.line_number, line));
            }
        }
        Ok(lines)
    }

    fn decode(
        &mut self,
        lines: &[(usize, String)],
    ) -> std::result::Result<Option<RecordBatch>, arrow::error::ArrowError> {
        for (_, line) in lines {
            self.decoder.decode(line.as_bytes())?;
            self.decoder.decode(b"\n")?;
        }
        self.decoder.flush()
    }

    /// Finds the bad lines of a chunk that failed to decode: an error naming the first one,
    /// or (permissive) the chunk with bad lines replaced by empty records.
    fn isolate_bad_lines(&mut self, lines: Vec<(usize, String)>) -> Result<Vec<(usize, String)>> {
        let mut repaired = Vec::with_capacity(lines.len());
        for (number, line) in lines {
            let mut probe = new_decoder(&self.file, &self.schema, 1)?;
            let result = probe.decode(line.as_bytes()).and_then(|_| probe.flush());
            match result {
                Ok(_) => repaired.push((number, line)),
                Err(_) if self.permissive => {
                    self.bad_records.fetch_add(1, Ordering::Relaxed);
                    repaired.push((number, "{}".to_string()));
                }
                Err(error) => return Err(malformed(&self.file, number, error)),
            }
        }
        Ok(repaired)
    }
}

impl Iterator for JsonFileReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let lines = match self.next_lines() {
            Ok(lines) if lines.is_empty() => return None,
            Ok(lines) => lines,
            Err(error) => return Some(Err(error)),
        };
        match self.decode(&lines) {
            Ok(batch) => return batch.map(Ok),
            Err(_) => {
                // Decoder state is unknown after an error: start afresh.
                match new_decoder(&self.file, &self.schema, self.batch_size) {
                    Ok(decoder) => self.decoder = decoder,
                    Err(error) => return Some(Err(error)),
                }
            }
        }
        let repaired = match self.isolate_bad_lines(lines) {
            Ok(repaired) => repaired,
            Err(error) => return Some(Err(error)),
        };
        self.decode(&repaired)
            .map_err(|source| IoError::arrow(self.file.source.name(), source))
            .transpose()
    }
}
