//! `rewrite_single_distinct`: an aggregation whose every call is `DISTINCT` over the same
//! arguments becomes two plain aggregations, as Spark's `RewriteDistinctAggregates` and
//! DataFusion's `SingleDistinctToGroupBy` do:
//!
//! ```text
//! SELECT k, count(DISTINCT x), sum(DISTINCT x) FROM t GROUP BY k
//! -- becomes
//! SELECT k, count(x), sum(x) FROM (SELECT k, x FROM t GROUP BY k, x) GROUP BY k
//! ```
//!
//! `f(DISTINCT x)` is by definition `f` over the distinct values of `x`, which the inner
//! aggregation produces. The distinct values then live in a group table, shuffled by `(k, x)`,
//! that spills like any other, instead of in per-group sets held whole by one task: a key with
//! millions of distinct values no longer has to fit in memory, and its work spreads over every
//! partition.
//!
//! Aggregations of grouping sets with an empty set are left alone (the empty set's row is
//! attached to the aggregation directly over the `Expand`), as are calls whose argument is also
//! a group key.

use std::sync::Arc;

use datafusion_common::tree_node::Transformed;

use super::{OptimizerRule, rewrite_aggregates};
use crate::error::Result;
use crate::expr::{Expr, ident};
use crate::function::FunctionRegistry;
use crate::plan::{Aggregate, LogicalPlan};

/// The `rewrite_single_distinct` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct RewriteSingleDistinct;

/// The arguments shared by every call of `aggregate`, if every call is `DISTINCT` over them.
fn single_distinct_arguments(aggregate: &Aggregate) -> Option<&[Expr]> {
    let mut shared: Option<&[Expr]> = None;
    for call in &aggregate.aggr_exprs {
        let Expr::AggregateFunction {
            args,
            distinct: true,
            ..
        } = call.unaliased()
        else {
            return None;
        };
        if args.is_empty() || shared.is_some_and(|shared| shared != args.as_slice()) {
            return None;
        }
        shared = Some(args);
    }
    shared
}

/// A reference, in the output of an aggregation grouped by `expr`, to that group column.
fn output_column(expr: &Expr) -> Expr {
    match expr {
        Expr::Column(_) => expr.clone(),
        _ => ident(expr.output_name()),
    }
}

/// `aggregate` as an aggregation of its distinct rows, or `None` where the rule does not apply.
fn rewrite(aggregate: &Aggregate, registry: &FunctionRegistry) -> Result<Option<Aggregate>> {
    let Some(arguments) = single_distinct_arguments(aggregate) else {
        return Ok(None);
    };
    if !aggregate.empty_grouping_sets().is_empty()
        || arguments.iter().any(|a| aggregate.group_exprs.contains(a))
    {
        return Ok(None);
    }
    let mut distinct_keys = aggregate.group_exprs.clone();
    for argument in arguments {
        if !distinct_keys.contains(argument) {
            distinct_keys.push(argument.clone());
        }
    }
    let distinct_rows = Aggregate::try_new(
        Arc::clone(&aggregate.input),
        distinct_keys,
        Vec::new(),
        registry,
    )?;
    let group_exprs = aggregate.group_exprs.iter().map(output_column).collect();
    let aggr_exprs = aggregate
        .aggr_exprs
        .iter()
        .map(|call| {
            let Expr::AggregateFunction { name, args, .. } = call.unaliased() else {
                unreachable!("checked by single_distinct_arguments");
            };
            Expr::AggregateFunction {
                name: name.clone(),
                args: args.iter().map(output_column).collect(),
                distinct: false,
            }
            .alias(call.output_name())
        })
        .collect();
    Aggregate::try_new(
        Arc::new(LogicalPlan::Aggregate(distinct_rows)),
        group_exprs,
        aggr_exprs,
        registry,
    )
    .map(Some)
}

impl OptimizerRule for RewriteSingleDistinct {
    fn name(&self) -> &str {
        "rewrite_single_distinct"
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
    fn distinct_calls_over_one_argument_become_a_group_by() {
        let plan = rewritten(
            &RewriteSingleDistinct,
            "SELECT b, count(DISTINCT a), sum(DISTINCT a) FROM t GROUP BY b",
        );
        assert!(
            plan.contains(
                "Aggregate: groupBy=[[t.b]], aggr=[[count(t.a) AS count(DISTINCT a), \
                 sum(t.a) AS sum(DISTINCT a)]]"
            ),
            "{plan}"
        );
        assert!(
            plan.contains("Aggregate: groupBy=[[t.b, t.a]], aggr=[[]]"),
            "{plan}"
        );
    }

    #[test]
    fn a_global_distinct_count_groups_by_its_argument() {
        let plan = rewritten(
            &RewriteSingleDistinct,
            "SELECT count(DISTINCT upper(b)) FROM t",
        );
        assert!(
            plan.contains("groupBy=[[]], aggr=[[count(upper(b)) AS"),
            "{plan}"
        );
        assert!(plan.contains("groupBy=[[upper(t.b)]], aggr=[[]]"), "{plan}");
    }

    #[test]
    fn mixed_or_different_distinct_calls_stay() {
        for sql in [
            "SELECT b, count(DISTINCT a), count(*) FROM t GROUP BY b",
            "SELECT count(DISTINCT a), count(DISTINCT b) FROM t",
            "SELECT a, count(DISTINCT a) FROM t GROUP BY a",
            "SELECT b, sum(a) FROM t GROUP BY b",
        ] {
            assert!(!apply(&RewriteSingleDistinct, sql).1, "{sql}");
        }
    }
}
