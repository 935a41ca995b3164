//! `reorder_joins`: a tree of three or more inner joins (with the filters between them) is
//! rebuilt in the order the cardinality estimates favour, never joining two relations without
//! a condition between them while a connected order exists.
//!
//! The tree is flattened into its relations and the conjuncts of every join condition and
//! filter. Up to [`MAX_EXHAUSTIVE_RELATIONS`] relations, every connected join tree, bushy ones
//! included, is considered (dynamic programming over the subsets of relations, as DuckDB and
//! most planners do), and the cheapest wins: the fewest estimated rows produced and moved by
//! its joins ([`join_cost`]), with key domains shared across equal keys ([`KeyDomains`]). A
//! small dimension joined with its filtered neighbour first (TPC-H's supplier with nation) is
//! then one small build side broadcast to the large fact table. Each join's larger input is its
//! probe side. Past that many relations, or when no connected tree exists, the tree is built
//! left-deep and greedily: the largest relation first, so it is only ever probed, then the
//! relation whose join with the rows so far is estimated smallest, among those linked to what
//! is already joined. Each join gets the conditions whose relations are all joined by then
//! (equalities as keys). A projection restores the original column order.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion_common::JoinType;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};

use super::OptimizerRule;
use super::join_conditions::split_join_conditions;
use crate::error::{PlanError, Result};
use datafusion_common::Column;

use crate::expr::{Expr, Operator, column_refs, conjunction, split_conjunction};
use crate::function::FunctionRegistry;
use crate::plan::{Filter, Join, LogicalPlan, Projection, broadcast_bytes, selectivity};

/// The `reorder_joins` rule.
#[derive(Debug, Clone, Copy)]
pub struct ReorderJoins {
    /// Build sides reading at most this many bytes of input are broadcast (the session's
    /// `broadcast_threshold`): the join order counts on it.
    broadcast_threshold: u64,
}

impl ReorderJoins {
    /// The default `broadcast_threshold`, 10 MiB.
    pub const DEFAULT_BROADCAST_THRESHOLD: u64 = 10 << 20;

    /// The rule for joins that broadcast build sides of at most `bytes` bytes of input.
    pub fn with_broadcast_threshold(bytes: u64) -> Self {
        ReorderJoins {
            broadcast_threshold: bytes,
        }
    }
}

impl Default for ReorderJoins {
    fn default() -> Self {
        Self::with_broadcast_threshold(Self::DEFAULT_BROADCAST_THRESHOLD)
    }
}

/// Trees with fewer relations keep their order (the physical planner picks the build side).
const MIN_RELATIONS: usize = 3;

/// Trees of at most this many relations are searched exhaustively (3^n subset pairs).
const MAX_EXHAUSTIVE_RELATIONS: usize = 10;

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

/// Rebuilds a flattened tree in the cheapest order found; `None` when it cannot be taken apart
/// safely.
fn reorder(
    tree: Flattened,
    broadcast_threshold: u64,
    registry: &FunctionRegistry,
) -> Result<Option<LogicalPlan>> {
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
    let exhaustive = if relations.len() <= MAX_EXHAUSTIVE_RELATIONS {
        cheapest_tree(&relations, &conditions, broadcast_threshold)?
    } else {
        None
    };
    let (mut plan, order) = match exhaustive {
        Some(found) => found,
        None => greedy_left_deep(&relations, &conditions)?,
    };
    if order.iter().copied().ne(0..relations.len()) {
        plan = restore_columns(plan, &relations, registry)?;
    }
    if let Some(predicate) = conjunction(constants) {
        plan = LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(plan), registry)?);
    }
    Ok(Some(plan))
}

/// The left-deep tree built greedily (see the module documentation), with its relations in
/// join order.
fn greedy_left_deep(
    relations: &[LogicalPlan],
    conditions: &[Condition],
) -> Result<(LogicalPlan, Vec<usize>)> {
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
            let join = build_join(&plan, &relations[next], conditions, &applicable)?;
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
    Ok((plan, order))
}

