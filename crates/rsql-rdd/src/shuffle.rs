//! Shuffle dependencies and the store of their map outputs.
//!
//! Routing is defined over whole partitions of items: a [`ShuffleWriter`] turns the items of one
//! map partition into one bucket per reduce partition. Pair RDDs route `(K, V)` records with a
//! partitioner (combining values map-side when an aggregator is given); an RDD of Arrow batches
//! can split each batch into per-bucket batches with the same machinery.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Data;
use crate::context::Context;
use crate::error::{RddError, Result};
use crate::rdd::{BoxIter, Rdd, RddBase};
use crate::scheduler::TaskContext;

/// Identifier of a shuffle within its context.
pub type ShuffleId = usize;

/// Turns one map partition into `num_buckets` buckets (the last argument); routing errors are
/// reported with [`TaskContext::fail`].
pub type ShuffleWriter<T, U> =
    Arc<dyn for<'a> Fn(BoxIter<'a, T>, &'a TaskContext, usize) -> Vec<Vec<U>> + Send + Sync>;

/// The bytes one routed item holds, for shuffle metrics (heap data included).
pub type ShuffleSizer<U> = Arc<dyn Fn(&U) -> usize + Send + Sync>;

/// Work the driver does before a shuffle's map stage runs, such as sampling the input for
/// range bounds; it may run jobs of its own.
pub type ShufflePreparation = Arc<dyn Fn() -> Result<()> + Send + Sync>;

/// What a shuffle may have besides its routing.
pub(crate) struct ShuffleExtras<U> {
    /// Without one, items count as their shallow size.
    pub(crate) sizer: Option<ShuffleSizer<U>>,
    /// Run before every attempt of the map stage (see [`ShufflePreparation`]).
    pub(crate) preparation: Option<ShufflePreparation>,
}

impl<U> Default for ShuffleExtras<U> {
    fn default() -> Self {
        ShuffleExtras {
            sizer: None,
            preparation: None,
        }
    }
}

/// One map task's output: a type-erased `Vec<U>` per reduce partition.
pub(crate) struct MapOutput {
    buckets: Vec<Arc<dyn Any + Send + Sync>>,
    bucket_bytes: Vec<u64>,
}

/// Map outputs of every live shuffle of one context.
#[derive(Default)]
pub(crate) struct ShuffleStore {
    shuffles: Mutex<HashMap<ShuffleId, Vec<Option<Arc<MapOutput>>>>>,
}

impl ShuffleStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<ShuffleId, Vec<Option<Arc<MapOutput>>>>> {
        self.shuffles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register(&self, shuffle_id: ShuffleId, num_maps: usize) {
        self.lock().insert(shuffle_id, vec![None; num_maps]);
    }

    fn unregister(&self, shuffle_id: ShuffleId) {
        self.lock().remove(&shuffle_id);
    }

    fn put(&self, shuffle_id: ShuffleId, map_partition: usize, output: MapOutput) {
        if let Some(maps) = self.lock().get_mut(&shuffle_id) {
            maps[map_partition] = Some(Arc::new(output));
        }
    }

    /// Map partitions of the shuffle whose output is not available.
    pub(crate) fn missing(&self, shuffle_id: ShuffleId) -> Vec<usize> {
        self.lock().get(&shuffle_id).map_or_else(Vec::new, |maps| {
            (0..maps.len()).filter(|&m| maps[m].is_none()).collect()
        })
    }

    /// Every map output of the shuffle, or the first missing one as a fetch failure.
    fn fetch(&self, shuffle_id: ShuffleId) -> Result<Vec<Arc<MapOutput>>> {
        let shuffles = self.lock();
        let maps = shuffles.get(&shuffle_id).ok_or(RddError::FetchFailed {
            shuffle_id,
            map_partition: 0,
        })?;
        maps.iter()
            .enumerate()
            .map(|(m, output)| {
                output.clone().ok_or(RddError::FetchFailed {
                    shuffle_id,
                    map_partition: m,
                })
            })
            .collect()
    }

