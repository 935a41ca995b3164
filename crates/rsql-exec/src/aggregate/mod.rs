//! Aggregate functions, vectorised over batches with per-row group indices.
//!
//! An aggregate runs in two phases around a shuffle: the partial phase folds input rows into
//! per-group *states* ([`GroupsAccumulator::update_batch`], then [`GroupsAccumulator::state`]);
//! the final phase merges states shipped from many partitions
//! ([`GroupsAccumulator::merge_batch`]) and produces one value per group
//! ([`GroupsAccumulator::evaluate`]). Every call handles a whole batch: no per-row dynamic
//! dispatch.
//!
//! An [`AggregateUdf`] is the function's [`AggregateFunctionSignature`] (what the planner
//! binds and types calls with) plus its accumulator, so one object serves both layers;
//! [`register_builtin_aggregates`] registers the built-ins with both.

mod approx_distinct;
mod approx_percentile;
mod average;
mod boolean;
mod builtin;
mod chosen_row;
mod constant;
mod count;
mod count_values;
mod decimal_sum;
mod distinct;
mod hyperloglog;
pub(crate) mod interner;
mod min_max;
mod mode;
mod moments;
mod picked;
mod quantile;
mod quantile_sketch;
mod row_sets;
mod single_value;
mod statistics;
mod string_agg;
mod sum;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, PrimitiveArray};
use arrow::datatypes::{ArrowPrimitiveType, DataType};
use rsql_plan::AggregateFunctionSignature;
use rsql_plan::compute::EvalMode;

pub use boolean::BooleanAggregate;
pub use builtin::{
    AggregateFunctions, builtin_aggregates, register_aggregate, register_builtin_aggregates,
};
pub use chosen_row::{PositionalAggregate, ValueByAggregate};
pub use distinct::DistinctAggregate;
pub use row_sets::CountDistinct;
pub use statistics::StatisticalAggregate;

use crate::error::Result;

/// Per-group state of one aggregate over the groups of one hash table.
pub trait GroupsAccumulator: Send {
    /// Folds the rows of `values` (the evaluated arguments) into their groups: row `i` belongs to
    /// group `group_indices[i]`; groups are numbered densely and `total_groups` exceeds them all.
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()>;

    /// Merges partial states (columns as [`AggregateFunctionSignature::state_fields`] describes)
    /// into groups.
    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()>;

    /// The partial state of groups `0..total_groups`, in group order (groups no row reached
    /// get the empty state); the accumulator is emptied.
    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>>;

    /// The final value of groups `0..total_groups`, in group order; the accumulator is emptied.
    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef>;

    /// Approximate heap bytes held, for memory accounting.
    fn size(&self) -> usize;
}

/// A user-defined (or built-in) aggregate function: its signature (name, argument coercion,
/// result type, partial state), which the planner uses, and its accumulator.
pub trait AggregateUdf: AggregateFunctionSignature {
    /// A fresh accumulator for the given (coerced) argument types; its state and value have the
    /// signature's [`state_fields`](AggregateFunctionSignature::state_fields) and
    /// [`return_type`](AggregateFunctionSignature::return_type) for them.
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>>;

    /// For `f(DISTINCT ..)` (a [`DistinctAggregate`]), the aggregate `f`; `None` for any other.
    fn distinct_of(&self) -> Option<&Arc<dyn AggregateUdf>> {
        None
    }

    /// This aggregate as it runs under `mode`, for one whose overflow the mode decides (`sum`
    /// and `avg` fail on overflow under ANSI mode); `None` when it runs the same in every mode.
    fn in_mode(&self, _mode: EvalMode) -> Option<Arc<dyn AggregateUdf>> {
        None
    }

    /// The mode this aggregate runs in (what [`in_mode`](AggregateUdf::in_mode) made it for).
    fn mode(&self) -> EvalMode {
        EvalMode::Lenient
    }
}

/// The argument types of an aggregate over doubles: every numeric argument (or NULL) is cast
/// to `Float64`; anything else is a type error naming `function`.
pub(crate) fn float_arguments(
    function: &str,
    args: &[DataType],
) -> rsql_plan::Result<Vec<DataType>> {
    args.iter()
        .map(|t| match rsql_plan::coercion::value_type(t) {
            v if rsql_plan::coercion::is_numeric(v) || v == &DataType::Null => {
                Ok(DataType::Float64)
            }
            other => Err(rsql_plan::PlanError::type_mismatch(format!(
                "function '{function}' needs numeric arguments, got {other}"
            ))),
        })
        .collect()
}

/// Calls `fold(group, value)` for every non-null value of `values`, with its row's group; the
/// common case of no nulls skips the validity checks.
pub(crate) fn for_each_valid<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
    group_indices: &[usize],
    mut fold: impl FnMut(usize, T::Native),
) {
    match values.nulls().filter(|nulls| nulls.null_count() > 0) {
        None => {
            for (&group, &value) in group_indices.iter().zip(values.values()) {
                fold(group, value);
            }
        }
        Some(nulls) => {
            for ((&group, &value), valid) in
                group_indices.iter().zip(values.values()).zip(nulls.iter())
            {
                if valid {
                    fold(group, value);
                }
            }
        }
    }
}

/// Grows `values` to `total_groups` entries filled with `default`.
pub(crate) fn ensure_groups<T: Clone>(values: &mut Vec<T>, total_groups: usize, default: T) {
    if values.len() < total_groups {
        values.resize(total_groups, default);
    }
}
