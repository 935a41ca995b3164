//! The typed [`Rdd`] handle and the lineage graph behind it.

pub(crate) mod actions;
pub(crate) mod lineage;
pub(crate) mod local_iterator;
pub(crate) mod nodes;
pub(crate) mod pair;
pub(crate) mod sources;
pub(crate) mod transformations;

use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::error::{RddError, Result};
use crate::partitioner::PartitionerRef;
use crate::scheduler::TaskContext;
use crate::shuffle::{ShuffleDependencyBase, ShuffleId};
use crate::storage::{BlockCodec, Persistence, StorageLevel};

/// Identifier of an RDD within its context.
pub type RddId = usize;

/// An iterator over the items of one partition, as tasks pipeline them.
pub type BoxIter<'a, T> = Box<dyn Iterator<Item = T> + 'a>;

/// What an RDD element must be: shareable between worker threads and cloneable.
pub trait Data: Send + Sync + Clone + 'static {}
impl<T: Send + Sync + Clone + 'static> Data for T {}

/// How a child RDD depends on a parent.
#[derive(Clone)]
pub(crate) enum Dependency {
    /// Each parent partition feeds a bounded set of child partitions: pipelined in one task.
    Narrow(Arc<dyn RddBase>),
    /// Every child partition reads from every parent partition: a stage boundary.
    Shuffle(Arc<dyn ShuffleDependencyBase>),
}

/// Identity, creation site and persistence state shared by every RDD node.
pub(crate) struct RddMeta {
    pub(crate) id: RddId,
    pub(crate) context: Context,
    pub(crate) operation: &'static str,
    pub(crate) call_site: &'static Location<'static>,
    /// A name set by [`Rdd::set_name`], shown instead of `operation at file:line`.
    name: OnceLock<String>,
    persistence: Mutex<Option<Persistence>>,
}

impl RddMeta {
    /// Metadata for a node created by `operation` at the caller's location.
    #[track_caller]
    pub(crate) fn new(context: &Context, operation: &'static str) -> Self {
        RddMeta {
            id: context.inner.next_rdd_id(),
            context: context.clone(),
            operation,
            call_site: Location::caller(),
            name: OnceLock::new(),
            persistence: Mutex::new(None),
        }
    }

    fn persistence_lock(&self) -> MutexGuard<'_, Option<Persistence>> {
        self.persistence
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn persistence(&self) -> Option<Persistence> {
        *self.persistence_lock()
    }

    /// The name set by [`Rdd::set_name`], else `operation at file:line`, as stage names and
    /// lineage dumps show it.
    pub(crate) fn describe(&self) -> String {
        if let Some(name) = self.name.get() {
            return name.clone();
        }
        format!(
            "{} at {}:{}",
            self.operation,
            self.call_site.file(),
            self.call_site.line()
        )
    }
}

impl Drop for RddMeta {
    fn drop(&mut self) {
        if self.persistence_lock().is_some() {
            self.context.inner.blocks.remove_rdd(self.id);
        }
    }
}

/// The untyped view of an RDD node the scheduler and lineage printer walk.
pub(crate) trait RddBase: Send + Sync {
    /// The Spark-style class name lineage dumps show, e.g. `MapPartitionsRDD`.
    fn node_name(&self) -> &'static str;
    fn meta(&self) -> &RddMeta;
    fn num_partitions(&self) -> usize;
    fn dependencies(&self) -> Vec<Dependency>;
    fn partitioner(&self) -> Option<PartitionerRef> {
        None
    }
}

/// A typed RDD node: how to compute one partition from the parents.
pub(crate) trait RddNode<T>: RddBase {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, T>>;
}

/// A resilient distributed dataset: an immutable, partitioned collection defined by lineage.
///
/// Transformations are lazy and return new RDDs; actions run a job on the context's workers.
pub struct Rdd<T> {
    node: Arc<dyn RddNode<T>>,
}

impl<T> Clone for Rdd<T> {
    fn clone(&self) -> Self {
        Rdd {
            node: Arc::clone(&self.node),
        }
    }
}

impl<T: Data> Rdd<T> {
    pub(crate) fn new(node: impl RddNode<T> + 'static) -> Self {
        Rdd {
            node: Arc::new(node),
        }
    }

    pub(crate) fn base(&self) -> Arc<dyn RddBase> {
        self.node.clone()
    }

    /// The RDD's identifier, unique within its context.
    pub fn id(&self) -> RddId {
        self.node.meta().id
    }

