//! Transformations of key-value RDDs: aggregation by key, partitioning, cogroup and joins.

use std::hash::Hash;
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::Data;
use crate::error::Result;
use crate::partitioner::{
    HashPartitioner, Partitioner, PartitionerRef, RangePartitioner, StableHashMap,
    same_partitioning, stable_hasher,
};
use crate::rdd::nodes::ZipPartitionsRdd;
use crate::rdd::{Rdd, RddMeta};
use crate::shuffle::ShuffleExtras;

/// The three functions of `combine_by_key`: start a combiner from a value, add a value to a
/// combiner, merge two combiners.
struct Aggregator<V, C> {
    create: Box<dyn Fn(V) -> C + Send + Sync>,
    merge_value: Box<dyn Fn(&mut C, V) + Send + Sync>,
    merge_combiners: Box<dyn Fn(&mut C, C) + Send + Sync>,
}

impl<V, C> Aggregator<V, C> {
    /// Folds `(key, value)` records into one combiner per key.
    fn combine_values<K: Eq + Hash>(
        &self,
        records: impl Iterator<Item = (K, V)>,
    ) -> StableHashMap<K, C> {
        let mut combined = StableHashMap::with_hasher(stable_hasher());
        for (key, value) in records {
            match combined.get_mut(&key) {
                Some(c) => (self.merge_value)(c, value),
                None => {
                    combined.insert(key, (self.create)(value));
                }
            }
        }
        combined
    }

    /// Merges `(key, combiner)` records into one combiner per key.
    fn merge_combiners<K: Eq + Hash>(
        &self,
        records: impl Iterator<Item = (K, C)>,
    ) -> StableHashMap<K, C> {
        let mut combined = StableHashMap::with_hasher(stable_hasher());
        for (key, c) in records {
            match combined.get_mut(&key) {
                Some(existing) => (self.merge_combiners)(existing, c),
                None => {
                    combined.insert(key, c);
                }
            }
        }
        combined
    }
}

/// A value from the left or the right input of a cogroup.
#[derive(Clone)]
enum Side<V, W> {
    Left(V),
    Right(W),
}

impl<K: Data + Eq + Hash, V: Data> Rdd<(K, V)> {
    /// The partitioner the RDD's keys are known to be placed by, if any.
    pub fn partitioner(&self) -> Option<Arc<dyn Partitioner<K>>> {
        self.base().partitioner().and_then(|p| p.typed::<K>())
    }

    /// Whether the RDD is already placed by `partitioner` (then keyed work needs no shuffle).
    fn is_partitioned_by(&self, partitioner: &Arc<dyn Partitioner<K>>) -> bool {
        self.partitioner().is_some_and(|own| {
            Arc::ptr_eq(&own, partitioner) || same_partitioning(own.as_ref(), partitioner.as_ref())
        })
    }

    /// The partitioner keyed operations use by default: an existing one of the inputs (the one
    /// with most partitions), else hashing into as many partitions as the largest input.
    fn default_partitioner<W: Data>(&self, other: Option<&Rdd<(K, W)>>) -> Arc<dyn Partitioner<K>> {
        let mut candidates: Vec<(usize, Option<Arc<dyn Partitioner<K>>>)> =
            vec![(self.num_partitions(), self.partitioner())];
        if let Some(other) = other {
            candidates.push((other.num_partitions(), other.partitioner()));
        }
        let max_partitions = candidates.iter().map(|c| c.0).max().unwrap_or(1);
        candidates
            .into_iter()
            .filter_map(|(_, p)| p)
            .max_by_key(|p| p.num_partitions())
            .unwrap_or_else(|| Arc::new(HashPartitioner::new(max_partitions)))
    }

    /// Applies `f` to every value; keeps keys and so the partitioner.
    #[track_caller]
    pub fn map_values<W: Data>(&self, f: impl Fn(V) -> W + Send + Sync + 'static) -> Rdd<(K, W)> {
        let f = Arc::new(f);
        self.map_partitions_internal("map_values", true, move |_, items, _| {
            let f = Arc::clone(&f);
            Box::new(items.map(move |(k, v)| (k, f(v))))
        })
    }

