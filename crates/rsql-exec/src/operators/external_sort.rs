//! Sorting a partition within the memory pool: input batches are held while the pool grants
//! them; when it refuses, what is held is sorted and written to disk as a sorted run. The runs
//! are then merged, streaming, holding one batch per run.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::interleave;
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, Rows, SortField};
use rsql_rdd::MemoryPool;

use super::sort::{SortKey, sort_batches};
use crate::error::Result;
use crate::spill::{SpillFile, SpillWriter};

/// Rows per batch written to runs and produced by the merge.
const BATCH_ROWS: usize = 8192;

/// Batches of one partition in sort order.
pub type SortedBatches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Sorts all `batches` of a partition by `keys`, holding at most what `pool` grants (plus one
/// batch) and spilling sorted runs past it.
pub fn sort_bounded(
    schema: &SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    keys: &[SortKey],
    pool: &Arc<MemoryPool>,
) -> Result<SortedBatches> {
    if keys.is_empty() {
        return unsorted(schema, batches, pool);
    }
    let mut reservation = pool.reservation("Sort");
    let mut held: Vec<RecordBatch> = Vec::new();
    let mut runs: Vec<SpillFile> = Vec::new();
    for batch in batches {
        let size = batch.get_array_memory_size();
        if reservation.try_grow(size).is_err() {
            if !held.is_empty() {
                runs.push(write_run(schema, std::mem::take(&mut held), keys, pool)?);
                reservation.free();
            }
            // A batch is the least a sort can hold.
            if reservation.try_grow(size).is_err() {
                reservation.grow(size);
            }
        }
        held.push(batch);
    }
    if runs.is_empty() {
        let sorted = sort_batches(schema, held.into_iter(), keys, None)?;
        return Ok(Box::new(sorted.into_iter().map(Ok)));
    }
    if !held.is_empty() {
        runs.push(write_run(schema, held, keys, pool)?);
    }
    drop(reservation);
    Ok(Box::new(RunMerge::try_new(schema, runs, keys)?))
}

/// `batches` in any order, as sorted by no keys (a window without `PARTITION BY` or `ORDER
/// BY`): held while `pool` grants them, the rest written to one spill file and read after them.
fn unsorted(
    schema: &SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    pool: &Arc<MemoryPool>,
) -> Result<SortedBatches> {
    let mut reservation = pool.reservation("Sort");
    let mut held: Vec<RecordBatch> = Vec::new();
    let mut spill: Option<SpillWriter> = None;
    for batch in batches {
        match &mut spill {
            Some(writer) => writer.write(&batch)?,
            None if reservation.try_grow(batch.get_array_memory_size()).is_ok() => held.push(batch),
            None => {
                let mut writer = SpillWriter::create(pool, schema)?;
                writer.write(&batch)?;
                spill = Some(writer);
            }
        }
    }
    let rest = match spill {
        Some(writer) => Some(writer.finish()?.read()?),
        None => None,
    };
    Ok(Box::new(
        held.into_iter().map(Ok).chain(rest.into_iter().flatten()),
    ))
}

/// Sorts `batches` and writes them to a new spill file.
fn write_run(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
    keys: &[SortKey],
    pool: &Arc<MemoryPool>,
) -> Result<SpillFile> {
    let mut writer = SpillWriter::create(pool, schema)?;
    if let Some(sorted) = sort_batches(schema, batches.into_iter(), keys, None)? {
        for start in (0..sorted.num_rows()).step_by(BATCH_ROWS) {
            writer.write(&sorted.slice(start, BATCH_ROWS.min(sorted.num_rows() - start)))?;
        }
    }
    writer.finish()
}

/// The current batch of one sorted run, its keys in row format, and the next row to emit.
struct RunCursor {
    batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
    batch: RecordBatch,
    rows: Rows,
    next: usize,
}

/// A k-way merge of sorted runs into sorted batches.
struct RunMerge {
    schema: SchemaRef,
    keys: Vec<SortKey>,
    converter: RowConverter,
    /// `None` once a run is used up.
    cursors: Vec<Option<RunCursor>>,
}

impl RunMerge {
    fn try_new(schema: &SchemaRef, runs: Vec<SpillFile>, keys: &[SortKey]) -> Result<Self> {
        let fields = keys
            .iter()
            .map(|key| {
                let data_type = schema.field(key.column).data_type().clone();
                SortField::new_with_options(data_type, key.options())
            })
            .collect();
        let mut merge = RunMerge {
            schema: Arc::clone(schema),
            keys: keys.to_vec(),
            converter: RowConverter::new(fields)?,
            cursors: Vec::with_capacity(runs.len()),
        };
        for run in runs {
            let cursor = merge.cursor(Box::new(run.read()?))?;
            merge.cursors.push(cursor);
        }
        Ok(merge)
    }

    /// A cursor at the first non-empty batch of `batches`, `None` if there is none.
    fn cursor(
        &self,
        mut batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
    ) -> Result<Option<RunCursor>> {
        for batch in batches.by_ref() {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let key_columns: Vec<ArrayRef> = self
                .keys
                .iter()
                .map(|key| Arc::clone(batch.column(key.column)))
                .collect();
            let rows = self.converter.convert_columns(&key_columns)?;
            return Ok(Some(RunCursor {
                batches,
                batch,
                rows,
                next: 0,
            }));
        }
        Ok(None)
    }

    /// The run whose next row comes first.
    fn smallest(&self) -> Option<usize> {
        self.cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i, c.rows.row(c.next))))
            .min_by(|(_, a), (_, b)| a.cmp(b))
            .map(|(i, _)| i)
    }

    /// Up to [`BATCH_ROWS`] next rows in order, `None` when every run is used up.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        // Batches the picked rows come from, and (batch, row) per picked row.
        let mut sources: Vec<RecordBatch> = Vec::new();
        let mut source_of_run: Vec<Option<usize>> = vec![None; self.cursors.len()];
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(BATCH_ROWS);
        while picks.len() < BATCH_ROWS {
            let Some(run) = self.smallest() else { break };
            let Some(cursor) = self.cursors[run].as_mut() else {
                break;
            };
            let source = *source_of_run[run].get_or_insert_with(|| {
                sources.push(cursor.batch.clone());
                sources.len() - 1
            });
            picks.push((source, cursor.next));
            cursor.next += 1;
            if cursor.next == cursor.batch.num_rows() {
                source_of_run[run] = None;
                let batches = std::mem::replace(&mut cursor.batches, Box::new(std::iter::empty()));
                self.cursors[run] = self.cursor(batches)?;
            }
        }
        if picks.is_empty() {
            return Ok(None);
        }
        let columns = (0..self.schema.fields().len())
            .map(|c| {
                let arrays: Vec<&dyn Array> =
                    sources.iter().map(|b| b.column(c).as_ref()).collect();
                Ok(interleave(&arrays, &picks)?)
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(Some(RecordBatch::try_new(
            Arc::clone(&self.schema),
            columns,
        )?))
    }
}

impl Iterator for RunMerge {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}
