//! Hash aggregation within a memory budget.
//!
//! The groups reserve their size from the memory pool after every input batch. When the pool
//! refuses:
//! - a `Partial` aggregation emits its states early and starts afresh; the final aggregation
//!   merges them (Spark and DataFusion do the same with their map-side combine);
//! - a `Final` or `Single` aggregation writes its states to spill files, split by a hash of the
//!   group keys, and starts afresh. At the end every spill partition is merged on its own, so
//!   only one partition's groups are in memory at a time (a grace hash aggregation).
//!
//! A `Partial` aggregation that finds almost every row a group of its own (keys of very high
//! cardinality) stops combining: it would build a table as large as its input for nothing. It
//! then turns each row into a state of its own, with no hash table, and leaves the combining to
//! the final phase, as DataFusion's partial aggregation does. One whose groups are wide (a
//! `median`'s values, over a kibibyte a group) emits them whenever they reach a few megabytes,
//! whatever the pool grants: combining does not make them smaller, and holding them to the end
//! of the input only adds the slack of their growing buffers.

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

/// Input rows a `Partial` aggregation sees before it judges whether combining pays.
const PARTIAL_PROBE_ROWS: usize = 100_000;

/// A `Partial` aggregation with more groups than this fraction of its rows stops combining.
/// Drawing `n` rows from `d` equally likely keys repeats about `n / 2d` of them, so at the
/// probe's 100,000 rows this ratio stands for some two million distinct keys or more: keys that
/// rarely meet again in one task's input. With fewer (a million keys, say, where 5% of the
/// probe's rows repeat) a task of millions of rows still folds several rows into each group,
/// and its states are far fewer than its rows (one per row would hold a list per row for a
/// `median`, several times the input's bytes).
const PARTIAL_SKIP_RATIO: f64 = 0.975;

/// A `Partial` aggregation whose groups hold this many bytes each on average (a `median`'s
/// values) combines nothing worth keeping: once they hold [`WIDE_PARTIAL_BYTES`] it emits
/// them and starts afresh, so its values move on to the exchange as they come instead of
/// all being held, with the slack of their growing buffers, until the input ends.
const WIDE_GROUP_BYTES: usize = 1 << 10;

/// See [`WIDE_GROUP_BYTES`].
const WIDE_PARTIAL_BYTES: usize = 8 << 20;

