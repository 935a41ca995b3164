//! `rsql-rdd`: a resilient distributed dataset runtime in the shape of Spark core.
//!
//! A [`Context`] owns a pool of worker threads and the stores of one runtime. An [`Rdd`] is an
//! immutable, partitioned dataset defined by its lineage: transformations build new RDDs lazily;
//! actions hand the lineage to the DAG scheduler, which cuts it into stages at shuffle
//! dependencies, runs one task per partition, retries failed tasks and recomputes lost
//! partitions from lineage.
//!
//! ```
//! use rsql_rdd::Context;
//!
//! let ctx = Context::builder().threads(2).build()?;
//! let lines = ctx.parallelize(vec!["a b".to_string(), "b c".to_string()], 2);
//! let mut counts = lines
//!     .flat_map(|line| line.split(' ').map(str::to_string).collect::<Vec<_>>())
//!     .map(|word| (word, 1))
//!     .reduce_by_key(|a, b| a + b)
//!     .collect()?;
//! counts.sort();
//! assert_eq!(counts, vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 1)]);
//! # Ok::<(), rsql_rdd::RddError>(())
//! ```

mod context;
mod error;
mod fault;
mod memory;
mod output;
mod partitioner;
mod rdd;
mod scheduler;
mod shared;
mod shuffle;
mod storage;
mod system_memory;

pub use context::{Context, ContextBuilder};
pub use error::{RddError, Result};
pub use fault::{FaultInjector, RandomFaults};
pub use memory::{MemoryPool, MemoryReservation};
pub use output::SUCCESS_MARKER;
pub use partitioner::{HashPartitioner, Partitioner, RangePartitioner};
pub use rdd::local_iterator::LocalIterator;
pub use rdd::{BoxIter, Data, Rdd, RddId};
pub use scheduler::{
    RunTotals, SchedulerEvent, SchedulerListener, StageId, StageInfo, StageKind, StageMetrics,
    TaskContext, TaskMetrics, TotalsListener, in_task, with_deadline,
};
pub use shared::{Accumulator, Broadcast};
pub use shuffle::{ShuffleId, ShufflePreparation, ShuffleSizer};
pub use storage::StorageLevel;
pub use system_memory::{DEFAULT_MEMORY_FRACTION, available_memory, default_memory_limit};

/// The examples of the user guide's RDD page, run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide/rdd.md")]
mod guide_rdd {}
