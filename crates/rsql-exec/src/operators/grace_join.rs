//! A hash join within the memory pool. The build side is held while the pool grants it; when
//! the pool refuses, both sides are split by a hash of their join keys into spill partitions
//! (a grace hash join), and each pair of partitions is joined on its own, so only one
//! partition's build side is in memory at a time. A partition whose build side is still too
//! large is split again with a new hash seed, up to [`MAX_SPLIT_DEPTH`] times; past that (a
//! key too frequent for any split to separate) it is joined a block at a time.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow_select::dictionary::garbage_collect_any_dictionary;
use datafusion_common::hash_utils::RandomState;
use rsql_rdd::MemoryPool;

use super::block_join::join_blocks;
use super::hash_join::{HashJoin, JoinTable};
use crate::error::{ExecError, Result};
use crate::spill::{SpillFile, SpillWriter};

/// Spill partitions of a join that overflows the pool.
const SPILL_PARTITIONS: usize = 16;

/// Seeds the key hash apart from the exchange's and the join table's; each re-split adds its
/// depth.
const SPILL_SEED: u64 = 0x4752_4143;

/// How many times a spill partition still too large for the pool is split again.
const MAX_SPLIT_DEPTH: u64 = 3;

/// Joined batches, streamed.
pub type JoinedBatches<'a> = Box<dyn Iterator<Item = Result<RecordBatch>> + 'a>;

impl HashJoin {
    /// Joins `probe` (left) batches against the `build` (right) side, holding at most what
    /// `pool` grants and spilling both sides by key hash past it. Joins that cannot be split
    /// ([`HashJoin::can_split`]) join the build side a block at a time past the limit instead,
    /// reading the spilled probe side again for every block.
    pub fn join_bounded<'a>(
        self: &Arc<Self>,
        mut build: impl Iterator<Item = RecordBatch>,
        probe: impl Iterator<Item = RecordBatch> + 'a,
        pool: &Arc<MemoryPool>,
    ) -> Result<JoinedBatches<'a>> {
        let mut reservation = pool.reservation("HashJoin build side");
        let mut held = Vec::new();
        for batch in build.by_ref() {
            match reservation.try_grow(batch.get_array_memory_size()) {
                Ok(()) => held.push(batch),
                Err(_) if !self.can_split() => {
                    let rest = std::iter::once(batch).chain(build).map(Ok);
                    return join_blocks(self, held, reservation, rest, probe.map(Ok), pool);
                }
                Err(_) => {
                    let held = held.into_iter().chain([batch]).chain(build);
                    let sides = self.spill(held.map(Ok), probe.map(Ok), pool, 0)?;
                    drop(reservation);
                    return Ok(Box::new(sides.join(Arc::clone(self), Arc::clone(pool))));
                }
            }
        }
        let table = self.build(held)?;
        Ok(Box::new(probe_then_unmatched(
            Arc::clone(self),
            Arc::new(table),
            reservation,
            probe.map(Ok),
        )))
    }

    /// Writes both sides to spill partitions by key hash, the hash seeded for the `depth`th
    /// split.
    fn spill(
        &self,
        build: impl Iterator<Item = Result<RecordBatch>>,
        probe: impl Iterator<Item = Result<RecordBatch>>,
        pool: &Arc<MemoryPool>,
        depth: u64,
    ) -> Result<SpilledSides> {
        let hasher = RandomState::with_seed(SPILL_SEED.wrapping_add(depth));
        let build =
            self.spill_side(build, self.right_keys(), self.right_schema(), &hasher, pool)?;
        let probe = self.spill_side(probe, self.left_keys(), self.left_schema(), &hasher, pool)?;
        Ok(SpilledSides {
            build,
            probe,
            depth,
        })
    }

    fn spill_side(
        &self,
        batches: impl Iterator<Item = Result<RecordBatch>>,
        keys: &[usize],
        schema: &SchemaRef,
        hasher: &RandomState,
        pool: &Arc<MemoryPool>,
    ) -> Result<Vec<Option<SpillFile>>> {
        let mut writers: Vec<Option<SpillWriter>> = (0..SPILL_PARTITIONS).map(|_| None).collect();
        for batch in batches {
            let batch = batch?;
            let (rows, nulls) = self.encode_keys(&batch, keys)?;
            let mut rows_of: Vec<Vec<u32>> = vec![Vec::new(); SPILL_PARTITIONS];
            for row in 0..batch.num_rows() {
                // Rows with a null key match nothing; any partition keeps them for outer joins.
                let part = if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    0
                } else {
                    (hasher.hash_one(rows.row(row).data()) % SPILL_PARTITIONS as u64) as usize
                };
                rows_of[part].push(row as u32);
            }
            for (writer, rows) in writers.iter_mut().zip(rows_of) {
                if rows.is_empty() {
                    continue;
                }
                let part =
                    compact_dictionaries(take_record_batch(&batch, &UInt32Array::from(rows))?)?;
                let writer = match writer {
                    Some(writer) => writer,
                    None => writer.insert(SpillWriter::create(pool, schema)?),
                };
                writer.write(&part)?;
            }
        }
        writers
            .into_iter()
            .map(|writer| writer.map(SpillWriter::finish).transpose())
            .collect()
    }
}

