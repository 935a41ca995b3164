//! `filter_aggregates_by_join_keys`: an aggregate joined on one of its group keys needs only
//! the groups the join can match. When every value the other side has for that key is in a
//! small, filtered table (the key is that table's column, or equal to it through inner and semi
//! join conditions), the aggregate's input is first semi-joined with that table, so the rows of
//! groups nothing can match are dropped before they are aggregated: a semi-join reduction, the
//! "magic set" of a decorrelated subquery. TPC-H Q17 then averages the quantities of the parts
//! of one brand and container instead of all 200,000 parts, and Q20 sums the shipments of the
//! `forest` parts only.
//!
//! No output row changes: an aggregate row whose key the other side lacks matches nothing, and
//! the groups kept see all their rows, because the semi join reads the group key only. The
//! aggregate may be either side of an inner join, the right side of left, semi, anti and mark
//! joins, or the left side of a right join, but not a side whose unmatched rows are kept, nor
//! a null-aware join's (whose result depends on null keys). It applies when the table is
//! estimated at no more than a tenth of the aggregate's input rows and is small enough to be
//! broadcast, so the semi join moves none of the aggregate's input.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, JoinType};

use super::{OptimizerRule, ReorderJoins, Visit, rewrite_nodes};
use crate::error::Result;
use crate::expr::Expr;
use crate::function::FunctionRegistry;
use crate::plan::{Join, LogicalPlan, broadcast_bytes};

/// How many times fewer rows than the aggregate's input the filtering table must have.
const MIN_REDUCTION: f64 = 10.0;

/// The `filter_aggregates_by_join_keys` rule.
#[derive(Debug, Clone, Copy)]
pub struct FilterAggregatesByJoinKeys {
    /// Tables reading at most this many bytes of input are broadcast (the session's
    /// `broadcast_threshold`); only those filter an aggregate.
    broadcast_threshold: u64,
}

impl FilterAggregatesByJoinKeys {
    /// The rule filtering by tables of at most `bytes` bytes of input.
    pub fn with_broadcast_threshold(bytes: u64) -> Self {
        FilterAggregatesByJoinKeys {
            broadcast_threshold: bytes,
        }
    }
}

impl Default for FilterAggregatesByJoinKeys {
    fn default() -> Self {
        Self::with_broadcast_threshold(ReorderJoins::DEFAULT_BROADCAST_THRESHOLD)
    }
}

/// The column at output position `index` of `plan`.
fn column_at(plan: &LogicalPlan, index: usize) -> Column {
    let (qualifier, field) = plan.schema().qualified_field(index);
    Column::new(qualifier.cloned(), field.name())
}

/// The column `expr` is, aliases aside.
fn as_column(expr: &Expr) -> Option<&Column> {
    match expr.unaliased() {
        Expr::Column(column) => Some(column),
        _ => None,
    }
}

/// The equi-join keys of `join` that are plain columns, as (this side's, the other side's):
/// this side is the left one when `from_left`.
fn key_columns(join: &Join, from_left: bool) -> impl Iterator<Item = (&Column, &Column)> {
    join.on.iter().filter_map(move |(left, right)| {
        let (mine, theirs) = if from_left {
            (left, right)
        } else {
            (right, left)
        };
        Some((as_column(mine)?, as_column(theirs)?))
    })
}

/// `column` of `plan`'s output followed down through aliases, column-passing projections and
/// filters to an aggregate grouping by it: that group key, a column of the aggregate's input.
fn group_key(plan: &LogicalPlan, column: &Column) -> Option<Column> {
    let index = plan.schema().index_of_column(column).ok()?;
    match plan {
        LogicalPlan::SubqueryAlias(alias) => {
            group_key(&alias.input, &column_at(&alias.input, index))
        }
        LogicalPlan::Projection(projection) => {
            group_key(&projection.input, as_column(&projection.exprs[index])?)
        }
        LogicalPlan::Filter(filter) => group_key(&filter.input, column),
        LogicalPlan::Aggregate(aggregate)
            if !matches!(aggregate.input.as_ref(), LogicalPlan::Expand(_)) =>
        {
            as_column(aggregate.group_exprs.get(index)?).cloned()
        }
        _ => None,
    }
}

/// Whether `plan` is one table read through filters, projections and aliases, with at least
/// one filter: cheap to read twice, and smaller than the table.
fn is_filtered_table(plan: &LogicalPlan) -> bool {
    fn walk(plan: &LogicalPlan, filtered: bool) -> bool {
        match plan {
            LogicalPlan::Filter(filter) => walk(&filter.input, true),
            LogicalPlan::Projection(projection) => walk(&projection.input, filtered),
            LogicalPlan::SubqueryAlias(alias) => walk(&alias.input, filtered),
            LogicalPlan::TableScan(_) => filtered,
            _ => false,
        }
    }
    walk(plan, false)
}

