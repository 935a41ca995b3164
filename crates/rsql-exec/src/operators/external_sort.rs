//! Sorting a partition within the memory pool: input batches are held while the pool grants
//! them; when it refuses, what is held is sorted and written to disk as a sorted run. The runs
//! are then merged, streaming, holding one batch per run; when the pool cannot hold a batch of
//! every run at once, groups of runs are first merged into longer runs (a multi-pass merge).
//!
//! Held batches are never concatenated: their sort order is computed over the key columns alone
//! and the rows are gathered from them a batch at a time, so sorting adds one output batch, not
//! a copy of the partition, to what the pool granted.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{SortColumn, concat, interleave, lexsort_to_indices, take};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, Rows, SortField};
use rsql_rdd::{MemoryPool, MemoryReservation};

use super::sort::{SortKey, sort_fields};
use crate::error::Result;
use crate::rows::normalize_zeros;
use crate::spill::{SpillFile, SpillWriter};

/// Rows per batch written to runs and produced by the merge.
const BATCH_ROWS: usize = 8192;

/// Bytes per row the sort itself allocates: `lexsort_to_indices` keeps a `u32` index per row
/// and, sorting by one primitive key, an up to 8-byte value with it.
const SORT_SCRATCH_PER_ROW: usize = 16;

/// Bytes per row a sort by encoded rows allocates besides them: each row's offset among them,
/// its prefix and index as sorted, and its index in the order.
const MULTI_KEY_SCRATCH_PER_ROW: usize =
    size_of::<usize>() + size_of::<([u64; PREFIX_BYTES / 8], u32)>() + size_of::<u32>();

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
        let size = held_size(&batch, keys);
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
        // The held batches stay reserved until the last sorted batch is taken.
        return Ok(Box::new(SortedChunks::try_new(
            schema,
            held,
            keys,
            Some(reservation),
        )?));
    }
    if !held.is_empty() {
        runs.push(write_run(schema, held, keys, pool)?);
    }
    drop(reservation);
    Ok(Box::new(merge_runs(schema, runs, keys, pool)?))
}

/// Bytes a batch held for sorting takes: itself, the copy of the columns concatenated to be
/// sorted or taken from (its key and dictionary columns), and the per-row scratch of the sort
/// (a row index and, for one primitive key, its value beside it; otherwise the rows encoded and
/// the prefixes sorted, see [`sort_order`]).
fn held_size(batch: &RecordBatch, keys: &[SortKey]) -> usize {
    let rows = batch.num_rows();
    let by_rows = keys.len() > 1
        || keys.iter().any(|key| {
            batch
                .columns()
                .get(key.column)
                .is_some_and(|column| !column.data_type().is_primitive())
        });
    let scratch = if by_rows {
        let encoded: usize = keys
            .iter()
            .filter_map(|key| batch.columns().get(key.column))
            .map(|column| encoded_size(column.as_ref()))
            .sum();
        encoded + rows * MULTI_KEY_SCRATCH_PER_ROW
    } else {
        rows * SORT_SCRATCH_PER_ROW
    };
    let copied: usize = batch
        .columns()
        .iter()
        .enumerate()
        .filter(|(c, column)| {
            keys.iter().any(|key| key.column == *c)
                || matches!(column.data_type(), DataType::Dictionary(..))
        })
        .map(|(_, column)| column.get_array_memory_size())
        .sum();
    batch.get_array_memory_size() + copied + scratch
}

/// About the bytes `column` takes in arrow's row format: its own size, except that a
/// dictionary-encoded column is encoded value by value (each row its value's bytes), plus a
/// marker byte per row.
fn encoded_size(column: &dyn Array) -> usize {
    let rows = column.len();
    let own = match column.as_any_dictionary_opt() {
        Some(dictionary) => {
            let values = dictionary.values();
            let per_value = values.get_array_memory_size() / values.len().max(1);
            rows * per_value
        }
        None => column.get_array_memory_size(),
    };
    own + rows
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
    for batch in SortedChunks::try_new(schema, batches, keys, None)? {
        writer.write(&batch?)?;
    }
    writer.finish()
}

/// Batches held in memory, handed out in sort order [`BATCH_ROWS`] rows at a time. The sort
/// key columns are concatenated to be sorted, and dictionary columns so that their
/// dictionaries are merged once: those are taken from; the other columns are gathered from
/// the held batches.
struct SortedChunks {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    /// Per column, the whole column when it was concatenated.
    whole: Vec<Option<ArrayRef>>,
    /// Where each held batch starts among all held rows.
    starts: Vec<usize>,
    /// Every held row (numbered across the batches), in sort order.
    order: UInt32Array,
    next: usize,
    /// What the held batches reserved, returned once they are all handed out.
    _reservation: Option<MemoryReservation>,
}