    /// Replaces every value by the values `f` returns, under the same key; keeps the partitioner.
    #[track_caller]
    pub fn flat_map_values<W: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> Rdd<(K, W)>
    where
        I: IntoIterator<Item = W> + 'static,
    {
        let f = Arc::new(f);
        self.map_partitions_internal("flat_map_values", true, move |_, items, _| {
            let f = Arc::clone(&f);
            Box::new(items.flat_map(move |(k, v)| f(v).into_iter().map(move |w| (k.clone(), w))))
        })
    }

    /// The keys.
    #[track_caller]
    pub fn keys(&self) -> Rdd<K> {
        self.map_partitions_internal("keys", false, |_, items, _| Box::new(items.map(|(k, _)| k)))
    }

    /// The values.
    #[track_caller]
    pub fn values(&self) -> Rdd<V> {
        self.map_partitions_internal("values", false, |_, items, _| {
            Box::new(items.map(|(_, v)| v))
        })
    }

    /// Places records by `partitioner`; a no-op when they already are.
    #[track_caller]
    pub fn partition_by(&self, partitioner: Arc<dyn Partitioner<K>>) -> Rdd<(K, V)> {
        if self.is_partitioned_by(&partitioner) {
            return self.clone();
        }
        let router = Arc::clone(&partitioner);
        self.shuffle_internal(
            "partition_by",
            partitioner.num_partitions(),
            Some(PartitionerRef::new(partitioner)),
            move |items, _, buckets| {
                let mut out: Vec<Vec<(K, V)>> = vec![Vec::new(); buckets];
                for (k, v) in items {
                    out[router.partition(&k)].push((k, v));
                }
                out
            },
            ShuffleExtras::default(),
        )
    }

    /// The general keyed aggregation: `create` starts a combiner from a value, `merge_value`
    /// adds a value, `merge_combiners` merges two combiners. With `map_side_combine`, each map
    /// partition ships at most one record per key. No shuffle when already partitioned so.
    #[track_caller]
    pub fn combine_by_key<C: Data>(
        &self,
        partitioner: Arc<dyn Partitioner<K>>,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(&mut C, V) + Send + Sync + 'static,
        merge_combiners: impl Fn(&mut C, C) + Send + Sync + 'static,
        map_side_combine: bool,
    ) -> Rdd<(K, C)> {
        let aggregator = Arc::new(Aggregator {
            create: Box::new(create),
            merge_value: Box::new(merge_value),
            merge_combiners: Box::new(merge_combiners),
        });
        self.combine_by_key_internal("combine_by_key", partitioner, aggregator, map_side_combine)
    }

    #[track_caller]
    fn combine_by_key_internal<C: Data>(
        &self,
        operation: &'static str,
        partitioner: Arc<dyn Partitioner<K>>,
        aggregator: Arc<Aggregator<V, C>>,
        map_side_combine: bool,
    ) -> Rdd<(K, C)> {
        if self.is_partitioned_by(&partitioner) {
            return self.map_partitions_internal(operation, true, move |_, items, _| {
                Box::new(aggregator.combine_values(items).into_iter())
            });
        }
        if !map_side_combine {
            return self.partition_by(partitioner).map_partitions_internal(
                operation,
                true,
                move |_, items, _| Box::new(aggregator.combine_values(items).into_iter()),
            );
        }
        let router = Arc::clone(&partitioner);
        let map_side = Arc::clone(&aggregator);
        let shuffled = self.shuffle_internal(
            "shuffle",
            partitioner.num_partitions(),
            Some(PartitionerRef::new(partitioner)),
            move |items, _, buckets| {
                let mut out: Vec<Vec<(K, C)>> = vec![Vec::new(); buckets];
                for (k, c) in map_side.combine_values(items) {
                    out[router.partition(&k)].push((k, c));
                }
                out
            },
            ShuffleExtras::default(),
        );
        shuffled.map_partitions_internal(operation, true, move |_, items, _| {
            Box::new(aggregator.merge_combiners(items).into_iter())
        })
    }

    /// Merges the values of each key with `f`, combining map-side, with the default partitioner.
    #[track_caller]
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Rdd<(K, V)> {
        self.reduce_by_key_with(self.default_partitioner::<V>(None), f)
    }