/// Filtered tables inside `plan`, each with a column that holds every value `column` of
/// `plan`'s rows takes: found through aliases, projections, filters, the sides of joins that
/// keep only matched rows, and equalities of inner and semi joins.
fn key_sources(
    plan: &Arc<LogicalPlan>,
    column: &Column,
    found: &mut Vec<(Arc<LogicalPlan>, Column)>,
) {
    let Ok(index) = plan.schema().index_of_column(column) else {
        return;
    };
    if is_filtered_table(plan) {
        found.push((Arc::clone(plan), column.clone()));
    }
    match plan.as_ref() {
        LogicalPlan::SubqueryAlias(alias) => {
            key_sources(&alias.input, &column_at(&alias.input, index), found)
        }
        LogicalPlan::Projection(projection) => {
            if let Some(input_column) = as_column(&projection.exprs[index]) {
                key_sources(&projection.input, input_column, found);
            }
        }
        LogicalPlan::Filter(filter) => key_sources(&filter.input, column, found),
        LogicalPlan::Join(join) if !join.null_aware => {
            let left_width = join.left.schema().fields().len();
            let on_left = index < left_width;
            // A side whose rows may come null-extended (the right of a left join, either of
            // a full join) holds the values only where they are not null: not followed.
            let (rows_kept_whole, through_keys) = match join.join_type {
                JoinType::Inner => (true, true),
                JoinType::LeftSemi => (on_left, true),
                JoinType::Left | JoinType::LeftAnti | JoinType::LeftMark => (on_left, false),
                JoinType::Right => (!on_left, false),
                _ => (false, false),
            };
            if !rows_kept_whole {
                return;
            }
            let (side, other, side_index) = if on_left {
                (&join.left, &join.right, index)
            } else {
                (&join.right, &join.left, index - left_width)
            };
            key_sources(side, &column_at(side, side_index), found);
            if !through_keys {
                return;
            }
            for (mine, theirs) in key_columns(join, on_left) {
                if side.schema().index_of_column(mine).ok() == Some(side_index) {
                    key_sources(other, theirs, found);
                }
            }
        }
        _ => {}
    }
}

/// `plan` (the aggregate side of a join: aliases, projections and filters over an aggregate)
/// with the aggregate's input semi-joined with `table` on `group_key = table_key`.
fn filtered(
    plan: &LogicalPlan,
    table: &Arc<LogicalPlan>,
    group_key: &Column,
    table_key: &Column,
    registry: &FunctionRegistry,
) -> Result<LogicalPlan> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => {
            let input = Join::try_new(
                Arc::clone(&aggregate.input),
                Arc::clone(table),
                vec![(
                    Expr::Column(group_key.clone()),
                    Expr::Column(table_key.clone()),
                )],
                None,
                JoinType::LeftSemi,
            )?;
            plan.with_new_inputs(vec![Arc::new(LogicalPlan::Join(input))], registry)
        }
        _ => {
            let input = plan.inputs()[0];
            let input = filtered(input, table, group_key, table_key, registry)?;
            plan.with_new_inputs(vec![Arc::new(input)], registry)
        }
    }
}

/// The input of the aggregate under `plan`, reached through the aliases, projections and
/// filters [`group_key`] follows down to it.
fn aggregate_input(plan: &LogicalPlan) -> Option<&Arc<LogicalPlan>> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => Some(&aggregate.input),
        LogicalPlan::SubqueryAlias(_) | LogicalPlan::Projection(_) | LogicalPlan::Filter(_) => {
            aggregate_input(plan.inputs()[0])
        }
        _ => None,
    }
}

/// Whether `input` already has, somewhere, a semi join on `table_key` (a qualified column,
/// which keeps its name however the rules prune and move the join).
fn already_filtered_by(input: &LogicalPlan, table_key: &Column) -> bool {
    input
        .exists(|node| {
            Ok(matches!(node, LogicalPlan::Join(join)
                if join.join_type == JoinType::LeftSemi
                    && join.on.iter().any(|(_, right)| as_column(right) == Some(table_key))))
        })
        .unwrap_or(false)
}

/// `join` with its aggregate side filtered by a table of at most `broadcast_threshold` bytes,
/// or `None`.
fn filter_join(
    join: &Join,
    broadcast_threshold: u64,
    registry: &FunctionRegistry,
) -> Result<Option<LogicalPlan>> {
    if join.null_aware {
        return Ok(None);
    }
    // (aggregate side on the left?) for each side whose unmatched rows are not kept.
    let sides: &[bool] = match join.join_type {
        JoinType::Inner => &[false, true],
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => &[false],
        JoinType::Right => &[true],
        _ => &[],
    };
    for &aggregate_on_left in sides {
        let (aggregate_side, other) = if aggregate_on_left {
            (&join.left, &join.right)
        } else {
            (&join.right, &join.left)
        };
        let Some(input) = aggregate_input(aggregate_side) else {
            continue;
        };
        let input_rows = input.estimated_rows();
        let mut best: Option<(f64, Arc<LogicalPlan>, Column, Column)> = None;
        for (mine, theirs) in key_columns(join, aggregate_on_left) {
            let Some(key) = group_key(aggregate_side, mine) else {
                continue;
            };
            let mut found = Vec::new();
            key_sources(other, theirs, &mut found);
            for (table, table_key) in found {
                let rows = table.estimated_rows();
                if rows * MIN_REDUCTION <= input_rows
                    && best.as_ref().is_none_or(|(least, ..)| rows < *least)
                    && broadcast_bytes(&table).is_some_and(|bytes| bytes <= broadcast_threshold)
                {
                    best = Some((rows, table, key.clone(), table_key));
                }
            }
        }
        let Some((_, table, key, table_key)) = best else {
            continue;
        };
        if already_filtered_by(input, &table_key) {
            continue;
        }
        let side = Arc::new(filtered(
            aggregate_side,
            &table,
            &key,
            &table_key,
            registry,
        )?);
        let (left, right) = if aggregate_on_left {
            (side, Arc::clone(&join.right))
        } else {
            (Arc::clone(&join.left), side)
        };
        return Ok(Some(LogicalPlan::Join(Join {
            left,
            right,
            ..join.clone()
        })));
    }
    Ok(None)
}

