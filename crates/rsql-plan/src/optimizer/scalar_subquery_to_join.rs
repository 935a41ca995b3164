//! `scalar_subquery_to_join`: a scalar subquery in a filter or projection becomes a join of
//! the node's input with the subquery, and the subquery a column of that join (Spark's
//! `RewriteCorrelatedScalarSubquery`, DataFusion's `scalar_subquery_to_join`).
//!
//! - Uncorrelated, the subquery is an aggregate without `GROUP BY` and so has exactly one row:
//!   a join without keys against that row.
//! - Correlated on equalities, its aggregate is grouped by the correlated columns and left
//!   joined on them, so the subquery runs once, not per outer row. An outer row without a group
//!   gets the aggregate's value over no rows: NULL, or 0 for `count` and the other
//!   [counting aggregates](crate::function::counts_rows) (the "count bug").

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{JoinType, ScalarValue};

use super::OptimizerRule;
use super::correlation::{self, Context};
use super::decorrelate_predicate_subquery::rewrite_inner;
use super::join_conditions::split_join_conditions;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, Subquery, column_refs, lit, subqueries};
use crate::function::{FunctionRegistry, counts_rows};
use crate::plan::{Aggregate, Filter, Join, LogicalPlan, Projection};

/// The `scalar_subquery_to_join` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScalarSubqueryToJoin;

/// The scalar subqueries of `exprs`, each once, in order.
fn scalar_subqueries(exprs: &[Expr]) -> Vec<Subquery> {
    let mut found: Vec<Subquery> = Vec::new();
    for expr in exprs {
        for subquery in subqueries(expr) {
            let scalar = expr
                .exists(|e| Ok(matches!(e, Expr::ScalarSubquery(s) if s == subquery)))
                .unwrap_or(false);
            if scalar && !found.contains(subquery) {
                found.push(subquery.clone());
            }
        }
    }
    found
}

/// `expr` with `subquery` replaced by `replacement`.
fn replace(expr: Expr, subquery: &Subquery, replacement: &Expr) -> Result<Expr> {
    expr.transform_down(|e| match &e {
        Expr::ScalarSubquery(s) if s == subquery => Ok(Transformed::new(
            replacement.clone(),
            true,
            TreeNodeRecursion::Jump,
        )),
        _ => Ok(Transformed::no(e)),
    })
    .map(|t| t.data)
    .map_err(PlanError::from_datafusion)
}

/// The aggregate a subquery's value comes from, through aliases and projections.
fn aggregate_below(plan: &LogicalPlan) -> Option<&Aggregate> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => Some(aggregate),
        LogicalPlan::SubqueryAlias(_) | LogicalPlan::Projection(_) => {
            aggregate_below(plan.inputs()[0])
        }
        _ => None,
    }
}

/// The subquery's value over no input rows: its first output expression with every aggregate
/// replaced by its value over no rows (0 for the counting ones, NULL otherwise). `None` when
/// that is NULL anyway (no counting aggregate involved).
fn value_over_no_rows(plan: &LogicalPlan) -> Result<Option<Expr>> {
    let (expr, aggregate) = match plan {
        LogicalPlan::SubqueryAlias(alias) => return value_over_no_rows(&alias.input),
        LogicalPlan::Projection(projection) => match projection.input.as_ref() {
            LogicalPlan::Aggregate(aggregate) => (projection.exprs[0].unaliased(), aggregate),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let groups = aggregate.group_exprs.len();
    let mut counts = false;
    let mut substituted = expr.clone();
    for column in column_refs(expr) {
        let Some(index) = aggregate
            .schema
            .index_of_column_by_name(column.relation.as_ref(), &column.name)
        else {
            continue;
        };
        let field = aggregate.schema.field(index);
        let value = match aggregate.aggr_exprs.get(index.wrapping_sub(groups)) {
            Some(call) if matches!(call.unaliased(), Expr::AggregateFunction { name, .. } if counts_rows(name)) =>
            {
                counts = true;
                lit(0i64)
            }
            _ => Expr::Literal(ScalarValue::try_from(field.data_type())?),
        };
        let target = Expr::Column(column);
        substituted = substituted
            .transform_up(|e| {
                Ok(if e == target {
                    Transformed::yes(value.clone())
                } else {
                    Transformed::no(e)
                })
            })
            .map_err(PlanError::from_datafusion)?
            .data;
    }
    Ok(counts.then_some(substituted))
}

/// `plan` (a subquery that may return several rows) reduced to its one value per correlation
/// key (per query when uncorrelated) by `single_value`, which fails on several: its value
/// first, then the key columns the correlated equalities read.
fn single_row_per_key(
    plan: LogicalPlan,
    conditions: &[Expr],
    subquery: &Subquery,
    registry: &FunctionRegistry,
) -> Result<LogicalPlan> {
    let mut keys: Vec<Expr> = Vec::new();
    for condition in conditions {
        let Some((inner, _)) = correlation::correlated_equality(condition) else {
            return Err(PlanError::not_supported(format!(
                "the scalar subquery ({}): correlated conditions other than equalities",
                subquery.sql
            )));
        };
        for column in column_refs(inner) {
            let column = Expr::Column(column);
            if !keys.contains(&column) {
                keys.push(column);
            }
        }
    }
    let value = Expr::Column(plan.schema().columns().remove(0));
    let name = value.output_name();
    let single = Expr::AggregateFunction {
        name: "single_value".into(),
        args: vec![value, lit(subquery.sql.as_str())],
        distinct: false,
    }
    .alias(name.clone());
    let aggregate = Aggregate::try_new(Arc::new(plan), keys.clone(), vec![single], registry)?;
    let mut exprs = vec![Expr::Column(datafusion_common::Column::from_name(name))];
    exprs.extend(keys);
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(LogicalPlan::Aggregate(aggregate)),
        registry,
    )?))
}

