//! Decoding chunks of text records (NDJSON lines, CSV rows) into batches under a
//! [`ReadMode`]: a chunk decodes at once when it is clean; otherwise each record is tried alone
//! to find the malformed ones, which fail the read, are dropped, or become rows of nulls with
//! their text in the corrupt-record column.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{ArrayRef, RecordBatchOptions, StringArray};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::error::{IoError, Result};
use crate::read_mode::{ReadColumns, ReadMode};

/// One record of a text file.
#[derive(Debug)]
pub(crate) struct TextRecord {
    /// The one-based line it starts on.
    pub line: usize,
    /// Its bytes as the format's decoder reads them (newline-terminated).
    pub bytes: Vec<u8>,
    /// Why it is malformed, when that is known before decoding (invalid UTF-8, wrong number
    /// of fields).
    pub problem: Option<String>,
}

impl TextRecord {
    /// The error saying this record of `format` in `file` is malformed.
    pub fn malformed(&self, format: &'static str, file: &str, message: impl ToString) -> IoError {
        IoError::MalformedRecord {
            format,
            file: file.to_string(),
            line: self.line,
            message: message.to_string(),
        }
    }

    /// The record as text, for the corrupt-record column.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes)
            .trim_end_matches(['\r', '\n'])
            .to_string()
    }
}

/// A format's decoder of record bytes into batches of the decoded columns.
pub(crate) trait ChunkDecoder {
    /// Decodes `records` into one batch, one row per record when they are well-formed. After
    /// an error the decoder is ready for a fresh chunk.
    fn decode(&mut self, records: &[&[u8]]) -> std::result::Result<RecordBatch, ArrowError>;

    /// The bytes of a record whose every field is null.
    fn null_record(&self) -> Vec<u8>;
}

/// Where a text reader's records come from.
pub(crate) trait RecordSource {
    /// The next record, `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<TextRecord>>;
}

/// Decodes chunks of one file's records under a read mode.
pub(crate) struct ChunkReader<D> {
    /// The file, as errors name it.
    pub file: String,
    /// The format's name in errors: `JSON` or `CSV`.
    pub format: &'static str,
    pub decoder: D,
    pub mode: ReadMode,
    pub columns: ReadColumns,
    /// Counts malformed records that were dropped or nulled.
    pub bad_records: Arc<AtomicU64>,
}

impl<D: ChunkDecoder> ChunkReader<D> {
    /// The batch of `records` (of the output columns); `None` when every record was dropped.
    pub fn read(&mut self, mut records: Vec<TextRecord>) -> Result<Option<RecordBatch>> {
        if records.is_empty() {
            return Ok(None);
        }
        if records.iter().all(|r| r.problem.is_none()) {
            let chunk: Vec<&[u8]> = records.iter().map(|r| r.bytes.as_slice()).collect();
            if let Ok(batch) = self.decoder.decode(&chunk)
                && batch.num_rows() == records.len()
            {
                return self.finish(batch, vec![None; records.len()]).map(Some);
            }
        }
        self.find_problems(&mut records);
        let null_record = self.decoder.null_record();
        let mut corrupt = Vec::with_capacity(records.len());
        let mut kept = Vec::with_capacity(records.len());
        for record in records {
            let Some(problem) = &record.problem else {
                corrupt.push(None);
                kept.push(record.bytes);
                continue;
            };
            match self.mode {
                ReadMode::FailFast => {
                    return Err(record.malformed(self.format, &self.file, problem));
                }
                ReadMode::DropMalformed => {}
                ReadMode::Permissive => {
                    corrupt.push(Some(record.text()));
                    kept.push(null_record.clone());
                }
            }
            self.bad_records.fetch_add(1, Ordering::Relaxed);
        }
        if kept.is_empty() {
            return Ok(None);
        }
        let chunk: Vec<&[u8]> = kept.iter().map(Vec::as_slice).collect();
        let batch = self
            .decoder
            .decode(&chunk)
            .map_err(|source| IoError::arrow(self.file.clone(), source))?;
        self.finish(batch, corrupt).map(Some)
    }

    /// Tries each record not yet known to be malformed alone, and notes why the ones that
    /// fail are.
    fn find_problems(&mut self, records: &mut [TextRecord]) {
        for record in records.iter_mut().filter(|r| r.problem.is_none()) {
            record.problem = match self.decoder.decode(&[&record.bytes]) {
                Ok(batch) if batch.num_rows() == 1 => None,
                Ok(batch) => Some(format!("holds {} records", batch.num_rows())),
                Err(error) => Some(error.to_string()),
            };
        }
    }

    /// `batch` with the corrupt-record column (the texts in `corrupt`) inserted where the
    /// output columns want it.
    fn finish(&self, batch: RecordBatch, corrupt: Vec<Option<String>>) -> Result<RecordBatch> {
        let Some(at) = self.columns.corrupt else {
            return Ok(batch);
        };
        let rows = batch.num_rows();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.insert(at, Arc::new(StringArray::from(corrupt)));
        RecordBatch::try_new_with_options(
            Arc::clone(&self.columns.output),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|source| IoError::arrow(self.file.clone(), source))
    }
}

/// Reads one text file as batches of up to `batch_size` records.
pub(crate) struct TextFileReader<S, D> {
    pub records: S,
    pub chunks: ChunkReader<D>,
    pub batch_size: usize,
}

impl<S: RecordSource, D: ChunkDecoder> TextFileReader<S, D> {
    /// The next up to `batch_size` records.
    fn next_chunk(&mut self) -> Result<Vec<TextRecord>> {
        let mut records = Vec::with_capacity(self.batch_size);
        while records.len() < self.batch_size {
            let Some(record) = self.records.next_record()? else {
                break;
            };
            records.push(record);
        }
        Ok(records)
    }
}

impl<S: RecordSource, D: ChunkDecoder> Iterator for TextFileReader<S, D> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let records = match self.next_chunk() {
                Ok(records) if records.is_empty() => return None,
                Ok(records) => records,
                Err(error) => return Some(Err(error)),
            };
            match self.chunks.read(records) {
                Ok(Some(batch)) => return Some(Ok(batch)),
                // Every record of the chunk was dropped: read on.
                Ok(None) => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }
}
