//! Hash aggregation within a memory budget.
//!
//! The groups reserve their size from the memory pool after every input batch. When the pool
//! refuses:
//! - a `Partial` aggregation emits its states early and starts afresh; the final aggregation
//!   merges them (Spark and DataFusion do the same with their map-side combine);
//! - a `Final` or `Single` aggregation writes its states to spill files, split by a hash of the
//!   group keys, and starts afresh. At the end every spill partition is merged on its own, so
//!   only one partition's groups are in memory at a time (a grace hash aggregation).

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use rsql_rdd::{MemoryPool, MemoryReservation};

use super::exchange::hash_split_seeded;
use super::hash_aggregate::{AggregateMode, AggregationState, HashAggregate};
use crate::error::Result;
use crate::spill::{SpillFile, SpillWriter};

/// Spill partitions of one aggregation: each is merged on its own at the end.
const SPILL_PARTITIONS: usize = 16;

/// Seeds the spill partitioning apart from the exchange's, so the keys of one exchange
/// partition spread over every spill partition.
const SPILL_SEED: u64 = 0x5350_494c;

impl HashAggregate {
    /// Aggregates `batches` holding at most what `pool` grants, spilling past it. Returns the
    /// result batches (several when a partial aggregation flushed early).
    pub fn aggregate_bounded(
        &self,
        batches: impl IntoIterator<Item = Result<RecordBatch>>,
        pool: &Arc<MemoryPool>,
    ) -> Result<Vec<RecordBatch>> {
        let mut reservation = pool.reservation(format!("HashAggregate({:?})", self.mode()));
        let mut state = self.start()?;
        let mut output = Vec::new();
        let mut spilled: Option<SpilledGroups> = None;
        for batch in batches {
            state.update(&batch?)?;
            if reservation.try_resize(state.size()).is_ok() {
                continue;
            }
            let full = std::mem::replace(&mut state, self.start()?);
            if self.mode() == AggregateMode::Partial {
                output.push(full.finish()?);
            } else {
                let spill = match &mut spilled {
                    Some(spill) => spill,
                    None => spilled.insert(SpilledGroups::new(pool)),
                };
                spill.write(full)?;
            }
            reservation.free();
        }
        match spilled {
            None => output.push(state.finish()?),
            Some(mut spill) => {
                spill.write(state)?;
                reservation.free();
                output.extend(spill.merge(self, &mut reservation)?);
            }
        }
        Ok(output)
    }
}

/// Group states written to disk, one file per spill partition.
struct SpilledGroups {
    writers: Vec<Option<SpillWriter>>,
    pool: Arc<MemoryPool>,
}

impl SpilledGroups {
    fn new(pool: &Arc<MemoryPool>) -> Self {
        SpilledGroups {
            writers: (0..SPILL_PARTITIONS).map(|_| None).collect(),
            pool: Arc::clone(pool),
        }
    }

    /// Writes the states of every group in `state`, each to its key's partition.
    fn write(&mut self, state: AggregationState<'_>) -> Result<()> {
        let plan = state.plan();
        let states = state.finish_states()?;
        let keys: Vec<usize> = (0..plan.group_count()).collect();
        let parts = if keys.is_empty() {
            vec![Some(states)]
        } else {
            hash_split_seeded(&states, &keys, SPILL_PARTITIONS, SPILL_SEED)?
        };
        for (writer, part) in self.writers.iter_mut().zip(parts) {
            let Some(part) = part else { continue };
            let writer = match writer {
                Some(writer) => writer,
                None => writer.insert(SpillWriter::create(&self.pool, plan.state_schema())?),
            };
            writer.write(&part)?;
        }
        Ok(())
    }

    /// Merges each partition's states into final values (`Final` and `Single` alike), one
    /// partition in memory at a time. A partition that alone exceeds the pool is merged anyway:
    /// it holds a sixteenth of the groups, and there is nothing left to spill.
    fn merge(
        self,
        plan: &HashAggregate,
        reservation: &mut MemoryReservation,
    ) -> Result<Vec<RecordBatch>> {
        let merging = plan.merging()?;
        let files: Vec<SpillFile> = self
            .writers
            .into_iter()
            .flatten()
            .map(SpillWriter::finish)
            .collect::<Result<_>>()?;
        let mut output = Vec::with_capacity(files.len());
        for file in files {
            let mut state = merging.start()?;
            for batch in file.read()? {
                state.update(&batch?)?;
                let size = state.size();
                if reservation.try_resize(size).is_err() {
                    reservation.grow(size.saturating_sub(reservation.size()));
                }
            }
            output.push(state.finish()?);
            reservation.free();
        }
        Ok(output)
    }
}