/// The join keys that the conditions make equal, in classes, each with its domain: the rows of
/// the smallest table any of its columns comes from (DuckDB's equivalence sets). Customer's and
/// supplier's nation keys, both equal to nation's, share nation's 25 values, so joining
/// customer with supplier on them is estimated as the many-to-many join it is.
struct KeyDomains {
    /// Per condition, the class of its columns when it equates two columns.
    class_of: Vec<Option<usize>>,
    /// Per class, its domain, if any column's table is known.
    domain: Vec<Option<f64>>,
}

impl KeyDomains {
    fn new(relations: &[LogicalPlan], conditions: &[Condition]) -> Self {
        let mut columns: Vec<Column> = Vec::new();
        let mut parent: Vec<usize> = Vec::new();
        let mut index_of = |column: &Column, parent: &mut Vec<usize>| match columns
            .iter()
            .position(|c| c == column)
        {
            Some(i) => i,
            None => {
                columns.push(column.clone());
                parent.push(parent.len());
                parent.len() - 1
            }
        };
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let pairs: Vec<Option<(usize, usize)>> = conditions
            .iter()
            .map(|condition| match &condition.expr {
                Expr::BinaryExpr {
                    left,
                    op: Operator::Eq,
                    right,
                } => match (left.unaliased(), right.unaliased()) {
                    (Expr::Column(a), Expr::Column(b)) => {
                        let (a, b) = (index_of(a, &mut parent), index_of(b, &mut parent));
                        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                        parent[ra] = rb;
                        Some((a, b))
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let mut domain: Vec<Option<f64>> = vec![None; columns.len()];
        for (i, column) in columns.iter().enumerate() {
            let key = Expr::Column(column.clone());
            let origin = relations.iter().find_map(|r| r.key_origin_rows(&key));
            let class = root(&mut parent, i);
            if let Some(origin) = origin {
                domain[class] = Some(domain[class].map_or(origin, |d: f64| d.min(origin)));
            }
        }
        let class_of = pairs
            .iter()
            .map(|pair| pair.map(|(a, _)| root(&mut parent, a)))
            .collect();
        KeyDomains { class_of, domain }
    }

    /// Estimated rows of joining `left_rows` with `right_rows` on the `applicable` conditions:
    /// divided, for the most selective equality, by the larger of the two sides' distinct keys
    /// (each at most the class's domain), and scaled by the other conditions' selectivity.
    fn join_rows(
        &self,
        left_rows: f64,
        right_rows: f64,
        conditions: &[Condition],
        applicable: &[usize],
    ) -> f64 {
        let mut divisor: f64 = 1.0;
        let mut scale = 1.0;
        for &c in applicable {
            match self.class_of[c] {
                Some(class) => {
                    let domain = self.domain[class].unwrap_or(left_rows.max(right_rows));
                    divisor = divisor.max(left_rows.min(domain).max(right_rows.min(domain)));
                }
                None => scale *= selectivity(&conditions[c].expr),
            }
        }
        (left_rows * right_rows / divisor * scale).max(1.0)
    }
}

/// What one join costs: the rows it produces, plus the rows it moves. A build side small
/// enough to broadcast is sent whole to the probe side's partitions; a larger one makes both
/// sides shuffle. So joining a large table with its small filtered dimensions first (no
/// shuffle) beats joining it with another large table first, even where both leave as many
/// rows.
fn join_cost(probe: &Planned, build: &Planned, rows: f64, broadcast_threshold: u64) -> f64 {
    let broadcast = build
        .bytes
        .is_some_and(|bytes| bytes <= broadcast_threshold);
    if broadcast {
        rows + build.rows
    } else {
        rows + probe.rows + build.rows
    }
}

/// The best tree found for one subset of the relations.
struct Planned {
    plan: LogicalPlan,
    /// Estimated rows of the tree's result.
    rows: f64,
    /// What its joins cost together ([`join_cost`]): what the search minimises.
    cost: f64,
    /// The bytes of input it reads when it is small enough to broadcast as a build side: a
    /// join no larger than its larger input counts its inputs' bytes, as the physical
    /// planner does.
    bytes: Option<u64>,
    /// The relations, as its leaves read left to right.
    leaves: Vec<usize>,
}

/// The connected join tree over all `relations` whose joins produce the fewest estimated rows
/// in total, with its leaves in order; `None` when the relations are not connected.
fn cheapest_tree(
    relations: &[LogicalPlan],
    conditions: &[Condition],
    broadcast_threshold: u64,
) -> Result<Option<(LogicalPlan, Vec<usize>)>> {
    let n = relations.len();
    let domains = KeyDomains::new(relations, conditions);
    let bits = |set: &BTreeSet<usize>| set.iter().fold(0u32, |mask, r| mask | (1 << r));
    let condition_masks: Vec<u32> = conditions.iter().map(|c| bits(&c.relations)).collect();
    let mut best: Vec<Option<Planned>> = (0..1u32 << n).map(|_| None).collect();
    for (i, relation) in relations.iter().enumerate() {
        best[1 << i] = Some(Planned {
            plan: relation.clone(),
            rows: relation.estimated_rows(),
            cost: 0.0,
            bytes: broadcast_bytes(relation),
            leaves: vec![i],
        });
    }
    let mut sets: Vec<u32> = (1..1u32 << n).filter(|s| s.count_ones() >= 2).collect();
    sets.sort_by_key(|s| s.count_ones());
    for set in sets {
        let lowest = set & set.wrapping_neg();
        let mut found: Option<Planned> = None;
        // Every split of `set` in two, once: the part holding its lowest relation, and the rest.
        let mut part = set;
        loop {
            part = (part - 1) & set;
            if part == 0 {
                break;
            }
            if part & lowest == 0 {
                continue;
            }
            let (one, other) = (part, set & !part);
            let (Some(a), Some(b)) = (&best[one as usize], &best[other as usize]) else {
                continue;
            };
            let applicable: Vec<usize> = (0..conditions.len())
                .filter(|&c| {
                    let mask = condition_masks[c];
                    mask & set == mask && mask & one != 0 && mask & other != 0
                })
                .collect();
            if applicable.is_empty() {
                continue;
            }
            // The larger input is probed, the smaller built.
            let b_probes = match b.rows.total_cmp(&a.rows) {
                std::cmp::Ordering::Equal => b.plan.display_indent() > a.plan.display_indent(),
                larger => larger.is_gt(),
            };
            let (probe, build) = if b_probes { (b, a) } else { (a, b) };
            let join = build_join(&probe.plan, &build.plan, conditions, &applicable)?;
            if !matches!(&join, LogicalPlan::Join(j) if !j.on.is_empty()) {
                continue;
            }
            let rows = domains.join_rows(a.rows, b.rows, conditions, &applicable);
            let cost = probe.cost + build.cost + join_cost(probe, build, rows, broadcast_threshold);
            let better = match &found {
                None => true,
                Some(current) => {
                    cost < current.cost
                        || (cost == current.cost
                            && join.display_indent() < current.plan.display_indent())
                }
            };
            if better {
                let leaves = probe.leaves.iter().chain(&build.leaves).copied().collect();
                let bytes = match (probe.bytes, build.bytes) {
                    (Some(p), Some(b)) if rows <= probe.rows.max(build.rows) => Some(p + b),
                    _ => None,
                };
                found = Some(Planned {
                    plan: join,
                    rows,
                    cost,
                    bytes,
                    leaves,
                });
            }
        }
        best[set as usize] = found;
    }
    Ok(best
        .pop()
        .flatten()
        .map(|planned| (planned.plan, planned.leaves)))
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
            let Some(reordered) = reorder(tree, self.broadcast_threshold, registry)? else {
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
        let once = ReorderJoins::default().rewrite(plan, &registry).unwrap();
        let twice = ReorderJoins::default()
            .rewrite(once.data.clone(), &registry)
            .unwrap();
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
    fn a_filtered_dimension_joins_its_neighbour_before_the_fact_table() {
        // v is linked to u only: u and the filtered v join first (a bushy tree), and t, the
        // largest, probes their result instead of being joined with all of u first.
        assert_eq!(
            reordered("SELECT t.a FROM t, v, u WHERE u.a = t.a AND v.e = u.a AND v.d = 'x'"),
            r#"Projection: t.a
  Projection: t.a, t.b, t.c, v.e, v.d, u.a, u.d
    Inner Join: t.a = u.a
      TableScan: t
      Inner Join: u.a = v.e
        TableScan: u
        Filter: v.d = Utf8("x")
          TableScan: v filters=[v.d = Utf8("x")]"#
        );
    }

    #[test]
    fn the_cheapest_tree_wins() {
        let registry = FunctionRegistry::new();
        let sql = "SELECT t.a FROM t, u, v WHERE t.a = u.a AND u.d = v.d AND v.e = 1";
        let plan = PushDownFilter
            .rewrite(plan_of(sql), &registry)
            .unwrap()
            .data;
        let LogicalPlan::Projection(projection) = &plan else {
            panic!("{}", plan.display_indent());
        };
        let mut tree = Flattened::default();
        flatten(&projection.input, &mut tree);
        let mut conditions = Vec::new();
        for expr in tree.conjuncts {
            if let Some(read) = relations_of(&expr, &tree.relations).filter(|r| r.len() > 1) {
                conditions.push(Condition {
                    expr,
                    relations: read,
                });
            }
        }
        let (chosen, _) = cheapest_tree(&tree.relations, &conditions, 0)
            .unwrap()
            .expect("connected");
        // Every connected tree, by hand: with nothing broadcast, each join costs the rows it
        // reads from both sides and the rows it produces.
        let cost = |plan: &LogicalPlan| -> f64 {
            let mut total = 0.0;
            plan.apply(|node| {
                if let LogicalPlan::Join(join) = node {
                    total += node.estimated_rows()
                        + join.left.estimated_rows()
                        + join.right.estimated_rows();
                }
                Ok(TreeNodeRecursion::Continue)
            })
            .unwrap();
            total
        };
        let [t, u, v] = [0, 1, 2].map(|i| tree.relations[i].clone());
        let reads = |plan: &LogicalPlan, c: usize| {
            column_refs(&conditions[c].expr).iter().all(|col| {
                plan.schema()
                    .index_of_column_by_name(col.relation.as_ref(), &col.name)
                    .is_some()
            })
        };
        // The join of `l` and `r` on the conditions linking them (not those inside either).
        let join = |l: &LogicalPlan, r: &LogicalPlan| {
            let both = build_join(l, r, &[], &[]).unwrap();
            let linking: Vec<usize> = (0..conditions.len())
                .filter(|&c| reads(&both, c) && !reads(l, c) && !reads(r, c))
                .collect();
            build_join(l, r, &conditions, &linking).unwrap()
        };
        let candidates = [join(&join(&t, &u), &v), join(&t, &join(&u, &v))];
        let cheapest = candidates.iter().map(cost).fold(f64::INFINITY, f64::min);
        assert_eq!(cost(&chosen), cheapest, "{}", chosen.display_indent());
    }

    #[test]
    fn two_relations_and_outer_joins_keep_their_order() {
        let registry = FunctionRegistry::new();
        for sql in [
            "SELECT t.a FROM t JOIN u ON t.a = u.a",
            "SELECT t.a FROM t LEFT JOIN u ON t.a = u.a LEFT JOIN v ON v.e = u.a",
        ] {
            let result = ReorderJoins::default()
                .rewrite(plan_of(sql), &registry)
                .unwrap();
            assert!(!result.transformed, "{sql}");
        }
    }
}