    /// [`Rdd::reduce_by_key`] into the partitions of `partitioner`.
    #[track_caller]
    pub fn reduce_by_key_with(
        &self,
        partitioner: Arc<dyn Partitioner<K>>,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Rdd<(K, V)> {
        let f = Arc::new(f);
        let (merge_value, merge_combiners) = (Arc::clone(&f), f);
        let aggregator = Aggregator {
            create: Box::new(|v| v),
            merge_value: Box::new(move |c: &mut V, v| replace_with(c, |c| merge_value(c, v))),
            merge_combiners: Box::new(move |c: &mut V, v| {
                replace_with(c, |c| merge_combiners(c, v))
            }),
        };
        self.combine_by_key_internal("reduce_by_key", partitioner, Arc::new(aggregator), true)
    }

    /// Folds the values of each key into `zero` with `f` (`zero` must be neutral for `f`).
    #[track_caller]
    pub fn fold_by_key(
        &self,
        zero: V,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Rdd<(K, V)> {
        let f = Arc::new(f);
        let (merge_value, merge_combiners) = (Arc::clone(&f), f);
        let aggregator = Aggregator {
            create: Box::new(move |v| merge_value(zero.clone(), v)),
            merge_value: Box::new({
                let f = Arc::clone(&merge_combiners);
                move |c: &mut V, v| replace_with(c, |c| f(c, v))
            }),
            merge_combiners: Box::new(move |c: &mut V, v| {
                replace_with(c, |c| merge_combiners(c, v))
            }),
        };
        self.combine_by_key_internal(
            "fold_by_key",
            self.default_partitioner::<V>(None),
            Arc::new(aggregator),
            true,
        )
    }

    /// Aggregates the values of each key into a `U`: `seq` adds a value, `comb` merges partials.
    #[track_caller]
    pub fn aggregate_by_key<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, V) -> U + Send + Sync + 'static,
        comb: impl Fn(U, U) -> U + Send + Sync + 'static,
    ) -> Rdd<(K, U)> {
        let seq = Arc::new(seq);
        let create_seq = Arc::clone(&seq);
        let aggregator = Aggregator {
            create: Box::new(move |v| create_seq(zero.clone(), v)),
            merge_value: Box::new(move |c: &mut U, v| replace_with(c, |c| seq(c, v))),
            merge_combiners: Box::new(move |c: &mut U, u| replace_with(c, |c| comb(c, u))),
        };
        self.combine_by_key_internal(
            "aggregate_by_key",
            self.default_partitioner::<V>(None),
            Arc::new(aggregator),
            true,
        )
    }

    /// All values of each key, in one vector (no map-side combine, as Spark's `groupByKey`).
    #[track_caller]
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        let aggregator = Aggregator {
            create: Box::new(|v| vec![v]),
            merge_value: Box::new(|c: &mut Vec<V>, v| c.push(v)),
            merge_combiners: Box::new(|c: &mut Vec<V>, other| c.extend(other)),
        };
        self.combine_by_key_internal(
            "group_by_key",
            self.default_partitioner::<V>(None),
            Arc::new(aggregator),
            false,
        )
    }

    /// For each key, its values in `self` and in `other`; co-partitioned inputs are not shuffled.
    #[track_caller]
    pub fn cogroup<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        let partitioner = self.default_partitioner(Some(other));
        let left = self
            .map_values(Side::<V, W>::Left)
            .partition_by(Arc::clone(&partitioner));
        let right = other
            .map_values(Side::<V, W>::Right)
            .partition_by(Arc::clone(&partitioner));
        Rdd::new(ZipPartitionsRdd {
            meta: RddMeta::new(self.context(), "cogroup"),
            parents: vec![left, right],
            f: Arc::new(|inputs, _| {
                let mut groups: StableHashMap<K, (Vec<V>, Vec<W>)> =
                    StableHashMap::with_hasher(stable_hasher());
                for (key, value) in inputs.into_iter().flatten() {
                    let group = groups.entry(key).or_default();
                    match value {
                        Side::Left(v) => group.0.push(v),
                        Side::Right(w) => group.1.push(w),
                    }
                }
                Box::new(groups.into_iter())
            }),
            partitioner: Some(PartitionerRef::new(partitioner)),
        })
    }

    /// Pairs of values for every key present in both RDDs.
    #[track_caller]
    pub fn join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| all_pairs(vs, ws))
    }

    /// Every record of `self`, with the matching values of `other` or `None`.
    #[track_caller]
    pub fn left_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| all_pairs(vs, or_none(ws)))
    }

    /// Every record of `other`, with the matching values of `self` or `None`.
    #[track_caller]
    pub fn right_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| all_pairs(or_none(vs), ws))
    }

    /// Every record of both sides, matched where keys agree.
    #[track_caller]
    pub fn full_outer_join<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
    ) -> Rdd<(K, (Option<V>, Option<W>))> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| all_pairs(or_none(vs), or_none(ws)))
    }

    /// The records of `self` whose key does not occur in `other`.
    #[track_caller]
    pub fn subtract_by_key<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, V)> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| if ws.is_empty() { vs } else { Vec::new() })
    }
}

