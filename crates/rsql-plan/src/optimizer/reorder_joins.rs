//! `reorder_joins`: a tree of three or more inner joins (with the filters between them) is
//! rebuilt left-deep in the order the cardinality estimates favour, never joining two
//! relations without a condition between them while a connected order exists.
//!
//! The tree is flattened into its relations and the conjuncts of every join condition and
//! filter. The largest relation goes first, so it is only ever probed; then, greedily, the
//! relation whose join with the rows so far is estimated smallest, among those with a
//! condition linking them to what is already joined. Each join gets the conditions whose
//! relations are all joined by then (equalities as keys). A projection restores the original
//! column order.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion_common::JoinType;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};

use super::OptimizerRule;
use super::join_conditions::split_join_conditions;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, column_refs, conjunction, split_conjunction};
use crate::function::FunctionRegistry;
use crate::plan::{Filter, Join, LogicalPlan, Projection};

/// The `reorder_joins` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReorderJoins;

/// Trees with fewer relations keep their order (the physical planner picks the build side).
const MIN_RELATIONS: usize = 3;

/// A join tree taken apart.
#[derive(Default)]
struct Flattened {
    relations: Vec<LogicalPlan>,
    conjuncts: Vec<Expr>,
}

fn is_inner_join(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Join(j) if j.join_type == JoinType::Inner)
}

/// Whether `plan` is the root of a join tree: an inner join, or filters over one.
fn is_join_tree(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Filter(filter) => is_join_tree(&filter.input),
        other => is_inner_join(other),
    }
}

fn flatten(plan: &LogicalPlan, into: &mut Flattened) {
    match plan {
        LogicalPlan::Filter(filter) if is_join_tree(&filter.input) => {
            into.conjuncts
                .extend(split_conjunction(&filter.predicate).into_iter().cloned());
            flatten(&filter.input, into);
        }
        LogicalPlan::Join(join) if join.join_type == JoinType::Inner => {
            into.conjuncts
                .extend(join.on.iter().map(|(l, r)| l.clone().eq(r.clone())));
            if let Some(filter) = &join.filter {
                into.conjuncts
                    .extend(split_conjunction(filter).into_iter().cloned());
            }
            flatten(&join.left, into);
            flatten(&join.right, into);
        }
        other => into.relations.push(other.clone()),
    }
}

/// The relations a conjunct reads, or `None` if a column belongs to none or several.
fn relations_of(conjunct: &Expr, relations: &[LogicalPlan]) -> Option<BTreeSet<usize>> {
    column_refs(conjunct)
        .iter()
        .map(|column| {
            let mut owners = relations.iter().enumerate().filter(|(_, r)| {
                r.schema()
                    .index_of_column_by_name(column.relation.as_ref(), &column.name)
                    .is_some()
            });
            match (owners.next(), owners.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
        .collect()
}

/// A conjunct and the relations it reads.
struct Condition {
    expr: Expr,
    relations: BTreeSet<usize>,
}

/// Rebuilds a flattened tree in the greedy order; `None` when it cannot be taken apart safely.
fn reorder(tree: Flattened, registry: &FunctionRegistry) -> Result<Option<LogicalPlan>> {
    let Flattened {
        mut relations,
        conjuncts,
    } = tree;
    let mut conditions = Vec::new();
    let mut constants = Vec::new();
    for expr in conjuncts {
        let Some(read) = relations_of(&expr, &relations) else {
            return Ok(None);
        };
        match read.len() {
            0 => constants.push(expr),
            1 => {
                // A filter on one relation (push_down_filter normally moved it already).
                let i = *read.first().unwrap_or(&0);
                let input = Arc::new(std::mem::replace(
                    &mut relations[i],
                    LogicalPlan::EmptyRelation(crate::plan::EmptyRelation::new(false)),
                ));
                relations[i] = LogicalPlan::Filter(Filter::try_new(expr, input, registry)?);
            }
            _ => conditions.push(Condition {
                expr,
                relations: read,
            }),
        }
    }
    let rows: Vec<f64> = relations.iter().map(LogicalPlan::estimated_rows).collect();
    let first = (0..relations.len())
        .max_by(|&a, &b| rows[a].total_cmp(&rows[b]))
        .unwrap_or(0);
    let mut joined = BTreeSet::from([first]);
    let mut order = vec![first];
    let mut plan = relations[first].clone();
    let mut used = vec![false; conditions.len()];
    while joined.len() < relations.len() {
        let candidates = (0..relations.len()).filter(|i| !joined.contains(i));
        let mut best: Option<(bool, f64, usize, LogicalPlan, Vec<usize>)> = None;
        for next in candidates {
            let applicable: Vec<usize> = (0..conditions.len())
                .filter(|&c| {
                    !used[c]
                        && conditions[c].relations.contains(&next)
                        && conditions[c]
                            .relations
                            .iter()
                            .all(|r| *r == next || joined.contains(r))
                })
                .collect();
            let join = build_join(&plan, &relations[next], &conditions, &applicable)?;
            let connected = matches!(&join, LogicalPlan::Join(j) if !j.on.is_empty());
            let estimate = join.estimated_rows();
            let better = match &best {
                None => true,
                Some((best_connected, best_estimate, ..)) => {
                    (connected, -estimate) > (*best_connected, -best_estimate)
                }
            };
            if better {
                best = Some((connected, estimate, next, join, applicable));
            }
        }
        let Some((_, _, next, join, applicable)) = best else {
            break;
        };
        applicable.into_iter().for_each(|c| used[c] = true);
        joined.insert(next);
        order.push(next);
        plan = join;
    }
    if order.iter().copied().ne(0..relations.len()) {
        plan = restore_columns(plan, &relations, registry)?;
    }
    if let Some(predicate) = conjunction(constants) {
        plan = LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(plan), registry)?);
    }
    Ok(Some(plan))
}

/// The inner join of `left` and `right` on the `applicable` conditions.
fn build_join(
    left: &LogicalPlan,
    right: &LogicalPlan,
    conditions: &[Condition],
    applicable: &[usize],
) -> Result<LogicalPlan> {
    let conjuncts = applicable.iter().map(|&c| conditions[c].expr.clone());
    let (on, filter) = split_join_conditions(conjuncts, left, right);
    Ok(LogicalPlan::Join(Join::try_new(
        Arc::new(left.clone()),
        Arc::new(right.clone()),
        on,
        filter,
        JoinType::Inner,
    )?))
}

/// `plan` with its columns in the order of the relations as first written.
fn restore_columns(
    plan: LogicalPlan,
    relations: &[LogicalPlan],
    registry: &FunctionRegistry,
) -> Result<LogicalPlan> {
    let exprs = relations
        .iter()
        .flat_map(|r| r.schema().columns())
        .map(Expr::Column)
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(plan),
        registry,
    )?))
}

