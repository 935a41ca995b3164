//! Window functions over the rows of one partition of a plan, sorted by the window's
//! `PARTITION BY` and then `ORDER BY` keys (the external sort does that, spilling past the
//! memory pool). Sorted batches are cut at window partition boundaries, and each batch of whole
//! window partitions is evaluated at once: every function is vectorised over the batch
//! ([`ranking`], [`offset`], [`aggregate`]), over the row ranges [`frame`] finds.

mod aggregate;
mod frame;
mod offset;
mod ranking;

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use rsql_plan::expr::{WindowFrame, WindowFunctionKind};
use rsql_plan::function::BuiltinWindowFunction;
use rsql_rdd::MemoryReservation;

pub use offset::FramePosition;
pub use ranking::Ranking;

use self::frame::{Layout, frames};
use crate::aggregate::AggregateUdf;
use crate::error::{Result, exec_err};
use crate::operators::SortKey;
use crate::rows::normalize_zeros;

/// One window function call of a [`WindowExec`].
#[derive(Debug, Clone)]
pub struct WindowCall {
    /// The function, as the logical plan names it.
    pub kind: WindowFunctionKind,
    /// The aggregate's implementation, for an aggregate.
    pub aggregate: Option<Arc<dyn AggregateUdf>>,
    /// Input columns holding the arguments that vary by row (`lag`'s value and default; an
    /// aggregate's arguments).
    pub input_columns: Vec<usize>,
    /// Types of those columns.
    pub argument_types: Vec<DataType>,
    /// The constant argument of `ntile`, `lag`, `lead` and `nth_value` (0 when none).
    pub constant: i64,
    /// The frame.
    pub frame: WindowFrame,
    /// `IGNORE NULLS`.
    pub ignore_nulls: bool,
    /// Name of the output column.
    pub name: String,
}

impl WindowCall {
    /// The function's values for every row of `batch`, laid out as `layout` says.
    fn evaluate(
        &self,
        batch: &RecordBatch,
        layout: &Layout,
        order_key: Option<(&ArrayRef, SortKey)>,
    ) -> Result<ArrayRef> {
        let args: Vec<ArrayRef> = self
            .input_columns
            .iter()
            .map(|&c| Arc::clone(batch.column(c)))
            .collect();
        let constant = self.constant;
        let count = || {
            u64::try_from(constant)
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    crate::error::ExecError::Execution(format!(
                        "{} expects a positive constant, not {constant}",
                        self.kind.name()
                    ))
                })
        };
        let value = || match args.first() {
            Some(value) => Ok(value),
            None => exec_err(format!("{} needs a value argument", self.kind.name())),
        };
        let frame_value = |position| {
            let frames = frames(&self.frame, layout, order_key)?;
            offset::frame_value(value()?, &frames, position, self.ignore_nulls)
        };
        use BuiltinWindowFunction as F;
        match &self.kind {
            WindowFunctionKind::Builtin(function) => match function {
                F::RowNumber => Ok(ranking::evaluate(Ranking::RowNumber, layout)),
                F::Rank => Ok(ranking::evaluate(Ranking::Rank, layout)),
                F::DenseRank => Ok(ranking::evaluate(Ranking::DenseRank, layout)),
                F::PercentRank => Ok(ranking::evaluate(Ranking::PercentRank, layout)),
                F::CumeDist => Ok(ranking::evaluate(Ranking::CumeDist, layout)),
                F::Ntile => Ok(ranking::evaluate(Ranking::Ntile(count()?), layout)),
                F::Lag | F::Lead => {
                    let offset = if *function == F::Lag {
                        constant.saturating_neg()
                    } else {
                        constant
                    };
                    offset::shift(value()?, args.get(1), layout, offset, self.ignore_nulls)
                }
                F::FirstValue => frame_value(FramePosition::First),
                F::LastValue => frame_value(FramePosition::Last),
                F::NthValue => frame_value(FramePosition::Nth(count()?)),
            },
            WindowFunctionKind::Aggregate { .. } => {
                let Some(function) = &self.aggregate else {
                    return exec_err(format!("no implementation of {}", self.kind.name()));
                };
                if self.frame.is_whole_partition() {
                    aggregate::whole_partition(function, &self.argument_types, &args, layout)
                } else {
                    let frames = frames(&self.frame, layout, order_key)?;
                    aggregate::over_frames(function, &self.argument_types, &args, &frames)
                }
            }
        }
    }
}

/// Window calls sharing one `PARTITION BY` and `ORDER BY`: they are evaluated over the same
/// sorted rows, and append their columns to the input's.
#[derive(Debug, Clone)]
pub struct WindowExec {
    /// The `PARTITION BY` columns of the input.
    pub partition_columns: Vec<usize>,
    /// The `ORDER BY` keys.
    pub order_keys: Vec<SortKey>,
    /// The calls, in output order.
    pub calls: Vec<WindowCall>,
    /// Input columns then one column per call.
    pub schema: SchemaRef,
}

