//! `decorrelate_predicate_subquery`: a `WHERE` (or `HAVING`) conjunct `[NOT] EXISTS (..)` or
//! `x [NOT] IN (..)` becomes a semi or anti join of the filtered input with the subquery, its
//! correlated conditions the join's condition (Spark's `RewritePredicateSubquery`). `NOT IN`
//! keeps SQL's three-valued logic: a null-aware anti join when uncorrelated, an anti join whose
//! condition also matches NULLs when correlated, a plain anti join when neither side can be
//! NULL. Subqueries are rewritten innermost first, and none is ever run once per outer row.
//!
//! An `EXISTS` or `IN` used as a value (inside `OR` or `CASE`, or in a select list) becomes a
//! mark join instead: every row of the input with a boolean `mark` saying whether it has a
//! match (NULL where `IN`'s three-valued logic says unknown), which the expression then reads.

use std::sync::Arc;

use datafusion_common::JoinType;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};

use super::OptimizerRule;
use super::correlation::{self, Context};
use super::join_conditions::split_join_conditions;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, Subquery, conjunction, split_conjunction};
use crate::function::FunctionRegistry;
use crate::plan::{Filter, Join, LogicalPlan, Projection};

/// The `decorrelate_predicate_subquery` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecorrelatePredicateSubquery;

/// A conjunct this rule rewrites.
struct PredicateSubquery<'a> {
    subquery: &'a Subquery,
    /// The value of `x IN (..)`.
    value: Option<&'a Expr>,
    /// `NOT EXISTS` / `NOT IN`.
    negated: bool,
}

fn predicate_subquery(conjunct: &Expr) -> Option<PredicateSubquery<'_>> {
    match conjunct {
        Expr::Exists { subquery, negated } => Some(PredicateSubquery {
            subquery,
            value: None,
            negated: *negated,
        }),
        Expr::InSubquery {
            expr,
            subquery,
            negated,
        } => Some(PredicateSubquery {
            subquery,
            value: Some(expr),
            negated: *negated,
        }),
        Expr::Not(inner) => predicate_subquery(inner).map(|p| PredicateSubquery {
            negated: !p.negated,
            ..p
        }),
        _ => None,
    }
}

/// Rewrites the subqueries inside `subquery`'s own plan first.
pub(super) fn rewrite_inner(subquery: &Subquery, registry: &FunctionRegistry) -> Result<Subquery> {
    let plan = Arc::unwrap_or_clone(Arc::clone(&subquery.plan));
    let plan = DecorrelatePredicateSubquery.rewrite(plan, registry)?.data;
    let plan = super::ScalarSubqueryToJoin.rewrite(plan, registry)?.data;
    Ok(Subquery {
        plan: Arc::new(plan),
        sql: subquery.sql.clone(),
    })
}

/// The subquery of `predicate`, decorrelated and aliased apart from `outer`, and its
/// correlated conditions over both.
fn decorrelated(
    outer: &LogicalPlan,
    predicate: &PredicateSubquery<'_>,
    registry: &FunctionRegistry,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let subquery = rewrite_inner(predicate.subquery, registry)?;
    let decorrelated = correlation::decorrelate(&subquery, Context::Predicate, registry)?;
    let alias = correlation::fresh_alias(outer);
    let (inner, conditions) =
        correlation::alias_with_conditions(decorrelated.plan, decorrelated.conditions, &alias)?;
    let conditions = conditions
        .into_iter()
        .map(correlation::outer_to_columns)
        .collect::<Result<Vec<_>>>()?;
    Ok((inner, conditions))
}

