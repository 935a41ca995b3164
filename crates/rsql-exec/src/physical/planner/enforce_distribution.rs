//! The pass that places rows where operators need them (DataFusion's `EnforceDistribution`):
//! bottom-up, an `Exchange` goes below an operator only where its input's placement does not
//! meet the operator's [required distribution](PhysicalPlan::required_input_distribution).
//!
//! Placement the input already has is kept: hive folders of a group key read whole by one
//! partition need no exchange before the aggregation, and of a partitioned join's sides one
//! already hash partitioned on join keys stays as it is while the other follows its keys and
//! partition count.

use std::sync::Arc;

use super::PlanRef;
use crate::error::Result;
use crate::physical::{Distribution, Partitioning, PhysicalNode, PhysicalPlan};

/// `plan` with an exchange to `partitions` partitions (one for [`Distribution::Single`])
/// wherever an operator's input does not meet its requirement.
pub(super) fn enforce_distribution(plan: &PlanRef, partitions: usize) -> Result<PlanRef> {
    plan.transform_up(&mut |node| {
        let required = node.required_input_distribution();
        let inputs: Vec<PlanRef> = node.inputs().into_iter().cloned().collect();
        let placed = match (required.as_slice(), inputs.as_slice()) {
            (
                [
                    Distribution::HashPartitioned(left_keys),
                    Distribution::HashPartitioned(right_keys),
                ],
                [left, right],
            ) => {
                let (left, right) = co_partition(left, left_keys, right, right_keys, partitions);
                vec![left, right]
            }
            _ => inputs
                .iter()
                .zip(&required)
                .map(|(input, required)| meet(input, required, partitions))
                .collect(),
        };
        let unchanged = placed.iter().zip(&inputs).all(|(p, i)| Arc::ptr_eq(p, i));
        Ok(if unchanged {
            node
        } else {
            Arc::new(node.with_inputs(placed)?)
        })
    })
}

/// `input` as is when it meets `required`, else through an exchange that makes it.
fn meet(input: &PlanRef, required: &Distribution, partitions: usize) -> PlanRef {
    if input.partitioning.satisfies(required) {
        return Arc::clone(input);
    }
    match required.exchange_target(partitions) {
        Some(target) => exchange(input, target),
        None => Arc::clone(input),
    }
}

/// Both sides hash partitioned on corresponding join keys with equal partition counts: a side
/// already placed so is left alone, and the other side follows it.
fn co_partition(
    left: &PlanRef,
    left_keys: &[usize],
    right: &PlanRef,
    right_keys: &[usize],
    partitions: usize,
) -> (PlanRef, PlanRef) {
    // Which key positions a side is hash partitioned on, with its partition count.
    let placed_on = |plan: &PhysicalPlan, keys: &[usize]| match &plan.partitioning {
        Partitioning::Hash(columns, n) => columns
            .iter()
            .map(|c| keys.iter().position(|k| k == c))
            .collect::<Option<Vec<usize>>>()
            .filter(|positions| !positions.is_empty())
            .map(|positions| (positions, *n)),
        _ => None,
    };
    let hash_on = |keys: &[usize], positions: &[usize], n| {
        Partitioning::Hash(positions.iter().map(|&p| keys[p]).collect(), n)
    };
    match (placed_on(left, left_keys), placed_on(right, right_keys)) {
        (Some(l), Some(r)) if l == r => (Arc::clone(left), Arc::clone(right)),
        (Some((positions, n)), _) => (
            Arc::clone(left),
            exchange(right, hash_on(right_keys, &positions, n)),
        ),
        (None, Some((positions, n))) => (
            exchange(left, hash_on(left_keys, &positions, n)),
            Arc::clone(right),
        ),
        (None, None) => (
            exchange(left, Partitioning::Hash(left_keys.to_vec(), partitions)),
            exchange(right, Partitioning::Hash(right_keys.to_vec(), partitions)),
        ),
    }
}

