//! Runtime filters of partitioned joins: the keys of the build side's rows go into a Bloom
//! filter, and the probe side's exchange drops the rows whose key no build row has before
//! shuffling them (as DuckDB's and Spark's runtime filters do). A join of a large table with a
//! selective build side then moves only the rows that can match.
//!
//! The filter is built before the probe side's map stage, as the bounds of a range exchange
//! are, by a job over the build side (which runs the build side's own map stages first), so
//! every probe task sees the whole filter. A build side read from an exchange is read again by
//! the join; one computed in the join's stage (an aggregation or a join already placed on the
//! key) is held in memory by that job and handed over to the join ([`HeldBuild`]), so that it
//! is computed once. The filter only ever drops rows without a match, which changes nothing for
//! the joins that emit no probe row without one (inner, semi, right, right semi and right
//! anti). A filter that would be large, or that turns out to drop few rows, is not used.
//!
//! The filter is register-blocked (each key sets four bits of one 64-bit word) over the join's
//! own key hashes, so that a check is one load and a compare, without branches or a second
//! hash.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::compute::filter_record_batch;
use rsql_rdd::{MemoryPool, MemoryReservation, Rdd};

use super::HashJoin;
use crate::error::Result;

/// Build sides with more keys than this get no filter: it would take megabytes and, with so
/// many keys, rarely drop enough probe rows to pay for checking them.
const MAX_KEYS: usize = 1 << 21;

/// Filter bits per build key: with four bits a key in 64-bit words, about 1% of absent keys
/// pass.
const BITS_PER_KEY: usize = 16;

/// Probe rows checked before the filter judges whether it pays.
const TRIAL_ROWS: usize = 1 << 17;

/// A filter passing more than this share of the trial's rows is switched off.
const MAX_PASSED_SHARE: f64 = 0.8;

/// The keys of a join's build side, checked against probe rows.
pub(crate) struct KeyFilter {
    join: Arc<HashJoin>,
    bloom: Bloom,
    /// Probe rows checked and passed so far, for the trial.
    checked: AtomicUsize,
    passed: AtomicUsize,
    /// Set when the trial found the filter passing most rows.
    off: AtomicBool,
    /// The filter's memory, held in the pool while the filter lives.
    _memory: MemoryReservation,
}

impl KeyFilter {
    /// The filter of `join`'s build side `build` (one job over its partitions), or `None` when
    /// the build side has more than [`MAX_KEYS`] rows or the pool cannot hold the filter. With
    /// `held`, each partition's batches are also kept there for the join, as far as the pool
    /// holds them.
    pub(crate) fn gather(
        join: &Arc<HashJoin>,
        build: &Rdd<RecordBatch>,
        pool: &Arc<MemoryPool>,
        held: Option<&HeldBuild>,
    ) -> Result<Option<KeyFilter>> {
        let gathered = AtomicUsize::new(0);
        let partitions = build.run_on_partitions(|batches, tc| -> Result<Option<Vec<u64>>> {
            let mut hashes = Vec::new();
            let mut holding = held.map(|_| (Vec::new(), pool.reservation("HashJoin build side")));
            for batch in batches {
                let (batch_hashes, nulls) = join.key_hashes(&batch, join.right_keys())?;
                let before = hashes.len();
                hashes.extend(
                    batch_hashes
                        .into_iter()
                        .enumerate()
                        .filter(|(row, _)| nulls.as_ref().is_none_or(|n| n.is_valid(*row)))
                        .map(|(_, hash)| hash),
                );
                let added = hashes.len() - before;
                if gathered.fetch_add(added, Ordering::Relaxed) + added > MAX_KEYS {
                    return Ok(None);
                }
                if let Some((batches, memory)) = &mut holding {
                    if memory.try_grow(batch.get_array_memory_size()).is_ok() {
                        batches.push(batch);
                    } else {
                        holding = None;
                    }
                }
            }
            if let (Some(held), Some((batches, memory))) = (held, holding) {
                held.hold(tc.partition_id(), batches, memory);
            }
            Ok(Some(hashes))
        })?;
        let mut all = Vec::new();
        for partition in partitions {
            match partition? {
                Some(hashes) => all.push(hashes),
                None => return Ok(None),
            }
        }
        let keys: usize = all.iter().map(Vec::len).sum();
        let mut bloom = Bloom::with_keys(keys);
        let mut memory = pool.reservation("HashJoin runtime filter");
        if memory.try_grow(bloom.size()).is_err() {
            return Ok(None);
        }
        for &hash in all.iter().flatten() {
            bloom.insert(hash);
        }
        Ok(Some(KeyFilter {
            join: Arc::clone(join),
            bloom,
            checked: AtomicUsize::new(0),
            passed: AtomicUsize::new(0),
            off: AtomicBool::new(false),
            _memory: memory,
        }))
    }

