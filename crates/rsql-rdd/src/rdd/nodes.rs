//! The RDD node types that derive one RDD from others.

use std::sync::Arc;

use crate::Data;
use crate::error::Result;
use crate::partitioner::PartitionerRef;
use crate::rdd::{BoxIter, Dependency, Rdd, RddBase, RddMeta, RddNode};
use crate::scheduler::TaskContext;
use crate::shuffle::{ShuffleDependency, ShuffleDependencyBase};

/// A partition function: partition index, the parent's items, the task context.
pub(crate) type PartitionFn<T, U> =
    Arc<dyn for<'a> Fn(usize, BoxIter<'a, T>, &'a TaskContext) -> BoxIter<'a, U> + Send + Sync>;

/// Applies a function to every partition of one parent (map, filter, flat_map, ...).
pub(crate) struct MapPartitionsRdd<T, U> {
    pub(crate) meta: RddMeta,
    pub(crate) parent: Rdd<T>,
    pub(crate) f: PartitionFn<T, U>,
    /// Whether the parent's partitioner still holds (keys unchanged, as in `map_values`).
    pub(crate) preserves_partitioning: bool,
}

impl<T: Data, U: Data> RddBase for MapPartitionsRdd<T, U> {
    fn node_name(&self) -> &'static str {
        "MapPartitionsRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
    fn partitioner(&self) -> Option<PartitionerRef> {
        if self.preserves_partitioning {
            self.parent.base().partitioner()
        } else {
            None
        }
    }
}

impl<T: Data, U: Data> RddNode<U> for MapPartitionsRdd<T, U> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, U>> {
        let items = self.parent.iterator(partition, tc)?;
        Ok((self.f)(partition, items, tc))
    }
}

/// Combines the same-numbered partitions of parents (no shuffle): the basis of co-partitioned
/// cogroups and joins. A parent with a single partition is read whole by every partition (a
/// broadcast); every other parent has the first parent's partition count.
pub(crate) struct ZipPartitionsRdd<T, U> {
    pub(crate) meta: RddMeta,
    pub(crate) parents: Vec<Rdd<T>>,
    #[allow(clippy::type_complexity)]
    pub(crate) f:
        Arc<dyn for<'a> Fn(Vec<BoxIter<'a, T>>, &'a TaskContext) -> BoxIter<'a, U> + Send + Sync>,
    pub(crate) partitioner: Option<PartitionerRef>,
}

impl<T: Data, U: Data> RddBase for ZipPartitionsRdd<T, U> {
    fn node_name(&self) -> &'static str {
        "CoGroupedRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.parents.first().map_or(0, Rdd::num_partitions)
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect()
    }
    fn partitioner(&self) -> Option<PartitionerRef> {
        self.partitioner.clone()
    }
}

impl<T: Data, U: Data> RddNode<U> for ZipPartitionsRdd<T, U> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, U>> {
        let inputs = self
            .parents
            .iter()
            .map(|p| {
                let broadcast = p.num_partitions() == 1;
                p.iterator(if broadcast { 0 } else { partition }, tc)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((self.f)(inputs, tc))
    }
}

/// Partitions an earlier job computed and handed over, each taken once; a partition not handed
/// over (or asked for again, by a retried task) is computed from the parent as usual.
pub(crate) struct HandedOverRdd<T> {
    pub(crate) meta: RddMeta,
    pub(crate) parent: Rdd<T>,
    #[allow(clippy::type_complexity)]
    pub(crate) take: Arc<dyn Fn(usize) -> Option<Vec<T>> + Send + Sync>,
}

impl<T: Data> RddBase for HandedOverRdd<T> {
    fn node_name(&self) -> &'static str {
        "HandedOverRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
    fn partitioner(&self) -> Option<PartitionerRef> {
        self.parent.base().partitioner()
    }
}

impl<T: Data> RddNode<T> for HandedOverRdd<T> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, T>> {
        match (self.take)(partition) {
            Some(items) => Ok(Box::new(items.into_iter())),
            None => self.parent.iterator(partition, tc),
        }
    }
}

