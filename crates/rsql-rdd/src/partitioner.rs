//! Partitioners: which partition a key belongs to.

use std::any::Any;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

/// Assigns keys to partitions; two RDDs partitioned by equal partitioners are co-partitioned.
///
/// Implement it for custom placement, e.g. URLs by domain so that pages of a site land together.
pub trait Partitioner<K>: Any + Send + Sync + fmt::Debug {
    /// Number of partitions keys are spread over.
    fn num_partitions(&self) -> usize;

    /// The partition of `key`, in `0..num_partitions()`.
    fn partition(&self, key: &K) -> usize;

    /// Whether `other` places every key exactly where `self` does (then no shuffle is needed).
    ///
    /// The default compares identity only; override it to recognise equal instances.
    fn same_as(&self, other: &dyn Partitioner<K>) -> bool {
        std::ptr::addr_eq(self as *const Self, other as *const dyn Partitioner<K>)
    }
}

/// Whether two partitioners place keys identically.
pub(crate) fn same_partitioning<K: 'static>(
    a: &dyn Partitioner<K>,
    b: &dyn Partitioner<K>,
) -> bool {
    a.num_partitions() == b.num_partitions() && a.same_as(b)
}

/// A hash map keyed with the stable hasher, so that its iteration order is reproducible.
pub(crate) type StableHashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// A fixed-seed hasher so that placement is the same in every run and every process.
pub(crate) fn stable_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    )
}

/// Places a key by its hash modulo the number of partitions, as Spark's `HashPartitioner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPartitioner {
    partitions: usize,
}

impl HashPartitioner {
    /// A hash partitioner over `partitions` partitions (at least one).
    pub fn new(partitions: usize) -> Self {
        HashPartitioner {
            partitions: partitions.max(1),
        }
    }
}

impl<K: Hash> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }

    fn partition(&self, key: &K) -> usize {
        (stable_hasher().hash_one(key) % self.partitions as u64) as usize
    }

    fn same_as(&self, other: &dyn Partitioner<K>) -> bool {
        (other as &dyn Any).downcast_ref::<Self>() == Some(self)
    }
}

/// Places keys into sorted, contiguous ranges split at `bounds`, as Spark's `RangePartitioner`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePartitioner<K> {
    bounds: Vec<K>,
    ascending: bool,
}

impl<K: Ord + Clone> RangePartitioner<K> {
    /// A partitioner with `bounds.len() + 1` ranges; `bounds` must be sorted ascending.
    pub fn from_bounds(bounds: Vec<K>, ascending: bool) -> Self {
        RangePartitioner { bounds, ascending }
    }

    /// Chooses bounds for `partitions` ranges from weighted samples `(key, weight)`, where a
    /// weight is how many input records the sampled key stands for.
    pub fn from_weighted_sample(
        mut sample: Vec<(K, f64)>,
        partitions: usize,
        ascending: bool,
    ) -> Self {
        sample.sort_by(|a, b| a.0.cmp(&b.0));
        let total: f64 = sample.iter().map(|(_, w)| w).sum();
        let step = total / partitions.max(1) as f64;
        let mut bounds: Vec<K> = Vec::with_capacity(partitions.saturating_sub(1));
        let mut cumulative = 0.0;
        let mut target = step;
        for (key, weight) in sample {
            if bounds.len() + 1 >= partitions {
                break;
            }
            cumulative += weight;
            if cumulative >= target && bounds.last().is_none_or(|last| *last < key) {
                bounds.push(key);
                target += step;
            }
        }
        RangePartitioner { bounds, ascending }
    }

    /// The upper bounds of every range but the last.
    pub fn bounds(&self) -> &[K] {
        &self.bounds
    }
}

impl<K: Ord + Clone + fmt::Debug + Send + Sync + 'static> Partitioner<K> for RangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.bounds.len() + 1
    }

    fn partition(&self, key: &K) -> usize {
        // The first range whose upper bound is >= key.
        let ascending_index = self.bounds.partition_point(|bound| bound < key);
        if self.ascending {
            ascending_index
        } else {
            self.bounds.len() - ascending_index
        }
    }

    fn same_as(&self, other: &dyn Partitioner<K>) -> bool {
        (other as &dyn Any).downcast_ref::<Self>() == Some(self)
    }
}

/// A partitioner stored untyped in an RDD node: `Arc<dyn Partitioner<K>>` behind `dyn Any`.
#[derive(Clone)]
pub(crate) struct PartitionerRef {
    typed: Arc<dyn Any + Send + Sync>,
    description: String,
}

impl PartitionerRef {
    pub(crate) fn new<K: 'static>(partitioner: Arc<dyn Partitioner<K>>) -> Self {
        PartitionerRef {
            description: format!("{partitioner:?}"),
            typed: Arc::new(partitioner),
        }
    }

    /// The partitioner, if its key type is `K`.
    pub(crate) fn typed<K: 'static>(&self) -> Option<Arc<dyn Partitioner<K>>> {
        self.typed
            .downcast_ref::<Arc<dyn Partitioner<K>>>()
            .cloned()
    }

    pub(crate) fn description(&self) -> &str {
        &self.description
    }
}
