//! The error type of every fallible operation in this crate.

use std::path::PathBuf;

/// Errors raised while listing, reading or writing datasets.
///
/// Every variant that concerns a file names it, so a user can find the culprit.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The path, directory or glob matched nothing.
    #[error("path not found: {0}")]
    NotFound(String),
    /// A glob pattern matched no file.
    #[error("no files match the pattern {0}")]
    NoMatch(String),
    /// An operating-system error while touching `path`.
    #[error("{path}: {source}")]
    Fs {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A glob pattern could not be parsed.
    #[error("invalid glob pattern {pattern}: {message}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// A row group of a Parquet file could not be decoded (corrupt pages, unreadable bytes).
    #[error("{file}: row group {row_group}: {source}")]
    ParquetRowGroup {
        /// The file involved.
        file: String,
        /// The zero-based row group index.
        row_group: usize,
        /// The underlying decoder error.
        source: arrow::error::ArrowError,
    },
    /// A Parquet file could not be decoded (corrupt, truncated, wrong magic, ...).
    #[error("{file}: invalid Parquet file: {source}")]
    Parquet {
        /// The file involved.
        file: String,
        /// The underlying decoder error.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow error while decoding, converting or encoding data of `file`.
    #[error("{file}: {source}")]
    Arrow {
        /// The file involved.
        file: String,
        /// The underlying Arrow error.
        source: arrow::error::ArrowError,
    },
    /// A record of a text file (an NDJSON line, a CSV row) is malformed.
    #[error("{file}:{line}: malformed {format} record: {message}")]
    MalformedRecord {
        /// The format: `JSON` or `CSV`.
        format: &'static str,
        /// The file involved.
        file: String,
        /// The one-based line the record starts on.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// Two files disagree on the type of a column and the types cannot be widened.
    #[error(
        "schema conflict on column `{column}`: {first_file} has {first_type}, {second_file} has {second_type}"
    )]
    SchemaConflict {
        /// The column name.
        column: String,
        /// A file holding the first type.
        first_file: String,
        /// The first type.
        first_type: String,
        /// A file holding the second, incompatible type.
        second_file: String,
        /// The second type.
        second_type: String,
    },
    /// A column named in a projection, predicate, partitioning or schema does not exist.
    #[error("no column named `{column}`; valid columns are {valid}")]
    UnknownColumn {
        /// The missing name.
        column: String,
        /// The names that exist, comma separated.
        valid: String,
    },
    /// A request that cannot be honoured as given (bad option, unsupported combination).
    #[error("{0}")]
    Invalid(String),
    /// The write target already exists and the save mode forbids replacing it.
    #[error("output path already exists: {0}")]
    AlreadyExists(PathBuf),
    /// An object-store (e.g. S3) request failed.
    #[error("{location}: {source}")]
    ObjectStore {
        /// The object URL involved.
        location: String,
        /// The underlying error.
        source: object_store::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = IoError> = std::result::Result<T, E>;

impl IoError {
    /// Wraps an operating-system error with the path it concerns.
    pub fn fs(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError::Fs {
            path: path.into(),
            source,
        }
    }

    /// Wraps an Arrow error with the file it concerns.
    pub fn arrow(file: impl Into<String>, source: arrow::error::ArrowError) -> Self {
        IoError::Arrow {
            file: file.into(),
            source,
        }
    }

    /// Wraps a Parquet error with the file it concerns.
    pub fn parquet(file: impl Into<String>, source: parquet::errors::ParquetError) -> Self {
        IoError::Parquet {
            file: file.into(),
            source,
        }
    }
}
