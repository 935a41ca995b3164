//! A mock catalog for binder and optimizer tests: `events` (hive-partitioned like the events
//! job's input), `t` and `u`.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use rsql_plan::plan::FileFormatName;
use rsql_plan::{
    Catalog, FunctionRegistry, LogicalPlan, PathRequest, PlanError, Result, SchemaSource,
    Statement, TableSource, bind_sql,
};

fn dict(value: DataType) -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(value))
}

/// The events table: file columns, then the hive partition columns.
pub fn events() -> Arc<dyn TableSource> {
    let schema = Schema::new(vec![
        Field::new("url", DataType::Utf8, true),
        Field::new("referrer", DataType::Utf8, true),
        Field::new("session_id", DataType::Utf8, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("year", dict(DataType::Int32), false),
        Field::new("month", dict(DataType::Int32), false),
        Field::new("day", dict(DataType::Int32), false),
        Field::new("hour", dict(DataType::Int32), false),
        Field::new("customer", dict(DataType::Utf8), false),
    ]);
    let partitions = ["year", "month", "day", "hour", "customer"].map(String::from);
    Arc::new(SchemaSource::new(Arc::new(schema), partitions.to_vec()))
}

fn table(fields: Vec<Field>) -> Arc<dyn TableSource> {
    Arc::new(SchemaSource::new(Arc::new(Schema::new(fields)), vec![]))
}

/// Tables `events`, `t(a, b, c)` and `u(a, d)`; any path resolves to the events layout.
pub struct MockCatalog;

impl Catalog for MockCatalog {
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        match name.to_lowercase().as_str() {
            "events" => Some(events()),
            "t" => Some(table(vec![
                Field::new("a", DataType::Int64, false),
                Field::new("b", DataType::Utf8, true),
                Field::new("c", DataType::Float64, true),
            ])),
            "u" => Some(table(vec![
                Field::new("a", DataType::Int64, false),
                Field::new("d", DataType::Utf8, true),
            ])),
            _ => None,
        }
    }

    fn table_names(&self) -> Vec<String> {
        ["events", "t", "u"].map(String::from).to_vec()
    }

    fn resolve_path(&self, request: &PathRequest) -> Result<Arc<dyn TableSource>> {
        match request.format {
            None | Some(FileFormatName::Parquet) | Some(FileFormatName::Json) => Ok(events()),
            Some(FileFormatName::Csv) => Err(PlanError::invalid(format!(
                "no csv files under {}",
                request.first_path()
            ))),
        }
    }
}

/// Binds `sql` against the mock catalog and the built-in functions.
pub fn bind(sql: &str) -> Result<Statement> {
    bind_sql(sql, &MockCatalog, &FunctionRegistry::new())
}

/// The plan of a query, or the bind error.
pub fn plan(sql: &str) -> Result<LogicalPlan> {
    match bind(sql)? {
        Statement::Query(plan) => Ok(plan),
        other => Err(PlanError::invalid(format!("not a query: {other:?}"))),
    }
}

/// The indented plan text of a query, panicking with the error if it does not bind.
pub fn plan_text(sql: &str) -> String {
    match plan(sql) {
        Ok(plan) => plan.display_indent(),
        Err(err) => panic!("{sql}\n  failed: {err}"),
    }
}

/// The error message of a statement that must fail to bind.
pub fn error_text(sql: &str) -> String {
    match bind(sql) {
        Ok(statement) => panic!("{sql}\n  bound unexpectedly: {statement:?}"),
        Err(err) => err.to_string(),
    }
}
