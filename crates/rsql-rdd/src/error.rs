//! Errors raised by the RDD runtime.

use std::path::PathBuf;

use crate::scheduler::StageId;
use crate::shuffle::ShuffleId;

/// Result type of every fallible runtime operation.
pub type Result<T, E = RddError> = std::result::Result<T, E>;

/// Everything that can go wrong while building or running RDD jobs.
#[derive(Debug, thiserror::Error)]
pub enum RddError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// A task failed on every allowed attempt, or once with an error a retry cannot heal (see
    /// [`RddError::is_retryable`]), so its job failed.
    #[error("stage {stage_id} ({stage}) failed: {}", task_failure(*partition, *attempts, cause))]
    TaskFailed {
        /// The stage the task belonged to.
        stage_id: StageId,
        /// The operation and call site that ends the stage, e.g. `reduce_by_key at src/main.rs:12`.
        stage: String,
        /// The partition the task computed.
        partition: usize,
        /// How many attempts were made.
        attempts: usize,
        /// The error of the last attempt.
        #[source]
        cause: Box<RddError>,
    },

    /// User code panicked inside a task.
    #[error("panic: {0}")]
    Panicked(String),

    /// A reduce task found a shuffle map output missing; the scheduler recomputes it from lineage.
    #[error("shuffle {shuffle_id}: output of map partition {map_partition} is missing")]
    FetchFailed {
        /// The shuffle whose output is missing.
        shuffle_id: ShuffleId,
        /// The map partition whose output is missing.
        map_partition: usize,
    },

    /// An error raised by code running inside a task, e.g. an operator of a query plan.
    #[error("{0}")]
    External(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A fault injected by a test through [`crate::FaultInjector`].
    #[error("injected fault: attempt {attempt} of partition {partition}")]
    InjectedFault {
        /// The partition whose task was made to fail.
        partition: usize,
        /// The attempt that was made to fail.
        attempt: usize,
    },

    /// A persisted block could not be encoded or decoded.
    #[error("cannot serialize block of RDD {rdd_id}, partition {partition}: {message}")]
    Serialization {
        /// The RDD the block belongs to.
        rdd_id: usize,
        /// The partition the block holds.
        partition: usize,
        /// What the codec reported.
        message: String,
    },

    /// The memory pool refused a reservation that could not be spilled.
    #[error(
        "memory limit reached: {consumer} needs {requested} more bytes but the pool has {used} of {limit} in use; raise the memory limit"
    )]
    ResourcesExhausted {
        /// The operator that asked.
        consumer: String,
        /// Bytes it asked for.
        requested: usize,
        /// Bytes reserved in the pool at the time.
        used: usize,
        /// The pool's limit.
        limit: usize,
    },

    /// An output directory already exists.
    #[error("output path {0} already exists")]
    OutputExists(PathBuf),

    /// An argument is out of its domain (zero partitions, negative fraction, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An invariant of the runtime was broken; this is a bug in rsql.
    #[error("internal error: {0}")]
    Internal(String),

    /// The job was cancelled ([`crate::Context::cancel_running_jobs`]) before it finished.
    #[error("the job was cancelled")]
    Cancelled,

    /// The worker pool could not be started.
    #[error("cannot start the worker pool: {0}")]
    ThreadPool(String),
}

impl RddError {
    /// Whether running the task again can heal this failure. A panic, an I/O error, an
    /// injected fault or a broken runtime invariant may not happen again; an error about the
    /// data or the plan (an operator's error, a memory limit, an invalid argument) would, so it
    /// fails the job on its first occurrence instead of doing the work again.
    pub fn is_retryable(&self) -> bool {
        match self {
            RddError::Panicked(_)
            | RddError::InjectedFault { .. }
            | RddError::Io { .. }
            | RddError::Internal(_) => true,
            RddError::External(error) => caused_by_io(error.as_ref()),
            _ => false,
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RddError::Io {
            path: path.into(),
            source,
        }
    }
}

/// How a failed task is described: its partition, the attempts when there were several, and
/// the cause.
fn task_failure(partition: usize, attempts: usize, cause: &RddError) -> String {
    if attempts > 1 {
        format!("partition {partition} failed {attempts} time(s); last error: {cause}")
    } else {
        format!("partition {partition}: {cause}")
    }
}

/// Whether an I/O error is somewhere in `error`'s chain of sources.
fn caused_by_io(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<std::io::Error>() {
            return true;
        }
        next = error.source();
    }
    false
}