/// Whether groups holding `bytes` in all are wide enough to emit ([`WIDE_GROUP_BYTES`]).
fn holds_wide_groups(bytes: usize, groups: usize) -> bool {
    bytes >= WIDE_PARTIAL_BYTES && bytes >= WIDE_GROUP_BYTES * groups
}

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
        let mut rows_seen = 0;
        let mut batches = batches.into_iter();
        for batch in batches.by_ref() {
            let batch = batch?;
            rows_seen += batch.num_rows();
            state.update(&batch)?;
            if self.mode() == AggregateMode::Partial
                && rows_seen >= PARTIAL_PROBE_ROWS
                && state.groups() as f64 > PARTIAL_SKIP_RATIO * rows_seen as f64
            {
                output.push(state.finish()?);
                reservation.free();
                for batch in batches {
                    output.push(self.row_states(&batch?)?);
                }
                return Ok(output);
            }
            let size = state.size();
            if !(self.mode() == AggregateMode::Partial && holds_wide_groups(size, state.groups()))
                && reservation.try_resize(size).is_ok()
            {
                continue;
            }
            let full = std::mem::replace(&mut state, self.start()?);
            if self.mode() == AggregateMode::Partial {
                output.push(full.finish()?);
                rows_seen = 0;
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow::array::{Array, AsArray, Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
    use rsql_plan::BuiltinAggregate;

    use super::*;
    use crate::operators::hash_aggregate::AggregateCall;

    /// `count(*)` grouped by `key`, in `mode`.
    fn count_by_key(mode: AggregateMode) -> HashAggregate {
        let schema = Schema::new(vec![Field::new("key", DataType::Int64, true)]);
        let count = AggregateCall {
            function: Arc::new(BuiltinAggregate::Count),
            argument_types: vec![],
            input_columns: vec![],
            name: "n".into(),
        };
        HashAggregate::try_new(&schema, mode, vec![0], vec![count]).unwrap()
    }

    /// A partial aggregation over keys that are nearly all distinct stops combining after its
    /// probe, and the final phase still counts every key right.
    #[test]
    fn partial_aggregation_of_distinct_keys_passes_states_through() {
        let rows = 3 * PARTIAL_PROBE_ROWS;
        // Every key once, except that keys below 1000 come again at the very end.
        let keys: Vec<Option<i64>> = (0..rows as i64)
            .chain(0..1000)
            .map(|k| (k % 977 != 5).then_some(k))
            .collect();
        let schema = Arc::new(Schema::new(vec![Field::new("key", DataType::Int64, true)]));
        let batches: Vec<RecordBatch> = keys
            .chunks(8192)
            .map(|chunk| {
                let column = Arc::new(Int64Array::from(chunk.to_vec()));
                RecordBatch::try_new(Arc::clone(&schema), vec![column]).unwrap()
            })
            .collect();
        let pool = Arc::new(MemoryPool::new(None).unwrap());
        let partial = count_by_key(AggregateMode::Partial);
        let states = partial
            .aggregate_bounded(batches.into_iter().map(Ok), &pool)
            .unwrap();
        assert!(states.len() > 1, "the partial phase kept combining");
        let last = partial.merging().unwrap();
        let result = last
            .aggregate_bounded(states.into_iter().map(Ok), &pool)
            .unwrap();

        let mut expected: HashMap<Option<i64>, i64> = HashMap::new();
        for key in &keys {
            *expected.entry(*key).or_default() += 1;
        }
        let mut actual = HashMap::new();
        for batch in &result {
            let keys = batch.column(0).as_primitive::<Int64Type>();
            let counts = batch.column(1).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                let key = keys.is_valid(row).then(|| keys.value(row));
                assert!(
                    actual.insert(key, counts.value(row)).is_none(),
                    "{key:?} twice"
                );
            }
        }
        assert_eq!(actual, expected);
    }

    /// A partial `max` and `median` over few groups of many values emits its groups each time
    /// they hold [`WIDE_PARTIAL_BYTES`], and the final phase merges them to every group's
    /// values, hand computed: the maximum and the median of the values of key `k` (all
    /// `i * 3 + k` for `i` below 400,000, so the median is `199,999.5 * 3 + k`).
    #[test]
    fn partial_aggregation_of_wide_groups_emits_them_as_they_grow() {
        let functions = crate::aggregate::builtin_aggregates();
        let call = |name: &str| AggregateCall {
            function: Arc::clone(functions.iter().find(|f| f.name() == name).unwrap()),
            argument_types: vec![DataType::Float64],
            input_columns: vec![1],
            name: name.into(),
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("key", DataType::Int64, false),
            Field::new("v", DataType::Float64, false),
        ]));
        let values: Vec<i64> = (0..1_200_000).collect();
        let batches: Vec<RecordBatch> = values
            .chunks(8192)
            .map(|chunk| {
                let keys = Int64Array::from_iter_values(chunk.iter().map(|v| v % 3));
                let values = Float64Array::from_iter_values(chunk.iter().map(|&v| v as f64));
                RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(keys), Arc::new(values)])
                    .unwrap()
            })
            .collect();
        let pool = Arc::new(MemoryPool::new(None).unwrap());
        let partial = HashAggregate::try_new(
            &schema,
            AggregateMode::Partial,
            vec![0],
            vec![call("max"), call("median")],
        )
        .unwrap();
        let states = partial
            .aggregate_bounded(batches.into_iter().map(Ok), &pool)
            .unwrap();
        assert!(
            states.len() > 1,
            "the partial phase held every value to the end"
        );
        let result = partial
            .merging()
            .unwrap()
            .aggregate(states.into_iter().map(Ok))
            .unwrap();
        let keys = result.column(0).as_primitive::<Int64Type>();
        let maxima = result.column(1).as_primitive::<Float64Type>();
        let medians = result.column(2).as_primitive::<Float64Type>();
        let mut rows: Vec<(i64, f64, f64)> = (0..result.num_rows())
            .map(|row| (keys.value(row), maxima.value(row), medians.value(row)))
            .collect();
        rows.sort_by_key(|row| row.0);
        let expected: Vec<(i64, f64, f64)> = (0..3)
            .map(|k| (k, (1_199_997 + k) as f64, 199_999.5 * 3.0 + k as f64))
            .collect();
        assert_eq!(rows, expected);
    }
}