/// `outer` joined with `subquery`, and the expression that stands for the subquery's value.
fn join_subquery(
    outer: LogicalPlan,
    subquery: &Subquery,
    registry: &FunctionRegistry,
) -> Result<(LogicalPlan, Expr)> {
    let subquery = rewrite_inner(subquery, registry)?;
    let decorrelated = correlation::decorrelate(&subquery, Context::Scalar, registry)?;
    let empty_value = value_over_no_rows(&decorrelated.plan)?;
    // Grouped only by the correlated columns (or not at all, uncorrelated): one row per key.
    let one_row_per_key = aggregate_below(&decorrelated.plan).is_some_and(|aggregate| {
        if decorrelated.conditions.is_empty() {
            aggregate.group_exprs.is_empty()
        } else {
            decorrelated.grouped_scalar_aggregate
        }
    });
    let plan = if one_row_per_key {
        decorrelated.plan
    } else {
        single_row_per_key(
            decorrelated.plan,
            &decorrelated.conditions,
            &subquery,
            registry,
        )?
    };
    let alias = correlation::fresh_alias(&outer);
    let (inner, conditions) =
        correlation::alias_with_conditions(plan, decorrelated.conditions, &alias)?;
    let conditions = conditions
        .into_iter()
        .map(correlation::outer_to_columns)
        .collect::<Result<Vec<_>>>()?;
    let value = Expr::Column(inner.schema().columns().remove(0));
    if conditions.is_empty() {
        let join = Join::try_new(
            Arc::new(outer),
            Arc::new(inner),
            vec![],
            None,
            JoinType::Inner,
        )?;
        return Ok((LogicalPlan::Join(join), value));
    }
    let (on, filter) = split_join_conditions(conditions, &outer, &inner);
    if filter.is_some() || on.is_empty() {
        return Err(PlanError::not_supported(format!(
            "the scalar subquery ({}): correlated conditions other than equalities",
            subquery.sql
        )));
    }
    let replacement = match (&empty_value, decorrelated.grouped_scalar_aggregate) {
        (Some(empty), true) => Expr::Case {
            operand: None,
            when_then: vec![(on[0].1.clone().is_null(), empty.clone())],
            else_expr: Some(Box::new(value)),
        },
        _ => value,
    };
    let join = Join::try_new(Arc::new(outer), Arc::new(inner), on, None, JoinType::Left)?;
    Ok((LogicalPlan::Join(join), replacement))
}

/// `input` joined with every scalar subquery of `exprs`, and `exprs` reading the joins instead.
fn join_all(
    input: &LogicalPlan,
    exprs: Vec<Expr>,
    registry: &FunctionRegistry,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let mut plan = input.clone();
    let mut exprs = exprs;
    for subquery in scalar_subqueries(&exprs) {
        let (joined, replacement) = join_subquery(plan, &subquery, registry)?;
        plan = joined;
        exprs = exprs
            .into_iter()
            .map(|e| replace(e, &subquery, &replacement))
            .collect::<Result<_>>()?;
    }
    Ok((plan, exprs))
}

