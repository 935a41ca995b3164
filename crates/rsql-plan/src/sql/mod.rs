//! The SQL binder: sqlparser's AST to a [`Statement`] over [`LogicalPlan`]s, with names
//! resolved against schemas, types coerced and errors that point at the SQL.
//!
//! Spark flavour: backtick identifiers; case-insensitive function, table and column names (an
//! exact match wins); `FROM 'path'` and `FROM parquet.\`dir\``; integer `/` divides as double;
//! `ORDER BY` puts NULLs first ascending and last descending; GROUP BY accepts ordinals and
//! select aliases. From DuckDB: the table functions `read_parquet(..)`, `read_csv(..)`,
//! `read_json(..)`, `range(..)` and `generate_series(..)`.

mod aggregate_filter;
mod ddl;
mod ddl_parse;
mod expr;
mod function;
mod generate;
mod grouping_sets;
mod ident;
mod inspect;
pub(crate) mod parse;
mod query;
mod relation;
mod select;
mod set_operation;
mod settings;
mod statement;
mod string_syntax;
mod subquery;
mod table_function;
mod types;
mod window;

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion_common::DFSchemaRef;

use crate::error::Result;
use crate::function::FunctionRegistry;
use crate::plan::{Catalog, LogicalPlan, Statement};
use crate::time_zone::TimeZone;

pub use parse::parse_statement;
pub use types::{arrow_type, schema_type, sql_type_name};

/// Binds SQL statements against a catalog and a function registry.
pub struct SqlBinder<'a> {
    catalog: &'a dyn Catalog,
    registry: &'a FunctionRegistry,
    /// Common table expressions in scope, innermost `WITH` last; names lower-cased.
    ctes: RefCell<Vec<HashMap<String, LogicalPlan>>>,
    /// The input schemas of the queries enclosing the subquery being bound, innermost last:
    /// names not found in the subquery resolve to their columns as outer references.
    outer: RefCell<Vec<DFSchemaRef>>,
    /// When the statement is bound, in microseconds since the epoch: the one instant every
    /// clock function of the query (`current_date`, `now`, ...) reads.
    now_micros: i64,
    /// The session time zone, in which `current_date` is today.
    time_zone: TimeZone,
}

impl<'a> SqlBinder<'a> {
    /// A binder resolving tables in `catalog` and functions in `registry`.
    pub fn new(catalog: &'a dyn Catalog, registry: &'a FunctionRegistry) -> Self {
        SqlBinder {
            catalog,
            registry,
            ctes: RefCell::default(),
            outer: RefCell::default(),
            now_micros: clock_now_micros(),
            time_zone: TimeZone::utc(),
        }
    }

    /// This binder for a session whose time zone is `time_zone` (UTC unless set).
    pub fn with_time_zone(mut self, time_zone: TimeZone) -> Self {
        self.time_zone = time_zone;
        self
    }

    /// This binder with its clock functions reading `now_micros` (microseconds since the epoch)
    /// instead of the time it was made.
    pub fn at_instant(mut self, now_micros: i64) -> Self {
        self.now_micros = now_micros;
        self
    }

    /// Parses and binds one SQL statement.
    pub fn bind_sql(&self, sql: &str) -> Result<Statement> {
        if settings::is_bare_set(sql) {
            return Ok(Statement::ShowSettings(None));
        }
        if settings::is_reset_time_zone(sql) {
            return Ok(Statement::Reset(Some("time_zone".into())));
        }
        if let Some(ddl) = ddl_parse::parse_ddl(sql)? {
            return self.bind_ddl(ddl);
        }
        let statement = parse_statement(sql)?;
        self.bind_statement(&statement)
    }
}

/// The system clock in microseconds since the epoch (0 if it is set before 1970).
fn clock_now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Parses and binds one SQL statement: `bind_sql("SELECT ...", &catalog, &registry)`.
pub fn bind_sql(
    sql: &str,
    catalog: &dyn Catalog,
    registry: &FunctionRegistry,
) -> Result<Statement> {
    SqlBinder::new(catalog, registry).bind_sql(sql)
}
