//! [`WindowStream`]: the window operator over the sorted batches of one plan partition. Rows
//! are held until their window partition is complete, then evaluated with the other complete
//! partitions of the same input batch. A partition the memory pool will not hold is written to
//! a spill file instead and evaluated from there once complete ([`SpilledPartition`]).

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::row::{OwnedRow, RowConverter, SortField};
use rsql_rdd::{MemoryPool, MemoryReservation};

use super::frame::runs;
use super::spilled::SpilledPartition;
use super::{WindowExec, held_bytes};
use crate::error::Result;
use crate::operators::TARGET_BATCH_ROWS;
use crate::rows::normalize_zeros;
use crate::spill::SpillWriter;

/// The rows read so far of the window partition being read.
enum Current {
    /// Held in memory, `bytes` of them reserved.
    Held {
        batches: Vec<RecordBatch>,
        bytes: usize,
    },
    /// More than the pool grants: written to disk.
    Spilling(Box<SpillWriter>),
}

impl Default for Current {
    fn default() -> Self {
        Current::Held {
            batches: Vec::new(),
            bytes: 0,
        }
    }
}

/// Output not yet returned, in order.
enum Pending {
    Batch(RecordBatch),
    Spilled(Box<SpilledPartition>),
}

/// Evaluates `exec` over `sorted` batches of one plan partition (in
/// [`WindowExec::sort_keys`] order), holding what the memory pool grants and spilling a
/// window partition larger than that.
pub struct WindowStream<I> {
    exec: Arc<WindowExec>,
    input_schema: SchemaRef,
    sorted: I,
    pool: Arc<MemoryPool>,
    reservation: MemoryReservation,
    /// The `PARTITION BY` columns in row format; `None` without them.
    converter: Option<RowConverter>,
    /// The partition key of the last row read.
    key: Option<OwnedRow>,
    current: Current,
    /// Whole window partitions awaiting evaluation, and the bytes reserved for them.
    complete: Vec<RecordBatch>,
    complete_bytes: usize,
    pending: VecDeque<Pending>,
    /// The sorted batch being read, and how many of its rows are.
    input: (RecordBatch, usize),
    done: bool,
}

impl<I: Iterator<Item = Result<RecordBatch>>> WindowStream<I> {
    /// Windows over `sorted`, batches of `input_schema` in [`WindowExec::sort_keys`] order,
    /// within `pool`.
    pub fn try_new(
        exec: Arc<WindowExec>,
        input_schema: SchemaRef,
        sorted: I,
        pool: &Arc<MemoryPool>,
    ) -> Result<Self> {
        let converter = if exec.partition_columns.is_empty() {
            None
        } else {
            let fields = exec
                .partition_columns
                .iter()
                .map(|&c| SortField::new(input_schema.field(c).data_type().clone()))
                .collect();
            Some(RowConverter::new(fields)?)
        };
        Ok(WindowStream {
            exec,
            sorted,
            pool: Arc::clone(pool),
            reservation: pool.reservation("Window"),
            converter,
            key: None,
            current: Current::default(),
            complete: Vec::new(),
            complete_bytes: 0,
            pending: VecDeque::new(),
            input: (RecordBatch::new_empty(Arc::clone(&input_schema)), 0),
            input_schema,
            done: false,
        })
    }

    /// Reads `piece`, a non-empty run of sorted rows.
    fn push(&mut self, piece: &RecordBatch) -> Result<()> {
        let keys: Vec<ArrayRef> = self
            .exec
            .partition_columns
            .iter()
            .map(|&c| Arc::clone(piece.column(c)))
            .collect();
        let partitions = runs(&keys, piece.num_rows())?;
        let rows = match &self.converter {
            // -0.0 and 0.0 are one partition key, as `runs` has it.
            Some(converter) => {
                let keys: Vec<ArrayRef> = keys.iter().map(normalize_zeros).collect();
                Some(converter.convert_columns(&keys)?)
            }
            None => None,
        };
        let continues = match (&rows, &self.key) {
            (None, _) => true,
            (Some(rows), Some(key)) => rows.row(0) == key.row(),
            (Some(_), None) => false,
        };
        if !continues {
            self.end_partition()?;
        }
        let slice = |range: std::ops::Range<usize>| piece.slice(range.start, range.len());
        self.append(slice(partitions[0].clone()))?;
        if let [first, .., last] = partitions.as_slice() {
            self.end_partition()?;
            if first.end < last.start {
                // Whole partitions within the piece.
                self.complete.push(slice(first.end..last.start));
            }
            self.append(slice(last.clone()))?;
        }
        self.key = rows.map(|rows| rows.row(piece.num_rows() - 1).owned());
        Ok(())
    }

