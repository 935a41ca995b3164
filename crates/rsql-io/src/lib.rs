//! Arrow datasets for rsql.
//!
//! Reading: [`Dataset::open`] lists a file, directory tree or glob (local or `s3://`),
//! discovers hive partition columns and settles one schema; [`Dataset::scan`] prunes
//! partitions and Parquet row groups with a [`Predicate`], and cuts the rest into
//! [`ReadUnit`]s that [`Scan::read`] decodes into Arrow batches of the projected columns.
//! [`Scan::to_spec`] describes a planned scan as serializable data ([`ScanSpec`]), from which
//! [`Scan::from_spec`] rebuilds it elsewhere without listing or pruning again.
//!
//! Writing: [`OutputJob`] stages Parquet, NDJSON or CSV parts (optionally partitioned into
//! `col=value/` folders) next to the target and moves them into place on commit.
//!
//! This crate knows nothing of query plans.

mod csv_read;
mod dataset;
mod error;
mod json_read;
mod listing;
mod location;
mod metrics;
mod parquet_read;
mod partition;
mod predicate;
mod read_mode;
mod s3;
mod scan;
mod schema;
mod source;
mod text_records;
mod write;

pub use csv_read::CsvOptions;
pub use dataset::{Dataset, DatasetOptions, FileFormat};
pub use error::{IoError, Result};
pub use json_read::JsonOptions;
pub use listing::{ListedFile, list_files};
pub use location::Location;
pub use metrics::ReadMetrics;
pub use partition::{HIVE_DEFAULT_PARTITION, escape_value};
pub use predicate::{CmpOp, Literal, Predicate};
pub use read_mode::{CORRUPT_RECORD_COLUMN, ReadMode};
pub use s3::{S3Bucket, S3Object};
pub use scan::{FilePart, FileSpec, ReadUnit, Scan, ScanOptions, ScanSpec, UnitReader};
pub use schema::{ipc_schema, merge_schemas};
pub use source::FileSource;
pub use write::{
    OutputJob, ParquetFileWriter, PartWriter, SUCCESS_MARKER, SaveMode, WriteFormat, WriteOptions,
    parse_compression, write_batches,
};