fn rewrite_node(
    node: LogicalPlan,
    registry: &FunctionRegistry,
) -> Result<Transformed<LogicalPlan>> {
    let has_scalar = |exprs: &[Expr]| !scalar_subqueries(exprs).is_empty();
    match &node {
        LogicalPlan::Filter(filter) if has_scalar(std::slice::from_ref(&filter.predicate)) => {
            let (input, mut predicate) =
                join_all(&filter.input, vec![filter.predicate.clone()], registry)?;
            let predicate = predicate.remove(0);
            let filtered = Filter::try_new(predicate, Arc::new(input), registry)?;
            let columns = filter
                .input
                .schema()
                .columns()
                .into_iter()
                .map(Expr::Column)
                .collect();
            let projection =
                Projection::try_new(columns, Arc::new(LogicalPlan::Filter(filtered)), registry)?;
            Ok(Transformed::yes(LogicalPlan::Projection(projection)))
        }
        LogicalPlan::Projection(projection) if has_scalar(&projection.exprs) => {
            let (input, exprs) = join_all(&projection.input, projection.exprs.clone(), registry)?;
            let exprs = exprs
                .into_iter()
                .zip(&projection.exprs)
                .map(|(new, old)| new.with_output_name(&old.output_name()))
                .collect();
            let projection = Projection::try_new(exprs, Arc::new(input), registry)?;
            Ok(Transformed::yes(LogicalPlan::Projection(projection)))
        }
        _ => Ok(Transformed::no(node)),
    }
}

impl OptimizerRule for ScalarSubqueryToJoin {
    fn name(&self) -> &str {
        "scalar_subquery_to_join"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up(|node| Ok(rewrite_node(node, registry)?))
            .map_err(PlanError::from_datafusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::test_util::{self, plan_of};

    fn rewritten(sql: &str) -> String {
        test_util::rewritten(&ScalarSubqueryToJoin, sql)
    }

    #[test]
    fn an_uncorrelated_aggregate_is_joined_as_its_one_row() {
        assert_eq!(
            rewritten("SELECT t.a FROM t WHERE t.c > (SELECT avg(c) FROM t)"),
            r#"Projection: t.a
  Projection: t.a, t.b, t.c
    Filter: t.c > __sq_1.avg(c)
      Cross Join:
        TableScan: t
        SubqueryAlias: __sq_1
          Projection: avg(c)
            Aggregate: groupBy=[[]], aggr=[[avg(t.c)]]
              TableScan: t"#
        );
    }

    #[test]
    fn a_correlated_aggregate_is_grouped_and_left_joined() {
        assert_eq!(
            rewritten("SELECT t.a FROM t WHERE t.a > (SELECT max(u.a) FROM u WHERE u.d = t.b)"),
            r#"Projection: t.a
  Projection: t.a, t.b, t.c
    Filter: t.a > __sq_1.max(u.a)
      Left Join: t.b = __sq_1.d
        TableScan: t
        SubqueryAlias: __sq_1
          Projection: max(a) AS max(u.a), u.d
            Aggregate: groupBy=[[u.d]], aggr=[[max(u.a)]]
              TableScan: u"#
        );
        // count over no rows is 0, not NULL.
        assert_eq!(
            rewritten("SELECT t.a, (SELECT count(*) FROM u WHERE u.a = t.a) AS n FROM t"),
            r#"Projection: t.a, CASE WHEN __sq_1.a IS NULL THEN Int64(0) ELSE __sq_1.count(*) END AS n
  Left Join: t.a = __sq_1.a
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: count(*), u.a
        Aggregate: groupBy=[[u.a]], aggr=[[count(*)]]
          TableScan: u"#
        );
    }

    #[test]
    fn subqueries_that_may_return_several_rows_are_checked_per_key() {
        assert_eq!(
            rewritten("SELECT (SELECT u.d FROM u WHERE u.a = t.a) AS d FROM t"),
            r#"Projection: __sq_1.d AS d
  Left Join: t.a = __sq_1.a
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: d, u.a
        Aggregate: groupBy=[[u.a]], aggr=[[single_value(u.d, Utf8("SELECT u.d FROM u WHERE u.a = t.a")) AS d]]
          Projection: u.d, u.a
            TableScan: u"#
        );
        let registry = FunctionRegistry::new();
        let sql = "SELECT (SELECT u.d FROM u WHERE u.a > t.a) FROM t";
        let error = ScalarSubqueryToJoin
            .rewrite(plan_of(sql), &registry)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not supported yet"), "{sql}: {error}");
    }
}
