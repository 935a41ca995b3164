//! What each operator requires of the placement of its inputs' rows, and how it places its
//! own output given theirs: the properties [`enforce_distribution`](super::planner) reads to
//! insert exchanges, stated once per operator.

use super::{Distribution, Partitioning, PhysicalNode, PhysicalPlan, Scope};
use crate::operators::{AggregateMode, JoinKind};

impl PhysicalPlan {
    /// What the operator requires of each input's placement, in the order of
    /// [`PhysicalPlan::inputs`].
    pub fn required_input_distribution(&self) -> Vec<Distribution> {
        match &self.node {
            PhysicalNode::Scan { .. }
            | PhysicalNode::Range { .. }
            | PhysicalNode::Values { .. } => Vec::new(),
            PhysicalNode::Filter { .. }
            | PhysicalNode::Projection { .. }
            | PhysicalNode::ReplicateRows { .. }
            | PhysicalNode::Generate { .. }
            | PhysicalNode::Expand { .. }
            | PhysicalNode::Exchange { .. } => vec![Distribution::Any],
            PhysicalNode::Union { inputs } => vec![Distribution::Any; inputs.len()],
            PhysicalNode::Aggregate { aggregate, .. } => {
                let groups = aggregate.group_columns();
                vec![match aggregate.mode() {
                    AggregateMode::Partial => Distribution::Any,
                    AggregateMode::Final | AggregateMode::Single if groups.is_empty() => {
                        Distribution::Single
                    }
                    AggregateMode::Final | AggregateMode::Single => {
                        Distribution::Clustered(groups.to_vec())
                    }
                }]
            }
            PhysicalNode::HashJoin {
                join, broadcast, ..
            } => {
                if *broadcast {
                    vec![Distribution::Any, Distribution::Single]
                } else if join.left_keys().is_empty() {
                    // A theta join that must see every row of both sides.
                    vec![Distribution::Single, Distribution::Single]
                } else {
                    vec![
                        Distribution::HashPartitioned(join.left_keys().to_vec()),
                        Distribution::HashPartitioned(join.right_keys().to_vec()),
                    ]
                }
            }
            PhysicalNode::Window { window, .. } if window.partition_columns.is_empty() => {
                vec![Distribution::Single]
            }
            PhysicalNode::Window { window, .. } => {
                vec![Distribution::Clustered(window.partition_columns.clone())]
            }
            PhysicalNode::WindowGroupLimit { limit, scope, .. } => vec![match scope {
                Scope::Partition => Distribution::Any,
                Scope::Global if limit.partition_columns.is_empty() => Distribution::Single,
                Scope::Global => Distribution::Clustered(limit.partition_columns.clone()),
            }],
            PhysicalNode::Sort {
                keys, fetch, scope, ..
            } => vec![match (scope, fetch) {
                (Scope::Partition, _) => Distribution::Any,
                (Scope::Global, Some(_)) => Distribution::Single,
                (Scope::Global, None) => Distribution::Ordered(keys.clone()),
            }],
            PhysicalNode::Limit { scope, .. } => vec![match scope {
                Scope::Partition => Distribution::Any,
                Scope::Global => Distribution::Single,
            }],
        }
    }
}

impl PhysicalNode {
    /// How the operator's output rows are placed, as it follows from its inputs' placement;
    /// `None` for scans, literal rows and exchanges, which place rows themselves.
    pub fn derived_partitioning(&self) -> Option<Partitioning> {
        Some(match self {
            PhysicalNode::Scan { .. }
            | PhysicalNode::Range { .. }
            | PhysicalNode::Values { .. }
            | PhysicalNode::Exchange { .. } => {
                return None;
            }
            // Rows stay in the partition they came from.
            // Window columns are appended after the input's, which keep their positions.
            PhysicalNode::Filter { input, .. }
            | PhysicalNode::Window { input, .. }
            | PhysicalNode::WindowGroupLimit { input, .. }
            | PhysicalNode::Sort { input, .. }
            | PhysicalNode::Limit { input, .. } => input.partitioning.clone(),
            PhysicalNode::Projection { input, source, .. } => {
                let passed = source.passed_columns();
                input
                    .partitioning
                    .remap(|old| passed.iter().position(|&c| c == Some(old)))
            }
            // Every column but the last (the count) is passed through.
            PhysicalNode::ReplicateRows { input } => {
                let kept = input.schema.fields().len().saturating_sub(1);
                input.partitioning.remap(|c| (c < kept).then_some(c))
            }
            // Every column but the arrays is passed through; rows stay in their partition.
            PhysicalNode::Generate { input, generator } => {
                let source = generator.column;
                input
                    .partitioning
                    .remap(|c| (c != source).then(|| if c > source { c - 1 } else { c }))
            }
            // Columns keep their positions; the nulled keys no longer place rows.
            PhysicalNode::Expand { input, sets } => input
                .partitioning
                .remap(|c| (!sets.is_nulled(c)).then_some(c)),
            PhysicalNode::Aggregate { input, aggregate } => {
                let groups = aggregate.group_columns();
                // Group keys lead the output.
                input
                    .partitioning
                    .remap(|old| groups.iter().position(|&c| c == old))
            }
            PhysicalNode::HashJoin {
                left, right, join, ..
            } => match join.kind() {
                JoinKind::Inner
                | JoinKind::Left
                | JoinKind::Semi
                | JoinKind::Anti
                | JoinKind::NullAwareAnti
                | JoinKind::Mark
                | JoinKind::NullAwareMark => left.partitioning.clone(),
                JoinKind::Right => {
                    let left_columns = left.schema.fields().len();
                    right.partitioning.remap(|c| Some(c + left_columns))
                }
                // Only the right columns, in their places.
                JoinKind::RightSemi | JoinKind::RightAnti => right.partitioning.clone(),
                JoinKind::Full => Partitioning::Unknown(left.partitioning.partition_count()),
            },
            PhysicalNode::Union { inputs } => {
                let partitions = inputs.iter().map(|i| i.partitioning.partition_count());
                Partitioning::Unknown(partitions.sum::<usize>().max(1))
            }
        })
    }
}
