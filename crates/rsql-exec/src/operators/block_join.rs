//! A join that cannot be split by key hash (no equality keys, or a null-aware join that must
//! see every build row) within the memory pool: a block nested-loop join. The build side is
//! joined a block at a time, each block as many build batches as the pool grants (at least
//! one), the rest spilled; the probe side is spilled while it probes the first block and read
//! back for every later block. Which probe rows matched some block is kept in a bitmap, so
//! that left, full, semi, anti and mark joins decide on those rows once every block was seen;
//! a right or full join emits each block's unmatched build rows after the block's last probe.
//! A hash join also joins this way a spill partition that repeated splits by key hash could
//! not make small enough (a key too frequent to separate).

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{BooleanBufferBuilder, RecordBatch};
use rsql_rdd::{MemoryPool, MemoryReservation};

use super::grace_join::JoinedBatches;
use super::hash_join::{BuildSummary, HashJoin, JoinTable};
use crate::error::{ExecError, Result};
use crate::spill::{SpillFile, SpillWriter};

/// Batches read back from a spill file.
type SpilledBatches = Box<dyn Iterator<Item = Result<RecordBatch>>>;

/// Joins `probe` against a build side that overflowed the pool: `first` (held in `held`) is
/// the first block, `rest` the build batches the pool refused, spilled here.
pub(crate) fn join_blocks<'a>(
    join: &Arc<HashJoin>,
    mut first: Vec<RecordBatch>,
    mut held: MemoryReservation,
    mut rest: impl Iterator<Item = Result<RecordBatch>>,
    probe: impl Iterator<Item = Result<RecordBatch>> + 'a,
    pool: &Arc<MemoryPool>,
) -> Result<JoinedBatches<'a>> {
    if first.is_empty()
        && let Some(batch) = rest.next().transpose()?
    {
        // A block holds at least one batch, so that the join always makes progress.
        held.grow(batch.get_array_memory_size());
        first.push(batch);
    }
    let mut build = SpillWriter::create(pool, join.right_schema())?;
    for batch in rest {
        build.write(&batch?)?;
    }
    let build = build.finish()?;
    let matched = join
        .finishes_probe_rows()
        .then(|| BooleanBufferBuilder::new(0));
    Ok(Box::new(BlockJoin {
        join: Arc::clone(join),
        pool: Arc::clone(pool),
        block: Some(Block::new(join, first, held)?),
        build: Box::new(build.read()?),
        carried: None,
        probe: Box::new(probe),
        probe_writer: Some(SpillWriter::create(pool, join.left_schema())?),
        probe_file: None,
        matched,
        matched_memory: pool.reservation("HashJoin probe matches"),
        probing: None,
        row: 0,
        summary: BuildSummary {
            is_empty: true,
            has_null_key: false,
        },
        phase: Phase::Probing,
        out: VecDeque::new(),
    }))
}

/// One block of build rows in a table, and the memory it holds.
struct Block {
    table: JoinTable,
    _held: MemoryReservation,
    /// How many probe rows to pair with the block at once.
    slice_rows: usize,
}

impl Block {
    fn new(join: &HashJoin, batches: Vec<RecordBatch>, held: MemoryReservation) -> Result<Self> {
        let table = join.build(batches)?;
        let slice_rows = join.probe_slice_rows(&table);
        Ok(Block {
            table,
            _held: held,
            slice_rows,
        })
    }
}

/// What the join does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Every probe batch probes the current block.
    Probing,
    /// Every build block was joined: the probe rows are read once more to emit what depends
    /// on whether they matched.
    Finishing,
    Done,
}

