//! `push_down_filter`: moves filter conjuncts towards the scans — through projections (column
//! references replaced by the projected expressions), subquery aliases, sorts, distincts,
//! aggregates (conjuncts on group keys only), windows and window group limits (conjuncts on
//! partition keys only) and joins (to the side whose columns a conjunct reads, on the
//! preserved side of outer joins) — and copies them into `TableScan.filters`,
//! where the scan uses them to prune hive partitions and row groups. The `Filter` above a scan
//! stays: a scan's use of its filters is not exact.

use std::sync::Arc;

use datafusion_common::JoinType;
use datafusion_common::tree_node::{Transformed, TreeNode};

use super::join_conditions::split_join_conditions;
use super::{OptimizerRule, Visit, rewrite_nodes};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, column_refs, conjunction, split_conjunction};
use crate::function::FunctionRegistry;
use crate::plan::{
    Aggregate, Distinct, Filter, Join, LogicalPlan, Projection, Sort, SubqueryAlias, TableScan,
    Window, WindowGroupLimit,
};

/// The `push_down_filter` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushDownFilter;

/// `expr` with every column of `schema`'s field `i` replaced by `replacements[i]`, or `None` if
/// it reads a column that has no replacement.
pub(crate) fn substitute(expr: &Expr, plan: &LogicalPlan, replacements: &[Expr]) -> Option<Expr> {
    let schema = plan.schema();
    let mut ok = true;
    let rewritten = expr
        .clone()
        .transform_up(|e| {
            if let Expr::Column(column) = &e {
                match schema.index_of_column_by_name(column.relation.as_ref(), &column.name) {
                    Some(i) if i < replacements.len() => {
                        return Ok(Transformed::yes(replacements[i].clone()));
                    }
                    _ => ok = false,
                }
            }
            Ok(Transformed::no(e))
        })
        .ok()?;
    ok.then_some(rewritten.data)
}

/// Conjuncts over one join key column of one side, restated over the matching key of the
/// other side (`a.k = 5` with the key pair `a.k = b.k` gives `b.k = 5`): rows of the other side
/// failing them cannot find a match in an inner join.
fn infer_across_keys(conjuncts: &[Expr], on: &[(Expr, Expr)], from_left: bool) -> Vec<Expr> {
    let mut inferred = Vec::new();
    for conjunct in conjuncts {
        let columns = column_refs(conjunct);
        let [column] = columns.iter().collect::<Vec<_>>()[..] else {
            continue;
        };
        for (l, r) in on {
            let (from, to) = if from_left { (l, r) } else { (r, l) };
            let (Expr::Column(from), Expr::Column(_)) = (from, to) else {
                continue;
            };
            if from != column {
                continue;
            }
            let restated = conjunct.clone().transform_up(|e| {
                Ok(match &e {
                    Expr::Column(c) if c == column => Transformed::yes(to.clone()),
                    _ => Transformed::no(e),
                })
            });
            if let Ok(restated) = restated {
                inferred.push(restated.data);
            }
        }
    }
    inferred
}

/// The columns that are a plain `PARTITION BY` key of every window call in `exprs`.
fn common_partition_columns(exprs: &[Expr]) -> Vec<datafusion_common::Column> {
    let keys_of = |e: &Expr| -> Vec<datafusion_common::Column> {
        match e.unaliased() {
            Expr::WindowFunction(window) => column_keys(&window.partition_by),
            _ => Vec::new(),
        }
    };
    let mut exprs = exprs.iter();
    let mut common = exprs.next().map(keys_of).unwrap_or_default();
    for expr in exprs {
        let keys = keys_of(expr);
        common.retain(|column| keys.contains(column));
    }
    common
}

/// The keys of `partition_by` that are plain columns.
fn column_keys(partition_by: &[Expr]) -> Vec<datafusion_common::Column> {
    partition_by
        .iter()
        .filter_map(|key| match key {
            Expr::Column(column) => Some(column.clone()),
            _ => None,
        })
        .collect()
}

/// `conjuncts` split into those reading only partition `keys` (below) and the others
/// (above): only the former keep each window partition whole (kept or dropped as a unit);
/// the others would change the rows a window or a group limit sees.
fn on_partition_keys(
    conjuncts: Vec<Expr>,
    keys: &[datafusion_common::Column],
) -> (Vec<Expr>, Vec<Expr>) {
    conjuncts.into_iter().partition(|c| {
        let columns = column_refs(c);
        !columns.is_empty() && columns.iter().all(|column| keys.contains(column))
    })
}

