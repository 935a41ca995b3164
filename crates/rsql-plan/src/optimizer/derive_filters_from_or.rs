//! `derive_filters_from_or`: an `OR` over both sides of a join implies a filter on each side
//! made of that side's part of every branch (PostgreSQL's restriction `OR` clauses). Over
//! `n1 JOIN n2`, `(n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY') OR (n1.n_name = 'GERMANY'
//! AND n2.n_name = 'FRANCE')` implies `n1.n_name IN ('FRANCE', 'GERMANY')` and the same for
//! `n2`; `push_down_filter` then takes them to the scans, which prune with them, while the
//! `OR` itself stays at the join. A side gets a filter only when every branch has a conjunct
//! reading that side alone; equalities of one expression with literals become an `IN` list.
//!
//! Derived where a filter sits on a join (for the sides a filter above may restrict) and from
//! a join's own condition (for the sides it may restrict before joining). A derived filter that
//! is already on the way down the side — in the filter, or where `push_down_filter` put it,
//! through joins, aliases and projections — is not added again, so the rules' passes reach a
//! fixed point instead of stacking copies.

use std::sync::Arc;

use datafusion_common::JoinType;
use datafusion_common::ScalarValue;
use datafusion_common::tree_node::{Transformed, TreeNode};

use super::join_conditions::reads_only;
use super::push_down_filter::substitute;
use super::{OptimizerRule, Visit, rewrite_nodes};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, Operator, conjunction, split_conjunction, split_disjunction};
use crate::function::FunctionRegistry;
use crate::plan::{Filter, Join, LogicalPlan};

/// The `derive_filters_from_or` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeriveFiltersFromOr;

/// Functions whose every call gives a new value: a copy of a conjunct calling one is not
/// implied by the original.
const RANDOM_FUNCTIONS: [&str; 2] = ["rand", "random"];

fn calls_random(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(e, Expr::ScalarFunction { name, .. }
            if RANDOM_FUNCTIONS.contains(&name.as_str())))
    })
    .unwrap_or(true)
}

/// The expression and literals of `branch` when it is `e = literal` or `e IN (literals)`.
fn equality_with_literals(branch: &Expr) -> Option<(&Expr, Vec<&ScalarValue>)> {
    match branch {
        Expr::BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        } => match (left.as_ref(), right.as_ref()) {
            (Expr::Literal(_), Expr::Literal(_)) => None,
            (tested, Expr::Literal(value)) | (Expr::Literal(value), tested) => {
                Some((tested, vec![value]))
            }
            _ => None,
        },
        Expr::InList {
            expr,
            list,
            negated: false,
        } => list
            .iter()
            .map(|item| match item {
                Expr::Literal(value) => Some(value),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|values| (expr.as_ref(), values)),
        _ => None,
    }
}

/// `e = a OR e IN (b, c)` as `e IN (a, b, c)`, when every branch compares the same `e` with
/// literals of one type.
fn as_in_list(branches: &[Expr]) -> Option<Expr> {
    let mut tested: Option<&Expr> = None;
    let mut values: Vec<&ScalarValue> = Vec::new();
    for branch in branches {
        let (expr, literals) = equality_with_literals(branch)?;
        if *tested.get_or_insert(expr) != expr {
            return None;
        }
        for value in literals {
            if !values.contains(&value) {
                values.push(value);
            }
        }
    }
    let data_type = values.first()?.data_type();
    if values.iter().any(|v| v.data_type() != data_type) {
        return None;
    }
    Some(Expr::InList {
        expr: Box::new(tested?.clone()),
        list: values
            .into_iter()
            .map(|v| Expr::Literal(v.clone()))
            .collect(),
        negated: false,
    })
}

