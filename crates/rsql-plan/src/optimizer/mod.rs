//! The logical optimizer: rules that rewrite a plan into an equivalent, cheaper one, run in
//! passes until none changes the plan (or a pass limit is hit). After every rule the driver
//! checks that the plan's output schema (names and types) is unchanged.
//!
//! Each rule lives in its own module named as a verb phrase, and its [`OptimizerRule::name`] is
//! that module name. Two-phase aggregation and exchanges are physical concerns, not here.
//!
//! Subqueries in expressions cannot run as they are: the rewrites that turn them into joins
//! (`decorrelate_predicate_subquery`, `scalar_subquery_to_join`) always run first, once, and
//! cannot be excluded; the other rules are optimizations a session may exclude.

mod correlation;
mod count_matches_by_join_key;
mod decorrelate_predicate_subquery;
mod derive_filters_from_or;
mod factor_or_conditions;
mod filter_aggregates_by_join_keys;
mod fold_constants;
mod infer_window_group_limit;
mod join_conditions;
mod push_down_filter;
mod push_down_projection;
mod push_down_semi_joins;
mod reorder_joins;
mod rewrite_single_distinct;
mod scalar_subquery_to_join;
#[cfg(test)]
pub(crate) mod test_util;

use std::sync::Arc;

use datafusion_common::tree_node::Transformed;

pub use count_matches_by_join_key::CountMatchesByJoinKey;
pub use decorrelate_predicate_subquery::DecorrelatePredicateSubquery;
pub use derive_filters_from_or::DeriveFiltersFromOr;
pub use factor_or_conditions::FactorOrConditions;
pub use filter_aggregates_by_join_keys::FilterAggregatesByJoinKeys;
pub use fold_constants::FoldConstants;
pub(crate) use fold_constants::fold_expr;
pub use infer_window_group_limit::InferWindowGroupLimit;
pub(crate) use join_conditions::split_join_conditions;
pub use push_down_filter::PushDownFilter;
pub use push_down_projection::PushDownProjection;
pub use push_down_semi_joins::PushDownSemiJoins;
pub use reorder_joins::ReorderJoins;
pub use rewrite_single_distinct::RewriteSingleDistinct;
pub use scalar_subquery_to_join::ScalarSubqueryToJoin;

use crate::error::{PlanError, Result};
use crate::function::FunctionRegistry;
use crate::plan::{Aggregate, LogicalPlan};
use crate::time_zone::TimeZone;

/// The order [`rewrite_nodes`] visits a plan's nodes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visit {
    /// Parents before their inputs: a replacement's inputs are visited next.
    ParentsFirst,
    /// Inputs before the nodes that read them.
    InputsFirst,
}

/// `plan` with every node that `rewrite` returns a replacement for replaced, visited in
/// `visit` order.
pub(crate) fn rewrite_nodes(
    plan: LogicalPlan,
    visit: Visit,
    mut rewrite: impl FnMut(&LogicalPlan) -> Result<Option<LogicalPlan>>,
) -> Result<Transformed<LogicalPlan>> {
    use datafusion_common::tree_node::TreeNode;
    let replace = |node: LogicalPlan| {
        Ok(match rewrite(&node)? {
            Some(replacement) => Transformed::yes(replacement),
            None => Transformed::no(node),
        })
    };
    match visit {
        Visit::ParentsFirst => plan.transform_down(replace),
        Visit::InputsFirst => plan.transform_up(replace),
    }
    .map_err(PlanError::from_datafusion)
}

/// `plan` with every aggregation that `rewrite` returns a replacement for replaced, inputs
/// first.
pub(crate) fn rewrite_aggregates(
    plan: LogicalPlan,
    mut rewrite: impl FnMut(&Aggregate) -> Result<Option<Aggregate>>,
) -> Result<Transformed<LogicalPlan>> {
    rewrite_nodes(plan, Visit::InputsFirst, |node| match node {
        LogicalPlan::Aggregate(aggregate) => Ok(rewrite(aggregate)?.map(LogicalPlan::Aggregate)),
        _ => Ok(None),
    })
}