/// Whether every column `expr` reads is an output column of `plan`.
fn reads_only(expr: &Expr, plan: &LogicalPlan) -> bool {
    column_refs(expr).iter().all(|c| {
        plan.schema()
            .index_of_column_by_name(c.relation.as_ref(), &c.name)
            .is_some()
    })
}

fn filter(
    conjuncts: Vec<Expr>,
    input: Arc<LogicalPlan>,
    registry: &FunctionRegistry,
) -> Result<Arc<LogicalPlan>> {
    Ok(match conjunction(conjuncts) {
        Some(predicate) => Arc::new(LogicalPlan::Filter(Filter::try_new(
            predicate, input, registry,
        )?)),
        None => input,
    })
}

/// The new plan for `Filter(conjuncts)` over `input`, or `None` if nothing moves.
fn push(
    conjuncts: Vec<Expr>,
    input: &LogicalPlan,
    registry: &FunctionRegistry,
) -> Result<Option<LogicalPlan>> {
    Ok(Some(match input {
        LogicalPlan::Filter(inner) => {
            let mut all: Vec<Expr> = split_conjunction(&inner.predicate)
                .into_iter()
                .cloned()
                .collect();
            for c in conjuncts {
                if !all.contains(&c) {
                    all.push(c);
                }
            }
            let predicate =
                conjunction(all).ok_or_else(|| PlanError::Internal("empty filter".into()))?;
            LogicalPlan::Filter(Filter::try_new(
                predicate,
                Arc::clone(&inner.input),
                registry,
            )?)
        }
        LogicalPlan::Projection(p) => {
            let replacements: Vec<Expr> = p.exprs.iter().map(|e| e.unaliased().clone()).collect();
            let (mut below, mut above) = (Vec::new(), Vec::new());
            for c in conjuncts {
                match substitute(&c, input, &replacements) {
                    Some(rewritten) if !rewritten.contains_aggregate() => below.push(rewritten),
                    _ => above.push(c),
                }
            }
            if below.is_empty() {
                return Ok(None);
            }
            let projection = LogicalPlan::Projection(Projection {
                exprs: p.exprs.clone(),
                input: filter(below, Arc::clone(&p.input), registry)?,
                schema: Arc::clone(&p.schema),
            });
            Arc::unwrap_or_clone(filter(above, Arc::new(projection), registry)?)
        }
        LogicalPlan::SubqueryAlias(s) => {
            let replacements: Vec<Expr> = s
                .input
                .schema()
                .columns()
                .into_iter()
                .map(Expr::Column)
                .collect();
            let below = conjuncts
                .iter()
                .map(|c| substitute(c, input, &replacements))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    PlanError::Internal("filter above an alias reads unknown columns".into())
                })?;
            LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(
                filter(below, Arc::clone(&s.input), registry)?,
                s.alias.clone(),
            )?)
        }
        LogicalPlan::Sort(s) => LogicalPlan::Sort(Sort {
            exprs: s.exprs.clone(),
            input: filter(conjuncts, Arc::clone(&s.input), registry)?,
            fetch: s.fetch,
        }),
        LogicalPlan::Distinct(d) => LogicalPlan::Distinct(Distinct {
            input: filter(conjuncts, Arc::clone(&d.input), registry)?,
        }),
        // An aggregate without groups (or of grouping sets with an empty set) returns one row
        // even from no input, so a filter moved below it (even one reading no column, as
        // `WHERE false`) would keep that row.
        LogicalPlan::Aggregate(a)
            if a.group_exprs.is_empty() || !a.empty_grouping_sets().is_empty() =>
        {
            return Ok(None);
        }
        LogicalPlan::Aggregate(a) => {
            let mut replacements: Vec<Expr> = a
                .group_exprs
                .iter()
                .map(|e| e.unaliased().clone())
                .collect();
            // Aggregate outputs have no replacement: conjuncts reading them stay above.
            replacements.truncate(a.group_exprs.len());
            let (mut below, mut above) = (Vec::new(), Vec::new());
            for c in conjuncts {
                match substitute(&c, input, &replacements) {
                    Some(rewritten) => below.push(rewritten),
                    None => above.push(c),
                }
            }
            if below.is_empty() {
                return Ok(None);
            }
            let aggregate = LogicalPlan::Aggregate(Aggregate {
                input: filter(below, Arc::clone(&a.input), registry)?,
                ..a.clone()
            });
            Arc::unwrap_or_clone(filter(above, Arc::new(aggregate), registry)?)
        }
        LogicalPlan::Join(j) => {
            let inner = j.join_type == JoinType::Inner;
            let (to_left, to_right) = match j.join_type {
                JoinType::Inner => (true, true),
                JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
                    (true, false)
                }
                JoinType::Right => (false, true),
                _ => (false, false),
            };
            let (mut left, mut right, mut condition, mut above) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for c in conjuncts {
                if to_left && reads_only(&c, &j.left) {
                    left.push(c);
                } else if to_right && reads_only(&c, &j.right) {
                    right.push(c);
                } else if inner && reads_only(&c, input) {
                    condition.push(c);
                } else {
                    above.push(c);
                }
            }
            if inner {
                let to_right = infer_across_keys(&left, &j.on, true);
                let to_left = infer_across_keys(&right, &j.on, false);
                for (side, inferred) in [(&mut right, to_right), (&mut left, to_left)] {
                    for c in inferred {
                        if !side.contains(&c) {
                            side.push(c);
                        }
                    }
                }
            }
            if left.is_empty() && right.is_empty() && condition.is_empty() {
                return Ok(None);
            }
            let mut on = j.on.clone();
            let (keys, rest) = split_join_conditions(condition, &j.left, &j.right);
            on.extend(keys);
            let join = LogicalPlan::Join(Join {
                left: filter(left, Arc::clone(&j.left), registry)?,
                right: filter(right, Arc::clone(&j.right), registry)?,
                on,
                filter: conjunction(j.filter.iter().cloned().chain(rest)),
                ..j.clone()
            });
            Arc::unwrap_or_clone(filter(above, Arc::new(join), registry)?)
        }
        LogicalPlan::Window(w) => {
            let keys = common_partition_columns(&w.window_exprs);
            let (below, above) = on_partition_keys(conjuncts, &keys);
            if below.is_empty() {
                return Ok(None);
            }
            let window = LogicalPlan::Window(Window {
                input: filter(below, Arc::clone(&w.input), registry)?,
                ..w.clone()
            });
            Arc::unwrap_or_clone(filter(above, Arc::new(window), registry)?)
        }
        LogicalPlan::WindowGroupLimit(l) => {
            let keys = column_keys(&l.partition_by);
            let (below, above) = on_partition_keys(conjuncts, &keys);
            if below.is_empty() {
                return Ok(None);
            }
            let limit = LogicalPlan::WindowGroupLimit(WindowGroupLimit {
                input: filter(below, Arc::clone(&l.input), registry)?,
                ..l.clone()
            });
            Arc::unwrap_or_clone(filter(above, Arc::new(limit), registry)?)
        }
        LogicalPlan::TableScan(scan) => {
            let new: Vec<Expr> = conjuncts
                .iter()
                .filter(|c| !scan.filters.contains(c))
                .cloned()
                .collect();
            if new.is_empty() {
                return Ok(None);
            }
            let mut filters = scan.filters.clone();
            filters.extend(new);
            let scan = LogicalPlan::TableScan(TableScan {
                filters,
                ..scan.clone()
            });
            Arc::unwrap_or_clone(filter(conjuncts, Arc::new(scan), registry)?)
        }
        _ => return Ok(None),
    }))
}