/// The filter on `side` that `conjunct`, an `OR` reading columns outside `side`, implies: the
/// disjunction of each branch's conjuncts that read `side` alone; `None` when some branch has
/// none.
fn derive(conjunct: &Expr, side: &LogicalPlan) -> Option<Expr> {
    let branches = split_disjunction(conjunct);
    if branches.len() < 2 || reads_only(conjunct, side) {
        return None;
    }
    let mut parts: Vec<Expr> = Vec::new();
    for branch in branches {
        let part = conjunction(
            split_conjunction(branch)
                .into_iter()
                .filter(|c| reads_only(c, side) && !calls_random(c))
                .cloned(),
        )?;
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    if parts.len() == 1 {
        return parts.pop();
    }
    as_in_list(&parts).or_else(|| parts.into_iter().reduce(Expr::or))
}

/// Whether `conjuncts` (of a filter or a join condition) hold `expr`.
fn holds(conjuncts: Option<&Expr>, expr: &Expr) -> bool {
    conjuncts.is_some_and(|c| split_conjunction(c).contains(&expr))
}

/// Whether `expr`, over `plan`'s columns, is already a filter on the way down `plan` that
/// `push_down_filter` takes it: in a filter, a join's condition or keys, a scan's filters.
fn already_filtered(expr: &Expr, plan: &LogicalPlan) -> bool {
    let below = |replacements: Vec<Expr>, input: &LogicalPlan| {
        substitute(expr, plan, &replacements).is_some_and(|e| already_filtered(&e, input))
    };
    match plan {
        LogicalPlan::Filter(filter) => {
            holds(Some(&filter.predicate), expr) || already_filtered(expr, &filter.input)
        }
        LogicalPlan::TableScan(scan) => scan.filters.contains(expr),
        LogicalPlan::Join(join) => {
            holds(join.filter.as_ref(), expr)
                || join
                    .on
                    .iter()
                    .any(|(l, r)| l.clone().eq(r.clone()) == *expr)
                || [&join.left, &join.right]
                    .into_iter()
                    .any(|side| reads_only(expr, side) && already_filtered(expr, side))
        }
        LogicalPlan::SubqueryAlias(alias) => below(
            alias
                .input
                .schema()
                .columns()
                .into_iter()
                .map(Expr::Column)
                .collect(),
            &alias.input,
        ),
        LogicalPlan::Projection(projection) => below(
            projection
                .exprs
                .iter()
                .map(|e| e.unaliased().clone())
                .collect(),
            &projection.input,
        ),
        LogicalPlan::Aggregate(aggregate) => below(
            aggregate
                .group_exprs
                .iter()
                .map(|e| e.unaliased().clone())
                .collect(),
            &aggregate.input,
        ),
        LogicalPlan::Sort(sort) => already_filtered(expr, &sort.input),
        LogicalPlan::Distinct(distinct) => already_filtered(expr, &distinct.input),
        LogicalPlan::Window(window) => already_filtered(expr, &window.input),
        _ => false,
    }
}

/// The filters `predicate` implies on `side` that are not on it yet (`plan` is `side` or a
/// plan over it whose filters count as well).
fn new_filters(predicate: &Expr, side: &LogicalPlan, plan: &LogicalPlan) -> Vec<Expr> {
    let mut derived: Vec<Expr> = Vec::new();
    for conjunct in split_conjunction(predicate) {
        if let Some(filter) = derive(conjunct, side)
            && !derived.contains(&filter)
            && !already_filtered(&filter, plan)
        {
            derived.push(filter);
        }
    }
    derived
}

/// The sides of a join (left, right) that a filter above it may restrict (its preserved
/// sides, where `push_down_filter` moves a filter).
fn sides_under_a_filter(join_type: JoinType) -> (bool, bool) {
    match join_type {
        JoinType::Inner => (true, true),
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
            (true, false)
        }
        JoinType::Right => (false, true),
        _ => (false, false),
    }
}

/// The sides of `join` that its condition may restrict before joining: rows failing it find no
/// match, which matters on a side that is not preserved.
fn sides_under_the_condition(join: &Join) -> (bool, bool) {
    match join.join_type {
        JoinType::Inner | JoinType::LeftSemi => (true, true),
        JoinType::Left => (false, true),
        JoinType::LeftAnti if !join.null_aware => (false, true),
        JoinType::Right => (true, false),
        _ => (false, false),
    }
}

