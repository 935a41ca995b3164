//! Small queries over expressions: referenced columns, conjunct splitting and joining.

use std::collections::BTreeSet;

use datafusion_common::Column;
use datafusion_common::tree_node::{TreeNode, TreeNodeRecursion};

use super::{Expr, Subquery};

/// Whether any sub-expression of `expr` (itself included) satisfies `predicate`.
pub(crate) fn any_subexpr(expr: &Expr, predicate: &dyn Fn(&Expr) -> bool) -> bool {
    // The closure never fails, so the walk cannot return an error.
    expr.exists(|e| Ok(predicate(e))).unwrap_or(false)
}

/// The columns an expression reads, without duplicates, in a stable order.
pub fn column_refs(expr: &Expr) -> BTreeSet<Column> {
    let mut columns = BTreeSet::new();
    // The closure never fails.
    let _ = expr.apply(|e| {
        if let Expr::Column(column) = e {
            columns.insert(column.clone());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    columns
}

/// The subqueries an expression holds (not looking inside them), in order.
pub fn subqueries(expr: &Expr) -> Vec<&Subquery> {
    let mut found = Vec::new();
    // The closure never fails.
    let _ = expr.apply(|e| {
        match e {
            Expr::ScalarSubquery(subquery)
            | Expr::InSubquery { subquery, .. }
            | Expr::Exists { subquery, .. } => found.push(subquery),
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// The conjuncts of `a AND b AND c`: `[a, b, c]`; any other expression is one conjunct.
pub fn split_conjunction(expr: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::BinaryExpr {
                left,
                op: super::Operator::And,
                right,
            } => {
                stack.push(right);
                stack.push(left);
            }
            Expr::Alias { expr, .. } => stack.push(expr),
            other => out.push(other),
        }
    }
    out
}

/// The branches of `a OR b OR c`: `[a, b, c]`; any other expression is one branch.
pub fn split_disjunction(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryExpr {
            left,
            op: super::Operator::Or,
            right,
        } => {
            let mut branches = split_disjunction(left);
            branches.extend(split_disjunction(right));
            branches
        }
        other => vec![other],
    }
}

/// `a AND b AND ...` from conjuncts, or `None` when there are none.
pub fn conjunction(exprs: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(Expr::and)
}

#[cfg(test)]
mod tests {
    use super::super::{col, lit};
    use super::*;

    #[test]
    fn conjunctions_split_and_join_back() {
        let e = col("a")
            .gt(lit(1i64))
            .and(col("b").eq(col("c")))
            .and(col("d").is_null());
        let parts: Vec<Expr> = split_conjunction(&e).into_iter().cloned().collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], col("d").is_null());
        assert_eq!(conjunction(parts), Some(e));
        assert_eq!(conjunction(Vec::new()), None);
    }

    #[test]
    fn column_refs_collects_every_column_once() {
        let e = (col("t.a") + col("b")).gt(col("t.a"));
        let names: Vec<String> = column_refs(&e).iter().map(|c| c.flat_name()).collect();
        assert_eq!(names, vec!["b", "t.a"]);
    }
}
