//! Actions: operations that run a job and return a value to the driver.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Display;
use std::hash::Hash;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::Data;
use crate::error::{RddError, Result};
use crate::output::AtomicDir;
use crate::rdd::{BoxIter, Rdd};
use crate::scheduler::TaskContext;

impl<T: Data> Rdd<T> {
    fn all_partitions(&self) -> Vec<usize> {
        (0..self.num_partitions()).collect()
    }

    /// Runs `f` on every partition and returns the per-partition results in partition order.
    pub fn run_on_partitions<R: Send>(
        &self,
        f: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext) -> R + Sync,
    ) -> Result<Vec<R>> {
        self.context().run_job(self, &self.all_partitions(), f)
    }

    /// Every item, in partition order.
    pub fn collect(&self) -> Result<Vec<T>> {
        let parts = self.run_on_partitions(|items, _| items.collect::<Vec<T>>())?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Number of items.
    pub fn count(&self) -> Result<u64> {
        Ok(self
            .run_on_partitions(|items, _| items.count() as u64)?
            .into_iter()
            .sum())
    }

    /// The first item, if any.
    pub fn first(&self) -> Result<Option<T>> {
        Ok(self.take(1)?.into_iter().next())
    }

    /// The first `n` items; scans one partition first, then more as needed, as Spark does.
    pub fn take(&self, n: usize) -> Result<Vec<T>> {
        let mut taken = Vec::with_capacity(n.min(1 << 16));
        let total = self.num_partitions();
        let mut scanned = 0;
        while taken.len() < n && scanned < total {
            let batch = if scanned == 0 || taken.is_empty() {
                // Nothing found yet: grow the scan geometrically.
                (scanned * 4).max(1)
            } else {
                // Extrapolate from the yield so far, with 50% headroom.
                let wanted =
                    (1.5 * (n - taken.len()) as f64 * scanned as f64 / taken.len() as f64).ceil();
                (wanted as usize).clamp(1, scanned * 4)
            };
            let partitions: Vec<usize> = (scanned..(scanned + batch).min(total)).collect();
            let remaining = n - taken.len();
            let parts = self.context().run_job(self, &partitions, |items, _| {
                items.take(remaining).collect::<Vec<T>>()
            })?;
            for part in parts {
                let room = n - taken.len();
                taken.extend(part.into_iter().take(room));
            }
            scanned += partitions.len();
        }
        Ok(taken)
    }

    /// Combines all items with `f` (associative and commutative); `None` for an empty RDD.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync) -> Result<Option<T>> {
        let parts = self.run_on_partitions(|items, _| items.reduce(&f))?;
        Ok(parts.into_iter().flatten().reduce(&f))
    }

    /// Folds each partition from `zero`, then the partial results from `zero`.
    pub fn fold(&self, zero: T, f: impl Fn(T, T) -> T + Send + Sync) -> Result<T> {
        let parts = self.run_on_partitions(|items, _| items.fold(zero.clone(), &f))?;
        Ok(parts.into_iter().fold(zero, &f))
    }

    /// Folds each partition with `seq` from `zero`, then merges the partials with `comb`.
    pub fn aggregate<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + Send + Sync,
        comb: impl Fn(U, U) -> U,
    ) -> Result<U> {
        let parts = self.run_on_partitions(|items, _| items.fold(zero.clone(), &seq))?;
        Ok(parts.into_iter().fold(zero, comb))
    }

    /// Calls `f` on every item, on the workers.
    pub fn foreach(&self, f: impl Fn(T) + Send + Sync) -> Result<()> {
        self.run_on_partitions(|items, _| items.for_each(&f))?;
        Ok(())
    }

    /// Calls `f` once per partition with its items, on the workers.
    pub fn foreach_partition(
        &self,
        f: impl for<'a> Fn(BoxIter<'a, T>) + Send + Sync,
    ) -> Result<()> {
        self.run_on_partitions(|items, _| f(items))?;
        Ok(())
    }

    /// Writes each partition as a text file `part-NNNNN` of one line per item under `dir`,
    /// atomically: into a temporary directory renamed into place with a `_SUCCESS` marker.
    pub fn save_as_text_file(&self, dir: impl AsRef<Path>) -> Result<()>
    where
        T: Display,
    {
        let output = AtomicDir::create(dir.as_ref())?;
        let staging = output.staging_path().to_path_buf();
        let written = self.run_on_partitions(|items, tc| {
            let path = staging.join(format!("part-{:05}", tc.partition_id()));
            let write = || -> std::io::Result<()> {
                let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                for item in items {
                    writeln!(file, "{item}")?;
                }
                file.flush()
            };
            write().map_err(|e| RddError::io(&path, e))
        });
        match written.and_then(|parts| parts.into_iter().collect::<Result<Vec<()>>>()) {
            Ok(_) => output.commit(),
            Err(error) => {
                output.abort();
                Err(error)
            }
        }
    }
}

impl<T: Data + Eq + Hash> Rdd<T> {
    /// How many times each distinct item occurs.
    pub fn count_by_value(&self) -> Result<HashMap<T, u64>> {
        self.map(|x| (x, ())).count_by_key()
    }
}

impl<T: Data + Ord> Rdd<T> {
    /// The `n` largest items, largest first.
    pub fn top(&self, n: usize) -> Result<Vec<T>> {
        let parts = self.run_on_partitions(|items, _| {
            let mut heap = BinaryHeap::with_capacity(n + 1);
            for item in items {
                heap.push(Reverse(item));
                if heap.len() > n {
                    heap.pop();
                }
            }
            heap.into_vec()
        })?;
        let mut all: Vec<T> = parts.into_iter().flatten().map(|Reverse(x)| x).collect();
        all.sort_by(|a, b| b.cmp(a));
        all.truncate(n);
        Ok(all)
    }
}

impl<K: Data + Eq + Hash, V: Data> Rdd<(K, V)> {
    /// How many records each key has.
    pub fn count_by_key(&self) -> Result<HashMap<K, u64>> {
        let counts = self
            .map_values(|_| 1u64)
            .reduce_by_key(|a, b| a + b)
            .collect()?;
        Ok(counts.into_iter().collect())
    }

    /// The values of `key`; scans only the key's partition when the partitioner is known.
    pub fn lookup(&self, key: &K) -> Result<Vec<V>> {
        let partitions = match self.partitioner() {
            Some(partitioner) => vec![partitioner.partition(key)],
            None => self.all_partitions(),
        };
        let key = Arc::new(key.clone());
        let parts = self.context().run_job(self, &partitions, |items, _| {
            items
                .filter(|(k, _)| k == key.as_ref())
                .map(|(_, v)| v)
                .collect::<Vec<V>>()
        })?;
        Ok(parts.into_iter().flatten().collect())
    }
}