/// Concatenates the partitions of several RDDs.
pub(crate) struct UnionRdd<T> {
    pub(crate) meta: RddMeta,
    pub(crate) parents: Vec<Rdd<T>>,
}

impl<T: Data> UnionRdd<T> {
    fn locate(&self, mut partition: usize) -> Option<(&Rdd<T>, usize)> {
        for parent in &self.parents {
            if partition < parent.num_partitions() {
                return Some((parent, partition));
            }
            partition -= parent.num_partitions();
        }
        None
    }
}

impl<T: Data> RddBase for UnionRdd<T> {
    fn node_name(&self) -> &'static str {
        "UnionRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.parents.iter().map(Rdd::num_partitions).sum()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect()
    }
}

impl<T: Data> RddNode<T> for UnionRdd<T> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, T>> {
        match self.locate(partition) {
            Some((parent, local)) => parent.iterator(local, tc),
            None => Ok(Box::new(std::iter::empty())),
        }
    }
}

/// Merges contiguous ranges of parent partitions into fewer partitions, without a shuffle.
pub(crate) struct CoalescedRdd<T> {
    pub(crate) meta: RddMeta,
    pub(crate) parent: Rdd<T>,
    pub(crate) partitions: usize,
}

impl<T: Data> RddBase for CoalescedRdd<T> {
    fn node_name(&self) -> &'static str {
        "CoalescedRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
}

impl<T: Data> RddNode<T> for CoalescedRdd<T> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, T>> {
        let parents = self.parent.num_partitions();
        let start = partition * parents / self.partitions;
        let end = (partition + 1) * parents / self.partitions;
        let inputs = (start..end)
            .map(|p| self.parent.iterator(p, tc))
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(inputs.into_iter().flatten()))
    }
}

/// Every pair of an item of `left` and an item of `right`: one partition per pair of partitions.
pub(crate) struct CartesianRdd<T, U> {
    pub(crate) meta: RddMeta,
    pub(crate) left: Rdd<T>,
    pub(crate) right: Rdd<U>,
}

impl<T: Data, U: Data> RddBase for CartesianRdd<T, U> {
    fn node_name(&self) -> &'static str {
        "CartesianRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.left.num_partitions() * self.right.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.left.base()),
            Dependency::Narrow(self.right.base()),
        ]
    }
}

impl<T: Data, U: Data> RddNode<(T, U)> for CartesianRdd<T, U> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, (T, U)>> {
        let right_partitions = self.right.num_partitions();
        let left: Vec<T> = self
            .left
            .iterator(partition / right_partitions, tc)?
            .collect();
        let right: Vec<U> = self
            .right
            .iterator(partition % right_partitions, tc)?
            .collect();
        Ok(Box::new(left.into_iter().flat_map(move |l| {
            right.clone().into_iter().map(move |r| (l.clone(), r))
        })))
    }
}

/// The reduce side of a shuffle: partition `i` reads bucket `i` of every map output.
pub(crate) struct ShuffledRdd<T: Data, U: Data> {
    pub(crate) meta: RddMeta,
    pub(crate) dependency: Arc<ShuffleDependency<T, U>>,
    pub(crate) partitioner: Option<PartitionerRef>,
}

impl<T: Data, U: Data> RddBase for ShuffledRdd<T, U> {
    fn node_name(&self) -> &'static str {
        "ShuffledRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.dependency.num_buckets()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Shuffle(
            self.dependency.clone() as Arc<dyn ShuffleDependencyBase>
        )]
    }
    fn partitioner(&self) -> Option<PartitionerRef> {
        self.partitioner.clone()
    }
}

impl<T: Data, U: Data> RddNode<U> for ShuffledRdd<T, U> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, U>> {
        self.dependency.read_bucket(partition, tc)
    }
}