    /// The context the RDD belongs to.
    pub fn context(&self) -> &Context {
        &self.node.meta().context
    }

    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.node.num_partitions()
    }

    /// The operation and call site that created this RDD, e.g. `map at src/main.rs:7`.
    pub fn describe(&self) -> String {
        self.node.meta().describe()
    }

    /// The shuffles the stage computing this RDD reads (empty when the stage reads none).
    pub fn shuffle_ids(&self) -> Vec<ShuffleId> {
        let mut ids: Vec<ShuffleId> = lineage::stage_shuffles(&self.base(), |_| false)
            .iter()
            .map(|shuffle| shuffle.shuffle_id())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The stages an action on this RDD would run now, in its job and the jobs that job starts:
    /// a map stage for every shuffle in its lineage whose output is missing, a stage for each
    /// of their preparations (see [`Rdd::shuffle_prepared`]), and the result stage. Computes
    /// nothing.
    pub fn planned_stages(&self) -> usize {
        crate::scheduler::planned_stages(self.context(), &self.base())
    }

    /// The storage level set by `persist`/`cache`, if any.
    pub fn storage_level(&self) -> Option<StorageLevel> {
        self.node.meta().persistence().map(|p| p.level())
    }

    /// Keeps computed partitions in memory (`MemoryOnly`); works for any element type.
    pub fn cache(&self) -> Self {
        self.set_persistence(Persistence::Memory)
    }

    /// Forgets the storage level and drops every stored partition.
    pub fn unpersist(&self) -> Self {
        let meta = self.node.meta();
        *meta.persistence_lock() = None;
        meta.context.inner.blocks.remove_rdd(meta.id);
        self.clone()
    }

    fn set_persistence(&self, persistence: Persistence) -> Self {
        *self.node.meta().persistence_lock() = Some(persistence);
        self.clone()
    }

    /// Names this RDD (for example after the query operator it computes); lineage dumps and
    /// stage names show the name instead of the call site. The first name set sticks.
    pub fn set_name(&self, name: impl Into<String>) -> Self {
        let _ = self.node.meta().name.set(name.into());
        self.clone()
    }

    /// The lineage, one RDD a line, indented by stage as Spark's `toDebugString`.
    pub fn to_debug_string(&self) -> String {
        lineage::debug_string(&self.base())
    }

    /// The items of one partition: read from the block store when persisted, else computed.
    pub(crate) fn iterator<'a>(
        &'a self,
        partition: usize,
        tc: &'a TaskContext,
    ) -> Result<BoxIter<'a, T>> {
        let meta = self.node.meta();
        let Some(persistence) = meta.persistence() else {
            return Ok(stop_when_cancelled(self.node.compute(partition, tc)?, tc));
        };
        let blocks = &meta.context.inner.blocks;
        if let Some(block) = blocks.get(meta.id, partition)? {
            if meta
                .context
                .inner
                .faults
                .take_block_loss(meta.id, partition)
            {
                blocks.remove(meta.id, partition);
            } else {
                tc.record_cached_read();
                return Ok(block_iter(downcast_block::<T>(block, meta.id)?));
            }
        }
        let items: Vec<T> = stop_when_cancelled(self.node.compute(partition, tc)?, tc).collect();
        // A partition whose computation failed midway must not be stored.
        tc.check_failure()?;
        let bytes = std::mem::size_of_val(items.as_slice());
        let block = Arc::new(items);
        blocks.put(meta.id, partition, block.clone(), bytes, persistence)?;
        Ok(block_iter(block))
    }
}

/// `items` ending early, with the task failed as [`RddError::Cancelled`], once its job is
/// cancelled: the check runs between items, so a cancelled task stops within one item.
fn stop_when_cancelled<'a, T: 'a>(items: BoxIter<'a, T>, tc: &'a TaskContext) -> BoxIter<'a, T> {
    Box::new(items.take_while(move |_| {
        let cancelled = tc.is_cancelled();
        if cancelled {
            tc.fail(RddError::Cancelled);
        }
        !cancelled
    }))
}

impl<T: Data + Serialize + DeserializeOwned> Rdd<T> {
    /// Keeps computed partitions at `level`; the first job that computes a partition stores it.
    ///
    /// Disk levels serialize partitions, hence the `Serialize + DeserializeOwned` bound here;
    /// [`Rdd::cache`] keeps partitions in memory for any element type.
    pub fn persist(&self, level: StorageLevel) -> Self {
        let codec = BlockCodec::of::<T>();
        self.set_persistence(match level {
            StorageLevel::MemoryOnly => Persistence::Memory,
            StorageLevel::MemoryAndDisk => Persistence::MemoryAndDisk(codec),
            StorageLevel::DiskOnly => Persistence::Disk(codec),
        })
    }
}

fn downcast_block<T: Data>(
    block: crate::storage::ErasedBlock,
    rdd_id: RddId,
) -> Result<Arc<Vec<T>>> {
    block
        .downcast::<Vec<T>>()
        .map_err(|_| RddError::Internal(format!("cached block of RDD {rdd_id} has a wrong type")))
}

fn block_iter<'a, T: Data>(block: Arc<Vec<T>>) -> BoxIter<'a, T> {
    Box::new((0..block.len()).map(move |i| block[i].clone()))
}
