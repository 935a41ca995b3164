//! Lazy transformations of any RDD.

use std::hash::Hash;
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Poisson};

use crate::Data;
use crate::error::{RddError, Result};
use crate::partitioner::{HashPartitioner, PartitionerRef};
use crate::rdd::nodes::{
    CartesianRdd, CoalescedRdd, HandedOverRdd, MapPartitionsRdd, ShuffledRdd, UnionRdd,
    ZipPartitionsRdd,
};
use crate::rdd::{BoxIter, Rdd, RddMeta};
use crate::scheduler::TaskContext;
use crate::shuffle::{ShuffleDependency, ShuffleExtras, ShufflePreparation, ShuffleSizer};

impl<T: Data> Rdd<T> {
    /// The common constructor of every per-partition transformation.
    #[track_caller]
    pub(crate) fn map_partitions_internal<U: Data>(
        &self,
        operation: &'static str,
        preserves_partitioning: bool,
        f: impl for<'a> Fn(usize, BoxIter<'a, T>, &'a TaskContext) -> BoxIter<'a, U>
        + Send
        + Sync
        + 'static,
    ) -> Rdd<U> {
        Rdd::new(MapPartitionsRdd {
            meta: RddMeta::new(self.context(), operation),
            parent: self.clone(),
            f: Arc::new(f),
            preserves_partitioning,
        })
    }

    /// Applies `f` to every item.
    #[track_caller]
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Rdd<U> {
        let f = Arc::new(f);
        self.map_partitions_internal("map", false, move |_, items, _| {
            let f = Arc::clone(&f);
            Box::new(items.map(move |x| f(x)))
        })
    }

    /// The same partitions, except those `take` hands over (already computed by an earlier
    /// job, such as a preparation that had to look at them): `take(partition)` is asked once
    /// per computation of a partition, and a partition it has not (or no longer) gets computed
    /// from lineage. Keeps the partitioner.
    #[track_caller]
    pub fn with_handed_over(
        &self,
        take: impl Fn(usize) -> Option<Vec<T>> + Send + Sync + 'static,
    ) -> Rdd<T> {
        Rdd::new(HandedOverRdd {
            meta: RddMeta::new(self.context(), "with_handed_over"),
            parent: self.clone(),
            take: Arc::new(take),
        })
    }

    /// Keeps the items for which `f` is true; keeps the partitioner.
    #[track_caller]
    pub fn filter(&self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Rdd<T> {
        let f = Arc::new(f);
        self.map_partitions_internal("filter", true, move |_, items, _| {
            let f = Arc::clone(&f);
            Box::new(items.filter(move |x| f(x)))
        })
    }

    /// Replaces every item by the items `f` returns.
    #[track_caller]
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
    {
        let f = Arc::new(f);
        self.map_partitions_internal("flat_map", false, move |_, items, _| {
            let f = Arc::clone(&f);
            Box::new(items.flat_map(move |x| f(x)))
        })
    }

    /// Transforms each partition's iterator as a whole.
    #[track_caller]
    pub fn map_partitions<U: Data>(
        &self,
        f: impl for<'a> Fn(BoxIter<'a, T>) -> BoxIter<'a, U> + Send + Sync + 'static,
    ) -> Rdd<U> {
        self.map_partitions_internal("map_partitions", false, move |_, items, _| f(items))
    }