impl WindowExec {
    /// The sort that brings the rows of each window partition together, in order.
    pub fn sort_keys(&self) -> Vec<SortKey> {
        self.partition_columns
            .iter()
            .map(|&column| SortKey {
                column,
                descending: false,
                nulls_first: true,
            })
            .chain(self.order_keys.iter().copied())
            .collect()
    }

    /// `batch` (whole window partitions, sorted by [`Self::sort_keys`]) with the calls'
    /// columns appended.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let columns = |keys: &mut dyn Iterator<Item = usize>| -> Vec<ArrayRef> {
            keys.map(|c| Arc::clone(batch.column(c))).collect()
        };
        let partition_keys = columns(&mut self.partition_columns.iter().copied());
        let order_keys = columns(&mut self.order_keys.iter().map(|k| k.column));
        let layout = Layout::new(&partition_keys, &order_keys, batch.num_rows())?;
        let order_key = match (order_keys.as_slice(), self.order_keys.as_slice()) {
            ([values], [key]) => Some((values, *key)),
            _ => None,
        };
        let mut output = batch.columns().to_vec();
        for call in &self.calls {
            output.push(call.evaluate(batch, &layout, order_key)?);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), output)?)
    }
}

/// Evaluates `exec` over `sorted` batches of one plan partition: rows are held until their
/// window partition is complete (within `reservation`, which fails the query past the memory
/// limit), then every complete window partition held is evaluated as one batch.
pub struct WindowStream<I> {
    exec: Arc<WindowExec>,
    input_schema: SchemaRef,
    sorted: I,
    held: Vec<RecordBatch>,
    converter: Option<RowConverter>,
    reservation: MemoryReservation,
    done: bool,
}

impl<I: Iterator<Item = Result<RecordBatch>>> WindowStream<I> {
    /// Windows over `sorted`, batches of `input_schema` in [`WindowExec::sort_keys`] order.
    pub fn try_new(
        exec: Arc<WindowExec>,
        input_schema: SchemaRef,
        sorted: I,
        reservation: MemoryReservation,
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
            input_schema,
            sorted,
            held: Vec::new(),
            converter,
            reservation,
            done: false,
        })
    }

    /// Where the last window partition of `batch` starts, when it differs from the one held
    /// before it (so everything before that row is complete).
    fn last_partition_start(&self, batch: &RecordBatch) -> Result<Option<usize>> {
        let Some(converter) = &self.converter else {
            return Ok(None);
        };
        let keys = |batch: &RecordBatch| -> Vec<ArrayRef> {
            self.exec
                .partition_columns
                .iter()
                .map(|&c| normalize_zeros(batch.column(c)))
                .collect()
        };
        let rows = converter.convert_columns(&keys(batch))?;
        let last = rows.row(batch.num_rows() - 1);
        let mut start = batch.num_rows() - 1;
        while start > 0 && rows.row(start - 1) == last {
            start -= 1;
        }
        if start > 0 {
            return Ok(Some(start));
        }
        // The whole batch is one window partition: complete what was held if it differs.
        let Some(previous) = self.held.last() else {
            return Ok(None);
        };
        let before = converter.convert_columns(&keys(previous))?;
        let differs = before.row(previous.num_rows() - 1) != last;
        Ok(differs.then_some(0))
    }

    /// Evaluates the held batches plus `head`, holding `tail` afterwards.
    fn flush(
        &mut self,
        head: Option<RecordBatch>,
        tail: Option<RecordBatch>,
    ) -> Result<Option<RecordBatch>> {
        let mut complete = std::mem::take(&mut self.held);
        complete.extend(head.filter(|b| b.num_rows() > 0));
        self.reservation.free();
        if let Some(tail) = tail.filter(|b| b.num_rows() > 0) {
            self.reservation.try_grow(tail.get_array_memory_size())?;
            self.held.push(tail);
        }
        if complete.is_empty() {
            return Ok(None);
        }
        let batch = concat_batches(&self.input_schema, &complete)?;
        drop(complete);
        self.exec.evaluate(&batch).map(Some)
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        while !self.done {
            let Some(batch) = self.sorted.next().transpose()? else {
                self.done = true;
                break;
            };
            if batch.num_rows() == 0 {
                continue;
            }
            match self.last_partition_start(&batch)? {
                Some(start) => {
                    let head = batch.slice(0, start);
                    let tail = batch.slice(start, batch.num_rows() - start);
                    if let Some(out) = self.flush(Some(head), Some(tail))? {
                        return Ok(Some(out));
                    }
                }
                None => {
                    self.reservation.try_grow(batch.get_array_memory_size())?;
                    self.held.push(batch);
                }
            }
        }
        self.flush(None, None)
    }
}

impl<I: Iterator<Item = Result<RecordBatch>>> Iterator for WindowStream<I> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}
