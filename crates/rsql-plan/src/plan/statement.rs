//! What one SQL statement asks for: a query, a view definition, or a copy to files.

use std::fmt;

use super::LogicalPlan;

/// The output format of `COPY (query) TO 'dir' (FORMAT ..)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// Newline-delimited JSON.
    Json,
    /// Parquet.
    Parquet,
    /// CSV with a header.
    Csv,
}

impl fmt::Display for CopyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CopyFormat::Json => "json",
            CopyFormat::Parquet => "parquet",
            CopyFormat::Csv => "csv",
        })
    }
}

/// A bound SQL statement.
#[derive(Debug, Clone)]
pub enum Statement {
    /// A query (including `EXPLAIN`, as a plan node).
    Query(LogicalPlan),
    /// `CREATE [OR REPLACE] TEMP VIEW name AS query`.
    CreateView {
        /// The view name.
        name: String,
        /// The view's plan.
        plan: LogicalPlan,
        /// Replace an existing view of that name.
        or_replace: bool,
    },
    /// `COPY (query) TO 'path' (FORMAT json|parquet|csv)`.
    Copy {
        /// What to write.
        plan: LogicalPlan,
        /// The output directory.
        path: String,
        /// The file format.
        format: CopyFormat,
    },
}
