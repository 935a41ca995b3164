//! `count_matches_by_join_key`: `count(c)` over an outer join, where `c` is a column of a side
//! the join pads with NULLs and is never NULL in that side's input, counts the rows that side
//! matched. So does `count` of that side's join key, which a matched row never has NULL (NULL
//! keys match nothing) and a padded row always has: the call counts the key instead, and `c`
//! need no longer be read, shuffled or held by the join.
//!
//! ```text
//! SELECT c_custkey, count(o_orderkey)
//! FROM customer LEFT JOIN orders ON c_custkey = o_custkey GROUP BY c_custkey
//! -- counts as
//! SELECT c_custkey, count(o_custkey) AS "count(o_orderkey)" ...
//! ```
//!
//! TPC-H Q13 is this query: its orders exchange then carries one column instead of two.

use std::sync::Arc;

use arrow_schema::FieldRef;
use datafusion_common::tree_node::Transformed;
use datafusion_common::{Column, JoinType};

use super::{OptimizerRule, rewrite_aggregates};
use crate::error::Result;
use crate::expr::Expr;
use crate::function::FunctionRegistry;
use crate::plan::{Aggregate, Join, LogicalPlan};

/// The `count_matches_by_join_key` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountMatchesByJoinKey;

/// The field `column` names in `side`'s output, if it names one.
fn field_of<'a>(side: &'a LogicalPlan, column: &Column) -> Option<&'a FieldRef> {
    side.schema()
        .field_with_name(column.relation.as_ref(), &column.name)
        .ok()
}

/// For a column of `join`'s output that only the join makes NULL (never NULL in the input it
/// comes from, which the join pads), that input's first join key: a column counted alike.
/// A full join also keeps that input's rows without a match, with their own keys: there the
/// key must never be NULL in the input either.
fn counted_alike(join: &Join, column: &Column) -> Option<Expr> {
    let (pads_left, pads_right) = match join.join_type {
        JoinType::Left => (false, true),
        JoinType::Right => (true, false),
        JoinType::Full => (true, true),
        _ => return None,
    };
    let (left_key, right_key) = join.on.first()?;
    let (side, key) = match (field_of(&join.left, column), field_of(&join.right, column)) {
        (Some(_), None) if pads_left => (&join.left, left_key),
        (None, Some(_)) if pads_right => (&join.right, right_key),
        _ => return None,
    };
    let Expr::Column(key_column) = key else {
        return None;
    };
    let never_null = |c: &Column| field_of(side, c).is_some_and(|f| !f.is_nullable());
    let key_may_be_unmatched = join.join_type == JoinType::Full;
    (key_column != column
        && never_null(column)
        && (!key_may_be_unmatched || never_null(key_column)))
    .then(|| key.clone())
}

/// `aggregate` with every `count` of a column an outer join alone makes NULL counting the
/// join key instead, or `None` when there is none.
fn rewrite(aggregate: &Aggregate, registry: &FunctionRegistry) -> Result<Option<Aggregate>> {
    let LogicalPlan::Join(join) = aggregate.input.as_ref() else {
        return Ok(None);
    };
    let mut changed = false;
    let aggr_exprs = aggregate
        .aggr_exprs
        .iter()
        .map(|call| match call.unaliased() {
            Expr::AggregateFunction {
                name,
                args,
                distinct: false,
            } if name == "count" => match args.as_slice() {
                [Expr::Column(column)] => match counted_alike(join, column) {
                    Some(key) => {
                        changed = true;
                        Expr::AggregateFunction {
                            name: name.clone(),
                            args: vec![key],
                            distinct: false,
                        }
                        .alias(call.output_name())
                    }
                    None => call.clone(),
                },
                _ => call.clone(),
            },
            _ => call.clone(),
        })
        .collect();
    if !changed {
        return Ok(None);
    }
    Aggregate::try_new(
        Arc::clone(&aggregate.input),
        aggregate.group_exprs.clone(),
        aggr_exprs,
        registry,
    )
    .map(Some)
}

impl OptimizerRule for CountMatchesByJoinKey {
    fn name(&self) -> &str {
        "count_matches_by_join_key"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        rewrite_aggregates(plan, |aggregate| rewrite(aggregate, registry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::test_util::{apply, rewritten};

    #[test]
    fn a_count_of_a_padded_column_never_null_counts_the_join_key() {
        let plan = rewritten(
            &CountMatchesByJoinKey,
            "SELECT t.b, count(u.a), count(*) FROM t LEFT JOIN u ON t.b = u.d GROUP BY t.b",
        );
        assert!(
            plan.contains("aggr=[[count(u.d) AS count(a), count(*)]]"),
            "{plan}"
        );
        let plan = rewritten(
            &CountMatchesByJoinKey,
            "SELECT u.d, count(t.a) FROM t RIGHT JOIN u ON t.b = u.d GROUP BY u.d",
        );
        assert!(plan.contains("aggr=[[count(t.b) AS count(a)]]"), "{plan}");
    }

    #[test]
    fn counts_that_can_be_null_otherwise_stay() {
        for sql in [
            // `u.d` may be NULL in `u` itself.
            "SELECT t.b, count(u.d) FROM t LEFT JOIN u ON t.a = u.a GROUP BY t.b",
            // The preserved side of a left join, and an inner join, pad nothing.
            "SELECT t.b, count(t.a) FROM t LEFT JOIN u ON t.b = u.d GROUP BY t.b",
            "SELECT t.b, count(u.a) FROM t JOIN u ON t.b = u.d GROUP BY t.b",
            // Distinct values of `u.a` are not those of the key.
            "SELECT t.b, count(DISTINCT u.a) FROM t LEFT JOIN u ON t.b = u.d GROUP BY t.b",
            // The key is not a column.
            "SELECT t.b, count(u.a) FROM t LEFT JOIN u ON t.a = u.a + 1 GROUP BY t.b",
            // A full join's unmatched `t` rows keep their own `t.b`, which may be NULL.
            "SELECT count(t.a) FROM t FULL JOIN u ON t.b = u.d",
            // Already the key.
            "SELECT t.b, count(u.a) FROM t LEFT JOIN u ON t.a = u.a GROUP BY t.b",
        ] {
            assert!(!apply(&CountMatchesByJoinKey, sql).1, "{sql}");
        }
    }
}