/// An exchange of `input` to `target`, expecting as many rows as its input.
fn exchange(input: &PlanRef, target: Partitioning) -> PlanRef {
    let schema = Arc::clone(&input.schema);
    let rows = input.estimated_rows;
    Arc::new(
        PhysicalPlan::new(
            PhysicalNode::Exchange {
                input: Arc::clone(input),
            },
            schema,
            target,
        )
        .with_estimated_rows(rows),
    )
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::operators::{HashJoin, JoinKind};

    /// Rows of `(k, v)` over partitions placed as `partitioning` says.
    fn rows(partitioning: Partitioning) -> PlanRef {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Int64, true),
        ]));
        let partitions = vec![Vec::new(); partitioning.partition_count()];
        Arc::new(PhysicalPlan::new(
            PhysicalNode::Values {
                partitions: Arc::new(partitions),
            },
            schema,
            partitioning,
        ))
    }

    /// An inner join of `left` and `right` on `k`.
    fn join(left: PlanRef, right: PlanRef, broadcast: bool) -> PlanRef {
        let join = HashJoin::try_new(
            Arc::clone(&left.schema),
            Arc::clone(&right.schema),
            vec![0],
            vec![0],
            JoinKind::Inner,
            None,
        )
        .unwrap();
        let schema = Arc::clone(join.output_schema());
        let node = PhysicalNode::HashJoin {
            left,
            right,
            join: Arc::new(join),
            broadcast,
            runtime_filter: false,
            filter: None,
        };
        Arc::new(PhysicalPlan::derived(node, schema).unwrap())
    }

    /// The placement of each join side after enforcement, `exchange` marking an inserted one.
    fn sides(plan: &PlanRef) -> Vec<String> {
        let placed = enforce_distribution(plan, 4).unwrap();
        placed
            .inputs()
            .iter()
            .map(|side| match side.node {
                PhysicalNode::Exchange { .. } => format!("exchange to {}", side.partitioning),
                _ => format!("kept {}", side.partitioning),
            })
            .collect()
    }

    #[test]
    fn a_side_hashed_on_the_key_is_kept_and_the_other_follows_its_partition_count() {
        let hashed = || rows(Partitioning::Hash(vec![0], 3));
        assert_eq!(
            sides(&join(hashed(), rows(Partitioning::Unknown(2)), false)),
            ["kept hash([#0], 3)", "exchange to hash([#0], 3)"]
        );
        assert_eq!(
            sides(&join(rows(Partitioning::Unknown(2)), hashed(), false)),
            ["exchange to hash([#0], 3)", "kept hash([#0], 3)"]
        );
        // Co-partitioned sides move not at all.
        assert_eq!(
            sides(&join(hashed(), hashed(), false)),
            ["kept hash([#0], 3)", "kept hash([#0], 3)"]
        );
        // Hashed with other counts: the right side follows the left.
        assert_eq!(
            sides(&join(hashed(), rows(Partitioning::Hash(vec![0], 5)), false)),
            ["kept hash([#0], 3)", "exchange to hash([#0], 3)"]
        );
    }

    #[test]
    fn unplaced_sides_are_both_hashed_and_a_broadcast_side_is_gathered() {
        // Folders grouped by the key are not hash placed: both sides move.
        let grouped = rows(Partitioning::KeyGrouped(vec![0], 3));
        assert_eq!(
            sides(&join(grouped, rows(Partitioning::SINGLE), false)),
            ["exchange to hash([#0], 4)", "exchange to hash([#0], 4)"]
        );
        assert_eq!(
            sides(&join(
                rows(Partitioning::Unknown(3)),
                rows(Partitioning::Unknown(2)),
                true
            )),
            ["kept unknown(3)", "exchange to single"]
        );
        assert_eq!(
            sides(&join(
                rows(Partitioning::Unknown(3)),
                rows(Partitioning::SINGLE),
                true
            )),
            ["kept unknown(3)", "kept single"]
        );
    }

    #[test]
    fn operators_above_an_inserted_exchange_are_placed_anew() {
        let plan = join(
            rows(Partitioning::Unknown(2)),
            rows(Partitioning::Unknown(2)),
            false,
        );
        assert_eq!(plan.partitioning, Partitioning::Unknown(2));
        let placed = enforce_distribution(&plan, 4).unwrap();
        assert_eq!(placed.partitioning, Partitioning::Hash(vec![0], 4));
        assert_eq!(placed.exchange_count(), 2);
    }
}
