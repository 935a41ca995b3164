//! `factor_or_conditions`: conjuncts shared by every branch of an `OR` are taken out of it:
//! `(a AND b) OR (a AND c)` becomes `a AND (b OR c)`, so a join condition repeated in each
//! branch (TPC-H Q19) becomes a join key instead of a condition over a cross product. When a
//! branch is left with nothing, the `OR` is true and only the shared conjuncts remain.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};

use super::OptimizerRule;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, conjunction, split_conjunction, split_disjunction};
use crate::function::FunctionRegistry;
use crate::plan::{Filter, LogicalPlan};

/// The `factor_or_conditions` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct FactorOrConditions;

/// `expr` with the conjuncts common to all its `OR` branches taken out, or `None` if none are.
fn factor(expr: &Expr) -> Option<Vec<Expr>> {
    let branches: Vec<Vec<&Expr>> = split_disjunction(expr)
        .into_iter()
        .map(split_conjunction)
        .collect();
    if branches.len() < 2 {
        return None;
    }
    let common: Vec<&Expr> = branches[0]
        .iter()
        .copied()
        .filter(|c| branches[1..].iter().all(|b| b.contains(c)))
        .collect();
    if common.is_empty() {
        return None;
    }
    let mut rest = Vec::with_capacity(branches.len());
    for branch in &branches {
        let remaining = branch.iter().filter(|c| !common.contains(c)).cloned();
        match conjunction(remaining.cloned()) {
            Some(remaining) => rest.push(remaining),
            // This branch holds whenever the common part does: the OR adds nothing.
            None => return Some(common.into_iter().cloned().collect()),
        }
    }
    let mut factored: Vec<Expr> = common.into_iter().cloned().collect();
    factored.extend(rest.into_iter().reduce(Expr::or));
    Some(factored)
}

/// The conjuncts of `predicate` with every `OR` factored; `None` if nothing changed.
fn factor_predicate(predicate: &Expr) -> Option<Expr> {
    let mut changed = false;
    let mut conjuncts = Vec::new();
    for conjunct in split_conjunction(predicate) {
        match factor(conjunct) {
            Some(factored) => {
                changed = true;
                conjuncts.extend(factored);
            }
            None => conjuncts.push(conjunct.clone()),
        }
    }
    if changed {
        conjunction(conjuncts)
    } else {
        None
    }
}

impl OptimizerRule for FactorOrConditions {
    fn name(&self) -> &str {
        "factor_or_conditions"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up(|node| {
            Ok(match &node {
                LogicalPlan::Filter(filter) => match factor_predicate(&filter.predicate) {
                    Some(predicate) => Transformed::yes(LogicalPlan::Filter(Filter::try_new(
                        predicate,
                        Arc::clone(&filter.input),
                        registry,
                    )?)),
                    None => Transformed::no(node),
                },
                LogicalPlan::Join(join) => match join.filter.as_ref().and_then(factor_predicate) {
                    Some(filter) => Transformed::yes(LogicalPlan::Join(crate::plan::Join {
                        filter: Some(filter),
                        ..join.clone()
                    })),
                    None => Transformed::no(node),
                },
                _ => Transformed::no(node),
            })
        })
        .map_err(PlanError::from_datafusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{col, lit};
    use crate::optimizer::test_util::apply;

    #[test]
    fn shared_conjuncts_leave_the_or() {
        let a = col("a").eq(col("b"));
        let expr = a
            .clone()
            .and(col("c").gt(lit(1i64)))
            .or(col("c").lt(lit(0i64)).and(a.clone()));
        let factored = factor_predicate(&expr).unwrap();
        assert_eq!(
            factored.to_string(),
            "a = b AND (c > Int64(1) OR c < Int64(0))"
        );
        // A branch that is only the shared part makes the OR true.
        let absorbed = a.clone().or(a.clone().and(col("c").is_null()));
        assert_eq!(factor_predicate(&absorbed).unwrap(), a);
        // Nothing shared: unchanged.
        assert!(factor_predicate(&col("c").is_null().or(col("a").eq(lit(1i64)))).is_none());
    }

    #[test]
    fn join_keys_repeated_in_each_branch_are_factored_out_of_filters() {
        let sql =
            "SELECT t.a FROM t, u WHERE (t.a = u.a AND t.c > 1.0) OR (t.a = u.a AND u.d = 'x')";
        let (after, changed) = apply(&FactorOrConditions, sql);
        assert!(changed);
        assert_eq!(
            after,
            r#"Projection: t.a
  Filter: t.a = u.a AND (t.c > CAST(Decimal128(1.0,2,1) AS Float64) OR u.d = Utf8("x"))
    Cross Join:
      TableScan: t
      TableScan: u"#
        );
    }
}