/// `filter` over a join with the filters its `OR`s imply on the join's sides added.
fn derive_under_filter(
    filter: &Filter,
    join: &Join,
    node: &LogicalPlan,
    registry: &FunctionRegistry,
) -> Result<Option<LogicalPlan>> {
    let (left, right) = sides_under_a_filter(join.join_type);
    let mut derived = Vec::new();
    for (restrict, side) in [(left, &join.left), (right, &join.right)] {
        if restrict {
            derived.extend(new_filters(&filter.predicate, side, node));
        }
    }
    if derived.is_empty() {
        return Ok(None);
    }
    let predicate = conjunction(std::iter::once(filter.predicate.clone()).chain(derived))
        .ok_or_else(|| PlanError::Internal("empty filter".into()))?;
    Ok(Some(LogicalPlan::Filter(Filter::try_new(
        predicate,
        Arc::clone(&filter.input),
        registry,
    )?)))
}

/// `join` with the filters its condition's `OR`s imply put over its sides.
fn derive_under_condition(join: &Join, registry: &FunctionRegistry) -> Result<Option<LogicalPlan>> {
    let Some(condition) = &join.filter else {
        return Ok(None);
    };
    let (left, right) = sides_under_the_condition(join);
    let restricted =
        |restrict: bool, side: &Arc<LogicalPlan>| -> Result<Option<Arc<LogicalPlan>>> {
            if !restrict {
                return Ok(None);
            }
            Ok(match conjunction(new_filters(condition, side, side)) {
                Some(predicate) => Some(Arc::new(LogicalPlan::Filter(Filter::try_new(
                    predicate,
                    Arc::clone(side),
                    registry,
                )?))),
                None => None,
            })
        };
    let (new_left, new_right) = (
        restricted(left, &join.left)?,
        restricted(right, &join.right)?,
    );
    if new_left.is_none() && new_right.is_none() {
        return Ok(None);
    }
    Ok(Some(LogicalPlan::Join(Join {
        left: new_left.unwrap_or_else(|| Arc::clone(&join.left)),
        right: new_right.unwrap_or_else(|| Arc::clone(&join.right)),
        ..join.clone()
    })))
}