impl OptimizerRule for ReorderJoins {
    fn name(&self) -> &str {
        "reorder_joins"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_down(|node| {
            if !is_join_tree(&node) {
                return Ok(Transformed::no(node));
            }
            let mut tree = Flattened::default();
            flatten(&node, &mut tree);
            if tree.relations.len() < MIN_RELATIONS {
                return Ok(Transformed::no(node));
            }
            // Join trees inside the relations are reordered on their own.
            tree.relations = std::mem::take(&mut tree.relations)
                .into_iter()
                .map(|r| Ok(self.rewrite(r, registry)?.data))
                .collect::<Result<_>>()?;
            let Some(reordered) = reorder(tree, registry)? else {
                return Ok(Transformed::no(node));
            };
            let changed = reordered.display_indent() != node.display_indent();
            let plan = if changed { reordered } else { node };
            Ok(Transformed::new(plan, changed, TreeNodeRecursion::Jump))
        })
        .map_err(PlanError::from_datafusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::PushDownFilter;
    use crate::optimizer::test_util::plan_of;

    /// The plan after `push_down_filter` (which makes the join conditions), then this rule;
    /// a second application must change nothing.
    fn reordered(sql: &str) -> String {
        let registry = FunctionRegistry::new();
        let plan = PushDownFilter
            .rewrite(plan_of(sql), &registry)
            .unwrap()
            .data;
        let once = ReorderJoins.rewrite(plan, &registry).unwrap();
        let twice = ReorderJoins.rewrite(once.data.clone(), &registry).unwrap();
        assert!(!twice.transformed, "not at a fixed point: {sql}");
        once.data.display_indent()
    }

    #[test]
    fn a_cross_product_in_the_written_order_is_avoided() {
        // v and u share no condition; t (1000 rows) is probed, v (10) and u (100) are built.
        assert_eq!(
            reordered("SELECT t.a FROM v, u, t WHERE t.a = u.a AND t.b = v.d"),
            r#"Projection: t.a
  Projection: v.e, v.d, u.a, u.d, t.a, t.b, t.c
    Inner Join: t.a = u.a
      Inner Join: t.b = v.d
        TableScan: t
        TableScan: v
      TableScan: u"#
        );
    }

    #[test]
    fn relations_join_once_connected() {
        // v is linked to u only, so it joins after u even though it is smaller.
        assert_eq!(
            reordered("SELECT t.a FROM t, v, u WHERE u.a = t.a AND v.e = u.a AND v.d = 'x'"),
            r#"Projection: t.a
  Projection: t.a, t.b, t.c, v.e, v.d, u.a, u.d
    Inner Join: u.a = v.e
      Inner Join: t.a = u.a
        TableScan: t
        TableScan: u
      Filter: v.d = Utf8("x")
        TableScan: v filters=[v.d = Utf8("x")]"#
        );
    }

    #[test]
    fn two_relations_and_outer_joins_keep_their_order() {
        let registry = FunctionRegistry::new();
        for sql in [
            "SELECT t.a FROM t JOIN u ON t.a = u.a",
            "SELECT t.a FROM t LEFT JOIN u ON t.a = u.a LEFT JOIN v ON v.e = u.a",
        ] {
            let result = ReorderJoins.rewrite(plan_of(sql), &registry).unwrap();
            assert!(!result.transformed, "{sql}");
        }
    }
}
