//! What one SQL statement asks for: a query, a view definition, a copy to files, a change of
//! a session setting, or a look at the catalog.

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
    /// `SET name = value`: changes a session setting (validated by the session, which owns the
    /// settings).
    Set {
        /// The setting's name as written (`shuffle_partitions`, `spark.sql.shuffle.partitions`).
        name: String,
        /// The value as text (quotes removed).
        value: String,
    },
    /// `RESET name` (`Some`) or `RESET ALL` (`None`): back to the value the session started with.
    Reset(Option<String>),
    /// `SHOW name` (`Some`), or `SET` / `SHOW ALL` (`None`): settings and their values.
    ShowSettings(Option<String>),
    /// `SHOW TABLES [LIKE 'pattern']`.
    ShowTables(Option<String>),
    /// `SHOW FUNCTIONS [LIKE 'pattern']`.
    ShowFunctions(Option<String>),
    /// `SHOW COLUMNS FROM t`: the column names of a table, view or path.
    ShowColumns(LogicalPlan),
    /// `DESCRIBE [EXTENDED] t` and `DESCRIBE SELECT ...`: the columns of a relation.
    Describe {
        /// The relation described; nothing of it runs.
        plan: LogicalPlan,
        /// The registered table's name, when a table (not a query) is described.
        table: Option<String>,
        /// `EXTENDED`: also the table's location, format, partitioning, files, rows and bytes.
        extended: bool,
    },
}
