//! What one SQL statement asks for: a query, a view definition, a copy to files, a change of
//! a session setting, or a look at the catalog.

use std::fmt;

use arrow_schema::SchemaRef;
use datafusion_common::ScalarValue;

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

impl CopyFormat {
    /// The format a name (`parquet`, `json`/`ndjson`, `csv`; any case) denotes.
    pub fn from_name(name: &str) -> Option<CopyFormat> {
        match name.to_lowercase().as_str() {
            "parquet" => Some(CopyFormat::Parquet),
            "json" | "ndjson" | "jsonl" => Some(CopyFormat::Json),
            "csv" => Some(CopyFormat::Csv),
            _ => None,
        }
    }
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
    /// `CREATE [OR REPLACE] [TEMP] VIEW name AS query`.
    CreateView {
        /// The view name.
        name: String,
        /// The view's plan.
        plan: LogicalPlan,
        /// The query's SQL text, which a persistent view stores and binds again when used.
        query: String,
        /// Replace an existing view of that name.
        or_replace: bool,
        /// `TEMP`: the view lives as long as the session, never in the catalog.
        temporary: bool,
    },
    /// `COPY (query) TO 'path' (FORMAT json|parquet|csv, PARTITION_BY (c, ...))`.
    Copy {
        /// What to write.
        plan: LogicalPlan,
        /// The output directory.
        path: String,
        /// The file format.
        format: CopyFormat,
        /// Columns whose values choose each row's `c=value/` folder.
        partition_by: Vec<String>,
    },
    /// `CREATE [EXTERNAL] TABLE ...`, with or without `AS query`.
    CreateTable(Box<CreateTable>),
    /// `DROP TABLE|VIEW [IF EXISTS] name`.
    Drop {
        /// The table or view.
        name: String,
        /// `DROP VIEW` (else `DROP TABLE`).
        view: bool,
        /// No error when there is nothing of that name.
        if_exists: bool,
    },
    /// `ALTER TABLE|VIEW from RENAME TO to`.
    Rename {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `INSERT INTO|OVERWRITE [TABLE] t [PARTITION (...)] query`.
    Insert(Box<Insert>),
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

/// A bound `CREATE TABLE`.
#[derive(Debug, Clone)]
pub struct CreateTable {
    /// The table name.
    pub name: String,
    /// `OR REPLACE`.
    pub or_replace: bool,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `EXTERNAL`, or a `LOCATION`: the files belong to the user and stay when the table is
    /// dropped; otherwise the catalog owns them.
    pub external: bool,
    /// The files' format (Parquet when not given).
    pub format: CopyFormat,
    /// The declared columns, when the statement lists them.
    pub columns: Option<SchemaRef>,
    /// The hive partition columns (`PARTITIONED BY`), in folder order.
    pub partition_by: Vec<String>,
    /// Format options (`OPTIONS (header 'true', ...)`), keys lower-cased.
    pub options: Vec<(String, String)>,
    /// `LOCATION 'dir'`.
    pub location: Option<String>,
    /// `AS query`: the rows the table starts with.
    pub query: Option<LogicalPlan>,
}

/// Which existing rows an `INSERT OVERWRITE` replaces.
#[derive(Debug, Clone, PartialEq)]
pub enum OverwriteScope {
    /// Every row (no `PARTITION` clause).
    Table,
    /// The partitions whose folders match these static values (`PARTITION (c = v)`).
    Partitions(Vec<(String, ScalarValue)>),
    /// The partitions the query writes rows into (`PARTITION (c)`, Spark's dynamic overwrite),
    /// within the static values given with them.
    Written(Vec<(String, ScalarValue)>),
}

/// A bound `INSERT`.
#[derive(Debug, Clone)]
pub struct Insert {
    /// The target table.
    pub table: String,
    /// The rows to write, with the table's columns in the table's order and types.
    pub plan: LogicalPlan,
    /// `None` appends (`INSERT INTO`); `Some` replaces what the scope names.
    pub overwrite: Option<OverwriteScope>,
}