struct BlockJoin<'a> {
    join: Arc<HashJoin>,
    pool: Arc<MemoryPool>,
    /// The block of build rows being joined.
    block: Option<Block>,
    /// The build batches of the later blocks, read back from their spill file.
    build: SpilledBatches,
    /// A build batch the last block had no room for: the next block's first.
    carried: Option<RecordBatch>,
    /// The probe batches of this pass: the input during the first block, then read back.
    probe: Box<dyn Iterator<Item = Result<RecordBatch>> + 'a>,
    /// Writes the probe input while it probes the first block.
    probe_writer: Option<SpillWriter>,
    probe_file: Option<SpillFile>,
    /// Which probe rows, in input order, matched some block (when the join asks).
    matched: Option<BooleanBufferBuilder>,
    matched_memory: MemoryReservation,
    /// The probe batch being paired with the block, and the first row of its next slice.
    probing: Option<(RecordBatch, usize)>,
    /// Probe rows read in this pass before the batch in progress.
    row: usize,
    /// What is known of the build blocks joined so far.
    summary: BuildSummary,
    phase: Phase,
    out: VecDeque<RecordBatch>,
}

impl Iterator for BlockJoin<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(batch) = self.out.pop_front() {
                return Some(Ok(batch));
            }
            if self.phase == Phase::Done {
                return None;
            }
            if let Err(error) = self.step() {
                self.phase = Phase::Done;
                return Some(Err(error));
            }
        }
    }
}

