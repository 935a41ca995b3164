//! Aggregations: a pre-projection computing group keys and arguments, a partial phase, and a
//! final phase that requires the group keys clustered (every row in one partition without
//! keys). Enforcement adds the exchange between the phases, or folds them into one
//! single-phase aggregation where the input is already clustered (hive folders of a group key).

use std::sync::Arc;

use rsql_plan::Expr;
use rsql_plan::plan::Aggregate;

use super::{PlanRef, Planner};
use crate::aggregate::{AggregateUdf, DistinctAggregate};
use crate::error::{Result, exec_err};
use crate::operators::{AggregateCall, AggregateMode, HashAggregate};
use crate::physical::{PhysicalNode, PhysicalPlan};

impl Planner<'_, '_> {
    pub(super) fn aggregate(&self, aggregate: &Aggregate) -> Result<PlanRef> {
        let input_schema = aggregate.input.schema();
        let hint: Vec<String> = aggregate
            .group_exprs
            .iter()
            .filter_map(|e| match e.unaliased() {
                Expr::Column(c) => Some(c.name.clone()),
                _ => None,
            })
            .collect();
        let input = self.plan(&aggregate.input, &hint)?;
        let group_count = aggregate.group_exprs.len();
        let output_names: Vec<String> = aggregate
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        // One pre-projection computes the group keys, then every aggregate's arguments.
        let mut pre_exprs: Vec<Expr> = aggregate.group_exprs.clone();
        let mut pre_names: Vec<String> = output_names[..group_count].to_vec();
        let mut calls: Vec<(Arc<dyn AggregateUdf>, Vec<usize>)> = Vec::new();
        for expr in &aggregate.aggr_exprs {
            let Expr::AggregateFunction {
                name,
                args,
                distinct,
            } = expr.unaliased()
            else {
                return exec_err(format!("{expr} is not an aggregate call"));
            };
            let registered = match (name.as_str(), distinct) {
                ("count", true) => "count_distinct",
                (name, _) => name,
            };
            let Some(function) = self.cx.aggregate_functions.get(registered) else {
                return exec_err(format!("no implementation of aggregate function '{name}'"));
            };
            let function = &function
                .in_mode(self.cx.mode)
                .unwrap_or_else(|| Arc::clone(function));
            let function: Arc<dyn AggregateUdf> = if *distinct && registered == name {
                Arc::new(DistinctAggregate::new(Arc::clone(function)))
            } else {
                Arc::clone(function)
            };
            let columns = (pre_exprs.len()..pre_exprs.len() + args.len()).collect();
            for arg in args {
                pre_names.push(format!("__arg{}", pre_exprs.len()));
                pre_exprs.push(arg.clone());
            }
            calls.push((function, columns));
        }
        let pre = self.project(input, &pre_exprs, input_schema, Some(&pre_names))?;
        let calls: Vec<AggregateCall> = calls
            .into_iter()
            .enumerate()
            .map(|(i, (function, columns))| AggregateCall {
                function,
                argument_types: columns
                    .iter()
                    .map(|&c| pre.schema.field(c).data_type().clone())
                    .collect(),
                input_columns: columns,
                name: output_names[group_count + i].clone(),
            })
            .collect();
        // The final phase states that it needs the group keys clustered (or every row in one
        // partition); enforcement places rows so, and folds the phases into one where the
        // input already was.
        let partial = HashAggregate::try_new(
            &pre.schema,
            AggregateMode::Partial,
            (0..group_count).collect(),
            calls,
        )?
        .with_empty_grouping_sets(aggregate.empty_grouping_sets())?;
        let final_aggregate = partial.merging()?;
        let partial = aggregate_node(pre, partial)?;
        aggregate_node(partial, final_aggregate)
    }

    /// `DISTINCT` as an aggregation grouped by every column.
    pub(super) fn distinct(&self, distinct: &rsql_plan::plan::Distinct) -> Result<PlanRef> {
        let schema = distinct.input.schema();
        let group_exprs = schema.columns().into_iter().map(Expr::Column).collect();
        let aggregate = Aggregate::try_new(
            Arc::clone(&distinct.input),
            group_exprs,
            Vec::new(),
            self.cx.registry,
        )?;
        self.aggregate(&aggregate)
    }
}

fn aggregate_node(input: PlanRef, aggregate: HashAggregate) -> Result<PlanRef> {
    let schema = Arc::clone(aggregate.output_schema());
    let node = PhysicalNode::Aggregate {
        input,
        aggregate: Arc::new(aggregate),
    };
    Ok(Arc::new(PhysicalPlan::derived(node, schema)?))
}