/// One rewrite of logical plans.
pub trait OptimizerRule: Send + Sync {
    /// The rule's name, equal to its module's file name (`push_down_filter`).
    fn name(&self) -> &str;

    /// Rewrites `plan`, reporting whether anything changed. The output schema must stay the
    /// same.
    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>>;
}

/// Runs rules to a fixed point.
#[derive(Clone)]
pub struct Optimizer {
    /// Rewrites every plan needs before it can run, applied once, in order.
    rewrites: Vec<Arc<dyn OptimizerRule>>,
    rules: Vec<Arc<dyn OptimizerRule>>,
    max_passes: usize,
}

impl Default for Optimizer {
    fn default() -> Self {
        Self::new()
    }
}

/// Field names and types of a schema, for the schema-kept check.
fn shape(plan: &LogicalPlan) -> Vec<(String, arrow_schema::DataType)> {
    plan.schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

impl Optimizer {
    /// The default rules: fold constants, push filters down, then prune columns (for a
    /// session in UTC).
    pub fn new() -> Self {
        Self::in_time_zone(TimeZone::utc())
    }

    /// The default rules for a session whose time zone is `time_zone` (constant folding casts
    /// in it).
    pub fn in_time_zone(time_zone: TimeZone) -> Self {
        Self::for_session(time_zone, ReorderJoins::DEFAULT_BROADCAST_THRESHOLD)
    }

    /// The default rules for a session in `time_zone` whose joins broadcast build sides of at
    /// most `broadcast_threshold` bytes of input (the join order and the tables that filter
    /// aggregates count on it).
    pub fn for_session(time_zone: TimeZone, broadcast_threshold: u64) -> Self {
        Self::with_rules(vec![
            Arc::new(FoldConstants::in_time_zone(time_zone)),
            Arc::new(FactorOrConditions),
            Arc::new(DeriveFiltersFromOr),
            Arc::new(PushDownFilter),
            Arc::new(InferWindowGroupLimit),
            Arc::new(FilterAggregatesByJoinKeys::with_broadcast_threshold(
                broadcast_threshold,
            )),
            Arc::new(PushDownSemiJoins),
            Arc::new(ReorderJoins::with_broadcast_threshold(broadcast_threshold)),
            Arc::new(RewriteSingleDistinct),
            Arc::new(CountMatchesByJoinKey),
            Arc::new(PushDownProjection),
        ])
    }

    /// An optimizer running `rules` in order, at most 8 passes.
    pub fn with_rules(rules: Vec<Arc<dyn OptimizerRule>>) -> Self {
        Optimizer {
            rewrites: vec![
                Arc::new(DecorrelatePredicateSubquery),
                Arc::new(ScalarSubqueryToJoin),
            ],
            rules,
            max_passes: 8,
        }
    }

    /// This optimizer without the rules named in `names` (as Spark's
    /// `spark.sql.optimizer.excludedRules`); an unknown name is an error that lists the rules.
    pub fn excluding(mut self, names: &[String]) -> Result<Self> {
        if let Some(unknown) = names
            .iter()
            .find(|n| !self.rule_names().contains(&n.as_str()))
        {
            return Err(PlanError::invalid(format!(
                "unknown optimizer rule '{unknown}'; the rules are {}",
                self.rule_names().join(", ")
            )));
        }
        self.rules
            .retain(|rule| !names.iter().any(|n| n == rule.name()));
        Ok(self)
    }

    /// The names of the rules, in the order they run.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.name()).collect()
    }

    /// Optimizes `plan`; fails if a rule fails or changes the output schema.
    pub fn optimize(
        &self,
        mut plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<LogicalPlan> {
        for rewrite in &self.rewrites {
            plan = apply_checked(rewrite.as_ref(), plan, registry)?.data;
        }
        for _ in 0..self.max_passes {
            let mut changed = false;
            for rule in &self.rules {
                let result = apply_checked(rule.as_ref(), plan, registry)?;
                changed |= result.transformed;
                plan = result.data;
            }
            if !changed {
                break;
            }
        }
        Ok(plan)
    }
}

/// `rule` applied to `plan`; fails if it changed the output schema.
fn apply_checked(
    rule: &dyn OptimizerRule,
    plan: LogicalPlan,
    registry: &FunctionRegistry,
) -> Result<Transformed<LogicalPlan>> {
    let before = shape(&plan);
    let result = rule.rewrite(plan, registry)?;
    let after = shape(&result.data);
    if before != after {
        return Err(PlanError::Internal(format!(
            "rule {} changed the output schema from {before:?} to {after:?}",
            rule.name()
        )));
    }
    Ok(result)
}

impl Optimizer {
    /// The rewrites that always run first, by name.
    pub fn rewrite_names(&self) -> Vec<&str> {
        self.rewrites.iter().map(|r| r.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::test_util::plan_of;

    #[derive(Debug)]
    struct DropEverything;

    impl OptimizerRule for DropEverything {
        fn name(&self) -> &str {
            "drop_everything"
        }

        fn rewrite(
            &self,
            _plan: LogicalPlan,
            _: &FunctionRegistry,
        ) -> Result<Transformed<LogicalPlan>> {
            Ok(Transformed::yes(LogicalPlan::EmptyRelation(
                crate::plan::EmptyRelation::new(false),
            )))
        }
    }

    #[test]
    fn a_rule_that_changes_the_schema_is_an_internal_error() {
        let optimizer = Optimizer::with_rules(vec![Arc::new(DropEverything)]);
        let err = optimizer
            .optimize(plan_of("SELECT a FROM t"), &FunctionRegistry::new())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("rule drop_everything changed the output schema"),
            "{err}"
        );
    }

    #[test]
    fn all_rules_together_reach_a_fixed_point() {
        let registry = FunctionRegistry::new();
        let plan = plan_of(
            "SELECT url, count(*) FROM (SELECT url, customer, ts FROM events) e \
             WHERE customer = 'a.com' AND 1 + 1 = 2 GROUP BY url",
        );
        let optimized = Optimizer::new().optimize(plan, &registry).unwrap();
        assert_eq!(
            optimized.display_indent(),
            r#"Projection: e.url, count(*)
  Aggregate: groupBy=[[e.url]], aggr=[[count(*)]]
    SubqueryAlias: e
      Projection: events.url
        Filter: events.customer = Utf8("a.com")
          TableScan: events projection=[url, customer], filters=[events.customer = Utf8("a.com")]"#
        );
        let again = Optimizer::new()
            .optimize(optimized.clone(), &registry)
            .unwrap();
        assert_eq!(again.display_indent(), optimized.display_indent());
        assert_eq!(
            Optimizer::new().rule_names(),
            [
                "fold_constants",
                "factor_or_conditions",
                "derive_filters_from_or",
                "push_down_filter",
                "infer_window_group_limit",
                "filter_aggregates_by_join_keys",
                "push_down_semi_joins",
                "reorder_joins",
                "rewrite_single_distinct",
                "count_matches_by_join_key",
                "push_down_projection"
            ]
        );
        assert_eq!(
            Optimizer::new().rewrite_names(),
            ["decorrelate_predicate_subquery", "scalar_subquery_to_join"]
        );
    }

    #[test]
    fn excluding_drops_named_rules_and_rejects_unknown_names() {
        let optimizer = Optimizer::new()
            .excluding(&["push_down_filter".to_string()])
            .unwrap();
        assert_eq!(
            optimizer.rule_names(),
            [
                "fold_constants",
                "factor_or_conditions",
                "derive_filters_from_or",
                "infer_window_group_limit",
                "filter_aggregates_by_join_keys",
                "push_down_semi_joins",
                "reorder_joins",
                "rewrite_single_distinct",
                "count_matches_by_join_key",
                "push_down_projection"
            ]
        );
        let err = Optimizer::new()
            .excluding(&["push_down_filters".to_string()])
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("unknown optimizer rule 'push_down_filters'"),
            "{err}"
        );
    }
}