    pub(crate) fn remove_map_output(&self, shuffle_id: ShuffleId, map_partition: usize) -> bool {
        self.lock()
            .get_mut(&shuffle_id)
            .and_then(|maps| maps.get_mut(map_partition))
            .and_then(Option::take)
            .is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The scheduler's untyped view of a shuffle dependency: enough to run its map stage.
pub(crate) trait ShuffleDependencyBase: Send + Sync {
    /// The shuffle's identifier.
    fn shuffle_id(&self) -> ShuffleId;
    /// The RDD whose partitions the map tasks compute.
    fn parent(&self) -> Arc<dyn RddBase>;
    /// Computes one map partition, routes it into buckets and registers the output.
    fn run_map_task(&self, map_partition: usize, tc: &TaskContext) -> Result<()>;
    /// The driver's work before the map stage, if any (see [`ShufflePreparation`]).
    fn preparation(&self) -> Option<&ShufflePreparation>;
}

/// A wide dependency: every reduce partition reads a bucket of every map partition of `parent`.
pub(crate) struct ShuffleDependency<T: Data, U: Data> {
    id: ShuffleId,
    context: Context,
    parent: Rdd<T>,
    num_buckets: usize,
    writer: ShuffleWriter<T, U>,
    extras: ShuffleExtras<U>,
}

impl<T: Data, U: Data> ShuffleDependency<T, U> {
    /// Registers a new shuffle of `parent` into `num_buckets` reduce partitions.
    pub(crate) fn new(
        parent: &Rdd<T>,
        num_buckets: usize,
        writer: ShuffleWriter<T, U>,
        extras: ShuffleExtras<U>,
    ) -> Self {
        let context = parent.context().clone();
        let id = context.inner.next_shuffle_id();
        context.inner.shuffles.register(id, parent.num_partitions());
        ShuffleDependency {
            id,
            context,
            parent: parent.clone(),
            num_buckets,
            writer,
            extras,
        }
    }

    /// Number of reduce partitions.
    pub(crate) fn num_buckets(&self) -> usize {
        self.num_buckets
    }

    /// All records routed to `bucket`, from every map output, in map-partition order.
    pub(crate) fn read_bucket<'a>(
        &'a self,
        bucket: usize,
        tc: &'a TaskContext,
    ) -> Result<BoxIter<'a, U>> {
        let faults = &self.context.inner.faults;
        if let Some(map_partition) = faults.take_fetch_loss(self.id, self.parent.num_partitions()) {
            self.context
                .inner
                .shuffles
                .remove_map_output(self.id, map_partition);
        }
        let outputs = self.context.inner.shuffles.fetch(self.id)?;
        let mut records = 0;
        let mut bytes = 0;
        let mut parts = Vec::with_capacity(outputs.len());
        for output in outputs {
            let items = Arc::clone(&output.buckets[bucket])
                .downcast::<Vec<U>>()
                .map_err(|_| RddError::Internal(format!("shuffle {}: bucket type", self.id)))?;
            records += items.len() as u64;
            bytes += output.bucket_bytes[bucket];
            parts.push(items);
        }
        tc.record_shuffle_read(records, bytes);
        Ok(Box::new(parts.into_iter().flat_map(|items| {
            (0..items.len()).map(move |i| items[i].clone())
        })))
    }
}

impl<T: Data, U: Data> ShuffleDependencyBase for ShuffleDependency<T, U> {
    fn shuffle_id(&self) -> ShuffleId {
        self.id
    }

    fn parent(&self) -> Arc<dyn RddBase> {
        self.parent.base()
    }

    fn preparation(&self) -> Option<&ShufflePreparation> {
        self.extras.preparation.as_ref()
    }

    fn run_map_task(&self, map_partition: usize, tc: &TaskContext) -> Result<()> {
        let items = self.parent.iterator(map_partition, tc)?;
        let buckets = (self.writer)(items, tc, self.num_buckets);
        tc.check_failure()?;
        if buckets.len() != self.num_buckets {
            return Err(RddError::InvalidArgument(format!(
                "shuffle {} routed map partition {map_partition} into {} buckets instead of {}",
                self.id,
                buckets.len(),
                self.num_buckets
            )));
        }
        let records: usize = buckets.iter().map(Vec::len).sum();
        let bucket_bytes: Vec<u64> = buckets
            .iter()
            .map(|b| match &self.extras.sizer {
                Some(size_of) => b.iter().map(|item| size_of(item) as u64).sum(),
                None => std::mem::size_of_val(b.as_slice()) as u64,
            })
            .collect();
        tc.record_shuffle_write(records as u64, bucket_bytes.iter().sum());
        let buckets = buckets
            .into_iter()
            .map(|b| Arc::new(b) as Arc<dyn Any + Send + Sync>)
            .collect();
        self.context.inner.shuffles.put(
            self.id,
            map_partition,
            MapOutput {
                buckets,
                bucket_bytes,
            },
        );
        Ok(())
    }
}

impl<T: Data, U: Data> Drop for ShuffleDependency<T, U> {
    fn drop(&mut self) {
        // No RDD can read this shuffle any more: free its outputs.
        self.context.inner.shuffles.unregister(self.id);
    }
}
