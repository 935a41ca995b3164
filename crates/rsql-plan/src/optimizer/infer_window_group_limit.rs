//! `infer_window_group_limit`: a filter bounding a ranking window column by a constant
//! (`rn <= 3`, `rank < 4`, `1 = dense_rank`) over a `Window` whose calls are all
//! `row_number`, `rank` or `dense_rank` over one `PARTITION BY` and one non-empty `ORDER BY`
//! gets a [`WindowGroupLimit`] below that window, as Spark's `InferWindowGroupLimit` does: per
//! partition only the rows that could pass the bound reach the window's exchange and sort.
//!
//! The three functions agree on the rows a bound on any of them keeps (each keeps every row
//! ordered before a kept row, ties of `rank` and `dense_rank` included), which is why the
//! window may mix them; any other call (an aggregate, `ntile`, `percent_rank`) would see
//! fewer rows of its partition. With several bounds the smallest is used. The filter stays:
//! the limit is only a pre-filter.

use std::sync::Arc;

use datafusion_common::ScalarValue;
use datafusion_common::tree_node::{Transformed, TreeNode};

use super::OptimizerRule;
use crate::error::{PlanError, Result};
use crate::expr::{
    Expr, Operator, SortExpr, WindowFunction, WindowFunctionKind, split_conjunction,
};
use crate::function::{BuiltinWindowFunction, FunctionRegistry};
use crate::plan::{Filter, LogicalPlan, RankingFunction, Window, WindowGroupLimit};

/// The `infer_window_group_limit` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct InferWindowGroupLimit;

/// Bounds above this are left to the window alone: the group limit keeps up to this many
/// order values per partition (Spark's `windowGroupLimitThreshold` default).
const MAX_LIMIT: i64 = 1000;

/// The ranking function a window call is, if it is one a group limit can bound.
fn ranking_function(call: &WindowFunction) -> Option<RankingFunction> {
    match call.kind {
        WindowFunctionKind::Builtin(BuiltinWindowFunction::RowNumber) => {
            Some(RankingFunction::RowNumber)
        }
        WindowFunctionKind::Builtin(BuiltinWindowFunction::Rank) => Some(RankingFunction::Rank),
        WindowFunctionKind::Builtin(BuiltinWindowFunction::DenseRank) => {
            Some(RankingFunction::DenseRank)
        }
        _ => None,
    }
}

/// The value of an integer literal.
fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

/// The column and the largest value it may have for `conjunct` to hold, when `conjunct` is
/// `column <= n`, `column < n`, `column = n` or one of those written the other way round.
fn upper_bound(conjunct: &Expr) -> Option<(&datafusion_common::Column, i64)> {
    let Expr::BinaryExpr { left, op, right } = conjunct else {
        return None;
    };
    let (column, op, value) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column(column), Expr::Literal(value)) => (column, *op, value),
        (Expr::Literal(value), Expr::Column(column)) => {
            let flipped = match op {
                Operator::Gt => Operator::Lt,
                Operator::GtEq => Operator::LtEq,
                Operator::Eq => Operator::Eq,
                _ => return None,
            };
            (column, flipped, value)
        }
        _ => return None,
    };
    let n = integer(value)?;
    match op {
        Operator::Eq | Operator::LtEq => Some((column, n)),
        Operator::Lt => Some((column, n.checked_sub(1)?)),
        _ => None,
    }
}

/// The keys every call of `window` shares, if they are all ranking functions a group limit
/// can bound over one `PARTITION BY` and one non-empty `ORDER BY`.
fn shared_keys(window: &Window) -> Option<(&[Expr], &[SortExpr])> {
    let mut calls = window.window_exprs.iter().map(|e| match e.unaliased() {
        Expr::WindowFunction(call) if ranking_function(call).is_some() => Some(call),
        _ => None,
    });
    let first = calls.next()??;
    if first.order_by.is_empty() {
        return None;
    }
    for call in calls {
        let call = call?;
        if call.partition_by != first.partition_by || call.order_by != first.order_by {
            return None;
        }
    }
    Some((&first.partition_by, &first.order_by))
}