/// `outer` semi (or anti) joined with the subquery of `predicate`.
fn join_subquery(
    outer: LogicalPlan,
    predicate: &PredicateSubquery<'_>,
    registry: &FunctionRegistry,
) -> Result<LogicalPlan> {
    let (inner, mut conditions) = decorrelated(&outer, predicate, registry)?;
    let join_type = if predicate.negated {
        JoinType::LeftAnti
    } else {
        JoinType::LeftSemi
    };
    if let Some(value) = predicate.value {
        let column = Expr::Column(inner.schema().columns().remove(0));
        let nullable = value.nullable(outer.schema())? || column.nullable(inner.schema())?;
        let equal = value.clone().eq(column.clone());
        if predicate.negated && nullable {
            if conditions.is_empty() {
                return Ok(LogicalPlan::Join(Join::null_aware(
                    Arc::new(outer),
                    Arc::new(inner),
                    (value.clone(), column),
                    JoinType::LeftAnti,
                )?));
            }
            // A NULL comparison is no proof of difference: it excludes the row too.
            conditions.push(equal.or(value.clone().is_null()).or(column.is_null()));
        } else {
            conditions.push(equal);
        }
    }
    let (on, filter) = split_join_conditions(conditions, &outer, &inner);
    Ok(LogicalPlan::Join(Join::try_new(
        Arc::new(outer),
        Arc::new(inner),
        on,
        filter,
        join_type,
    )?))
}

/// `outer` mark joined with the subquery of `predicate` (an `EXISTS` or `IN` used as a value,
/// inside `OR`, `CASE` or a select list), and the expression standing for its value.
fn mark_join_subquery(
    outer: LogicalPlan,
    predicate: &PredicateSubquery<'_>,
    registry: &FunctionRegistry,
) -> Result<(LogicalPlan, Expr)> {
    let (inner, mut conditions) = decorrelated(&outer, predicate, registry)?;
    let (outer, inner) = (Arc::new(outer), Arc::new(inner));
    let join = match predicate.value {
        Some(value) => {
            let column = Expr::Column(inner.schema().columns().remove(0));
            let nullable = value.nullable(outer.schema())? || column.nullable(inner.schema())?;
            match (nullable, conditions.is_empty()) {
                (true, true) => {
                    Join::null_aware(outer, inner, (value.clone(), column), JoinType::LeftMark)?
                }
                (true, false) => {
                    return Err(PlanError::not_supported(format!(
                        "{} IN (correlated subquery ({})) as a value, where either side may be \
                         NULL",
                        value, predicate.subquery.sql
                    )));
                }
                (false, _) => {
                    conditions.push(value.clone().eq(column));
                    let (on, filter) = split_join_conditions(conditions, &outer, &inner);
                    Join::try_new(outer, inner, on, filter, JoinType::LeftMark)?
                }
            }
        }
        None => {
            let (on, filter) = split_join_conditions(conditions, &outer, &inner);
            Join::try_new(outer, inner, on, filter, JoinType::LeftMark)?
        }
    };
    let mark = Expr::Column(
        join.schema
            .columns()
            .pop()
            .ok_or_else(|| PlanError::Internal("a mark join without its mark column".into()))?,
    );
    let value = if predicate.negated { !mark } else { mark };
    Ok((LogicalPlan::Join(join), value))
}

