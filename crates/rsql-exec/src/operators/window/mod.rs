//! Window functions over the rows of one partition of a plan, sorted by the window's
//! `PARTITION BY` and then `ORDER BY` keys (the external sort does that, spilling past the
//! memory pool). [`WindowStream`] cuts the sorted batches at window partition boundaries and
//! evaluates batches of whole window partitions at once: every function is vectorised over the
//! batch ([`ranking`], [`offset`], [`aggregate`]), over the row ranges [`frame`] finds. A window
//! partition larger than the pool grants is spilled and evaluated from disk a window of rows at
//! a time ([`spilled`]). Below a window whose ranks are bounded, [`group_limit`] keeps only the
//! rows of each window partition that could pass the bound.

mod aggregate;
mod frame;
mod group_limit;
mod offset;
mod ranking;
mod spilled;
mod stream;

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use rsql_plan::expr::{WindowFrame, WindowFunctionKind};
use rsql_plan::function::BuiltinWindowFunction;

pub use group_limit::{GroupLimit, GroupLimitStream};
pub use offset::FramePosition;
pub use ranking::Ranking;
pub use stream::WindowStream;

use self::frame::{Frames, Layout, frames};
use self::ranking::Span;
use self::spilled::AggregateState;
use crate::aggregate::AggregateUdf;
use crate::error::{ExecError, Result, exec_err};
use crate::operators::SortKey;

/// The bytes of the rows of `batch`: only the slice of buffers a sliced batch uses (a batch
/// read from a spill file shares one buffer among its columns).
fn held_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|column| {
            column
                .to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| column.get_array_memory_size())
        })
        .sum()
}

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

/// How the rows handed to [`WindowCall::evaluate`] lie in their window partitions.
enum Placement<'a> {
    /// The batch holds whole partitions.
    Whole,
    /// The batch is a window of rows onto one partition held on disk: where it lies, and the
    /// call's aggregate state carried from the rows before it.
    Window {
        span: Span,
        aggregate: &'a AggregateState,
    },
}

impl WindowCall {
    /// The columns of `batch` holding the call's row arguments.
    fn arguments(&self, batch: &RecordBatch) -> Vec<ArrayRef> {
        self.input_columns
            .iter()
            .map(|&c| Arc::clone(batch.column(c)))
            .collect()
    }