impl OptimizerRule for FilterAggregatesByJoinKeys {
    fn name(&self) -> &str {
        "filter_aggregates_by_join_keys"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        rewrite_nodes(plan, Visit::ParentsFirst, |node| match node {
            LogicalPlan::Join(join) => filter_join(join, self.broadcast_threshold, registry),
            _ => Ok(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::PushDownProjection;
    use crate::optimizer::test_util::joined_plan_of;

    /// The plan of `sql` with its subqueries made joins and its filters pushed down, then this
    /// rule applied: its text and whether the rule changed it. A second application (after
    /// pruning columns) changes nothing.
    fn rewritten(sql: &str) -> (String, bool) {
        let registry = FunctionRegistry::new();
        let plan = joined_plan_of(sql);
        let once = FilterAggregatesByJoinKeys::default()
            .rewrite(plan, &registry)
            .unwrap();
        let pruned = PushDownProjection
            .rewrite(once.data.clone(), &registry)
            .unwrap()
            .data;
        let twice = FilterAggregatesByJoinKeys::default()
            .rewrite(pruned, &registry)
            .unwrap();
        assert!(!twice.transformed, "a second pass changed {}", twice.data);
        (once.data.to_string(), once.transformed)
    }

    #[test]
    fn an_aggregate_joined_with_a_filtered_table_aggregates_its_keys_only() {
        let (plan, changed) = rewritten(
            "SELECT dim.k, g.n FROM dim JOIN (SELECT a, count(*) AS n FROM t GROUP BY a) g \
             ON dim.k = g.a WHERE dim.name = 'x'",
        );
        assert!(changed);
        assert!(
            plan.contains(
                r#"        Aggregate: groupBy=[[t.a]], aggr=[[count(*)]]
          LeftSemi Join: t.a = dim.k
            TableScan: t
            Filter: dim.name = Utf8("x")"#
            ),
            "{plan}"
        );
    }

    #[test]
    fn a_semi_join_with_an_aggregate_filters_it_too() {
        let (plan, changed) = rewritten(
            "SELECT k FROM dim WHERE name = 'x' AND k IN (SELECT a FROM t GROUP BY a HAVING count(*) > 2)",
        );
        assert!(changed);
        assert!(plan.contains("LeftSemi Join: t.a = dim.k"), "{plan}");
    }

    #[test]
    fn the_key_is_followed_through_inner_join_conditions() {
        let (plan, changed) = rewritten(
            "SELECT u.a, g.n FROM u JOIN dim ON u.a = dim.k \
             LEFT JOIN (SELECT a, count(*) AS n FROM t GROUP BY a) g ON u.a = g.a \
             WHERE dim.name = 'x'",
        );
        assert!(changed);
        assert!(plan.contains("LeftSemi Join: t.a = dim.k"), "{plan}");
    }

    #[test]
    fn not_a_preserved_side_nor_an_unfiltered_table_nor_a_null_aware_join() {
        for sql in [
            // The aggregate's unmatched rows are kept.
            "SELECT g.a, g.n, dim.name FROM (SELECT a, count(*) AS n FROM t GROUP BY a) g \
             LEFT JOIN dim ON g.a = dim.k AND dim.name = 'x'",
            "SELECT g.a, d.name FROM (SELECT a, count(*) AS n FROM t GROUP BY a) g \
             FULL JOIN (SELECT * FROM dim WHERE name = 'x') d ON g.a = d.k",
            // Every key of the table, filtered by nothing.
            "SELECT dim.k, g.n FROM dim JOIN (SELECT a, count(*) AS n FROM t GROUP BY a) g \
             ON dim.k = g.a",
            // A null key on the aggregate's side decides NOT IN.
            "SELECT name FROM dim WHERE k = 1 AND name NOT IN (SELECT b FROM t GROUP BY b)",
        ] {
            let (plan, changed) = rewritten(sql);
            assert!(!changed, "{sql}: {plan}");
        }
    }
}
