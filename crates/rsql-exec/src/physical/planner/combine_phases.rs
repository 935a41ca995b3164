//! The pass after [`enforce_distribution`](super::enforce_distribution) that folds a two-phase
//! operator into one where no exchange came between its phases (DataFusion's
//! `CombinePartialFinalAggregate`): the final phase then reads each partition as the partial
//! phase did, so the partial phase does nothing the final one would not.
//!
//! - A final aggregation over its partial one becomes one single-phase aggregation (the input
//!   was already clustered on the group keys, or in one partition).
//! - A top-k or limit over its per-partition phase keeps only itself (the input was in one
//!   partition); so does a window group limit over its per-partition phase (the input was
//!   already clustered on the window's partition keys).

use std::sync::Arc;

use super::PlanRef;
use crate::error::Result;
use crate::operators::{AggregateMode, HashAggregate};
use crate::physical::{PhysicalNode, PhysicalPlan, Scope};

/// `plan` with every final phase that reads its partial phase directly folded into one
/// operator.
pub(super) fn combine_phases(plan: &PlanRef) -> Result<PlanRef> {
    plan.transform_up(&mut |node| {
        Ok(match (&node.node, node.inputs().as_slice()) {
            (PhysicalNode::Aggregate { aggregate, .. }, [input])
                if aggregate.mode() == AggregateMode::Final =>
            {
                match &input.node {
                    PhysicalNode::Aggregate {
                        input: rows,
                        aggregate: partial,
                    } if partial.mode() == AggregateMode::Partial => {
                        single_phase(&node, rows, partial)?
                    }
                    _ => node,
                }
            }
            (
                PhysicalNode::Sort {
                    keys,
                    scope: Scope::Global,
                    ..
                },
                [input],
            ) => match &input.node {
                PhysicalNode::Sort {
                    input: rows,
                    keys: partial_keys,
                    scope: Scope::Partition,
                    ..
                } if partial_keys == keys => Arc::new(node.with_inputs(vec![Arc::clone(rows)])?),
                _ => node,
            },
            (
                PhysicalNode::WindowGroupLimit {
                    scope: Scope::Global,
                    ..
                },
                [input],
            ) => match &input.node {
                PhysicalNode::WindowGroupLimit {
                    input: rows,
                    scope: Scope::Partition,
                    ..
                } => Arc::new(node.with_inputs(vec![Arc::clone(rows)])?),
                _ => node,
            },
            (
                PhysicalNode::Limit {
                    scope: Scope::Global,
                    ..
                },
                [input],
            ) => match &input.node {
                PhysicalNode::Limit {
                    input: rows,
                    scope: Scope::Partition,
                    ..
                } => Arc::new(node.with_inputs(vec![Arc::clone(rows)])?),
                _ => node,
            },
            _ => node,
        })
    })
}

/// The single-phase aggregation of `rows` computing what `last` (the final phase over
/// `partial`) computes.
fn single_phase(last: &PhysicalPlan, rows: &PlanRef, partial: &HashAggregate) -> Result<PlanRef> {
    let single = HashAggregate::try_new(
        &rows.schema,
        AggregateMode::Single,
        partial.group_columns().to_vec(),
        partial.aggregates().to_vec(),
    )?
    .with_empty_grouping_sets(partial.empty_grouping_sets().to_vec())?;
    let schema = Arc::clone(single.output_schema());
    let node = PhysicalNode::Aggregate {
        input: Arc::clone(rows),
        aggregate: Arc::new(single),
    };
    let plan = PhysicalPlan::derived(node, schema)?;
    Ok(Arc::new(plan.with_estimated_rows(last.estimated_rows)))
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::physical::Partitioning;
    use crate::physical::planner::enforce_distribution::enforce_distribution;

    fn rows(partitioning: Partitioning) -> PlanRef {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let partitions = vec![Vec::new(); partitioning.partition_count()];
        Arc::new(PhysicalPlan::new(
            PhysicalNode::Values {
                partitions: Arc::new(partitions),
            },
            schema,
            partitioning,
        ))
    }

    /// `SELECT k GROUP BY k` in two phases over `input`, enforced and combined.
    fn group_by_k(input: PlanRef) -> PlanRef {
        let partial =
            HashAggregate::try_new(&input.schema, AggregateMode::Partial, vec![0], Vec::new())
                .unwrap();
        let last = partial.merging().unwrap();
        let node = |input, aggregate: HashAggregate| {
            let schema = Arc::clone(aggregate.output_schema());
            let node = PhysicalNode::Aggregate {
                input,
                aggregate: Arc::new(aggregate),
            };
            PhysicalPlan::derived(node, schema).unwrap()
        };
        let partial = Arc::new(node(input, partial));
        let plan = Arc::new(node(partial, last).with_estimated_rows(Some(7)));
        combine_phases(&enforce_distribution(&plan, 4).unwrap()).unwrap()
    }

    /// The operators from the top, one word each.
    fn shape(plan: &PlanRef) -> Vec<String> {
        let mut shape = Vec::new();
        let mut next = Some(plan);
        while let Some(plan) = next {
            shape.push(match &plan.node {
                PhysicalNode::Aggregate { aggregate, .. } => format!("{:?}", aggregate.mode()),
                PhysicalNode::Exchange { .. } => "Exchange".to_string(),
                PhysicalNode::Values { .. } => "Values".to_string(),
                other => format!("{other:?}"),
            });
            next = plan.inputs().into_iter().next();
        }
        shape
    }

    #[test]
    fn phases_without_an_exchange_between_them_become_one_aggregation() {
        let clustered = group_by_k(rows(Partitioning::KeyGrouped(vec![0], 3)));
        assert_eq!(shape(&clustered), ["Single", "Values"]);
        assert_eq!(clustered.estimated_rows, Some(7));
        assert_eq!(clustered.partitioning, Partitioning::KeyGrouped(vec![0], 3));
        let single = group_by_k(rows(Partitioning::SINGLE));
        assert_eq!(shape(&single), ["Single", "Values"]);
        let spread = group_by_k(rows(Partitioning::Unknown(3)));
        assert_eq!(shape(&spread), ["Final", "Exchange", "Partial", "Values"]);
        assert_eq!(spread.estimated_rows, Some(7));
    }
}
