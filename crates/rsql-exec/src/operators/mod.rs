//! Physical operators on record batches.

mod block_join;
mod bounded_aggregate;
pub mod coalesce;
pub mod exchange;
mod expand;
mod external_sort;
mod generate;
mod generate_range;
mod grace_join;
mod group_table;
pub mod hash_aggregate;
pub mod hash_join;
mod key_filter;
mod replicate_rows;
pub mod sort;
mod top_k;
pub mod window;

pub use coalesce::{TARGET_BATCH_ROWS, coalesce_batches};
pub use exchange::{bucket_of_rows, hash_split};
pub use expand::GroupingSets;
pub use external_sort::{SortedBatches, sort_bounded};
pub use generate::Generator;
pub use generate_range::{RangeBatches, range_partition};
pub use grace_join::JoinedBatches;
pub(crate) use grace_join::probe_then_unmatched;
pub use hash_aggregate::{AggregateCall, AggregateMode, AggregationState, HashAggregate};
pub use hash_join::{HashJoin, JoinKind, JoinTable};
pub(crate) use key_filter::{HeldBuild, KeyFilter};
pub use replicate_rows::replicate_rows;
pub use sort::{RangeBounds, SortKey, sample_keys, sort_batches};
pub use window::{GroupLimit, WindowCall, WindowExec, WindowStream};