/// The join with the conjuncts of its condition that read one side only moved into that side,
/// where they filter rows before the join instead of pairs in it; `None` if none moves. A side
/// may take them when dropping its rows that fail one changes no output row: either side of an
/// inner join, the right side of left, semi, anti and mark joins (a right row failing its
/// condition matches nothing), the left side of a right join.
fn push_join_condition(join: &Join, registry: &FunctionRegistry) -> Result<Option<LogicalPlan>> {
    let Some(condition) = &join.filter else {
        return Ok(None);
    };
    let (to_left, to_right) = match join.join_type {
        JoinType::Inner => (true, true),
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
            (false, true)
        }
        JoinType::Right => (true, false),
        _ => (false, false),
    };
    let (mut left, mut right, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for c in split_conjunction(condition).into_iter().cloned() {
        if to_left && reads_only(&c, &join.left) {
            left.push(c);
        } else if to_right && reads_only(&c, &join.right) {
            right.push(c);
        } else {
            rest.push(c);
        }
    }
    if left.is_empty() && right.is_empty() {
        return Ok(None);
    }
    Ok(Some(LogicalPlan::Join(Join {
        left: filter(left, Arc::clone(&join.left), registry)?,
        right: filter(right, Arc::clone(&join.right), registry)?,
        filter: conjunction(rest),
        ..join.clone()
    })))
}