impl BlockJoin<'_> {
    /// Pairs the next slice of the probe batch in progress with the block, or handles the
    /// next probe batch of the pass, or the end of the pass.
    fn step(&mut self) -> Result<()> {
        if self.probing.is_some() {
            return self.probe_slice();
        }
        let batch = self.probe.next().transpose()?;
        match (self.phase, batch) {
            (Phase::Probing, Some(batch)) => {
                if let Some(writer) = &mut self.probe_writer {
                    writer.write(&batch)?;
                }
                self.start_probe(batch)
            }
            (Phase::Probing, None) => self.end_block(),
            (Phase::Finishing, Some(batch)) => self.finish_rows(&batch),
            (Phase::Finishing, None) | (Phase::Done, _) => {
                self.phase = Phase::Done;
                Ok(())
            }
        }
    }

    /// Starts pairing `batch` with the current block's rows, a slice at a time.
    fn start_probe(&mut self, batch: RecordBatch) -> Result<()> {
        let rows = batch.num_rows();
        if let Some(matched) = &mut self.matched
            && matched.len() < self.row + rows
        {
            matched.append_n(rows, false);
            self.matched_memory.grow(rows.div_ceil(8));
        }
        self.probing = Some((batch, 0));
        Ok(())
    }

    /// Pairs the next slice of the probe batch in progress with the current block's rows,
    /// noting which probe rows matched: one output batch at most, so that the join's output
    /// is pulled a batch at a time (a keyless join pairs every row with every row).
    fn probe_slice(&mut self) -> Result<()> {
        let (Some(block), Some((batch, start))) = (&self.block, &mut self.probing) else {
            return Err(ExecError::Execution(
                "block join probed without a build block".to_string(),
            ));
        };
        let rows = batch.num_rows();
        let slice = batch.slice(*start, block.slice_rows.min(rows - *start));
        let pairs = self.join.matched_pairs(&block.table, &slice)?;
        if let Some(matched) = &mut self.matched {
            for &row in pairs.0.values() {
                matched.set_bit(self.row + *start + row as usize, true);
            }
        }
        if self.join.kind().emits_pairs() && !pairs.0.is_empty() {
            let joined = self.join.assemble_pairs(&slice, &block.table, &pairs)?;
            self.out.push_back(joined);
        }
        *start += slice.num_rows();
        if *start >= rows {
            self.probing = None;
            self.row += rows;
        }
        Ok(())
    }

    /// After the last probe batch of a block: the build rows it keeps (right, full, right semi
    /// and right anti joins), then the next block, or the finishing pass.
    fn end_block(&mut self) -> Result<()> {
        if let Some(block) = self.block.take() {
            self.out.extend(self.join.finish_build_rows(&block.table)?);
            self.summary = self.summary.and(block.table.summary());
        }
        if let Some(writer) = self.probe_writer.take() {
            self.probe_file = Some(writer.finish()?);
        }
        self.row = 0;
        self.block = self.next_block()?;
        let Some(probe_file) = &self.probe_file else {
            return Err(ExecError::Execution(
                "block join lost its spilled probe side".to_string(),
            ));
        };
        if self.block.is_some() {
            self.probe = Box::new(probe_file.read()?);
        } else if self.matched.is_some() {
            self.probe = Box::new(probe_file.read()?);
            self.phase = Phase::Finishing;
        } else {
            self.phase = Phase::Done;
        }
        Ok(())
    }

    /// The next block of spilled build batches: as many as the pool grants, at least one;
    /// `None` once every build batch was joined.
    fn next_block(&mut self) -> Result<Option<Block>> {
        let mut held = self.pool.reservation("HashJoin build block");
        let mut batches = Vec::new();
        loop {
            let batch = match self.carried.take() {
                Some(batch) => batch,
                None => match self.build.next() {
                    Some(batch) => batch?,
                    None => break,
                },
            };
            let size = batch.get_array_memory_size();
            if batches.is_empty() {
                held.grow(size);
            } else if held.try_grow(size).is_err() {
                self.carried = Some(batch);
                break;
            }
            batches.push(batch);
        }
        if batches.is_empty() {
            return Ok(None);
        }
        Block::new(&self.join, batches, held).map(Some)
    }

    /// Emits what the join keeps of `batch`'s rows, now that every block was seen.
    fn finish_rows(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(matched) = &self.matched else {
            return Ok(());
        };
        let rows = batch.num_rows();
        let has_match = (self.row..self.row + rows)
            .map(|row| row < matched.len() && matched.get_bit(row))
            .collect();
        self.row += rows;
        let kept = self
            .join
            .finish_probe_rows(self.summary, batch, has_match)?;
        self.out.extend(kept);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
    use datafusion_common::DFSchema;
    use rsql_plan::{FunctionRegistry, TimeZone, col};

    use super::*;
    use crate::expr::{ScalarFunctions, create_physical_expr};
    use crate::operators::JoinKind;

    fn schema(name: &str) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new(name, DataType::Int64, true)]))
    }

    /// `values` in batches of `rows`.
    fn batches(schema: &SchemaRef, values: &[Option<i64>], rows: usize) -> Vec<RecordBatch> {
        values
            .chunks(rows)
            .map(|chunk| {
                let column = Arc::new(chunk.iter().copied().collect::<Int64Array>());
                RecordBatch::try_new(Arc::clone(schema), vec![column]).unwrap()
            })
            .collect()
    }

    /// The join `l < r` without keys.
    fn less_than(kind: JoinKind) -> Arc<HashJoin> {
        let (left, right) = (schema("l"), schema("r"));
        let pairs = Schema::new(vec![
            Field::new("l", DataType::Int64, true),
            Field::new("r", DataType::Int64, true),
        ]);
        let condition = create_physical_expr(
            &col("l").lt(col("r")),
            &DFSchema::try_from(pairs).unwrap(),
            &FunctionRegistry::new(),
            &ScalarFunctions::new(),
            &TimeZone::utc(),
            rsql_plan::compute::EvalMode::Lenient,
        )
        .unwrap();
        let join = HashJoin::try_new(left, right, vec![], vec![], kind, Some(condition));
        Arc::new(join.unwrap())
    }

    /// Every output row as (left, right), a missing right column as `None`; sorted.
    fn rows(batches: &[RecordBatch]) -> Vec<(Option<i64>, Option<i64>)> {
        let column = |batch: &RecordBatch, i: usize| -> Vec<Option<i64>> {
            match batch.columns().get(i) {
                Some(c) if c.data_type() == &DataType::Int64 => {
                    c.as_primitive::<Int64Type>().iter().collect()
                }
                _ => vec![None; batch.num_rows()],
            }
        };
        let mut rows: Vec<_> = batches
            .iter()
            .flat_map(|b| column(b, 0).into_iter().zip(column(b, 1)))
            .collect();
        rows.sort();
        rows
    }

    /// Nested loops over both sides.
    fn reference(
        left: &[Option<i64>],
        right: &[Option<i64>],
        kind: JoinKind,
    ) -> Vec<(Option<i64>, Option<i64>)> {
        let matches =
            |l: &Option<i64>, r: &Option<i64>| matches!((l, r), (Some(l), Some(r)) if l < r);
        let mut out = Vec::new();
        for l in left {
            let matched: Vec<_> = right.iter().filter(|r| matches(l, r)).collect();
            match kind {
                JoinKind::Semi if !matched.is_empty() => out.push((*l, None)),
                JoinKind::Anti if matched.is_empty() => out.push((*l, None)),
                JoinKind::Semi | JoinKind::Anti | JoinKind::RightSemi | JoinKind::RightAnti => {}
                _ => {
                    out.extend(matched.iter().map(|r| (*l, **r)));
                    if matched.is_empty() && kind.preserves_left() {
                        out.push((*l, None));
                    }
                }
            }
        }
        for r in right {
            let matched = left.iter().any(|l| matches(l, r));
            match kind {
                // Right semi and anti joins emit the right column only, first.
                JoinKind::RightSemi if matched => out.push((*r, None)),
                JoinKind::RightAnti if !matched => out.push((*r, None)),
                _ if kind.preserves_right() && !matched => out.push((None, *r)),
                _ => {}
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_keyless_join_past_the_limit_joins_block_by_block_and_matches_nested_loops() {
        let left_values: Vec<Option<i64>> = (0..300)
            .map(|i| (i % 17 != 0).then_some((i * 37) % 101))
            .collect();
        let right_values: Vec<Option<i64>> = (0..200)
            .map(|i| (i % 13 != 0).then_some((i * 53) % 97))
            .collect();
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
            let join = less_than(kind);
            let left = batches(join.left_schema(), &left_values, 32);
            let right = batches(join.right_schema(), &right_values, 16);
            let batch_bytes = right[0].get_array_memory_size();
            // Room for about three build batches: some five blocks.
            let pool = Arc::new(MemoryPool::new(Some(3 * batch_bytes + 100)).unwrap());
            let joined: Vec<RecordBatch> = join
                .join_bounded(right.into_iter(), left.into_iter(), &pool)
                .unwrap()
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(
                rows(&joined),
                reference(&left_values, &right_values, kind),
                "{kind:?}"
            );
            assert!(pool.spilled_bytes() > 0, "{kind:?}: nothing spilled");
            assert!(
                pool.peak() <= 4 * batch_bytes + 100,
                "{kind:?}: peak {}",
                pool.peak()
            );
            assert_eq!(pool.used(), 0, "{kind:?}");
        }
    }

    #[test]
    fn a_mark_join_in_blocks_marks_every_probe_row_once() {
        let left_values: Vec<Option<i64>> = vec![Some(1), None, Some(50), Some(99), Some(3)];
        let right_values: Vec<Option<i64>> = (0..64).map(|i| Some(i / 2)).collect();
        let join = less_than(JoinKind::Mark);
        let left = batches(join.left_schema(), &left_values, 2);
        let right = batches(join.right_schema(), &right_values, 8);
        let pool = Arc::new(MemoryPool::new(Some(0)).unwrap());
        let joined: Vec<RecordBatch> = join
            .join_bounded(right.into_iter(), left.into_iter(), &pool)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let mut marks: Vec<(Option<i64>, Option<bool>)> = joined
            .iter()
            .flat_map(|b| {
                let values = b.column(0).as_primitive::<Int64Type>().iter();
                values
                    .zip(b.column(1).as_boolean().iter())
                    .collect::<Vec<_>>()
            })
            .collect();
        marks.sort();
        // Right values run 0..=31: a left value below 31 has a greater one.
        let expected = vec![
            (None, Some(false)),
            (Some(1), Some(true)),
            (Some(3), Some(true)),
            (Some(50), Some(false)),
            (Some(99), Some(false)),
        ];
        assert_eq!(marks, expected);
        assert_eq!(pool.used(), 0);
    }
}