/// Both sides of a join, split into spill partitions by key hash.
struct SpilledSides {
    build: Vec<Option<SpillFile>>,
    probe: Vec<Option<SpillFile>>,
    /// How many splits made these partitions, less one.
    depth: u64,
}

impl SpilledSides {
    /// Joins each pair of partitions in turn, one partition's build side in memory at a time.
    fn join(
        self,
        join: Arc<HashJoin>,
        pool: Arc<MemoryPool>,
    ) -> impl Iterator<Item = Result<RecordBatch>> {
        let depth = self.depth;
        let mut pairs = self.build.into_iter().zip(self.probe);
        let mut current: Option<JoinedBatches<'static>> = None;
        std::iter::from_fn(move || {
            loop {
                if let Some(batches) = &mut current {
                    if let Some(batch) = batches.next() {
                        return Some(batch);
                    }
                    // Release this partition's table before the next one is built.
                    current = None;
                }
                let (build, probe) = pairs.next()?;
                current = Some(match join_partition(&join, build, probe, &pool, depth) {
                    Ok(batches) => batches,
                    Err(error) => Box::new(std::iter::once(Err(error))),
                });
            }
        })
    }
}

/// `batch` without the dictionary values none of its rows refer to. A piece taken from a batch
/// keeps the batch's whole dictionary, which would otherwise be spilled, read back and held
/// with every piece of every split.
fn compact_dictionaries(batch: RecordBatch) -> Result<RecordBatch> {
    let oversized = |column: &ArrayRef| {
        column
            .as_any_dictionary_opt()
            .is_some_and(|dictionary| dictionary.values().len() > dictionary.keys().len())
    };
    if !batch.columns().iter().any(oversized) {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .map(|column| match column.as_any_dictionary_opt() {
            Some(dictionary) if oversized(column) => garbage_collect_any_dictionary(dictionary),
            _ => Ok(Arc::clone(column)),
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Joins one pair of spill partitions made by the `depth`th split: its build side in one
/// table if the pool grants it, else split again, or joined a block at a time once the splits
/// are exhausted.
fn join_partition(
    join: &Arc<HashJoin>,
    build: Option<SpillFile>,
    probe: Option<SpillFile>,
    pool: &Arc<MemoryPool>,
    depth: u64,
) -> Result<JoinedBatches<'static>> {
    let read = |file: &Option<SpillFile>, schema: &SchemaRef| -> Result<JoinedBatches<'static>> {
        Ok(match file {
            Some(file) => Box::new(merged(Arc::clone(schema), file.read()?)),
            None => Box::new(std::iter::empty()),
        })
    };
    let read_build = || read(&build, join.right_schema());
    let read_probe = || read(&probe, join.left_schema());
    let mut held = pool.reservation("HashJoin build side (spill partition)");
    let mut batches = Vec::new();
    let mut build_batches = read_build()?;
    while let Some(batch) = build_batches.next().transpose()? {
        if held.try_grow(batch.get_array_memory_size()).is_ok() {
            batches.push(batch);
        } else if depth < MAX_SPLIT_DEPTH {
            // Read the partition again from its file rather than keep what was read.
            drop((batches, build_batches, held));
            let sides = join.spill(read_build()?, read_probe()?, pool, depth + 1)?;
            return Ok(Box::new(sides.join(Arc::clone(join), Arc::clone(pool))));
        } else {
            let rest = std::iter::once(Ok(batch)).chain(build_batches);
            return join_blocks(join, batches, held, rest, read_probe()?, pool);
        }
    }
    let table = Arc::new(join.build(batches)?);
    Ok(Box::new(probe_then_unmatched(
        Arc::clone(join),
        table,
        held,
        read_probe()?,
    )))
}

/// Rows of a batch [`merged`] makes from small ones.
const MERGED_ROWS: usize = 1024;

/// `batches` with consecutive small ones concatenated into batches of about [`MERGED_ROWS`]
/// rows: each split cuts batches into smaller pieces, and every piece costs a fixed overhead
/// in memory and on disk.
fn merged(
    schema: SchemaRef,
    mut batches: impl Iterator<Item = Result<RecordBatch>>,
) -> impl Iterator<Item = Result<RecordBatch>> {
    std::iter::from_fn(move || {
        let mut pending = Vec::new();
        let mut rows = 0;
        while rows < MERGED_ROWS {
            match batches.next() {
                Some(Ok(batch)) => {
                    rows += batch.num_rows();
                    pending.push(batch);
                }
                Some(Err(error)) => return Some(Err(error)),
                None => break,
            }
        }
        match pending.len() {
            0 => None,
            1 => pending.pop().map(Ok),
            _ => Some(concat_batches(&schema, &pending).map_err(ExecError::from)),
        }
    })
}

/// Probes every batch against `table`, then (right and full joins) emits the build rows no
/// probe matched; `_held` keeps the table's memory reserved until the last batch.
pub(crate) fn probe_then_unmatched<'a, H: 'a>(
    join: Arc<HashJoin>,
    table: Arc<JoinTable>,
    _held: H,
    probe: impl Iterator<Item = Result<RecordBatch>> + 'a,
) -> impl Iterator<Item = Result<RecordBatch>> + 'a {
    let probe_join = Arc::clone(&join);
    let probe_table = Arc::clone(&table);
    let slice_rows = join.probe_slice_rows(&table);
    let probed = probe.flat_map(move |batch| {
        let (join, table) = (Arc::clone(&probe_join), Arc::clone(&probe_table));
        let slices: Vec<Result<RecordBatch>> = match batch {
            Ok(batch) => (0..batch.num_rows())
                .step_by(slice_rows)
                .map(|start| Ok(batch.slice(start, slice_rows.min(batch.num_rows() - start))))
                .collect(),
            Err(error) => vec![Err(error)],
        };
        slices
            .into_iter()
            .map(move |slice| join.probe(&table, &slice?))
    });
    let unmatched = std::iter::once(()).map(move |()| {
        let _ = &_held;
        join.finish_build_rows(&table)
    });
    probed
        .chain(unmatched)
        .filter_map(Result::transpose)
        .filter(|batch| !matches!(batch, Ok(b) if b.num_rows() == 0))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, DictionaryArray, Int32Array, Int64Array, StringArray};
    use arrow::compute::cast;
    use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema};

    use super::*;
    use crate::operators::JoinKind;

    /// Output rows as (left key, left value, right key, right value), missing columns as
    /// `None`; sorted.
    type Joined = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

    fn side(prefix: &str, rows: &[(Option<i64>, i64)], batch_rows: usize) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(format!("{prefix}_k"), DataType::Int64, true),
            Field::new(format!("{prefix}_v"), DataType::Int64, false),
        ]));
        rows.chunks(batch_rows)
            .map(|chunk| {
                let keys: Int64Array = chunk.iter().map(|r| r.0).collect();
                let values: Int64Array = chunk.iter().map(|r| Some(r.1)).collect();
                RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(keys), Arc::new(values)])
                    .unwrap()
            })
            .collect()
    }

    fn joined(batches: &[RecordBatch]) -> Vec<Joined> {
        let mut rows: Vec<Joined> = batches
            .iter()
            .flat_map(|b| {
                let column = |i: usize| -> Vec<Option<i64>> {
                    match b.columns().get(i) {
                        Some(c) => c.as_primitive::<Int64Type>().iter().collect(),
                        None => vec![None; b.num_rows()],
                    }
                };
                let (lk, lv, rk, rv) = (column(0), column(1), column(2), column(3));
                (0..b.num_rows())
                    .map(|i| (lk[i], lv[i], rk[i], rv[i]))
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort();
        rows
    }

    /// Nested loops: equal non-null keys match.
    fn reference(
        left: &[(Option<i64>, i64)],
        right: &[(Option<i64>, i64)],
        kind: JoinKind,
    ) -> Vec<Joined> {
        let matches = |l: &(Option<i64>, i64), r: &(Option<i64>, i64)| l.0.is_some() && l.0 == r.0;
        let mut out = Vec::new();
        for l in left {
            let matched: Vec<_> = right.iter().filter(|r| matches(l, r)).collect();
            match kind {
                JoinKind::Semi | JoinKind::Anti => {
                    if matched.is_empty() == (kind == JoinKind::Anti) {
                        out.push((l.0, Some(l.1), None, None));
                    }
                }
                JoinKind::RightSemi | JoinKind::RightAnti => {}
                _ => {
                    out.extend(matched.iter().map(|r| (l.0, Some(l.1), r.0, Some(r.1))));
                    if matched.is_empty() && kind.preserves_left() {
                        out.push((l.0, Some(l.1), None, None));
                    }
                }
            }
        }
        for r in right {
            let matched = left.iter().any(|l| matches(l, r));
            match kind {
                // Right semi and anti joins emit the right columns only, first.
                JoinKind::RightSemi if matched => out.push((r.0, Some(r.1), None, None)),
                JoinKind::RightAnti if !matched => out.push((r.0, Some(r.1), None, None)),
                _ if kind.preserves_right() && !matched => out.push((None, None, r.0, Some(r.1))),
                _ => {}
            }
        }
        out.sort();
        out
    }

    /// Every join kind on `left` and `right` under `limit` bytes matches nested loops, spills,
    /// and holds at most the limit and one merged batch.
    fn check(left_rows: &[(Option<i64>, i64)], right_rows: &[(Option<i64>, i64)], limit: usize) {
        let (left, right) = (side("l", left_rows, 64), side("r", right_rows, 64));
        // A block holds at least one batch, merged from pieces up to at least `MERGED_ROWS`
        // rows and read back from a spill file (its columns share one buffer, counted by each);
        // a block join also holds a bit per probe row.
        let pool = Arc::new(MemoryPool::new(None).unwrap());
        let largest = side("r", right_rows, MERGED_ROWS + 63).swap_remove(0);
        let mut writer = SpillWriter::create(&pool, &largest.schema()).unwrap();
        writer.write(&largest).unwrap();
        let read_back = writer
            .finish()
            .unwrap()
            .read()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let overshoot = read_back.get_array_memory_size() + left_rows.len().div_ceil(8);
        let kinds = [
            JoinKind::Inner,
            JoinKind::Left,
            JoinKind::Right,
            JoinKind::Full,
            JoinKind::Semi,
            JoinKind::Anti,
            JoinKind::RightSemi,
            JoinKind::RightAnti,
        ];
        for kind in kinds {
            let join = HashJoin::try_new(
                left[0].schema(),
                right[0].schema(),
                vec![0],
                vec![0],
                kind,
                None,
            );
            let join = Arc::new(join.unwrap());
            let pool = Arc::new(MemoryPool::new(Some(limit)).unwrap());
            let output: Vec<RecordBatch> = join
                .join_bounded(right.iter().cloned(), left.iter().cloned(), &pool)
                .unwrap()
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(
                joined(&output),
                reference(left_rows, right_rows, kind),
                "{kind:?}"
            );
            assert!(pool.spilled_bytes() > 0, "{kind:?}: nothing spilled");
            assert!(
                pool.peak() <= limit + overshoot,
                "{kind:?}: peak {}",
                pool.peak()
            );
            assert_eq!(pool.used(), 0, "{kind:?}");
        }
    }

    #[test]
    fn a_spilled_piece_keeps_only_the_dictionary_values_its_rows_use() {
        let values: Vec<String> = (0..1000).map(|i| format!("value-{i}")).collect();
        let keys = Int32Array::from(vec![Some(7), None, Some(999), Some(7)]);
        let dictionary =
            DictionaryArray::<Int32Type>::new(keys, Arc::new(StringArray::from(values)));
        let schema = Arc::new(Schema::new(vec![Field::new(
            "d",
            dictionary.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(dictionary)]).unwrap();
        let compacted = compact_dictionaries(batch.clone()).unwrap();
        assert_eq!(compacted.schema(), batch.schema());
        let column = compacted.column(0).as_any_dictionary();
        assert_eq!(column.values().len(), 2);
        let text = |b: &RecordBatch| {
            cast(b.column(0), &DataType::Utf8)
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|s| s.map(str::to_string))
                .collect::<Vec<_>>()
        };
        assert_eq!(text(&compacted), text(&batch));
    }

    #[test]
    fn a_spill_partition_too_large_for_the_pool_is_split_again() {
        // 6 000 distinct keys: a sixteenth of the build side is far more than the limit, a
        // 256th or a 4096th fits.
        let left: Vec<_> = (0..3000)
            .map(|i| ((i % 7 != 0).then_some(i * 2), i))
            .collect();
        let right: Vec<_> = (0..6000)
            .map(|i| ((i % 11 != 0).then_some(i), -i))
            .collect();
        check(&left, &right, 8 << 10);
    }

    #[test]
    fn a_key_too_frequent_to_split_is_joined_in_blocks() {
        // Most build rows share key 1: no split separates them.
        let left: Vec<_> = (0..400)
            .map(|i| ((i % 9 != 0).then_some(i % 5), i))
            .collect();
        let right: Vec<_> = (0..3000)
            .map(|i| ((i % 13 != 0).then_some(if i % 10 == 0 { i } else { 1 }), i))
            .collect();
        check(&left, &right, 4 << 10);
    }
}
