//! Aggregate functions, vectorised over batches with per-row group indices.
//!
//! An aggregate runs in two phases around a shuffle: the partial phase folds input rows into
//! per-group *states* ([`GroupsAccumulator::update_batch`], then [`GroupsAccumulator::state`]);
//! the final phase merges states shipped from many partitions
//! ([`GroupsAccumulator::merge_batch`]) and produces one value per group
//! ([`GroupsAccumulator::evaluate`]). Every call handles a whole batch: no per-row dynamic
//! dispatch.

mod average;
mod builtin;
mod count;
mod count_values;
mod min_max;
mod row_sets;
mod sum;

use std::fmt::Debug;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field};

pub use builtin::builtin_aggregates;
pub use count_values::{CountValues, count_values_type};

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

    /// Merges partial states (columns as [`AggregateUdf::state_fields`] describes) into groups.
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

/// A user-defined (or built-in) aggregate function, registered by name.
pub trait AggregateUdf: Debug + Send + Sync {
    /// The name SQL and DataFrames call it by (lower case).
    fn name(&self) -> &str;

    /// The type of the final value for the given argument types.
    fn return_type(&self, args: &[DataType]) -> Result<DataType>;

    /// The columns of the partial state for the given argument types.
    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>>;

    /// A fresh accumulator for the given argument types.
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>>;
}

/// Grows `values` to `total_groups` entries filled with `default`.
pub(crate) fn ensure_groups<T: Clone>(values: &mut Vec<T>, total_groups: usize, default: T) {
    if values.len() < total_groups {
        values.resize(total_groups, default);
    }
}
