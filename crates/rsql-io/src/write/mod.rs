//! Writing batches to Parquet, NDJSON or CSV files with partitioned output and atomic commit.

mod commit;
mod file_writer;
mod parallel_parquet;
mod part_writer;

pub use commit::{OutputJob, SUCCESS_MARKER};
pub use file_writer::parse_compression;
pub use parallel_parquet::ParquetFileWriter;
pub use part_writer::PartWriter;

use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::basic::Compression;

use crate::error::Result;

/// The output file format.
#[derive(Debug, Clone)]
pub enum WriteFormat {
    /// Apache Parquet.
    Parquet {
        /// The codec (default snappy).
        compression: Compression,
        /// The maximum number of rows per row group (must be positive).
        row_group_size: usize,
    },
    /// Newline-delimited JSON: structs and maps as objects, lists as arrays, timestamps as
    /// ISO-8601 strings.
    Json {
        /// Write null fields and null map values as `null`; when false (Spark's
        /// `ignoreNullFields`) they are left out.
        explicit_nulls: bool,
    },
    /// CSV.
    Csv {
        /// Whether to write a header line.
        header: bool,
        /// The field delimiter.
        delimiter: u8,
    },
}

impl WriteFormat {
    /// Parquet with snappy compression and row groups of 1Mi rows.
    pub fn parquet() -> Self {
        Self::parquet_with_row_groups(1024 * 1024)
    }

    /// Parquet with snappy compression and row groups of `rows` rows: smaller groups let
    /// row-group statistics skip more, larger ones compress better.
    pub fn parquet_with_row_groups(rows: usize) -> Self {
        WriteFormat::Parquet {
            compression: Compression::SNAPPY,
            row_group_size: rows.max(1),
        }
    }

    /// NDJSON leaving null fields out.
    pub fn json() -> Self {
        WriteFormat::Json {
            explicit_nulls: false,
        }
    }

    /// CSV with a header line and commas.
    pub fn csv() -> Self {
        WriteFormat::Csv {
            header: true,
            delimiter: b',',
        }
    }

    /// The file name extension.
    fn extension(&self) -> &'static str {
        match self {
            WriteFormat::Parquet { .. } => "parquet",
            WriteFormat::Json { .. } => "json",
            WriteFormat::Csv { .. } => "csv",
        }
    }
}

/// What to do when the target already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveMode {
    /// Fail with [`crate::IoError::AlreadyExists`].
    #[default]
    ErrorIfExists,
    /// Replace the target's contents.
    Overwrite,
    /// Add new files next to the existing ones.
    Append,
}

/// How to write a dataset.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The file format.
    pub format: WriteFormat,
    /// What to do when the target exists.
    pub mode: SaveMode,
    /// Columns whose values choose the `col=value/` folder of each row; they are not
    /// written into the files.
    pub partition_by: Vec<String>,
}

impl WriteOptions {
    /// Unpartitioned output in `format`, failing if the target exists.
    pub fn new(format: WriteFormat) -> Self {
        WriteOptions {
            format,
            mode: SaveMode::default(),
            partition_by: Vec::new(),
        }
    }

    /// Sets the save mode.
    pub fn with_mode(mut self, mode: SaveMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the partition columns.
    pub fn with_partition_by(mut self, columns: &[&str]) -> Self {
        self.partition_by = columns.iter().map(|c| c.to_string()).collect();
        self
    }
}

/// Writes `batches` as one part to `target` and commits; on any error the target is left
/// as it was.
pub fn write_batches(
    target: impl AsRef<Path>,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
    options: WriteOptions,
) -> Result<()> {
    let job = OutputJob::begin(target, schema, options)?;
    let mut part = job.part_writer(0)?;
    for batch in batches {
        part.write(&batch?)?;
    }
    part.finish()?;
    job.commit()
}