impl OptimizerRule for DeriveFiltersFromOr {
    fn name(&self) -> &str {
        "derive_filters_from_or"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        rewrite_nodes(plan, Visit::InputsFirst, |node| match node {
            LogicalPlan::Filter(filter) => match filter.input.as_ref() {
                LogicalPlan::Join(join) => derive_under_filter(filter, join, node, registry),
                _ => Ok(None),
            },
            LogicalPlan::Join(join) => derive_under_condition(join, registry),
            _ => Ok(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{col, lit};
    use crate::optimizer::Optimizer;
    use crate::optimizer::test_util::{apply, plan_of, rewritten};

    /// TPC-H Q7's shape: each branch holds one conjunct per nation.
    const Q7: &str = "SELECT n1.d, n2.d FROM u AS n1, u AS n2 WHERE n1.a = n2.a \
         AND ((n1.d = 'FRANCE' AND n2.d = 'GERMANY') OR (n1.d = 'GERMANY' AND n2.d = 'FRANCE'))";

    /// TPC-H Q19's shape: the join key and several conjuncts per side in every branch.
    const Q19: &str = "SELECT t.a FROM t, u WHERE \
         (t.a = u.a AND t.b = 'x' AND t.c > 1.0 AND u.d = 'p') \
         OR (t.a = u.a AND t.b = 'y' AND u.d IN ('q', 'r'))";

    /// The plan after the whole optimizer, checked to be a fixed point: the rule finds every
    /// filter it would derive already in place, and optimizing again changes nothing.
    fn optimized(sql: &str) -> LogicalPlan {
        let registry = FunctionRegistry::new();
        let plan = Optimizer::new().optimize(plan_of(sql), &registry).unwrap();
        let again = DeriveFiltersFromOr
            .rewrite(plan.clone(), &registry)
            .unwrap();
        assert!(!again.transformed, "{}", again.data.display_indent());
        let twice = Optimizer::new().optimize(plan.clone(), &registry).unwrap();
        assert_eq!(twice.display_indent(), plan.display_indent());
        plan
    }

    #[test]
    fn each_nation_gets_its_part_of_every_branch_as_an_in_list() {
        assert_eq!(
            rewritten(&DeriveFiltersFromOr, Q7),
            r#"Projection: n1.d, n2.d
  Filter: n1.a = n2.a AND (n1.d = Utf8("FRANCE") AND n2.d = Utf8("GERMANY") OR n1.d = Utf8("GERMANY") AND n2.d = Utf8("FRANCE")) AND n1.d IN (Utf8("FRANCE"), Utf8("GERMANY")) AND n2.d IN (Utf8("GERMANY"), Utf8("FRANCE"))
    Cross Join:
      SubqueryAlias: n1
        TableScan: u
      SubqueryAlias: n2
        TableScan: u"#
        );
    }

    #[test]
    fn the_derived_filters_reach_both_scans_once_and_the_or_stays() {
        assert_eq!(
            optimized(Q7).display_indent(),
            r#"Projection: n1.d, n2.d
  Inner Join: n1.a = n2.a Filter: n1.d = Utf8("FRANCE") AND n2.d = Utf8("GERMANY") OR n1.d = Utf8("GERMANY") AND n2.d = Utf8("FRANCE")
    SubqueryAlias: n1
      Filter: u.d IN (Utf8("FRANCE"), Utf8("GERMANY"))
        TableScan: u projection=[a, d], filters=[u.d IN (Utf8("FRANCE"), Utf8("GERMANY"))]
    SubqueryAlias: n2
      Filter: u.d IN (Utf8("GERMANY"), Utf8("FRANCE"))
        TableScan: u projection=[a, d], filters=[u.d IN (Utf8("GERMANY"), Utf8("FRANCE"))]"#
        );
    }

    #[test]
    fn reordered_joins_outer_and_semi_joins_reach_a_fixed_point_without_copies() {
        // Four relations (reorder_joins rebuilds the tree), the OR over the two aliases.
        let text = optimized(
            "SELECT n1.d, n2.d FROM t, v, u AS n1, u AS n2 \
             WHERE t.a = v.e AND t.a = n1.a AND v.e = n2.a \
             AND ((n1.d = 'FRANCE' AND n2.d = 'GERMANY') OR (n1.d = 'GERMANY' AND n2.d = 'FRANCE'))",
        )
        .display_indent();
        for derived in [
            r#"filters=[u.d IN (Utf8("FRANCE"), Utf8("GERMANY"))]"#,
            r#"filters=[u.d IN (Utf8("GERMANY"), Utf8("FRANCE"))]"#,
        ] {
            assert_eq!(text.matches(derived).count(), 1, "{derived} in {text}");
        }
        // From an outer join's condition, and from a correlated subquery's (a semi join).
        let text = optimized(
            "SELECT t.a FROM t LEFT JOIN u ON t.a = u.a \
             AND ((t.b = 'x' AND u.d = 'p') OR (t.b = 'y' AND u.d = 'q'))",
        )
        .display_indent();
        assert_eq!(text.matches("u.d IN").count(), 2, "{text}");
        let text = optimized(
            "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a \
             AND ((t.b = 'x' AND u.d = 'p') OR (t.b = 'y' AND u.d IS NULL)))",
        )
        .display_indent();
        assert_eq!(text.matches("t.b IN").count(), 2, "{text}");
        assert_eq!(
            text.matches("u.d = Utf8(\"p\") OR u.d IS NULL").count(),
            2,
            "{text}"
        );
    }

    #[test]
    fn several_conjuncts_per_side_and_the_join_key_in_every_branch() {
        assert_eq!(
            rewritten(&DeriveFiltersFromOr, Q19),
            r#"Projection: t.a
  Filter: (t.a = u.a AND t.b = Utf8("x") AND t.c > CAST(Decimal128(1.0,2,1) AS Float64) AND u.d = Utf8("p") OR t.a = u.a AND t.b = Utf8("y") AND u.d IN (Utf8("q"), Utf8("r"))) AND (t.b = Utf8("x") AND t.c > CAST(Decimal128(1.0,2,1) AS Float64) OR t.b = Utf8("y")) AND u.d IN (Utf8("p"), Utf8("q"), Utf8("r"))
    Cross Join:
      TableScan: t
      TableScan: u"#
        );
        let text = optimized(Q19).display_indent();
        for derived in [
            r#"filters=[t.b = Utf8("x") AND t.c > Float64(1) OR t.b = Utf8("y")]"#,
            r#"filters=[u.d IN (Utf8("p"), Utf8("q"), Utf8("r"))]"#,
        ] {
            assert_eq!(text.matches(derived).count(), 1, "{derived} in {text}");
        }
    }

    #[test]
    fn a_branch_without_a_conjunct_on_a_side_gives_that_side_nothing() {
        let sql = "SELECT t.a FROM t, u WHERE (t.b = 'x' AND u.d = 'p') OR t.c > u.a";
        let (after, changed) = apply(&DeriveFiltersFromOr, sql);
        assert!(!changed, "{after}");
        let sql = "SELECT t.a FROM t, u WHERE (t.b = 'x' AND u.d = 'p') OR t.b = 'y'";
        assert_eq!(
            rewritten(&DeriveFiltersFromOr, sql),
            r#"Projection: t.a
  Filter: (t.b = Utf8("x") AND u.d = Utf8("p") OR t.b = Utf8("y")) AND t.b IN (Utf8("x"), Utf8("y"))
    Cross Join:
      TableScan: t
      TableScan: u"#
        );
        // An OR over one side only is push_down_filter's to move whole.
        let (after, changed) = apply(
            &DeriveFiltersFromOr,
            "SELECT t.a FROM t, u WHERE t.a = u.a AND (t.b = 'x' OR t.c > 1.0)",
        );
        assert!(!changed, "{after}");
    }

    #[test]
    fn a_join_condition_restricts_only_the_sides_it_may_drop_rows_of() {
        let sql = "SELECT t.a FROM t LEFT JOIN u ON t.a = u.a \
                   AND ((t.b = 'x' AND u.d = 'p') OR (t.b = 'y' AND u.d = 'q'))";
        assert_eq!(
            rewritten(&DeriveFiltersFromOr, sql),
            r#"Projection: t.a
  Left Join: t.a = u.a Filter: t.b = Utf8("x") AND u.d = Utf8("p") OR t.b = Utf8("y") AND u.d = Utf8("q")
    TableScan: t
    Filter: u.d IN (Utf8("p"), Utf8("q"))
      TableScan: u"#
        );
        // A full join preserves both sides.
        let (after, changed) = apply(
            &DeriveFiltersFromOr,
            "SELECT t.a FROM t FULL JOIN u ON t.a = u.a \
             AND ((t.b = 'x' AND u.d = 'p') OR (t.b = 'y' AND u.d = 'q'))",
        );
        assert!(!changed, "{after}");
    }

    #[test]
    fn random_conjuncts_are_not_copied() {
        let sql =
            "SELECT t.a FROM t, u WHERE (t.c < rand() AND u.d = 'p') OR (t.b = 'y' AND u.d = 'q')";
        let after = rewritten(&DeriveFiltersFromOr, sql);
        assert!(
            after.contains(r#"u.d IN (Utf8("p"), Utf8("q"))"#),
            "{after}"
        );
        assert_eq!(after.matches("rand()").count(), 1, "{after}");
    }

    #[test]
    fn equalities_with_literals_of_one_expression_become_an_in_list() {
        let x = || col("x");
        let in_list = as_in_list(&[
            x().eq(lit(1i64)),
            lit(2i64).eq(x()),
            Expr::InList {
                expr: Box::new(x()),
                list: vec![lit(1i64), lit(3i64)],
                negated: false,
            },
        ])
        .unwrap();
        assert_eq!(in_list.to_string(), "x IN (Int64(1), Int64(2), Int64(3))");
        // Another expression, a non-literal, mixed types or a range: no list.
        assert!(as_in_list(&[x().eq(lit(1i64)), col("y").eq(lit(2i64))]).is_none());
        assert!(as_in_list(&[x().eq(lit(1i64)), x().eq(col("y"))]).is_none());
        assert!(as_in_list(&[x().eq(lit(1i64)), x().eq(lit(2i32))]).is_none());
        assert!(as_in_list(&[x().eq(lit(1i64)), x().gt(lit(2i64))]).is_none());
    }
}
