//! One output file in one of the supported formats.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::csv::WriterBuilder as CsvWriterBuilder;
use arrow::datatypes::SchemaRef;
use arrow::json::{LineDelimitedWriter, WriterBuilder as JsonWriterBuilder};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::WriteFormat;
use crate::error::{IoError, Result};

/// Parses a codec name: `none`/`uncompressed`, `snappy`, `gzip`, `zstd`, `lz4`, `lz4_raw`,
/// `brotli` (default levels), or a parquet-style name with a level such as `zstd(3)`.
pub fn parse_compression(name: &str) -> Result<Compression> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "none" | "uncompressed" => Compression::UNCOMPRESSED,
        "gzip" => Compression::GZIP(GzipLevel::default()),
        "zstd" => Compression::ZSTD(ZstdLevel::default()),
        "brotli" => Compression::BROTLI(BrotliLevel::default()),
        other => other
            .parse()
            .map_err(|e| IoError::Invalid(format!("unknown compression {name:?}: {e}")))?,
    })
}

/// An open output file of any format.
pub(crate) enum FileWriter {
    Parquet(ArrowWriter<File>),
    Json(LineDelimitedWriter<BufWriter<File>>),
    Csv(arrow::csv::Writer<BufWriter<File>>),
}

/// An output file and its path, for error messages.
pub(crate) struct NamedWriter {
    path: PathBuf,
    writer: FileWriter,
}

impl NamedWriter {
    /// Creates `path` and prepares it for batches of `schema`.
    pub(crate) fn create(path: &Path, schema: SchemaRef, format: &WriteFormat) -> Result<Self> {
        let file = File::create(path).map_err(|e| IoError::fs(path, e))?;
        let writer = match format {
            WriteFormat::Parquet {
                compression,
                row_group_size,
            } => {
                if *row_group_size == 0 {
                    return Err(IoError::Invalid("row group size must be positive".into()));
                }
                let properties = WriterProperties::builder()
                    .set_compression(*compression)
                    .set_max_row_group_row_count(Some(*row_group_size))
                    .build();
                FileWriter::Parquet(
                    ArrowWriter::try_new(file, schema, Some(properties))
                        .map_err(|e| IoError::parquet(path.display().to_string(), e))?,
                )
            }
            WriteFormat::Json { explicit_nulls } => FileWriter::Json(
                JsonWriterBuilder::new()
                    .with_explicit_nulls(*explicit_nulls)
                    .build(BufWriter::new(file)),
            ),
            WriteFormat::Csv { header, delimiter } => FileWriter::Csv(
                CsvWriterBuilder::new()
                    .with_header(*header)
                    .with_delimiter(*delimiter)
                    .build(BufWriter::new(file)),
            ),
        };
        Ok(NamedWriter {
            path: path.to_path_buf(),
            writer,
        })
    }

    /// Appends `batch`.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let name = || self.path.display().to_string();
        match &mut self.writer {
            FileWriter::Parquet(w) => w.write(batch).map_err(|e| IoError::parquet(name(), e)),
            FileWriter::Json(w) => w.write(batch).map_err(|e| IoError::arrow(name(), e)),
            FileWriter::Csv(w) => w.write(batch).map_err(|e| IoError::arrow(name(), e)),
        }
    }

    /// Flushes and closes the file.
    pub(crate) fn finish(self) -> Result<()> {
        let name = self.path.display().to_string();
        let flush = |w: BufWriter<File>| {
            w.into_inner()
                .map(drop)
                .map_err(|e| IoError::fs(&self.path, e.into_error()))
        };
        match self.writer {
            FileWriter::Parquet(w) => w.close().map(|_| ()).map_err(|e| IoError::parquet(name, e)),
            FileWriter::Json(mut w) => {
                w.finish().map_err(|e| IoError::arrow(name, e))?;
                flush(w.into_inner())
            }
            FileWriter::Csv(w) => flush(w.into_inner()),
        }
    }
}