impl OptimizerRule for PushDownFilter {
    fn name(&self) -> &str {
        "push_down_filter"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        rewrite_nodes(plan, Visit::ParentsFirst, |node| match node {
            LogicalPlan::Filter(f) => {
                let conjuncts: Vec<Expr> = split_conjunction(&f.predicate)
                    .into_iter()
                    .cloned()
                    .collect();
                push(conjuncts, &f.input, registry)
            }
            LogicalPlan::Join(j) => push_join_condition(j, registry),
            _ => Ok(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::test_util::{apply, plan_of};

    #[test]
    fn through_projections_and_aliases_into_the_scan() {
        let sql = "SELECT x FROM (SELECT a + 1 AS x, b FROM t) s WHERE x > 2 AND s.b = 'k'";
        assert_eq!(
            plan_of(sql).display_indent(),
            r#"Projection: s.x
  Filter: s.x > Int64(2) AND s.b = Utf8("k")
    SubqueryAlias: s
      Projection: t.a + Int64(1) AS x, t.b
        TableScan: t"#
        );
        let (after, changed) = apply(&PushDownFilter, sql);
        assert!(changed);
        assert_eq!(
            after,
            r#"Projection: s.x
  SubqueryAlias: s
    Projection: t.a + Int64(1) AS x, t.b
      Filter: t.a + Int64(1) > Int64(2) AND t.b = Utf8("k")
        TableScan: t filters=[t.a + Int64(1) > Int64(2), t.b = Utf8("k")]"#
        );
    }

    #[test]
    fn not_below_grouping_sets_with_a_grand_total_nor_below_expand() {
        // The () set has a row even when no input row passes, so HAVING stays above.
        let (after, changed) = apply(
            &PushDownFilter,
            "SELECT b, count(*) FROM t GROUP BY ROLLUP (b) HAVING b = 'x'",
        );
        assert!(!changed, "{after}");
        // Without (), a key conjunct moves below the aggregation, onto the nulled key
        // column, and stops above Expand (below it, the key is not nulled yet).
        let (after, changed) = apply(
            &PushDownFilter,
            "SELECT b, count(*) FROM t GROUP BY GROUPING SETS ((b), (c)) HAVING b = 'x'",
        );
        assert!(changed);
        assert!(
            after.ends_with(
                "Filter: __grouping_key_0 = Utf8(\"x\")\n      Expand: sets=[(t.b), (t.c)]\n        TableScan: t"
            ),
            "{after}"
        );
    }

    #[test]
    fn partition_predicates_reach_the_scan_and_the_filter_stays() {
        let sql = "SELECT url FROM events WHERE customer = 'a.com'";
        let (after, changed) = apply(&PushDownFilter, sql);
        assert!(changed);
        assert_eq!(
            after,
            r#"Projection: events.url
  Filter: events.customer = Utf8("a.com")
    TableScan: events filters=[events.customer = Utf8("a.com")]"#
        );
        let registry = FunctionRegistry::new();
        let once = PushDownFilter
            .rewrite(plan_of(sql), &registry)
            .unwrap()
            .data;
        let twice = PushDownFilter.rewrite(once, &registry).unwrap();
        assert!(!twice.transformed, "pushing again must be a no-op");
    }

    #[test]
    fn join_conditions_on_one_side_filter_that_side_where_no_row_changes() {
        let on = "ON t.a = u.a AND t.b <> 'k' AND u.d LIKE 'x%' AND t.b < u.d";
        let joined = |join: &str| {
            apply(
                &PushDownFilter,
                &format!("SELECT t.a FROM t {join} JOIN u {on}"),
            )
            .0
        };
        // A left join keeps its left rows whatever the condition says of them; a right row
        // failing the condition matches nothing.
        assert_eq!(
            joined("LEFT"),
            r#"Projection: t.a
  Left Join: t.a = u.a Filter: t.b != Utf8("k") AND t.b < u.d
    TableScan: t
    Filter: u.d LIKE Utf8("x%")
      TableScan: u filters=[u.d LIKE Utf8("x%")]"#
        );
        assert_eq!(
            joined("RIGHT"),
            r#"Projection: t.a
  Right Join: t.a = u.a Filter: u.d LIKE Utf8("x%") AND t.b < u.d
    Filter: t.b != Utf8("k")
      TableScan: t filters=[t.b != Utf8("k")]
    TableScan: u"#
        );
        assert!(joined("FULL").contains(
            r#"Full Join: t.a = u.a Filter: t.b != Utf8("k") AND u.d LIKE Utf8("x%") AND t.b < u.d"#
        ));
        for join in ["LEFT SEMI", "LEFT ANTI"] {
            let plan = apply(
                &PushDownFilter,
                &format!("SELECT t.a FROM t {join} JOIN u {on}"),
            )
            .0;
            assert!(
                plan.contains("Filter: t.b != Utf8(\"k\") AND t.b < u.d"),
                "{plan}"
            );
            assert!(plan.contains("    Filter: u.d LIKE Utf8(\"x%\")"), "{plan}");
        }
    }

    #[test]
    fn into_the_matching_side_of_joins() {
        let sql =
            "SELECT t.a FROM t JOIN u ON t.a = u.a WHERE t.c > 1.0 AND u.d = 'x' AND t.b = u.d";
        let (after, _) = apply(&PushDownFilter, sql);
        assert_eq!(
            after,
            r#"Projection: t.a
  Inner Join: t.a = u.a, t.b = u.d
    Filter: t.c > CAST(Decimal128(1.0,2,1) AS Float64)
      TableScan: t filters=[t.c > CAST(Decimal128(1.0,2,1) AS Float64)]
    Filter: u.d = Utf8("x")
      TableScan: u filters=[u.d = Utf8("x")]"#
        );
        let (after, _) = apply(
            &PushDownFilter,
            "SELECT t.a FROM t LEFT JOIN u ON t.a = u.a WHERE u.d = 'x'",
        );
        assert_eq!(
            after,
            r#"Projection: t.a
  Filter: u.d = Utf8("x")
    Left Join: t.a = u.a
      TableScan: t
      TableScan: u"#
        );
    }

    #[test]
    fn a_cross_join_under_equalities_becomes_an_equi_join() {
        let sql = "SELECT t.a FROM t, u WHERE t.a = u.a AND t.c < u.a AND t.b = 'k'";
        let (after, changed) = apply(&PushDownFilter, sql);
        assert!(changed);
        assert_eq!(
            after,
            r#"Projection: t.a
  Inner Join: t.a = u.a Filter: t.c < CAST(u.a AS Float64)
    Filter: t.b = Utf8("k")
      TableScan: t filters=[t.b = Utf8("k")]
    TableScan: u"#
        );
    }

    #[test]
    fn null_safe_equality_between_the_sides_becomes_keys_that_match_nulls() {
        let sql = "SELECT t.a FROM t, u WHERE t.b IS NOT DISTINCT FROM u.d";
        let (after, _) = apply(&PushDownFilter, sql);
        assert_eq!(
            after,
            r#"Projection: t.a
  Inner Join: t.b IS NULL = u.d IS NULL, coalesce(CAST(t.b AS Utf8), Utf8("")) = coalesce(CAST(u.d AS Utf8), Utf8(""))
    TableScan: t
    TableScan: u"#
        );
    }

    #[test]
    fn filters_on_a_join_key_are_inferred_for_the_other_side() {
        let sql = "SELECT t.a FROM t JOIN u ON t.a = u.a WHERE t.a = 5 AND u.d = 'x'";
        let (after, _) = apply(&PushDownFilter, sql);
        assert_eq!(
            after,
            r#"Projection: t.a
  Inner Join: t.a = u.a
    Filter: t.a = Int64(5)
      TableScan: t filters=[t.a = Int64(5)]
    Filter: u.d = Utf8("x") AND u.a = Int64(5)
      TableScan: u filters=[u.d = Utf8("x"), u.a = Int64(5)]"#
        );
        // Not through an outer join's null-supplying side.
        let (after, _) = apply(
            &PushDownFilter,
            "SELECT t.a FROM t LEFT JOIN u ON t.a = u.a WHERE t.a = 5",
        );
        assert!(!after.contains("u.a = Int64(5)"), "{after}");
    }

    #[test]
    fn never_below_an_aggregate_without_groups() {
        let sql = "SELECT n FROM (SELECT count(*) AS n FROM t) s WHERE false";
        let (after, _) = apply(&PushDownFilter, sql);
        assert!(
            after.find("Filter").unwrap() < after.find("Aggregate").unwrap(),
            "{after}"
        );
    }

    #[test]
    fn below_aggregates_only_on_group_keys() {
        let (after, _) = apply(
            &PushDownFilter,
            "SELECT b, count(*) AS n FROM t GROUP BY b HAVING b = 'x' AND count(*) > 1",
        );
        assert_eq!(
            after,
            r#"Projection: t.b, count(*) AS n
  Filter: count(*) > Int64(1)
    Aggregate: groupBy=[[t.b]], aggr=[[count(*)]]
      Filter: t.b = Utf8("x")
        TableScan: t filters=[t.b = Utf8("x")]"#
        );
    }
}