impl<K: Data + Eq + Hash + Ord + std::fmt::Debug, V: Data> Rdd<(K, V)> {
    /// Sorts by key: samples keys to build a range partitioner (one job), shuffles into its
    /// ranges, then sorts each partition.
    #[track_caller]
    pub fn sort_by_key(&self, ascending: bool, partitions: usize) -> Result<Rdd<(K, V)>> {
        let partitions = partitions.max(1);
        let per_partition = (60 * partitions)
            .div_ceil(self.num_partitions().max(1))
            .max(1);
        let samples = self.context().run_job(
            self,
            &(0..self.num_partitions()).collect::<Vec<_>>(),
            move |items, tc| {
                reservoir_sample(
                    items.map(|(k, _)| k),
                    per_partition,
                    tc.partition_id() as u64,
                )
            },
        )?;
        let weighted: Vec<(K, f64)> = samples
            .into_iter()
            .flat_map(|(seen, sample)| {
                let weight = seen as f64 / sample.len().max(1) as f64;
                sample.into_iter().map(move |k| (k, weight))
            })
            .collect();
        let partitioner = Arc::new(RangePartitioner::from_weighted_sample(
            weighted, partitions, ascending,
        ));
        Ok(self.partition_by(partitioner).map_partitions_internal(
            "sort_by_key",
            true,
            move |_, items, _| {
                let mut records: Vec<(K, V)> = items.collect();
                if ascending {
                    records.sort_by(|a, b| a.0.cmp(&b.0));
                } else {
                    records.sort_by(|a, b| b.0.cmp(&a.0));
                }
                Box::new(records.into_iter())
            },
        ))
    }
}

/// Every `(a, b)` with `a` from `left` and `b` from `right`: the matches of one key.
fn all_pairs<A: Clone, B: Clone>(left: Vec<A>, right: Vec<B>) -> Vec<(A, B)> {
    left.into_iter()
        .flat_map(|a| right.iter().map(move |b| (a.clone(), b.clone())))
        .collect()
}

/// The values as options, or a single `None` when there are none (the outer side of a join).
fn or_none<T>(values: Vec<T>) -> Vec<Option<T>> {
    if values.is_empty() {
        vec![None]
    } else {
        values.into_iter().map(Some).collect()
    }
}

/// Up to `size` items drawn uniformly from `items`, and how many items there were.
fn reservoir_sample<K>(items: impl Iterator<Item = K>, size: usize, seed: u64) -> (u64, Vec<K>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut sample = Vec::with_capacity(size);
    let mut seen = 0u64;
    for item in items {
        seen += 1;
        if sample.len() < size {
            sample.push(item);
        } else {
            let slot = rng.random_range(0..seen);
            if slot < size as u64 {
                sample[slot as usize] = item;
            }
        }
    }
    (seen, sample)
}

/// Replaces `*slot` by `f(old value)`; `V: Clone` lets the old value be taken out safely.
fn replace_with<V: Clone>(slot: &mut V, f: impl FnOnce(V) -> V) {
    *slot = f(slot.clone());
}