/// The `EXISTS` and `IN` subqueries of `exprs` (not looking inside them), each once.
fn predicate_subqueries(exprs: &[Expr]) -> Vec<Expr> {
    let mut found: Vec<Expr> = Vec::new();
    for expr in exprs {
        // The closure never fails.
        let _ = expr.apply(|e| {
            if matches!(e, Expr::Exists { .. } | Expr::InSubquery { .. }) {
                if !found.contains(e) {
                    found.push(e.clone());
                }
                return Ok(TreeNodeRecursion::Jump);
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
    found
}

/// `input` mark joined with every `EXISTS` and `IN` subquery of `exprs`, and `exprs` reading
/// the marks instead.
fn mark_all(
    input: LogicalPlan,
    exprs: Vec<Expr>,
    registry: &FunctionRegistry,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let mut plan = input;
    let mut exprs = exprs;
    for found in predicate_subqueries(&exprs) {
        let predicate = predicate_subquery(&found)
            .ok_or_else(|| PlanError::Internal(format!("not a subquery predicate: {found}")))?;
        let (joined, mark) = mark_join_subquery(plan, &predicate, registry)?;
        plan = joined;
        exprs = exprs
            .into_iter()
            .map(|e| {
                e.transform_down(|node| {
                    Ok(if node == found {
                        Transformed::new(mark.clone(), true, TreeNodeRecursion::Jump)
                    } else {
                        Transformed::no(node)
                    })
                })
                .map(|t| t.data)
                .map_err(PlanError::from_datafusion)
            })
            .collect::<Result<_>>()?;
    }
    Ok((plan, exprs))
}

/// `Filter(predicate)` over `input`, with subqueries left in the predicate mark joined and the
/// output cut back to `columns` (the filter's original output).
fn filter_with_marks(
    input: LogicalPlan,
    kept: Vec<Expr>,
    columns: &datafusion_common::DFSchema,
    registry: &FunctionRegistry,
) -> Result<LogicalPlan> {
    let Some(predicate) = conjunction(kept) else {
        return Ok(input);
    };
    if predicate_subqueries(std::slice::from_ref(&predicate)).is_empty() {
        return Ok(LogicalPlan::Filter(Filter::try_new(
            predicate,
            Arc::new(input),
            registry,
        )?));
    }
    let (joined, mut predicate) = mark_all(input, vec![predicate], registry)?;
    let filtered = Filter::try_new(predicate.remove(0), Arc::new(joined), registry)?;
    let exprs = columns.columns().into_iter().map(Expr::Column).collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(LogicalPlan::Filter(filtered)),
        registry,
    )?))
}

/// A projection whose expressions hold `EXISTS` or `IN` subqueries, over mark joins.
fn project_with_marks(projection: &Projection, registry: &FunctionRegistry) -> Result<LogicalPlan> {
    let input = projection.input.as_ref().clone();
    let (joined, exprs) = mark_all(input, projection.exprs.clone(), registry)?;
    let exprs = exprs
        .into_iter()
        .zip(&projection.exprs)
        .map(|(new, old)| new.with_output_name(&old.output_name()))
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(joined),
        registry,
    )?))
}

/// An inner join whose condition holds subqueries, as a filter of those conjuncts over the
/// join of the others (the same rows), so the subqueries are rewritten as in a `WHERE`.
fn lift_subquery_conditions(
    node: LogicalPlan,
    registry: &FunctionRegistry,
) -> Result<Transformed<LogicalPlan>> {
    let LogicalPlan::Join(join) = &node else {
        return Ok(Transformed::no(node));
    };
    let Some(condition) = join.filter.as_ref().filter(|f| f.contains_subquery()) else {
        return Ok(Transformed::no(node));
    };
    if join.join_type != JoinType::Inner {
        return Err(PlanError::not_supported(format!(
            "a subquery in the condition of a {} join: {condition}",
            join.join_type
        )));
    }
    let (lifted, kept): (Vec<Expr>, Vec<Expr>) = split_conjunction(condition)
        .into_iter()
        .cloned()
        .partition(Expr::contains_subquery);
    let join = LogicalPlan::Join(Join {
        filter: conjunction(kept),
        ..join.clone()
    });
    let predicate =
        conjunction(lifted).ok_or_else(|| PlanError::Internal("no lifted condition".into()))?;
    let filter = Filter::try_new(predicate, Arc::new(join), registry)?;
    Ok(Transformed::yes(LogicalPlan::Filter(filter)))
}

