//! `fold_constants`: evaluates literal arithmetic and comparisons, `CAST(literal)`, `NOT`/`IS
//! NULL` of literals, and simplifies `x AND true`, `x OR false` and friends. Output columns keep
//! their names (a folded projection expression is aliased to its old name).
//!
//! Literals are folded with the kernels' ANSI mode, so an overflow, a division by zero or a
//! `CAST` that does not convert is left for the executor, which gives NULL or an error as the
//! session's `ansi_mode` says: the folded plan is the same in both modes. `TRY_CAST` folds
//! leniently (NULL in every mode).

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::Scalar;
use datafusion_common::ScalarValue;
use datafusion_common::tree_node::{Transformed, TreeNode};

use super::OptimizerRule;
use crate::coercion::binary_types;
use crate::compute::{self, EvalMode};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, Operator};
use crate::function::FunctionRegistry;
use crate::plan::{Aggregate, Filter, Join, LogicalPlan, Projection, Sort, TableScan};
use crate::time_zone::TimeZone;

/// The `fold_constants` rule, folding casts in the session time zone (as the executor casts).
#[derive(Debug, Clone, Default)]
pub struct FoldConstants {
    time_zone: TimeZone,
}

impl FoldConstants {
    /// The rule for a session whose time zone is `time_zone`.
    pub fn in_time_zone(time_zone: TimeZone) -> Self {
        FoldConstants { time_zone }
    }
}

fn boolean(value: &Expr) -> Option<bool> {
    match value {
        Expr::Literal(ScalarValue::Boolean(b)) => *b,
        _ => None,
    }
}

/// `a op b` for literals in the session zone `zone`, computed by the executor's own kernels (so
/// the folded value is what the query would compute); `None` when the types do not fit or the kernel fails, which it
/// does, in ANSI mode, on an overflow or a division by zero (the executor's business: NULL or
/// an error).
fn arithmetic(
    a: &ScalarValue,
    op: Operator,
    b: &ScalarValue,
    zone: &TimeZone,
) -> Option<ScalarValue> {
    if a.is_null() || b.is_null() {
        return None;
    }
    let types = binary_types(&a.data_type(), op, &b.data_type()).ok()?;
    if types.left != a.data_type() || types.right != b.data_type() {
        return None;
    }
    let (a, b) = (a.to_array().ok()?, b.to_array().ok()?);
    let result = compute::arithmetic(
        &Scalar::new(a),
        op,
        &Scalar::new(b),
        &types.result,
        EvalMode::Ansi,
        zone,
    )
    .ok()?;
    ScalarValue::try_from_array(&result, 0).ok()
}

/// `value` with a float `-0.0` made `0.0`: SQL holds them equal, `ScalarValue`'s order (the
/// floats' total order) does not.
fn without_negative_zero(value: &ScalarValue) -> ScalarValue {
    match value {
        ScalarValue::Float64(Some(v)) => ScalarValue::Float64(Some(v + 0.0)),
        ScalarValue::Float32(Some(v)) => ScalarValue::Float32(Some(v + 0.0)),
        other => other.clone(),
    }
}

fn comparison(a: &ScalarValue, op: Operator, b: &ScalarValue) -> Option<ScalarValue> {
    if a.is_null() || b.is_null() || a.data_type() != b.data_type() {
        return None;
    }
    let ordering = without_negative_zero(a).partial_cmp(&without_negative_zero(b))?;
    let result = match op {
        Operator::Eq => ordering == Ordering::Equal,
        Operator::NotEq => ordering != Ordering::Equal,
        Operator::Lt => ordering == Ordering::Less,
        Operator::LtEq => ordering != Ordering::Greater,
        Operator::Gt => ordering == Ordering::Greater,
        Operator::GtEq => ordering != Ordering::Less,
        _ => return None,
    };
    Some(ScalarValue::Boolean(Some(result)))
}

/// `CAST(value AS data_type)` computed by the executor's cast ([`compute::spark_cast`]) in
/// `mode`.
fn cast_literal(
    value: &ScalarValue,
    data_type: &arrow::datatypes::DataType,
    zone: &TimeZone,
    mode: EvalMode,
) -> Option<ScalarValue> {
    let cast = compute::spark_cast(&value.to_array().ok()?, data_type, zone, mode).ok()?;
    ScalarValue::try_from_array(&cast, 0).ok()
}