impl SortedChunks {
    fn try_new(
        schema: &SchemaRef,
        batches: Vec<RecordBatch>,
        keys: &[SortKey],
        reservation: Option<MemoryReservation>,
    ) -> Result<Self> {
        let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        let mut starts = Vec::with_capacity(batches.len());
        let mut rows = 0;
        for batch in &batches {
            starts.push(rows);
            rows += batch.num_rows();
        }
        let whole = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(c, field)| {
                let wanted = keys.iter().any(|key| key.column == c)
                    || matches!(field.data_type(), DataType::Dictionary(..));
                wanted
                    .then(|| whole_column(&batches, c, field.data_type()))
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let columns = keys
            .iter()
            .map(|key| SortColumn {
                // -0.0 and 0.0 are peers, as the window and SQL comparisons hold them.
                values: whole[key.column].as_ref().map_or_else(
                    || arrow::array::new_empty_array(schema.field(key.column).data_type()),
                    normalize_zeros,
                ),
                options: Some(key.options()),
            })
            .collect::<Vec<_>>();
        let order = sort_order(&columns)?;
        Ok(SortedChunks {
            schema: Arc::clone(schema),
            batches,
            whole,
            starts,
            order,
            next: 0,
            _reservation: reservation,
        })
    }
}

/// Leading bytes of an encoded row kept beside its index while sorting.
const PREFIX_BYTES: usize = 24;

/// Rows encoded at a time while the prefixes are taken.
const ENCODE_ROWS: usize = 65_536;

/// The row indices of `columns` in sort order. One primitive key is sorted by arrow's kernel;
/// other keys are encoded in arrow's row format, so that comparing bytes compares rows, and
/// each row's first [`PREFIX_BYTES`] (zero-padded) are sorted beside its index as integers:
/// most comparisons touch no row at all. When every row fits in its prefix (short strings,
/// dictionary codes, numbers), two equal prefixes differ only in trailing zero bytes, so the
/// shorter row sorts first and no encoded row is kept: they are encoded
/// [`ENCODE_ROWS`] at a time. Otherwise the rows are kept whole and read on equal prefixes.
fn sort_order(columns: &[SortColumn]) -> Result<UInt32Array> {
    if let [column] = columns
        && column.values.data_type().is_primitive()
    {
        return Ok(lexsort_to_indices(columns, None)?);
    }
    let fields = columns
        .iter()
        .map(|column| {
            SortField::new_with_options(
                column.values.data_type().clone(),
                column.options.unwrap_or_default(),
            )
        })
        .collect();
    let converter = RowConverter::new(fields)?;
    let values: Vec<ArrayRef> = columns.iter().map(|c| Arc::clone(&c.values)).collect();
    let total = values.first().map_or(0, |v| v.len());
    let mut keyed: Vec<([u64; PREFIX_BYTES / 8], u32)> = Vec::with_capacity(total);
    let mut lengths: Vec<u8> = Vec::with_capacity(total);
    for start in (0..total).step_by(ENCODE_ROWS) {
        let len = ENCODE_ROWS.min(total - start);
        let slices: Vec<ArrayRef> = values.iter().map(|v| v.slice(start, len)).collect();
        for (i, row) in converter.convert_columns(&slices)?.iter().enumerate() {
            let row = row.data();
            if row.len() > PREFIX_BYTES {
                return sort_by_whole_rows(&converter, &values, keyed);
            }
            keyed.push((prefix_of(row), (start + i) as u32));
            lengths.push(row.len() as u8);
        }
    }
    keyed.sort_unstable_by(|(prefix_a, a), (prefix_b, b)| {
        prefix_a
            .cmp(prefix_b)
            .then_with(|| lengths[*a as usize].cmp(&lengths[*b as usize]))
    });
    Ok(keyed.into_iter().map(|(_, index)| index).collect())
}

/// [`sort_order`] for rows longer than their prefix: every row encoded and kept, read where
/// prefixes are equal. `keyed` holds the prefixes taken so far (reused for its allocation).
fn sort_by_whole_rows(
    converter: &RowConverter,
    values: &[ArrayRef],
    mut keyed: Vec<([u64; PREFIX_BYTES / 8], u32)>,
) -> Result<UInt32Array> {
    let rows = converter.convert_columns(values)?;
    keyed.clear();
    keyed.extend((0..rows.num_rows()).map(|i| (prefix_of(rows.row(i).data()), i as u32)));
    keyed.sort_unstable_by(|(prefix_a, a), (prefix_b, b)| {
        prefix_a
            .cmp(prefix_b)
            .then_with(|| rows.row(*a as usize).cmp(&rows.row(*b as usize)))
    });
    Ok(keyed.into_iter().map(|(_, index)| index).collect())
}

/// The first [`PREFIX_BYTES`] of `row`, zero-padded, as big-endian words: comparing them
/// compares the rows' leading bytes, and equal prefixes leave the order to the whole rows
/// (zero padding never orders a row before one it sorts after).
fn prefix_of(row: &[u8]) -> [u64; PREFIX_BYTES / 8] {
    let mut bytes = [0u8; PREFIX_BYTES];
    let n = row.len().min(PREFIX_BYTES);
    bytes[..n].copy_from_slice(&row[..n]);
    std::array::from_fn(|w| {
        let word: [u8; 8] = bytes[w * 8..w * 8 + 8].try_into().unwrap_or_default();
        u64::from_be_bytes(word)
    })
}

/// Column `c` of all `batches`, as one array.
fn whole_column(batches: &[RecordBatch], c: usize, data_type: &DataType) -> Result<ArrayRef> {
    let pieces: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
    Ok(match pieces.as_slice() {
        [] => arrow::array::new_empty_array(data_type),
        [one] => arrow::array::make_array(one.to_data()),
        _ => concat(&pieces)?,
    })
}

impl Iterator for SortedChunks {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.order.len() {
            // Let the held batches go as soon as the last rows are out.
            self.batches = Vec::new();
            self.whole = Vec::new();
            self._reservation = None;
            return None;
        }
        let end = (self.next + BATCH_ROWS).min(self.order.len());
        let rows = self.order.slice(self.next, end - self.next);
        self.next = end;
        let picks: Vec<(usize, usize)> = rows
            .values()
            .iter()
            .map(|&row| {
                let row = row as usize;
                let batch = self.starts.partition_point(|&start| start <= row) - 1;
                (batch, row - self.starts[batch])
            })
            .collect();
        let columns = self
            .whole
            .iter()
            .enumerate()
            .map(|(c, whole)| match whole {
                Some(whole) => Ok(take(whole, &rows, None)?),
                None => {
                    let arrays: Vec<&dyn Array> =
                        self.batches.iter().map(|b| b.column(c).as_ref()).collect();
                    Ok(interleave(&arrays, &picks)?)
                }
            })
            .collect::<Result<Vec<ArrayRef>>>();
        Some(
            columns
                .and_then(|columns| Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)),
        )
    }
}

