//! The [`Context`]: entry point of the runtime, owner of the worker pool and every store.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::Data;
use crate::error::{RddError, Result};
use crate::fault::FaultInjector;
use crate::memory::MemoryPool;
use crate::rdd::sources::{ParallelCollectionRdd, RangeRdd, SourceRdd, TextFileRdd};
use crate::rdd::{BoxIter, Rdd};
use crate::scheduler::TaskContext;
use crate::scheduler::listener::{ListenerBus, SchedulerListener};
use crate::shared::{Accumulator, Broadcast};
use crate::shuffle::ShuffleStore;
use crate::storage::BlockStore;

/// Settings of a [`Context`]; build one with [`Context::builder`].
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    pub(crate) threads: usize,
    pub(crate) max_task_attempts: usize,
    pub(crate) max_stage_attempts: usize,
    pub(crate) memory_store_bytes: usize,
    pub(crate) memory_limit: Option<usize>,
}

impl Default for ContextBuilder {
    fn default() -> Self {
        ContextBuilder {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_task_attempts: 4,
            max_stage_attempts: 4,
            memory_store_bytes: 1 << 30,
            memory_limit: None,
        }
    }
}

impl ContextBuilder {
    /// Number of worker threads (default: the number of cores); also the default parallelism.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// How many times a task is attempted before its job fails (default 4, as Spark's).
    pub fn max_task_attempts(mut self, attempts: usize) -> Self {
        self.max_task_attempts = attempts;
        self
    }

    /// How many times a stage is resubmitted after lost shuffle outputs (default 4).
    pub fn max_stage_attempts(mut self, attempts: usize) -> Self {
        self.max_stage_attempts = attempts;
        self
    }

    /// Bytes the memory block store may hold for persisted partitions (default 1 GiB).
    pub fn memory_store_bytes(mut self, bytes: usize) -> Self {
        self.memory_store_bytes = bytes;
        self
    }

    /// Caps the bytes that buffering operators (aggregations, sorts, join tables, shuffle
    /// outputs) hold at once; past it they spill to disk (default: no limit).
    pub fn memory_limit(mut self, bytes: Option<usize>) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Starts the worker pool and creates the context.
    pub fn build(self) -> Result<Context> {
        if self.threads == 0 || self.max_task_attempts == 0 || self.max_stage_attempts == 0 {
            return Err(RddError::InvalidArgument(
                "threads and attempt counts must be at least 1".into(),
            ));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("rsql-worker-{i}"))
            .build()
            .map_err(|e| RddError::ThreadPool(e.to_string()))?;
        let blocks = BlockStore::new(self.memory_store_bytes)?;
        let memory = Arc::new(MemoryPool::new(self.memory_limit)?);
        Ok(Context {
            inner: Arc::new(ContextInner {
                config: self,
                pool,
                next_rdd_id: AtomicUsize::new(0),
                next_shuffle_id: AtomicUsize::new(0),
                next_stage_id: AtomicUsize::new(0),
                next_job_id: AtomicUsize::new(0),
                shuffles: ShuffleStore::default(),
                blocks,
                memory,
                listeners: ListenerBus::default(),
                faults: FaultInjector::default(),
                cancellations: Arc::new(AtomicU64::new(0)),
            }),
        })
    }
}

/// A handle to a local-mode runtime: worker threads, shuffle and block stores, listeners.
///
/// Cloning is cheap; every clone refers to the same runtime. Nothing is global: two contexts
/// in one process are fully independent.
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

pub(crate) struct ContextInner {
    pub(crate) config: ContextBuilder,
    pub(crate) pool: rayon::ThreadPool,
    next_rdd_id: AtomicUsize,
    next_shuffle_id: AtomicUsize,
    next_stage_id: AtomicUsize,
    next_job_id: AtomicUsize,
    pub(crate) shuffles: ShuffleStore,
    pub(crate) blocks: BlockStore,
    pub(crate) memory: Arc<MemoryPool>,
    pub(crate) listeners: ListenerBus,
    pub(crate) faults: FaultInjector,
    /// Bumped by [`Context::cancel_running_jobs`]; a job started at an older value is cancelled.
    pub(crate) cancellations: Arc<AtomicU64>,
}

