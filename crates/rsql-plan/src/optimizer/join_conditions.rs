//! Splitting a join condition into equi-join keys and the rest, shared by the binder (`ON`) and
//! the rules that build joins.

use crate::expr::{Expr, Operator, column_refs, conjunction};
use crate::plan::LogicalPlan;

/// Whether every column `expr` reads is an output column of `plan` (and it reads some).
fn reads_only(expr: &Expr, plan: &LogicalPlan) -> bool {
    let columns = column_refs(expr);
    !columns.is_empty()
        && columns.iter().all(|c| {
            plan.schema()
                .index_of_column_by_name(c.relation.as_ref(), &c.name)
                .is_some()
        })
}

/// The equality between a `left` and a `right` expression in `conjunct`, as (left, right).
pub(crate) fn equi_pair(
    conjunct: &Expr,
    left: &LogicalPlan,
    right: &LogicalPlan,
) -> Option<(Expr, Expr)> {
    let Expr::BinaryExpr {
        left: l,
        op: Operator::Eq,
        right: r,
    } = conjunct
    else {
        return None;
    };
    if reads_only(l, left) && reads_only(r, right) {
        Some((l.as_ref().clone(), r.as_ref().clone()))
    } else if reads_only(l, right) && reads_only(r, left) {
        Some((r.as_ref().clone(), l.as_ref().clone()))
    } else {
        None
    }
}

/// `conjuncts` of a join condition split into equi-join keys (left expression, right
/// expression) and the conjunction of the others.
pub(crate) fn split_join_conditions(
    conjuncts: impl IntoIterator<Item = Expr>,
    left: &LogicalPlan,
    right: &LogicalPlan,
) -> (Vec<(Expr, Expr)>, Option<Expr>) {
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for conjunct in conjuncts {
        match equi_pair(&conjunct, left, right) {
            Some(pair) => keys.push(pair),
            None => rest.push(conjunct),
        }
    }
    (keys, conjunction(rest))
}