/// The rows `picks` names ((batch, row) pairs) of `batches`, as one batch.
fn gather(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    picks: &[(usize, usize)],
) -> Result<RecordBatch> {
    let columns = (0..schema.fields().len())
        .map(|c| {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            Ok(interleave(&arrays, picks)?)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// A merge of `runs` whose cursors fit in `pool`: while they do not all fit, the runs whose
/// cursors do (at least two) are merged into a new run first.
fn merge_runs(
    schema: &SchemaRef,
    runs: Vec<SpillFile>,
    keys: &[SortKey],
    pool: &Arc<MemoryPool>,
) -> Result<RunMerge> {
    let mut runs = std::collections::VecDeque::from(runs);
    loop {
        let mut merge = RunMerge::try_new(schema, keys, pool.reservation("Sort merge"))?;
        while let Some(run) = runs.pop_front() {
            if !merge.try_add(run.read()?, merge.cursors.len() < 2)? {
                runs.push_front(run);
                break;
            }
        }
        if runs.is_empty() {
            return Ok(merge);
        }
        // Not every run fits: merge those that do into one, after the others.
        let mut writer = SpillWriter::create(pool, schema)?;
        for batch in merge {
            writer.write(&batch?)?;
        }
        runs.push_back(writer.finish()?);
    }
}

/// The current batch of one sorted run, its keys in row format, and the next row to emit.
struct RunCursor {
    batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
    batch: RecordBatch,
    rows: Rows,
    next: usize,
}

impl RunCursor {
    /// Bytes the cursor holds: its batch and the batch's keys.
    fn size(&self) -> usize {
        self.batch.get_array_memory_size() + self.rows.size()
    }
}

/// A k-way merge of sorted runs into sorted batches.
struct RunMerge {
    schema: SchemaRef,
    keys: Vec<SortKey>,
    converter: RowConverter,
    /// `None` once a run is used up.
    cursors: Vec<Option<RunCursor>>,
    /// What the cursors hold: each run's first batch and its keys, reserved as it is added.
    reservation: MemoryReservation,
}

impl RunMerge {
    fn try_new(
        schema: &SchemaRef,
        keys: &[SortKey],
        reservation: MemoryReservation,
    ) -> Result<Self> {
        let fields = sort_fields(schema, keys);
        Ok(RunMerge {
            schema: Arc::clone(schema),
            keys: keys.to_vec(),
            converter: RowConverter::new(fields)?,
            cursors: Vec::new(),
            reservation,
        })
    }

    /// Adds the run `batches` if the pool grants its cursor (or whatever it takes when
    /// `needed`); whether it was added.
    fn try_add(
        &mut self,
        batches: impl Iterator<Item = Result<RecordBatch>> + Send + 'static,
        needed: bool,
    ) -> Result<bool> {
        let cursor = self.cursor(Box::new(batches))?;
        let size = cursor.as_ref().map_or(0, RunCursor::size);
        if needed {
            self.reservation.grow(size);
        } else if self.reservation.try_grow(size).is_err() {
            return Ok(false);
        }
        self.cursors.push(cursor);
        Ok(true)
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
                .map(|key| normalize_zeros(batch.column(key.column)))
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
        gather(&self.schema, &sources, &picks).map(Some)
    }
}

impl Iterator for RunMerge {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use arrow::array::{Int64Array, StringArray};
    use arrow::compute::SortOptions;
    use proptest::prelude::*;

    use super::*;

    /// One row's keys: a string (short, or sharing a prefix longer than [`PREFIX_BYTES`]) and
    /// an integer.
    type Keys = (Option<String>, Option<i64>);

    fn compare<T: Ord>(x: &Option<T>, y: &Option<T>, options: SortOptions) -> Ordering {
        match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) if options.nulls_first => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => compare(y, x, options).reverse(),
            (Some(x), Some(y)) if options.descending => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        }
    }

    proptest! {
        /// Strings alone, or strings and integers in either order and direction, NULLs first
        /// or last: the order matches a row-at-a-time sort, both when every encoded row fits
        /// in its prefix and when rows are longer and share long prefixes.
        #[test]
        fn sort_order_matches_a_row_at_a_time_sort(
            rows in prop::collection::vec(
                (
                    prop::option::weighted(0.9, prop_oneof![
                        "[ab]{0,3}",
                        "a shared prefix longer than the kept bytes [ab]{0,3}",
                    ]),
                    prop::option::weighted(0.9, -2i64..3),
                ),
                0..200,
            ),
            options in prop::collection::vec((any::<bool>(), any::<bool>()), 2),
            string_first in any::<bool>(),
            string_only in any::<bool>(),
        ) {
            let options: Vec<SortOptions> = options
                .into_iter()
                .map(|(descending, nulls_first)| SortOptions { descending, nulls_first })
                .collect();
            let strings: ArrayRef =
                Arc::new(rows.iter().map(|r| r.0.clone()).collect::<StringArray>());
            let integers: ArrayRef = Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>());
            let mut columns = vec![
                SortColumn { values: strings, options: Some(options[0]) },
                SortColumn { values: integers, options: Some(options[1]) },
            ];
            if string_only {
                columns.truncate(1);
            } else if !string_first {
                columns.reverse();
            }
            let compare_rows = |x: &Keys, y: &Keys| {
                let by_string = || compare(&x.0, &y.0, options[0]);
                let by_integer = || compare(&x.1, &y.1, options[1]);
                match (string_only, string_first) {
                    (true, _) => by_string(),
                    (false, true) => by_string().then_with(by_integer),
                    (false, false) => by_integer().then_with(by_string),
                }
            };
            let order = sort_order(&columns).unwrap();
            let sorted: Vec<&Keys> = order.values().iter().map(|&i| &rows[i as usize]).collect();
            let mut expected: Vec<&Keys> = rows.iter().collect();
            expected.sort_by(|x, y| compare_rows(x, y));
            prop_assert_eq!(order.len(), rows.len());
            for (got, want) in sorted.iter().zip(&expected) {
                prop_assert_eq!(compare_rows(got, want), Ordering::Equal, "{:?} for {:?}", got, want);
            }
            let mut seen: Vec<u32> = order.values().to_vec();
            seen.sort_unstable();
            seen.dedup();
            prop_assert_eq!(seen.len(), rows.len(), "every row once");
        }
    }
}