/// One folding step at the root of `expr` (children are already folded).
fn fold(expr: Expr, zone: &TimeZone) -> Transformed<Expr> {
    let folded = match &expr {
        Expr::Cast {
            expr: inner,
            data_type,
        } => match inner.as_ref() {
            Expr::Literal(v) => cast_literal(v, data_type, zone, EvalMode::Ansi).map(Expr::Literal),
            _ => None,
        },
        Expr::TryCast {
            expr: inner,
            data_type,
        } => match inner.as_ref() {
            Expr::Literal(v) => {
                cast_literal(v, data_type, zone, EvalMode::Lenient).map(Expr::Literal)
            }
            _ => None,
        },
        Expr::Not(inner) => boolean(inner).map(|b| Expr::Literal(ScalarValue::Boolean(Some(!b)))),
        Expr::Negative(inner) => match inner.as_ref() {
            Expr::Literal(v) if !v.is_null() => v.arithmetic_negate().ok().map(Expr::Literal),
            _ => None,
        },
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Literal(v) => {
                let is_null = v.is_null();
                let want_null = matches!(expr, Expr::IsNull(_));
                Some(Expr::Literal(ScalarValue::Boolean(Some(
                    is_null == want_null,
                ))))
            }
            _ => None,
        },
        Expr::BinaryExpr { left, op, right } => match (left.as_ref(), right.as_ref()) {
            (Expr::Literal(a), Expr::Literal(b)) if op.is_arithmetic() => {
                arithmetic(a, *op, b, zone).map(Expr::Literal)
            }
            (Expr::Literal(a), Expr::Literal(b)) if op.is_comparison() => {
                comparison(a, *op, b).map(Expr::Literal)
            }
            (l, r) if *op == Operator::And => match (boolean(l), boolean(r)) {
                (Some(true), _) => Some(r.clone()),
                (_, Some(true)) => Some(l.clone()),
                (Some(false), _) | (_, Some(false)) => {
                    Some(Expr::Literal(ScalarValue::Boolean(Some(false))))
                }
                _ => None,
            },
            (l, r) if *op == Operator::Or => match (boolean(l), boolean(r)) {
                (Some(false), _) => Some(r.clone()),
                (_, Some(false)) => Some(l.clone()),
                (Some(true), _) | (_, Some(true)) => {
                    Some(Expr::Literal(ScalarValue::Boolean(Some(true))))
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    match folded {
        Some(new) => Transformed::yes(new),
        None => Transformed::no(expr),
    }
}

/// Folds `expr` bottom-up.
pub(crate) fn fold_expr(expr: Expr, zone: &TimeZone) -> Result<Transformed<Expr>> {
    expr.transform_up(|e| Ok(fold(e, zone)))
        .map_err(PlanError::from_datafusion)
}

/// Folds expressions that name an output column, keeping the name.
fn fold_named(exprs: Vec<Expr>, changed: &mut bool, zone: &TimeZone) -> Result<Vec<Expr>> {
    exprs
        .into_iter()
        .map(|e| {
            let name = e.output_name();
            let folded = fold_expr(e, zone)?;
            *changed |= folded.transformed;
            Ok(if folded.transformed && folded.data.output_name() != name {
                folded.data.alias(name)
            } else {
                folded.data
            })
        })
        .collect()
}

fn fold_all(exprs: Vec<Expr>, changed: &mut bool, zone: &TimeZone) -> Result<Vec<Expr>> {
    exprs
        .into_iter()
        .map(|e| {
            let folded = fold_expr(e, zone)?;
            *changed |= folded.transformed;
            Ok(folded.data)
        })
        .collect()
}

/// Folds the expressions of one node.
fn fold_node(
    plan: LogicalPlan,
    registry: &FunctionRegistry,
    zone: &TimeZone,
) -> Result<Transformed<LogicalPlan>> {
    let mut changed = false;
    let plan = match plan {
        LogicalPlan::Projection(p) => {
            let exprs = fold_named(p.exprs, &mut changed, zone)?;
            LogicalPlan::Projection(Projection::try_new(exprs, p.input, registry)?)
        }
        LogicalPlan::Filter(f) => {
            let predicate = fold_all(vec![f.predicate], &mut changed, zone)?;
            match predicate.into_iter().next() {
                // `WHERE true` filters nothing.
                Some(Expr::Literal(ScalarValue::Boolean(Some(true)))) => {
                    changed = true;
                    Arc::unwrap_or_clone(f.input)
                }
                Some(predicate) => {
                    LogicalPlan::Filter(Filter::try_new(predicate, f.input, registry)?)
                }
                None => return Err(PlanError::Internal("lost a filter predicate".into())),
            }
        }
        LogicalPlan::Aggregate(a) => {
            let group_exprs = fold_named(a.group_exprs, &mut changed, zone)?;
            let aggr_exprs = fold_named(a.aggr_exprs, &mut changed, zone)?;
            LogicalPlan::Aggregate(Aggregate::try_new(
                a.input,
                group_exprs,
                aggr_exprs,
                registry,
            )?)
        }
        LogicalPlan::Sort(s) => {
            let mut exprs = Vec::with_capacity(s.exprs.len());
            for mut key in s.exprs {
                let folded = fold_expr(key.expr, zone)?;
                changed |= folded.transformed;
                key.expr = folded.data;
                exprs.push(key);
            }
            LogicalPlan::Sort(Sort { exprs, ..s })
        }
        LogicalPlan::Join(j) => {
            let mut on = Vec::with_capacity(j.on.len());
            for (l, r) in j.on {
                let folded = fold_all(vec![l, r], &mut changed, zone)?;
                let [l, r]: [Expr; 2] = folded
                    .try_into()
                    .map_err(|_| PlanError::Internal("lost a join key".into()))?;
                on.push((l, r));
            }
            let filter = fold_all(j.filter.into_iter().collect(), &mut changed, zone)?.pop();
            LogicalPlan::Join(Join { on, filter, ..j })
        }
        LogicalPlan::TableScan(scan) => {
            let filters = fold_all(scan.filters, &mut changed, zone)?;
            LogicalPlan::TableScan(TableScan { filters, ..scan })
        }
        other => other,
    };
    Ok(Transformed::new_transformed(plan, changed))
}

impl OptimizerRule for FoldConstants {
    fn name(&self) -> &str {
        "fold_constants"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up(|node| fold_node(node, registry, &self.time_zone).map_err(Into::into))
            .map_err(PlanError::from_datafusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::test_util::{apply, plan_of};

    #[test]
    fn folds_literal_arithmetic_casts_and_comparisons() {
        let sql = "SELECT a + (1 + 2) * 3, c FROM t WHERE c BETWEEN 1 AND 2 AND 2 > 1";
        assert_eq!(
            plan_of(sql).display_indent(),
            r#"Projection: t.a + (Int64(1) + Int64(2)) * Int64(3) AS (a + (1 + 2) * 3), t.c
  Filter: t.c BETWEEN CAST(Int64(1) AS Float64) AND CAST(Int64(2) AS Float64) AND Int64(2) > Int64(1)
    TableScan: t"#
        );
        let (after, changed) = apply(&FoldConstants::default(), sql);
        assert!(changed);
        assert_eq!(
            after,
            r#"Projection: t.a + Int64(9) AS (a + (1 + 2) * 3), t.c
  Filter: t.c BETWEEN Float64(1) AND Float64(2)
    TableScan: t"#
        );
    }

    #[test]
    fn simplifies_boolean_connectives_and_drops_true_filters() {
        let (after, _) = apply(
            &FoldConstants::default(),
            "SELECT a FROM t WHERE (a > 1 OR false) AND NOT false",
        );
        assert_eq!(
            after,
            "Projection: t.a\n  Filter: t.a > Int64(1)\n    TableScan: t"
        );
        let (after, _) = apply(
            &FoldConstants::default(),
            "SELECT a FROM t WHERE 1 = 1 OR a > 1",
        );
        assert_eq!(after, "Projection: t.a\n  TableScan: t");
        let (after, _) = apply(
            &FoldConstants::default(),
            "SELECT a FROM t WHERE a > 1 AND NULL IS NOT NULL",
        );
        assert_eq!(
            after,
            "Projection: t.a\n  Filter: Boolean(false)\n    TableScan: t"
        );
    }

    #[test]
    fn folds_string_literals_cast_to_timestamps() {
        let (after, _) = apply(
            &FoldConstants::default(),
            "SELECT url FROM events WHERE ts >= '2017-09-17 12:00:00'",
        );
        assert_eq!(
            after,
            r#"Projection: events.url
  Filter: events.ts >= TimestampMicrosecond(1505649600000000, Some("UTC"))
    TableScan: events"#
        );
    }

    #[test]
    fn folds_date_interval_and_decimal_arithmetic_to_literals() {
        // 1998-12-01 - 90 days = 1998-09-02; 0.06 - 0.01 = 0.05
        // (exact, as DECIMAL(3,2)), then cast to the double column's type.
        let (after, changed) = apply(
            &FoldConstants::default(),
            "SELECT url FROM events WHERE CAST(ts AS DATE) <= DATE '1998-12-01' - INTERVAL '90' DAY",
        );
        assert!(changed);
        assert_eq!(
            after,
            "Projection: events.url\n  Filter: CAST(events.ts AS Date32) <= Date32(\"1998-09-02\")\n    TableScan: events"
        );
        let (after, _) = apply(
            &FoldConstants::default(),
            "SELECT a FROM t WHERE c > 0.06 - 0.01",
        );
        assert_eq!(
            after,
            "Projection: t.a\n  Filter: t.c > Float64(0.05)\n    TableScan: t"
        );
    }

    #[test]
    fn leaves_division_by_zero_and_non_literals_alone() {
        let (after, changed) = apply(&FoldConstants::default(), "SELECT 1 % 0 AS z, a FROM t");
        assert!(!changed);
        assert_eq!(
            after,
            "Projection: Int64(1) % Int64(0) AS z, t.a\n  TableScan: t"
        );
    }
}