    /// Transforms each partition's iterator, knowing the partition index.
    #[track_caller]
    pub fn map_partitions_with_index<U: Data>(
        &self,
        f: impl for<'a> Fn(usize, BoxIter<'a, T>) -> BoxIter<'a, U> + Send + Sync + 'static,
    ) -> Rdd<U> {
        self.map_partitions_internal("map_partitions_with_index", false, move |i, items, _| {
            f(i, items)
        })
    }

    /// Transforms each partition's iterator with access to the task context (to report errors).
    #[track_caller]
    pub fn map_partitions_with_context<U: Data>(
        &self,
        f: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext) -> BoxIter<'a, U> + Send + Sync + 'static,
    ) -> Rdd<U> {
        self.map_partitions_internal("map_partitions_with_context", false, move |_, items, tc| {
            f(items, tc)
        })
    }

    /// Combines partition `i` of `self` with partition `i` of `other` (no shuffle), or with the
    /// only partition of `other` when it has one (every partition of `self` then reads it: a
    /// broadcast). Errors unless `other` has one partition or as many as `self`.
    #[track_caller]
    pub fn zip_partitions<U: Data>(
        &self,
        other: &Rdd<T>,
        f: impl for<'a> Fn(BoxIter<'a, T>, BoxIter<'a, T>, &'a TaskContext) -> BoxIter<'a, U>
        + Send
        + Sync
        + 'static,
    ) -> Result<Rdd<U>> {
        let (mine, theirs) = (self.num_partitions(), other.num_partitions());
        if theirs != 1 && theirs != mine {
            return Err(RddError::InvalidArgument(format!(
                "zip_partitions needs 1 or {mine} partitions on the other side, got {theirs}"
            )));
        }
        Ok(Rdd::new(ZipPartitionsRdd {
            meta: RddMeta::new(self.context(), "zip_partitions"),
            parents: vec![self.clone(), other.clone()],
            f: Arc::new(move |mut inputs, tc| {
                let other = inputs.pop().unwrap_or_else(|| Box::new(std::iter::empty()));
                let this = inputs.pop().unwrap_or_else(|| Box::new(std::iter::empty()));
                f(this, other, tc)
            }),
            partitioner: None,
        }))
    }

    /// A random sample: each item kept with probability `fraction`, or, with replacement, a
    /// Poisson(`fraction`) number of times. Deterministic for a given seed.
    #[track_caller]
    pub fn sample(&self, with_replacement: bool, fraction: f64, seed: u64) -> Result<Rdd<T>> {
        if !(fraction >= 0.0 && fraction.is_finite()) || (!with_replacement && fraction > 1.0) {
            return Err(RddError::InvalidArgument(format!(
                "sample fraction {fraction} is out of range"
            )));
        }
        let poisson = if with_replacement && fraction > 0.0 {
            Some(Poisson::new(fraction).map_err(|e| RddError::InvalidArgument(e.to_string()))?)
        } else {
            None
        };
        Ok(
            self.map_partitions_internal("sample", true, move |index, items, _| {
                let mut rng = SmallRng::seed_from_u64(
                    seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                );
                match poisson {
                    Some(poisson) => Box::new(items.flat_map(move |x| {
                        let copies = poisson.sample(&mut rng) as usize;
                        std::iter::repeat_n(x, copies)
                    })),
                    None if with_replacement => Box::new(std::iter::empty()),
                    None => Box::new(items.filter(move |_| rng.random::<f64>() < fraction)),
                }
            }),
        )
    }

    /// The partitions of `self` followed by those of `other`.
    #[track_caller]
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        Rdd::new(UnionRdd {
            meta: RddMeta::new(self.context(), "union"),
            parents: vec![self.clone(), other.clone()],
        })
    }

    /// Every pair `(a, b)` with `a` from `self` and `b` from `other`.
    #[track_caller]
    pub fn cartesian<U: Data>(&self, other: &Rdd<U>) -> Rdd<(T, U)> {
        Rdd::new(CartesianRdd {
            meta: RddMeta::new(self.context(), "cartesian"),
            left: self.clone(),
            right: other.clone(),
        })
    }

    /// Fewer partitions: merges neighbours without a shuffle, or redistributes with one.
    #[track_caller]
    pub fn coalesce(&self, partitions: usize, shuffle: bool) -> Rdd<T> {
        let partitions = partitions.max(1);
        if shuffle {
            return self.round_robin_shuffle(partitions);
        }
        if partitions >= self.num_partitions() {
            return self.clone();
        }
        Rdd::new(CoalescedRdd {
            meta: RddMeta::new(self.context(), "coalesce"),
            parent: self.clone(),
            partitions,
        })
    }

    /// Exactly `partitions` partitions of balanced size, through a shuffle.
    #[track_caller]
    pub fn repartition(&self, partitions: usize) -> Rdd<T> {
        self.coalesce(partitions, true)
    }

    /// Deals items round-robin over `partitions` buckets, each map partition starting elsewhere.
    #[track_caller]
    fn round_robin_shuffle(&self, partitions: usize) -> Rdd<T> {
        self.shuffle_internal(
            "repartition",
            partitions,
            None,
            |items, tc, buckets| {
                let mut out: Vec<Vec<T>> = vec![Vec::new(); buckets];
                for (i, item) in items.enumerate() {
                    out[(tc.partition_id() + i) % buckets].push(item);
                }
                out
            },
            ShuffleExtras::default(),
        )
    }

    /// A shuffle with caller-defined routing: `route(items, task, buckets)` turns each map
    /// partition into exactly `buckets` vectors (reporting errors with `task.fail`), and reduce
    /// partition `i` reads bucket `i` of every map output. This is how an RDD of Arrow batches
    /// splits each batch by key hash.
    #[track_caller]
    pub fn shuffle<U: Data>(
        &self,
        partitions: usize,
        route: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext, usize) -> Vec<Vec<U>>
        + Send
        + Sync
        + 'static,
    ) -> Rdd<U> {
        self.shuffle_internal(
            "shuffle",
            partitions.max(1),
            None,
            route,
            ShuffleExtras::default(),
        )
    }

    /// [`Rdd::shuffle`] whose metrics count `size_of(item)` bytes per routed item (for items
    /// that own heap data, such as Arrow batches).
    #[track_caller]
    pub fn shuffle_sized<U: Data>(
        &self,
        partitions: usize,
        route: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext, usize) -> Vec<Vec<U>>
        + Send
        + Sync
        + 'static,
        size_of: impl Fn(&U) -> usize + Send + Sync + 'static,
    ) -> Rdd<U> {
        let extras = ShuffleExtras {
            sizer: Some(Arc::new(size_of) as ShuffleSizer<U>),
            preparation: None,
        };
        self.shuffle_internal("shuffle", partitions.max(1), None, route, extras)
    }

    /// [`Rdd::shuffle_sized`] whose map stage is preceded by `prepare`, run on the driver
    /// before every attempt of the stage: for routing that depends on the data, such as range
    /// bounds sampled from the input (as Spark's `RangePartitioner` does). Building the lineage
    /// runs nothing; `prepare` runs inside the first job that needs the shuffle and counts as
    /// a stage of its own in [`Rdd::planned_stages`]. It should keep what it computes, so that
    /// map outputs recomputed after a loss are routed as before.
    #[track_caller]
    pub fn shuffle_prepared<U: Data>(
        &self,
        partitions: usize,
        prepare: impl Fn() -> Result<()> + Send + Sync + 'static,
        route: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext, usize) -> Vec<Vec<U>>
        + Send
        + Sync
        + 'static,
        size_of: impl Fn(&U) -> usize + Send + Sync + 'static,
    ) -> Rdd<U> {
        let extras = ShuffleExtras {
            sizer: Some(Arc::new(size_of) as ShuffleSizer<U>),
            preparation: Some(Arc::new(prepare) as ShufflePreparation),
        };
        self.shuffle_internal("shuffle", partitions.max(1), None, route, extras)
    }

    /// The reduce side of a new shuffle of `self`; `partitioner` is what the routing guarantees.
    #[track_caller]
    pub(crate) fn shuffle_internal<U: Data>(
        &self,
        operation: &'static str,
        partitions: usize,
        partitioner: Option<PartitionerRef>,
        route: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext, usize) -> Vec<Vec<U>>
        + Send
        + Sync
        + 'static,
        extras: ShuffleExtras<U>,
    ) -> Rdd<U> {
        let dependency = ShuffleDependency::new(self, partitions, Arc::new(route), extras);
        Rdd::new(ShuffledRdd {
            meta: RddMeta::new(self.context(), operation),
            dependency: Arc::new(dependency),
            partitioner,
        })
    }

    /// Each partition as one vector.
    #[track_caller]
    pub fn glom(&self) -> Rdd<Vec<T>> {
        self.map_partitions_internal("glom", false, |_, items, _| {
            Box::new(std::iter::once(items.collect::<Vec<T>>()))
        })
    }

    /// Pairs each item with the key `f` computes.
    #[track_caller]
    pub fn key_by<K: Data>(&self, f: impl Fn(&T) -> K + Send + Sync + 'static) -> Rdd<(K, T)> {
        let f = Arc::new(f);
        self.map_partitions_internal("key_by", false, move |_, items, _| {
            let f = Arc::clone(&f);
            Box::new(items.map(move |x| (f(&x), x)))
        })
    }

    /// Pairs each item with its position in the RDD; runs a job to count partitions first.
    #[track_caller]
    pub fn zip_with_index(&self) -> Result<Rdd<(T, u64)>> {
        let counts = self.context().run_job(
            self,
            &(0..self.num_partitions()).collect::<Vec<_>>(),
            |items, _| items.count() as u64,
        )?;
        let offsets: Vec<u64> = counts
            .iter()
            .scan(0u64, |total, n| {
                let start = *total;
                *total += n;
                Some(start)
            })
            .collect();
        Ok(
            self.map_partitions_internal("zip_with_index", false, move |index, items, _| {
                let start = offsets[index];
                Box::new(items.zip(start..))
            }),
        )
    }

    /// Sorts by the key `f` computes, through a range-partitioned shuffle.
    #[track_caller]
    pub fn sort_by<K>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
        ascending: bool,
        partitions: usize,
    ) -> Result<Rdd<T>>
    where
        K: Data + Ord + Hash + std::fmt::Debug,
    {
        Ok(self.key_by(f).sort_by_key(ascending, partitions)?.values())
    }
}

impl<T: Data + Eq + Hash> Rdd<T> {
    /// The distinct items, through a shuffle.
    #[track_caller]
    pub fn distinct(&self) -> Rdd<T> {
        let partitions = self.num_partitions();
        self.map(|x| (x, ()))
            .reduce_by_key_with(Arc::new(HashPartitioner::new(partitions)), |_, _| ())
            .keys()
    }

    /// The distinct items present in both RDDs.
    #[track_caller]
    pub fn intersection(&self, other: &Rdd<T>) -> Rdd<T> {
        self.map(|x| (x, ()))
            .cogroup(&other.map(|x| (x, ())))
            .filter(|(_, (left, right))| !left.is_empty() && !right.is_empty())
            .keys()
    }

    /// The items of `self` that do not occur in `other` (duplicates in `self` are kept).
    #[track_caller]
    pub fn subtract(&self, other: &Rdd<T>) -> Rdd<T> {
        self.map(|x| (x, ()))
            .subtract_by_key(&other.map(|x| (x, ())))
            .keys()
    }
}
