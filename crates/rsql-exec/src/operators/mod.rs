//! Physical operators on record batches.

pub mod exchange;
pub mod hash_aggregate;

pub use exchange::{bucket_of_rows, hash_split};
pub use hash_aggregate::{AggregateCall, AggregateMode, AggregationState, HashAggregate};