    /// The constant argument as a count (`ntile`'s buckets, `nth_value`'s position).
    fn positive_constant(&self) -> Result<u64> {
        u64::try_from(self.constant)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                ExecError::Execution(format!(
                    "{} expects a positive constant, not {}",
                    self.kind.name(),
                    self.constant
                ))
            })
    }

    /// The ranking function, for one.
    fn ranking(&self) -> Result<Option<Ranking>> {
        use BuiltinWindowFunction as F;
        Ok(match &self.kind {
            WindowFunctionKind::Builtin(F::RowNumber) => Some(Ranking::RowNumber),
            WindowFunctionKind::Builtin(F::Rank) => Some(Ranking::Rank),
            WindowFunctionKind::Builtin(F::DenseRank) => Some(Ranking::DenseRank),
            WindowFunctionKind::Builtin(F::PercentRank) => Some(Ranking::PercentRank),
            WindowFunctionKind::Builtin(F::CumeDist) => Some(Ranking::CumeDist),
            WindowFunctionKind::Builtin(F::Ntile) => {
                Some(Ranking::Ntile(self.positive_constant()?))
            }
            _ => None,
        })
    }

    /// How far `lag` (negative) or `lead` (positive) looks, for one of them.
    fn shift(&self) -> Option<i64> {
        match &self.kind {
            WindowFunctionKind::Builtin(BuiltinWindowFunction::Lag) => {
                Some(self.constant.saturating_neg())
            }
            WindowFunctionKind::Builtin(BuiltinWindowFunction::Lead) => Some(self.constant),
            _ => None,
        }
    }

    /// Whether the call reads its frame: `first_value`, `last_value`, `nth_value`, and
    /// aggregates over less than the whole partition.
    fn reads_frames(&self) -> bool {
        match &self.kind {
            WindowFunctionKind::Builtin(function) => matches!(
                function,
                BuiltinWindowFunction::FirstValue
                    | BuiltinWindowFunction::LastValue
                    | BuiltinWindowFunction::NthValue
            ),
            WindowFunctionKind::Aggregate { .. } => !self.frame.is_whole_partition(),
        }
    }

    /// The frames of every row of `layout`, for a call that [reads them](Self::reads_frames).
    fn frames(
        &self,
        layout: &Layout,
        order_key: Option<(&ArrayRef, SortKey)>,
    ) -> Result<Option<Frames>> {
        if !self.reads_frames() {
            return Ok(None);
        }
        frames(&self.frame, layout, order_key).map(Some)
    }

    /// The aggregate's implementation, for an aggregate.
    fn aggregate(&self) -> Result<&Arc<dyn AggregateUdf>> {
        match &self.aggregate {
            Some(function) => Ok(function),
            None => exec_err(format!("no implementation of {}", self.kind.name())),
        }
    }

    /// The function's values for `rows` of `batch`, laid out as `layout` says and placed in
    /// their partitions as `placement` says; `frames` are the call's [frames](Self::frames).
    fn evaluate(
        &self,
        batch: &RecordBatch,
        layout: &Layout,
        frames: Option<&Frames>,
        placement: &Placement,
        rows: Range<usize>,
    ) -> Result<ArrayRef> {
        let args = self.arguments(batch);
        let span = match placement {
            Placement::Whole => None,
            Placement::Window { span, .. } => Some(*span),
        };
        if let Some(ranking) = self.ranking()? {
            return Ok(ranking::evaluate(ranking, layout, span, rows));
        }
        let value = || match args.first() {
            Some(value) => Ok(value),
            None => exec_err(format!("{} needs a value argument", self.kind.name())),
        };
        if let Some(shift) = self.shift() {
            let values = offset::shift(value()?, args.get(1), layout, shift, self.ignore_nulls)?;
            return Ok(values.slice(rows.start, rows.len()));
        }
        let frames = frames.map(|f| f.slice(rows.clone())).unwrap_or_default();
        use BuiltinWindowFunction as F;
        let position = match &self.kind {
            WindowFunctionKind::Builtin(F::FirstValue) => Some(FramePosition::First),
            WindowFunctionKind::Builtin(F::LastValue) => Some(FramePosition::Last),
            WindowFunctionKind::Builtin(F::NthValue) => {
                Some(FramePosition::Nth(self.positive_constant()?))
            }
            _ => None,
        };
        if let Some(position) = position {
            return offset::frame_value(value()?, &frames, position, self.ignore_nulls);
        }
        let function = self.aggregate()?;
        let types = &self.argument_types;
        match placement {
            Placement::Whole if !self.reads_frames() => {
                aggregate::whole_partition(function, types, &args, layout)
            }
            Placement::Window {
                aggregate: AggregateState::Whole(value),
                ..
            } => aggregate::repeat(value, rows.len()),
            Placement::Window {
                aggregate: AggregateState::Prefix(prefix),
                ..
            } => {
                let prefix = prefix.as_deref();
                aggregate::over_frames(function, types, &args, layout.rows(), &frames, prefix)
            }
            _ => aggregate::over_frames(function, types, &args, layout.rows(), &frames, None),
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

    /// The layout of `batch`: its window partitions (one when not `partitioned`, for a window
    /// of rows onto one partition) and peer groups, and the values of the `ORDER BY` key when
    /// there is exactly one (`RANGE` frames with offsets read them).
    fn layout(
        &self,
        batch: &RecordBatch,
        partitioned: bool,
    ) -> Result<(Layout, Option<(ArrayRef, SortKey)>)> {
        let partition_keys: Vec<ArrayRef> = match partitioned {
            true => self
                .partition_columns
                .iter()
                .map(|&c| Arc::clone(batch.column(c)))
                .collect(),
            false => Vec::new(),
        };
        let order_keys: Vec<ArrayRef> = self
            .order_keys
            .iter()
            .map(|k| Arc::clone(batch.column(k.column)))
            .collect();
        let layout = Layout::new(&partition_keys, &order_keys, batch.num_rows())?;
        let order_key = match (order_keys.as_slice(), self.order_keys.as_slice()) {
            ([values], [key]) => Some((Arc::clone(values), *key)),
            _ => None,
        };
        Ok((layout, order_key))
    }

    /// `batch` (whole window partitions, sorted by [`Self::sort_keys`]) with the calls'
    /// columns appended.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let (layout, order_key) = self.layout(batch, true)?;
        let order_key = order_key.as_ref().map(|(values, key)| (values, *key));
        let mut output = batch.columns().to_vec();
        for call in &self.calls {
            let frames = call.frames(&layout, order_key)?;
            let rows = 0..batch.num_rows();
            output.push(call.evaluate(batch, &layout, frames.as_ref(), &Placement::Whole, rows)?);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), output)?)
    }
}