    /// Adds `rows` to the partition being read: held while the pool grants it (after
    /// evaluating what is complete), else spilled with what was held of it.
    fn append(&mut self, rows: RecordBatch) -> Result<()> {
        let size = held_bytes(&rows);
        match std::mem::take(&mut self.current) {
            Current::Spilling(mut writer) => {
                writer.write(&rows)?;
                self.current = Current::Spilling(writer);
            }
            Current::Held {
                mut batches,
                mut bytes,
            } => {
                let granted = self.reservation.try_grow(size).is_ok()
                    || (self.flush_complete()? && self.reservation.try_grow(size).is_ok());
                batches.push(rows);
                if granted {
                    bytes += size;
                    self.current = Current::Held { batches, bytes };
                } else {
                    let mut writer = SpillWriter::create(&self.pool, &self.input_schema)?;
                    for batch in &batches {
                        writer.write(batch)?;
                    }
                    self.reservation.shrink(bytes);
                    self.current = Current::Spilling(Box::new(writer));
                }
            }
        }
        Ok(())
    }

    /// The partition being read is complete: held for evaluation, or evaluated from its spill
    /// file after what came before it.
    fn end_partition(&mut self) -> Result<()> {
        match std::mem::take(&mut self.current) {
            Current::Held { batches, bytes } => {
                self.complete.extend(batches);
                self.complete_bytes += bytes;
            }
            Current::Spilling(writer) => {
                let file = writer.finish()?;
                self.flush_complete()?;
                let partition =
                    SpilledPartition::try_new(Arc::clone(&self.exec), &file, &self.pool)?;
                self.pending
                    .push_back(Pending::Spilled(Box::new(partition)));
            }
        }
        Ok(())
    }

    /// Evaluates the complete partitions held, as one batch; whether there were any.
    fn flush_complete(&mut self) -> Result<bool> {
        if self.complete.is_empty() {
            return Ok(false);
        }
        let batch = concat_batches(&self.input_schema, &std::mem::take(&mut self.complete))?;
        self.pending
            .push_back(Pending::Batch(self.exec.evaluate(&batch)?));
        self.reservation.shrink(self.complete_bytes);
        self.complete_bytes = 0;
        Ok(true)
    }

    /// Reads the next piece of at most [`TARGET_BATCH_ROWS`] sorted rows and evaluates the
    /// partitions it completes; at the end, completes the last partition.
    fn read(&mut self) -> Result<()> {
        let (batch, offset) = &mut self.input;
        if *offset == batch.num_rows() {
            match self.sorted.next().transpose()? {
                Some(next) => (*batch, *offset) = (next, 0),
                None => {
                    self.done = true;
                    self.end_partition()?;
                    self.flush_complete()?;
                }
            }
            return Ok(());
        }
        let rows = TARGET_BATCH_ROWS.min(batch.num_rows() - *offset);
        let piece = batch.slice(*offset, rows);
        *offset += rows;
        self.push(&piece)?;
        self.flush_complete()?;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            match self.pending.pop_front() {
                Some(Pending::Batch(batch)) => return Ok(Some(batch)),
                Some(Pending::Spilled(mut partition)) => {
                    if let Some(batch) = partition.next_batch()? {
                        self.pending.push_front(Pending::Spilled(partition));
                        return Ok(Some(batch));
                    }
                }
                None if self.done => return Ok(None),
                None => self.read()?,
            }
        }
    }
}

impl<I: Iterator<Item = Result<RecordBatch>>> Iterator for WindowStream<I> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}