    /// The rows of probe batch `batch` whose key may be a build key (`None` when none is);
    /// all of them once the filter is off.
    pub(crate) fn retain(&self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        if self.off.load(Ordering::Relaxed) {
            return Ok(Some(batch.clone()));
        }
        let (hashes, nulls) = self.join.key_hashes(batch, self.join.left_keys())?;
        let keep = BooleanBuffer::collect_bool(hashes.len(), |row| {
            nulls.as_ref().is_none_or(|n| n.is_valid(row)) && self.bloom.may_hold(hashes[row])
        });
        let keep = BooleanArray::new(keep, None);
        let passed = keep.true_count();
        self.judge(batch.num_rows(), passed);
        match passed {
            0 => Ok(None),
            all if all == batch.num_rows() => Ok(Some(batch.clone())),
            _ => Ok(Some(filter_record_batch(batch, &keep)?)),
        }
    }

    /// Counts a batch's `checked` rows and the `passed` ones, and switches the filter off once
    /// the trial's rows are checked if it passed most of them.
    fn judge(&self, checked: usize, passed: usize) {
        let before = self.checked.fetch_add(checked, Ordering::Relaxed);
        let passed = self.passed.fetch_add(passed, Ordering::Relaxed) + passed;
        let checked = before + checked;
        if before < TRIAL_ROWS
            && checked >= TRIAL_ROWS
            && passed as f64 > MAX_PASSED_SHARE * checked as f64
        {
            self.off.store(true, Ordering::Relaxed);
        }
    }
}

/// A register-blocked Bloom filter of 64-bit hashes (Putze, Sanders and Singler, "Cache-,
/// hash- and space-efficient Bloom filters"): a hash's low bits pick a word, four 6-bit fields
/// of its high half the bits set in it.
struct Bloom {
    /// A power of two of words.
    words: Vec<u64>,
}

impl Bloom {
    /// A filter for `keys` keys at [`BITS_PER_KEY`].
    fn with_keys(keys: usize) -> Self {
        let words = (keys.saturating_mul(BITS_PER_KEY) / 64).next_power_of_two();
        Bloom {
            words: vec![0; words],
        }
    }

    fn size(&self) -> usize {
        self.words.len() * size_of::<u64>()
    }

    fn word(&self, hash: u64) -> usize {
        hash as usize & (self.words.len() - 1)
    }

    fn bits(hash: u64) -> u64 {
        let high = hash >> 32;
        (0..4).fold(0, |bits, i| bits | 1 << ((high >> (6 * i)) & 63))
    }

    fn insert(&mut self, hash: u64) {
        let word = self.word(hash);
        self.words[word] |= Self::bits(hash);
    }

    /// False only for a hash never inserted.
    fn may_hold(&self, hash: u64) -> bool {
        let bits = Self::bits(hash);
        self.words[self.word(hash)] & bits == bits
    }
}

/// Build-side partitions a filter's job computed, kept with their memory until the join takes
/// them (each once: a retried join task computes its partition again).
#[derive(Default)]
pub(crate) struct HeldBuild(Mutex<HashMap<usize, (Vec<RecordBatch>, MemoryReservation)>>);

