//! Per-task state: identity, metrics and a slot for errors raised while iterating.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{RddError, Result};
use crate::scheduler::StageId;

thread_local! {
    static RUNNING_TASK: Cell<bool> = const { Cell::new(false) };
    /// The deadline [`with_deadline`] set for jobs started on this thread.
    static JOB_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` so that every job it starts on this thread (and every
/// [`Rdd::to_local_iterator`](crate::Rdd::to_local_iterator) it creates) is cancelled once
/// `deadline` passes, failing with [`RddError::Cancelled`] as
/// [`Context::cancel_running_jobs`](crate::Context::cancel_running_jobs) would: a statement
/// timeout. Nested calls keep the earlier deadline.
pub fn with_deadline<R>(deadline: Instant, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            JOB_DEADLINE.with(|d| d.set(self.0));
        }
    }
    let outer = JOB_DEADLINE.with(Cell::get);
    let _restore = Restore(outer);
    let earliest = outer.map_or(deadline, |outer| outer.min(deadline));
    JOB_DEADLINE.with(|d| d.set(Some(earliest)));
    f()
}

/// Whether the current thread is running a task attempt. A panic hook uses it to stay quiet
/// about the panics the scheduler catches: they reach the user as the task's error, and only
/// when no retry heals them.
pub fn in_task() -> bool {
    RUNNING_TASK.with(Cell::get)
}

/// Runs `f` as a task attempt: [`in_task`] is true meanwhile.
pub(crate) fn run_as_task<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            RUNNING_TASK.with(|running| running.set(self.0));
        }
    }
    let _reset = Reset(RUNNING_TASK.with(|running| running.replace(true)));
    f()
}

/// What one task did, reported to listeners when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskMetrics {
    /// Records produced by sources (collections, ranges, files) in this task.
    pub records_read: u64,
    /// Bytes read from files by sources.
    pub bytes_read: u64,
    /// Records the task delivered: to the action for result tasks, to the shuffle for map tasks.
    pub records_written: u64,
    /// Bytes written to shuffle buckets (shallow size of the records).
    pub shuffle_bytes_written: u64,
    /// Records fetched from shuffle outputs.
    pub shuffle_records_read: u64,
    /// Bytes fetched from shuffle outputs (shallow size of the records).
    pub shuffle_bytes_read: u64,
    /// Partitions read from the block store instead of being computed.
    pub cached_partitions_read: u64,
    /// Wall time of the attempt.
    pub duration: Duration,
}

impl TaskMetrics {
    /// Adds another task's metrics to these (durations add up).
    pub fn add(&mut self, other: &TaskMetrics) {
        self.records_read += other.records_read;
        self.bytes_read += other.bytes_read;
        self.records_written += other.records_written;
        self.shuffle_bytes_written += other.shuffle_bytes_written;
        self.shuffle_records_read += other.shuffle_records_read;
        self.shuffle_bytes_read += other.shuffle_bytes_read;
        self.cached_partitions_read += other.cached_partitions_read;
        self.duration += other.duration;
    }
}

/// Tells the tasks of one job whether it was cancelled: the context's cancellation count
/// moved past the value it had when the job started, or the job's deadline ([`with_deadline`])
/// passed.
#[derive(Debug, Clone)]
pub(crate) struct CancelToken {
    cancellations: Arc<AtomicU64>,
    started_at: u64,
    deadline: Option<Instant>,
}

impl CancelToken {
    /// A token for a job starting now on this thread.
    pub(crate) fn new(cancellations: &Arc<AtomicU64>) -> Self {
        CancelToken {
            cancellations: Arc::clone(cancellations),
            started_at: cancellations.load(Ordering::SeqCst),
            deadline: JOB_DEADLINE.with(Cell::get),
        }
    }

    /// Whether the job was cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancellations.load(Ordering::Relaxed) != self.started_at
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// The context of one task attempt, handed to partition functions and RDD computations.
pub struct TaskContext {
    stage_id: StageId,
    partition: usize,
    attempt: usize,
    metrics: RefCell<TaskMetrics>,
    failure: RefCell<Option<RddError>>,
    cancel: CancelToken,
}

impl TaskContext {
    pub(crate) fn new(
        stage_id: StageId,
        partition: usize,
        attempt: usize,
        cancel: CancelToken,
    ) -> Self {
        TaskContext {
            stage_id,
            partition,
            attempt,
            metrics: RefCell::default(),
            failure: RefCell::new(None),
            cancel,
        }
    }

    /// Whether the task's job was cancelled; long computations inside one item may poll it.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The stage this task belongs to.
    pub fn stage_id(&self) -> StageId {
        self.stage_id
    }

    /// The partition this task computes.
    pub fn partition_id(&self) -> usize {
        self.partition
    }

    /// Which attempt this is, from 0.
    pub fn attempt_number(&self) -> usize {
        self.attempt
    }

    /// Fails the task from inside an iterator that cannot return an error itself; the first
    /// failure wins. Iterators should stop producing items after calling this.
    pub fn fail(&self, error: RddError) {
        self.failure.borrow_mut().get_or_insert(error);
    }

    /// Whether [`TaskContext::fail`] was called.
    pub fn has_failed(&self) -> bool {
        self.failure.borrow().is_some()
    }

    /// Returns the recorded failure, if any, as an error.
    pub(crate) fn check_failure(&self) -> Result<()> {
        self.failure.borrow_mut().take().map_or(Ok(()), Err)
    }

    /// Counts `records` and `bytes` read from outside the runtime (files, collections) in this
    /// task's metrics.
    pub fn record_read(&self, records: u64, bytes: u64) {
        let mut m = self.metrics.borrow_mut();
        m.records_read += records;
        m.bytes_read += bytes;
    }

    pub(crate) fn record_written(&self, records: u64) {
        self.metrics.borrow_mut().records_written += records;
    }

    pub(crate) fn record_shuffle_write(&self, records: u64, bytes: u64) {
        let mut m = self.metrics.borrow_mut();
        m.records_written += records;
        m.shuffle_bytes_written += bytes;
    }

    pub(crate) fn record_shuffle_read(&self, records: u64, bytes: u64) {
        let mut m = self.metrics.borrow_mut();
        m.shuffle_records_read += records;
        m.shuffle_bytes_read += bytes;
    }

    pub(crate) fn record_cached_read(&self) {
        self.metrics.borrow_mut().cached_partitions_read += 1;
    }

    pub(crate) fn finish(self, duration: Duration) -> TaskMetrics {
        let mut metrics = self.metrics.into_inner();
        metrics.duration = duration;
        metrics
    }
}
