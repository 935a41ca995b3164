//! A catalog and helpers for the rules' plan-shape tests.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::OptimizerRule;
use crate::function::FunctionRegistry;
use crate::plan::{Catalog, LogicalPlan, PathRequest, SchemaSource, Statement, TableSource};
use crate::{PlanError, Result, bind_sql};

struct TestCatalog;

fn source(fields: Vec<Field>, partitions: &[&str]) -> SchemaSource {
    let partitions = partitions.iter().map(|p| p.to_string()).collect();
    SchemaSource::new(Arc::new(Schema::new(fields)), partitions)
}

impl Catalog for TestCatalog {
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let table = match name {
            "events" => source(
                vec![
                    Field::new("url", DataType::Utf8, true),
                    Field::new("referrer", DataType::Utf8, true),
                    Field::new("session_id", DataType::Utf8, true),
                    Field::new("ts", ts, true),
                    Field::new("customer", dict, false),
                ],
                &["customer"],
            ),
            "t" => source(
                vec![
                    Field::new("a", DataType::Int64, false),
                    Field::new("b", DataType::Utf8, true),
                    Field::new("c", DataType::Float64, true),
                ],
                &[],
            )
            .with_num_rows(1000),
            "u" => source(
                vec![
                    Field::new("a", DataType::Int64, false),
                    Field::new("d", DataType::Utf8, true),
                ],
                &[],
            )
            .with_num_rows(100),
            "v" => source(
                vec![
                    Field::new("e", DataType::Int64, true),
                    Field::new("d", DataType::Utf8, true),
                ],
                &[],
            )
            .with_num_rows(10),
            // A dimension small enough to broadcast.
            "dim" => source(
                vec![
                    Field::new("k", DataType::Int64, false),
                    Field::new("name", DataType::Utf8, true),
                ],
                &[],
            )
            .with_num_rows(50)
            .with_total_bytes(1000),
            _ => return None,
        };
        Some(Arc::new(table))
    }

    fn resolve_path(&self, request: &PathRequest) -> Result<Arc<dyn TableSource>> {
        Err(PlanError::invalid(format!(
            "no path {} in tests",
            request.first_path()
        )))
    }
}

/// The bound plan of a query (panics on bind errors: test input is fixed).
pub fn plan_of(sql: &str) -> LogicalPlan {
    match bind_sql(sql, &TestCatalog, &FunctionRegistry::new()) {
        Ok(Statement::Query(plan)) => plan,
        other => panic!("{sql}: {other:?}"),
    }
}

/// The bound plan of a query with its subqueries made joins and its filters pushed down: the
/// shape the join rules see.
pub fn joined_plan_of(sql: &str) -> LogicalPlan {
    let registry = FunctionRegistry::new();
    let mut plan = plan_of(sql);
    for rule in [
        &super::DecorrelatePredicateSubquery as &dyn OptimizerRule,
        &super::PushDownFilter,
    ] {
        plan = rule.rewrite(plan, &registry).unwrap().data;
    }
    plan
}

/// The plan text after one application of `rule`, and whether it reported a change.
pub fn apply(rule: &dyn OptimizerRule, sql: &str) -> (String, bool) {
    let registry = FunctionRegistry::new();
    let plan = plan_of(sql);
    let before: Vec<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let result = rule.rewrite(plan, &registry).unwrap();
    let after: Vec<String> = result
        .data
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(before, after, "{} changed the schema", rule.name());
    (result.data.display_indent(), result.transformed)
}

/// The plan text after one application of `rule`, which must change the plan.
pub fn rewritten(rule: &dyn OptimizerRule, sql: &str) -> String {
    let (after, changed) = apply(rule, sql);
    assert!(changed, "{} left the plan unchanged: {sql}", rule.name());
    after
}