/// The group limit a filter with `predicate` over `window` implies, if any.
fn group_limit(predicate: &Expr, window: &Window) -> Option<WindowGroupLimit> {
    if matches!(window.input.as_ref(), LogicalPlan::WindowGroupLimit(_)) {
        return None;
    }
    let (partition_by, order_by) = shared_keys(window)?;
    let input_width = window.input.schema().fields().len();
    let (function, limit) = split_conjunction(predicate)
        .into_iter()
        .filter_map(upper_bound)
        .filter_map(|(column, bound)| {
            let index = window.schema.index_of_column(column).ok()?;
            let expr = window.window_exprs.get(index.checked_sub(input_width)?)?;
            let Expr::WindowFunction(call) = expr.unaliased() else {
                return None;
            };
            Some((ranking_function(call)?, bound))
        })
        .min_by_key(|(_, bound)| *bound)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return None;
    }
    Some(WindowGroupLimit {
        input: Arc::clone(&window.input),
        partition_by: partition_by.to_vec(),
        order_by: order_by.to_vec(),
        function,
        limit: usize::try_from(limit).ok()?,
    })
}

impl OptimizerRule for InferWindowGroupLimit {
    fn name(&self) -> &str {
        "infer_window_group_limit"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up(|node| {
            let LogicalPlan::Filter(filter) = &node else {
                return Ok(Transformed::no(node));
            };
            let LogicalPlan::Window(window) = filter.input.as_ref() else {
                return Ok(Transformed::no(node));
            };
            let Some(limit) = group_limit(&filter.predicate, window) else {
                return Ok(Transformed::no(node));
            };
            let window = LogicalPlan::Window(Window {
                input: Arc::new(LogicalPlan::WindowGroupLimit(limit)),
                ..window.clone()
            });
            Ok(Transformed::yes(LogicalPlan::Filter(Filter {
                predicate: filter.predicate.clone(),
                input: Arc::new(window),
            })))
        })
        .map_err(PlanError::from_datafusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::Optimizer;
    use crate::optimizer::test_util::{apply, plan_of, rewritten};

    /// The group limit line of the plan after one application of the rule, if it applied.
    fn limit_line(sql: &str) -> Option<String> {
        let (after, changed) = apply(&InferWindowGroupLimit, sql);
        let line = after
            .lines()
            .find(|l| l.contains("WindowGroupLimit"))
            .map(|l| l.trim().to_string());
        assert_eq!(changed, line.is_some(), "{after}");
        line
    }

    #[test]
    fn a_bound_on_row_number_limits_each_partition_below_the_window() {
        let sql = "SELECT a, b, row_number() OVER (PARTITION BY b ORDER BY c DESC, a) AS rn \
                   FROM t QUALIFY rn <= 3";
        let rn = "row_number() OVER (PARTITION BY b ORDER BY c DESC NULLS LAST, a ASC NULLS \
                  FIRST RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";
        assert_eq!(
            rewritten(&InferWindowGroupLimit, sql),
            format!(
                "Projection: t.a, t.b, {rn} AS rn\n  \
                 Filter: {rn} <= Int64(3)\n    \
                 Window: [{}]\n      \
                 WindowGroupLimit: row_number() <= 3, partitionBy=[t.b], \
                 orderBy=[t.c DESC NULLS LAST, t.a ASC NULLS FIRST]\n        \
                 TableScan: t",
                rn.replace("BY b", "BY t.b")
                    .replace("BY c", "BY t.c")
                    .replace(", a ", ", t.a ")
            )
        );
    }

    #[test]
    fn every_form_of_upper_bound_gives_its_limit_and_the_smallest_wins() {
        let over = "OVER (PARTITION BY b ORDER BY c)";
        let cases = [
            (format!("row_number() {over} < 3"), "row_number() <= 2"),
            (format!("rank() {over} = 1"), "rank() <= 1"),
            (format!("4 >= dense_rank() {over}"), "dense_rank() <= 4"),
            (format!("5 > rank() {over}"), "rank() <= 4"),
            (format!("1 = row_number() {over}"), "row_number() <= 1"),
            (
                format!("rank() {over} <= 7 AND a > 0 AND dense_rank() {over} <= 2"),
                "dense_rank() <= 2",
            ),
        ];
        for (qualify, limit) in cases {
            let sql = format!("SELECT a FROM t QUALIFY {qualify}");
            let line = limit_line(&sql).unwrap_or_else(|| panic!("no limit for {sql}"));
            assert!(
                line.starts_with(&format!("WindowGroupLimit: {limit},")),
                "{line}"
            );
        }
    }

    #[test]
    fn a_window_without_partition_by_is_a_top_k() {
        let sql = "SELECT a FROM t QUALIFY row_number() OVER (ORDER BY c DESC) <= 10";
        assert_eq!(
            limit_line(sql).unwrap(),
            "WindowGroupLimit: row_number() <= 10, partitionBy=[], orderBy=[t.c DESC NULLS LAST]"
        );
    }

    #[test]
    fn no_limit_where_rows_outside_it_matter() {
        let sqls = [
            // A lower bound, an inequality, a bound that is not a constant.
            "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) > 3",
            "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <> 3",
            "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <= a",
            // A disjunction: rows failing the bound may pass the other branch.
            "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <= 3 OR a = 1",
            // Another call with a different order, or a different partitioning, or an
            // aggregate, would see fewer rows.
            "SELECT a, row_number() OVER (PARTITION BY b ORDER BY a) AS r2 FROM t \
             QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <= 3",
            "SELECT a, rank() OVER (ORDER BY c) AS r2 FROM t \
             QUALIFY rank() OVER (PARTITION BY b ORDER BY c) <= 3",
            "SELECT a, sum(a) OVER (PARTITION BY b ORDER BY c) AS s FROM t \
             QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <= 3",
            // Functions that depend on the partition's size, or no order at all.
            "SELECT a FROM t QUALIFY ntile(4) OVER (PARTITION BY b ORDER BY c) <= 1",
            "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY b) <= 1",
            // Nothing to keep, or too much.
            "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <= 0",
            "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <= 1001",
        ];
        for sql in sqls {
            assert_eq!(limit_line(sql), None, "{sql}");
        }
    }

    #[test]
    fn mixed_ranking_calls_over_the_same_keys_share_the_limit() {
        let sql = "SELECT a, rank() OVER (PARTITION BY b ORDER BY c) AS r, \
                   dense_rank() OVER (PARTITION BY b ORDER BY c) AS d FROM t \
                   QUALIFY row_number() OVER (PARTITION BY b ORDER BY c) <= 2";
        assert!(
            limit_line(sql)
                .unwrap()
                .starts_with("WindowGroupLimit: row_number() <= 2,")
        );
    }

    #[test]
    fn the_default_rules_limit_a_bound_written_outside_a_subquery_once() {
        let registry = FunctionRegistry::new();
        let sql = "SELECT * FROM (SELECT a, b, rank() OVER (PARTITION BY b ORDER BY c) AS r \
                   FROM t) q WHERE r <= 2 AND b = 'x'";
        let optimized = Optimizer::new().optimize(plan_of(sql), &registry).unwrap();
        let text = optimized.display_indent();
        assert_eq!(
            text.matches("WindowGroupLimit: rank() <= 2").count(),
            1,
            "{text}"
        );
        // The filter on the partition key goes below the limit, to the scan.
        let below = text.split("WindowGroupLimit").nth(1).unwrap();
        assert!(below.contains("Filter: t.b = Utf8(\"x\")"), "{text}");
        let again = Optimizer::new().optimize(optimized, &registry).unwrap();
        assert_eq!(again.display_indent(), text);
    }
}