impl OptimizerRule for DecorrelatePredicateSubquery {
    fn name(&self) -> &str {
        "decorrelate_predicate_subquery"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up(|node| {
            let node = lift_subquery_conditions(node, registry)?;
            let filter = match &node.data {
                LogicalPlan::Filter(filter) => filter,
                LogicalPlan::Projection(projection)
                    if !predicate_subqueries(&projection.exprs).is_empty() =>
                {
                    return Ok(Transformed::yes(project_with_marks(projection, registry)?));
                }
                _ => return Ok(node),
            };
            if predicate_subqueries(std::slice::from_ref(&filter.predicate)).is_empty() {
                return Ok(node);
            }
            let mut input = filter.input.as_ref().clone();
            let mut kept = Vec::new();
            for conjunct in split_conjunction(&filter.predicate) {
                match predicate_subquery(conjunct) {
                    Some(predicate) => {
                        input = join_subquery(input, &predicate, registry)?;
                    }
                    None => kept.push(conjunct.clone()),
                }
            }
            let plan = filter_with_marks(input, kept, filter.input.schema(), registry)?;
            Ok(Transformed::yes(plan))
        })
        .map_err(PlanError::from_datafusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::test_util;

    fn rewritten(sql: &str) -> String {
        test_util::rewritten(&DecorrelatePredicateSubquery, sql)
    }

    #[test]
    fn exists_becomes_a_semi_join_on_its_correlated_conditions() {
        assert_eq!(
            rewritten(
                "SELECT t.a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a AND u.d > t.b) \
                 AND t.c > 1.0"
            ),
            r#"Projection: t.a
  Filter: t.c > CAST(Decimal128(1.0,2,1) AS Float64)
    LeftSemi Join: t.a = __sq_1.a Filter: __sq_1.d > t.b
      TableScan: t
      SubqueryAlias: __sq_1
        Projection: Int64(1) AS 1, u.a, u.d
          TableScan: u"#
        );
        assert_eq!(
            rewritten("SELECT t.a FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.a)"),
            r#"Projection: t.a
  LeftAnti Join: t.a = __sq_1.a
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: Int64(1) AS 1, u.a
        TableScan: u"#
        );
    }

    #[test]
    fn not_in_keeps_three_valued_logic() {
        // Nullable on one side, uncorrelated: the null-aware anti join.
        assert_eq!(
            rewritten("SELECT t.a FROM t WHERE t.b NOT IN (SELECT d FROM u)"),
            r#"Projection: t.a
  NullAwareLeftAnti Join: t.b = __sq_1.d
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: u.d
        TableScan: u"#
        );
        // Neither side nullable: a plain anti join.
        assert_eq!(
            rewritten("SELECT t.a FROM t WHERE t.a NOT IN (SELECT a FROM u)"),
            r#"Projection: t.a
  LeftAnti Join: t.a = __sq_1.a
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: u.a
        TableScan: u"#
        );
        // Correlated: a NULL comparison excludes the row, as an OR in the condition.
        assert_eq!(
            rewritten("SELECT t.a FROM t WHERE t.b NOT IN (SELECT d FROM u WHERE u.a = t.a)"),
            r#"Projection: t.a
  LeftAnti Join: t.a = __sq_1.a Filter: t.b = __sq_1.d OR t.b IS NULL OR __sq_1.d IS NULL
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: u.d, u.a
        TableScan: u"#
        );
    }

    #[test]
    fn correlated_columns_are_carried_out_of_the_subquery() {
        assert_eq!(
            rewritten(
                "SELECT t.a FROM t WHERE t.a IN (SELECT u.a FROM u, v WHERE v.d = u.d AND v.e = t.a)"
            ),
            r#"Projection: t.a
  LeftSemi Join: t.a = __sq_1.e, t.a = __sq_1.a
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: u.a, v.e
        Filter: v.d = u.d
          Cross Join:
            TableScan: u
            TableScan: v"#
        );
    }

    #[test]
    fn subqueries_used_as_values_become_mark_joins() {
        assert_eq!(
            rewritten(
                "SELECT t.a FROM t WHERE t.c > 1.0 OR EXISTS (SELECT 1 FROM u WHERE u.a = t.a)"
            ),
            r#"Projection: t.a
  Projection: t.a, t.b, t.c
    Filter: t.c > CAST(Decimal128(1.0,2,1) AS Float64) OR __sq_1.mark
      LeftMark Join: t.a = __sq_1.a
        TableScan: t
        SubqueryAlias: __sq_1
          Projection: Int64(1) AS 1, u.a
            TableScan: u"#
        );
        assert_eq!(
            rewritten("SELECT t.b NOT IN (SELECT d FROM u) AS fresh FROM t"),
            r#"Projection: NOT __sq_1.mark AS fresh
  NullAwareLeftMark Join: t.b = __sq_1.d
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: u.d
        TableScan: u"#
        );
    }

    #[test]
    fn conditions_the_rewrite_cannot_move_are_named() {
        let registry = FunctionRegistry::new();
        let plan = crate::optimizer::test_util::plan_of(
            "SELECT t.a FROM t WHERE EXISTS (SELECT t.b FROM u WHERE u.a = t.a)",
        );
        let error = DecorrelatePredicateSubquery
            .rewrite(plan, &registry)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not supported yet") && error.contains("correlated reference to t.b"),
            "{error}"
        );
    }
}
