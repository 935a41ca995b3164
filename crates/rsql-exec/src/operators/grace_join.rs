//! A hash join within the memory pool. The build side is held while the pool grants it; when
//! the pool refuses, both sides are split by a hash of their join keys into spill partitions
//! (a grace hash join), and each pair of partitions is joined on its own, so only one
//! partition's build side is in memory at a time.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::SchemaRef;
use datafusion_common::hash_utils::RandomState;
use rsql_rdd::MemoryPool;

use super::block_join::join_blocks;
use super::hash_join::{HashJoin, JoinTable};
use crate::error::Result;
use crate::spill::{SpillFile, SpillWriter};

/// Spill partitions of a join that overflows the pool.
const SPILL_PARTITIONS: usize = 16;

/// Seeds the key hash apart from the exchange's and the join table's.
const SPILL_SEED: u64 = 0x4752_4143;

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
                    let rest = std::iter::once(batch).chain(build);
                    return join_blocks(self, held, reservation, rest, probe, pool);
                }
                Err(_) => {
                    let held = held.into_iter().chain([batch]).chain(build);
                    let sides = self.spill(held, probe, pool)?;
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

    /// Writes both sides to spill partitions by key hash.
    fn spill(
        &self,
        build: impl Iterator<Item = RecordBatch>,
        probe: impl Iterator<Item = RecordBatch>,
        pool: &Arc<MemoryPool>,
    ) -> Result<SpilledSides> {
        let build = self.spill_side(build, self.right_keys(), self.right_schema(), pool)?;
        let probe = self.spill_side(probe, self.left_keys(), self.left_schema(), pool)?;
        Ok(SpilledSides { build, probe })
    }

    fn spill_side(
        &self,
        batches: impl Iterator<Item = RecordBatch>,
        keys: &[usize],
        schema: &SchemaRef,
        pool: &Arc<MemoryPool>,
    ) -> Result<Vec<Option<SpillFile>>> {
        let mut writers: Vec<Option<SpillWriter>> = (0..SPILL_PARTITIONS).map(|_| None).collect();
        let hasher = RandomState::with_seed(SPILL_SEED);
        for batch in batches {
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
                let part = take_record_batch(&batch, &UInt32Array::from(rows))?;
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
}

impl SpilledSides {
    /// Joins each pair of partitions in turn; a partition's build side is held whole (it holds
    /// about a sixteenth of the rows), reserved from `pool` even past its limit.
    fn join(
        self,
        join: Arc<HashJoin>,
        pool: Arc<MemoryPool>,
    ) -> impl Iterator<Item = Result<RecordBatch>> {
        self.build.into_iter().zip(self.probe).flat_map(
            move |(build, probe)| -> JoinedBatches<'static> {
                match join_partition(&join, build, probe, &pool) {
                    Ok(batches) => batches,
                    Err(error) => Box::new(std::iter::once(Err(error))),
                }
            },
        )
    }
}

/// Joins one pair of spill partitions.
fn join_partition(
    join: &Arc<HashJoin>,
    build: Option<SpillFile>,
    probe: Option<SpillFile>,
    pool: &Arc<MemoryPool>,
) -> Result<JoinedBatches<'static>> {
    let build: Vec<RecordBatch> = match &build {
        Some(file) => file.read()?.collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let mut held = pool.reservation("HashJoin build side (spill partition)");
    held.grow(build.iter().map(RecordBatch::get_array_memory_size).sum());
    let table = Arc::new(join.build(build)?);
    let probe: JoinedBatches<'static> = match probe {
        Some(file) => Box::new(file.read()?),
        None => Box::new(std::iter::empty()),
    };
    Ok(Box::new(probe_then_unmatched(
        Arc::clone(join),
        table,
        held,
        probe,
    )))
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
        join.unmatched_build_rows(&table)
    });
    probed
        .chain(unmatched)
        .filter_map(Result::transpose)
        .filter(|batch| !matches!(batch, Ok(b) if b.num_rows() == 0))
}
