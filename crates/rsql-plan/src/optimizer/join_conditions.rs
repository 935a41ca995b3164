//! Splitting a join condition into equi-join keys and the rest, shared by the binder (`ON`) and
//! the rules that build joins.

use datafusion_common::ScalarValue;

use crate::coercion::value_type;
use crate::expr::{Expr, Operator, column_refs, conjunction, lookup_column};
use crate::plan::LogicalPlan;

/// Whether every column `expr` reads is an output column of `plan` (and it reads some).
pub(crate) fn reads_only(expr: &Expr, plan: &LogicalPlan) -> bool {
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

/// `left_column IS NOT DISTINCT FROM right_column` as two equi-join keys that are never
/// NULL, so a hash join can match NULL with NULL: whether each side is NULL, and its value
/// with NULL replaced by the type's default (`0`, `''`, ...).
fn null_safe_pairs(
    conjunct: &Expr,
    left: &LogicalPlan,
    right: &LogicalPlan,
) -> Option<[(Expr, Expr); 2]> {
    let Expr::BinaryExpr {
        left: l,
        op: Operator::IsNotDistinctFrom,
        right: r,
    } = conjunct
    else {
        return None;
    };
    let (l, r) = if reads_only(l, left) && reads_only(r, right) {
        (l.as_ref(), r.as_ref())
    } else if reads_only(l, right) && reads_only(r, left) {
        (r.as_ref(), l.as_ref())
    } else {
        return None;
    };
    let column_type = |expr: &Expr, plan: &LogicalPlan| match expr {
        Expr::Column(c) => lookup_column(plan.schema(), c)
            .ok()
            .map(|(_, f)| value_type(f.data_type()).clone()),
        _ => None,
    };
    let data_type = column_type(l, left)?;
    if column_type(r, right)? != data_type {
        return None;
    }
    let default = Expr::Literal(ScalarValue::new_default(&data_type).ok()?);
    let filled = |e: &Expr| Expr::ScalarFunction {
        name: "coalesce".into(),
        args: vec![e.clone().cast_to(data_type.clone()), default.clone()],
    };
    Some([
        (l.clone().is_null(), r.clone().is_null()),
        (filled(l), filled(r)),
    ])
}

/// `conjuncts` of a join condition split into equi-join keys (left expression, right
/// expression) and the conjunction of the others. `IS NOT DISTINCT FROM` between columns of
/// one type becomes keys too (see [`null_safe_pairs`]).
pub(crate) fn split_join_conditions(
    conjuncts: impl IntoIterator<Item = Expr>,
    left: &LogicalPlan,
    right: &LogicalPlan,
) -> (Vec<(Expr, Expr)>, Option<Expr>) {
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for conjunct in conjuncts {
        if let Some(pair) = equi_pair(&conjunct, left, right) {
            keys.push(pair);
        } else if let Some(pairs) = null_safe_pairs(&conjunct, left, right) {
            keys.extend(pairs);
        } else {
            rest.push(conjunct);
        }
    }
    (keys, conjunction(rest))
}