impl HeldBuild {
    fn hold(&self, partition: usize, batches: Vec<RecordBatch>, memory: MemoryReservation) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(partition, (batches, memory));
    }

    /// The batches held for `partition`, no longer held (nor counted in the pool: the join
    /// reserves what it builds from them).
    pub(crate) fn take(&self, partition: usize) -> Option<Vec<RecordBatch>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&partition)
            .map(|(batches, _memory)| batches)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Int32Type, Schema};
    use rsql_rdd::Context;

    use super::*;
    use crate::operators::JoinKind;

    /// An inner join of `probe (k INT, s STRING)` with `build (k BIGINT, s STRING)` on both
    /// columns: the key types differ, so both sides are cast to the common type first.
    fn join() -> Arc<HashJoin> {
        let probe = Schema::new(vec![
            Field::new("k", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
        ]);
        let build = Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]);
        Arc::new(
            HashJoin::try_new(
                Arc::new(probe),
                Arc::new(build),
                vec![0, 1],
                vec![0, 1],
                JoinKind::Inner,
                None,
            )
            .unwrap(),
        )
    }

    fn batch(schema: &Schema, keys: ArrayRef, strings: Vec<Option<&str>>) -> RecordBatch {
        let strings: ArrayRef = Arc::new(StringArray::from(strings));
        RecordBatch::try_new(Arc::new(schema.clone()), vec![keys, strings]).unwrap()
    }

    fn gather(join: &Arc<HashJoin>, build: Vec<RecordBatch>) -> Option<KeyFilter> {
        let context = Context::new().unwrap();
        let build = context.parallelize(build, 2);
        KeyFilter::gather(join, &build, context.memory_pool(), None).unwrap()
    }

    /// Every probe row whose key a build row has passes, whatever the key types; a row with a
    /// null key or a key no build row has is dropped (all but the rare false positive).
    #[test]
    fn keeps_every_matching_row_and_drops_most_others() {
        let join = join();
        let build_keys: Vec<i64> = (0..2_000).map(|k| k * 7).collect();
        let build = build_keys
            .chunks(500)
            .map(|keys| {
                let strings = keys
                    .iter()
                    .map(|k| Some(if k % 2 == 0 { "a" } else { "b" }));
                batch(
                    join.right_schema(),
                    Arc::new(Int64Array::from(keys.to_vec())),
                    strings.collect(),
                )
            })
            .collect();
        let filter = gather(&join, build).unwrap();
        let matching: HashSet<(i32, &str)> = build_keys
            .iter()
            .map(|&k| (k as i32, if k % 2 == 0 { "a" } else { "b" }))
            .collect();
        // Probe keys 0..14,000 with both strings, and rows with null keys.
        let keys: Vec<Option<i32>> = (0..14_000).flat_map(|k| [Some(k), Some(k)]).collect();
        let strings: Vec<Option<&str>> = (0..14_000).flat_map(|_| [Some("a"), Some("b")]).collect();
        let mut with_nulls_keys = keys.clone();
        with_nulls_keys.extend([None, Some(0)]);
        let mut with_nulls_strings = strings.clone();
        with_nulls_strings.extend([Some("a"), None]);
        let probe = batch(
            join.left_schema(),
            Arc::new(Int32Array::from(with_nulls_keys)),
            with_nulls_strings,
        );
        let kept = filter.retain(&probe).unwrap().unwrap();
        let kept_keys = kept.column(0).as_primitive::<Int32Type>();
        let kept_strings = kept.column(1).as_string::<i32>();
        let kept: HashSet<(i32, &str)> = (0..kept.num_rows())
            .map(|row| {
                assert!(kept_keys.is_valid(row) && kept_strings.is_valid(row));
                (kept_keys.value(row), kept_strings.value(row))
            })
            .collect();
        assert!(kept.is_superset(&matching));
        let false_positives = kept.len() - matching.len();
        assert!(
            false_positives < 28_000 / 20,
            "{false_positives} false positives"
        );
    }

    /// Every inserted hash is held; of hashes never inserted, about 1% pass (under 2% here),
    /// at any number of keys.
    #[test]
    fn the_bloom_filter_holds_its_keys_and_passes_few_others() {
        use std::hash::BuildHasher;
        let hasher = datafusion_common::hash_utils::RandomState::with_seed(0);
        for keys in [1_u64, 100, 10_000, 200_000] {
            let mut bloom = Bloom::with_keys(keys as usize);
            for key in 0..keys {
                bloom.insert(hasher.hash_one(key));
            }
            assert!((0..keys).all(|key| bloom.may_hold(hasher.hash_one(key))));
            let others = 100_000;
            let passed = (keys..keys + others)
                .filter(|&key| bloom.may_hold(hasher.hash_one(key)))
                .count();
            assert!(
                passed < 2_000,
                "{keys} keys: {passed} of {others} others pass"
            );
        }
    }

    /// A filter that passes most rows of its trial stops filtering; an empty build side
    /// drops every row.
    #[test]
    fn a_filter_passing_most_rows_switches_off() {
        let join = join();
        let build = vec![batch(
            join.right_schema(),
            Arc::new(Int64Array::from_iter_values(0..100)),
            vec![Some("a"); 100],
        )];
        let filter = gather(&join, build).unwrap();
        let matching = batch(
            join.left_schema(),
            Arc::new(Int32Array::from_iter_values(
                (0..TRIAL_ROWS as i32).map(|k| k % 100),
            )),
            vec![Some("a"); TRIAL_ROWS],
        );
        assert_eq!(
            filter.retain(&matching).unwrap().unwrap().num_rows(),
            TRIAL_ROWS
        );
        let other = batch(
            join.left_schema(),
            Arc::new(Int32Array::from(vec![1_000, 2_000])),
            vec![Some("a"), Some("a")],
        );
        assert_eq!(filter.retain(&other).unwrap().unwrap().num_rows(), 2);

        let empty = gather(&join, Vec::new()).unwrap();
        assert!(empty.retain(&other).unwrap().is_none());
    }
}