impl ContextInner {
    pub(crate) fn next_rdd_id(&self) -> usize {
        self.next_rdd_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_shuffle_id(&self) -> usize {
        self.next_shuffle_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_stage_id(&self) -> usize {
        self.next_stage_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_job_id(&self) -> usize {
        self.next_job_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl Context {
    /// A context with one worker per core.
    pub fn new() -> Result<Context> {
        ContextBuilder::default().build()
    }

    /// Settings for a new context.
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// Number of worker threads, used as the default number of partitions.
    pub fn default_parallelism(&self) -> usize {
        self.inner.config.threads
    }

    /// Distributes `items` over `num_partitions` partitions, in order.
    #[track_caller]
    pub fn parallelize<T: Data>(&self, items: Vec<T>, num_partitions: usize) -> Rdd<T> {
        Rdd::new(ParallelCollectionRdd::new(
            self,
            items,
            num_partitions.max(1),
        ))
    }

    /// The integers `start, start + step, ...` below `end` (above it for a negative step).
    #[track_caller]
    pub fn range(
        &self,
        start: i64,
        end: i64,
        step: i64,
        num_partitions: usize,
    ) -> Result<Rdd<i64>> {
        if step == 0 {
            return Err(RddError::InvalidArgument(
                "range step must not be zero".into(),
            ));
        }
        Ok(Rdd::new(RangeRdd::new(
            self,
            start,
            end,
            step,
            num_partitions.max(1),
        )))
    }

    /// A source of `num_partitions` partitions computed by `compute(partition, task)`, for
    /// readers of external data (the SQL engine's file scans); `compute` reports what it read
    /// with [`TaskContext::record_read`] and failures with [`TaskContext::fail`].
    #[track_caller]
    pub fn source<T: Data>(
        &self,
        num_partitions: usize,
        compute: impl for<'a> Fn(usize, &'a TaskContext) -> BoxIter<'a, T> + Send + Sync + 'static,
    ) -> Rdd<T> {
        Rdd::new(SourceRdd::new(
            self,
            num_partitions.max(1),
            Arc::new(compute),
        ))
    }

    /// The lines of a text file, or of every visible file under a directory, split by byte range.
    #[track_caller]
    pub fn text_file(&self, path: impl AsRef<Path>, min_partitions: usize) -> Result<Rdd<String>> {
        Ok(Rdd::new(TextFileRdd::new(
            self,
            path.as_ref(),
            min_partitions.max(1),
        )?))
    }

    /// Shares a read-only value with every task without copying it per task.
    pub fn broadcast<T: Send + Sync + 'static>(&self, value: T) -> Broadcast<T> {
        Broadcast::new(value)
    }

    /// A numeric counter that tasks add to; each partition of an action counts exactly once.
    pub fn long_accumulator(&self, name: &str) -> Accumulator<i64> {
        Accumulator::new(name, 0, |total, v| *total += v)
    }

    /// A general accumulator: `merge` must be associative and commutative with `zero` as unit.
    pub fn accumulator<T: Data>(
        &self,
        name: &str,
        zero: T,
        merge: impl Fn(&mut T, T) + Send + Sync + 'static,
    ) -> Accumulator<T> {
        Accumulator::new(name, zero, merge)
    }

    /// The memory pool buffering operators reserve from.
    pub fn memory_pool(&self) -> &Arc<MemoryPool> {
        &self.inner.memory
    }

    /// Registers a listener for job, stage and task events (the CLI's progress bar is one).
    pub fn add_listener(&self, listener: Arc<dyn SchedulerListener>) {
        self.inner.listeners.add(listener);
    }

    /// Unregisters a listener added with [`Context::add_listener`] (the same `Arc`); returns
    /// whether it was registered.
    pub fn remove_listener(&self, listener: &Arc<dyn SchedulerListener>) -> bool {
        self.inner.listeners.remove(listener)
    }

    /// Cancels every job running now, as Spark's `cancelAllJobs`: their tasks stop between
    /// items (record batches, for queries), tasks not started yet never start, and each job
    /// fails with [`RddError::Cancelled`](crate::RddError::Cancelled) and cleans up what it
    /// held (spill files, staged output). Jobs started afterwards run normally.
    pub fn cancel_running_jobs(&self) {
        self.inner.cancellations.fetch_add(1, Ordering::SeqCst);
    }

    /// The fault-injection hooks, for tests of retries and lineage recovery.
    pub fn faults(&self) -> &FaultInjector {
        &self.inner.faults
    }

    /// Drops a persisted partition, as if an executor had lost it; returns whether it existed.
    pub fn drop_cached_block(&self, rdd_id: usize, partition: usize) -> bool {
        self.inner.blocks.remove(rdd_id, partition)
    }

    /// Drops one shuffle map output, as if its executor had died; returns whether it existed.
    pub fn drop_shuffle_output(&self, shuffle_id: usize, map_partition: usize) -> bool {
        self.inner
            .shuffles
            .remove_map_output(shuffle_id, map_partition)
    }

    /// Number of shuffles whose outputs the context currently keeps.
    pub fn live_shuffles(&self) -> usize {
        self.inner.shuffles.len()
    }

    /// Number of persisted partitions the block store currently holds.
    pub fn cached_blocks(&self) -> usize {
        self.inner.blocks.len()
    }
}
