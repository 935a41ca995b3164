//! A window partition larger than the memory pool grants, evaluated from its spill file a
//! window of rows at a time. The rows held are the partition's rows `first_row..`: rows already
//! evaluated that later rows still read (a frame's start, a peer group's first row, `lag`'s
//! rows), then rows waiting for rows not read yet (a frame's end, a peer group's last row,
//! `lead`'s rows). Each batch read from the file is appended, every row whose inputs are all
//! held is evaluated with the same vectorised code as whole partitions, and rows no longer read
//! are let go of. Per function:
//!
//! | function | held besides the batch read |
//! |---|---|
//! | `row_number`, `ntile`, `dense_rank` | nothing (`ntile` reads the partition's size, known from the file) |
//! | `rank`, `percent_rank` | the current peer group |
//! | `cume_dist` | the current peer group (up to its last row) |
//! | `lag(x, k)`, `lead(x, k)` | `k` rows |
//! | aggregates over the whole partition | nothing: a first pass over the file computes them |
//! | aggregates from `UNBOUNDED PRECEDING` (running totals) | the frames' ends; the rows let go of are folded into one partial state |
//! | aggregates, `first_value`, `last_value`, `nth_value` over other `ROWS` and `RANGE` frames | each frame |
//!
//! Frames that end at `UNBOUNDED FOLLOWING` (but for whole-partition aggregates), `first_value`
//! and `nth_value` from `UNBOUNDED PRECEDING`, and `lag`/`lead` with `IGNORE NULLS` read the
//! whole partition: it is then held whole, and fails past the memory limit.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::concat_batches;
use rsql_plan::expr::{FrameBound, WindowFunctionKind};
use rsql_rdd::{MemoryPool, MemoryReservation};

use super::frame::{Frames, Layout};
use super::ranking::Span;
use super::{Placement, Ranking, WindowCall, WindowExec, aggregate, held_bytes};
use crate::error::Result;
use crate::spill::SpillFile;

/// What an aggregate call carries across the windows of rows of one partition.
pub enum AggregateState {
    /// Nothing: its frames lie within the rows held.
    Framed,
    /// Its frames start at the partition's first row: the partial state of the rows let go
    /// of, `None` before any.
    Prefix(Option<Vec<ArrayRef>>),
    /// Its frame is the whole partition: the value, from a first pass over the file.
    Whole(ArrayRef),
}

/// Which rows around its own a call reads.
#[derive(Debug, Clone, Copy)]
enum Reach {
    /// Only its own row.
    Own,
    /// Its peer group, from the group's first row.
    PeerStart,
    /// Its peer group, up to the group's last row.
    PeerEnd,
    /// The row this many rows before.
    Back(usize),
    /// The row this many rows after.
    Ahead(usize),
    /// Every row of the partition.
    Everything,
    /// Its frame; `from_start` when the rows from the frame's start must be held (not when a
    /// running aggregate's prefix state stands for them).
    Frame { from_start: bool },
}

impl Reach {
    /// The reach of `call`, carrying `state`.
    fn of(call: &WindowCall, state: &AggregateState) -> Result<Self> {
        if let Some(ranking) = call.ranking()? {
            return Ok(match ranking {
                Ranking::RowNumber | Ranking::Ntile(_) | Ranking::DenseRank => Reach::Own,
                Ranking::Rank | Ranking::PercentRank => Reach::PeerStart,
                Ranking::CumeDist => Reach::PeerEnd,
            });
        }
        if let Some(shift) = call.shift() {
            let distance = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
            return Ok(match (call.ignore_nulls, shift < 0) {
                (true, _) => Reach::Everything,
                (false, true) => Reach::Back(distance),
                (false, false) => Reach::Ahead(distance),
            });
        }
        Ok(match (&call.kind, state) {
            (WindowFunctionKind::Aggregate { .. }, AggregateState::Whole(_)) => Reach::Own,
            (WindowFunctionKind::Aggregate { .. }, AggregateState::Prefix(_)) => {
                Reach::Frame { from_start: false }
            }
            _ => Reach::Frame { from_start: true },
        })
    }

    /// Whether row `row`'s value can be computed from the `rows` rows held (more may follow).
    fn ready(self, row: usize, rows: usize, layout: &Layout, frames: Option<&Frames>) -> bool {
        match self {
            Reach::Own | Reach::PeerStart | Reach::Back(_) => true,
            Reach::PeerEnd => layout.peers[layout.peer_of[row]].end < rows,
            Reach::Ahead(distance) => row.saturating_add(distance) < rows,
            Reach::Everything => false,
            // An end before the last row held is where the frame ends, not where rows do.
            Reach::Frame { .. } => frames.is_some_and(|f| f.ends[row] < rows),
        }
    }

    /// The first row held that row `row` (and so every later row) still reads.
    fn keeps_from(self, row: usize, layout: &Layout, frames: Option<&Frames>) -> usize {
        match self {
            Reach::Own | Reach::PeerEnd | Reach::Ahead(_) | Reach::Frame { from_start: false } => {
                row
            }
            Reach::PeerStart => layout.peers[layout.peer_of[row]].start,
            Reach::Back(distance) => row.saturating_sub(distance),
            Reach::Everything => 0,
            Reach::Frame { from_start: true } => frames.map_or(0, |f| f.starts[row].min(row)),
        }
    }
}

/// The windowed rows of one spilled window partition, batch by batch.
pub struct SpilledPartition {
    exec: Arc<WindowExec>,
    batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
    /// The partition's rows.
    size: usize,
    /// The rows held: the partition's rows `first_row..`.
    held: Option<RecordBatch>,
    first_row: usize,
    /// Peer groups that end before `first_row`.
    groups_before: usize,
    /// The partition's rows evaluated.
    emitted: usize,
    /// Per call.
    states: Vec<AggregateState>,
    reaches: Vec<Reach>,
    reservation: MemoryReservation,
    /// The largest batch read, in bytes.
    batch_bytes: usize,
    finished: bool,
}

impl SpilledPartition {
    /// Evaluates `exec` over the partition in `file`, holding rows within `pool`.
    pub fn try_new(
        exec: Arc<WindowExec>,
        file: &SpillFile,
        pool: &Arc<MemoryPool>,
    ) -> Result<Self> {
        let mut states = whole_partition_values(&exec.calls, file)?;
        for (call, state) in exec.calls.iter().zip(&mut states) {
            let running = call.frame.start == FrameBound::UnboundedPreceding;
            if matches!(state, AggregateState::Framed) && call.aggregate.is_some() && running {
                *state = AggregateState::Prefix(None);
            }
        }
        let reaches = exec
            .calls
            .iter()
            .zip(&states)
            .map(|(call, state)| Reach::of(call, state))
            .collect::<Result<_>>()?;
        Ok(SpilledPartition {
            exec,
            batches: Box::new(file.read()?),
            size: file.rows(),
            held: None,
            first_row: 0,
            groups_before: 0,
            emitted: 0,
            states,
            reaches,
            reservation: pool.reservation("Window"),
            batch_bytes: 0,
            finished: false,
        })
    }

    /// The next rows evaluated, `None` after the partition's last.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        while !self.finished {
            let incoming = self.batches.next().transpose()?;
            let complete = incoming.is_none();
            self.finished = complete;
            let incoming = incoming.filter(|b| b.num_rows() > 0);
            self.batch_bytes = self
                .batch_bytes
                .max(incoming.as_ref().map_or(0, held_bytes));
            let parts: Vec<RecordBatch> = self.held.take().into_iter().chain(incoming).collect();
            let rows = match parts.as_slice() {
                [] => continue,
                [only] => only.clone(),
                [first, ..] => concat_batches(&first.schema(), &parts)?,
            };
            drop(parts);
            self.reserve(held_bytes(&rows))?;
            if let Some(output) = self.step(&rows, complete)? {
                return Ok(Some(output));
            }
        }
        Ok(None)
    }

    /// Holds `bytes` for the rows held: within the pool, or past its limit by what it takes
    /// to make progress (two of the largest batches read: one read, one held before it) when
    /// others hold the rest. Rows that cannot be let go of beyond that fail the query.
    fn reserve(&mut self, bytes: usize) -> Result<()> {
        if self.reservation.try_resize(bytes).is_err() {
            if bytes > 2 * self.batch_bytes {
                self.reservation.try_resize(bytes)?;
            }
            self.reservation.grow(bytes - self.reservation.size());
        }
        Ok(())
    }

    /// Evaluates the rows of `held` (the partition's rows `first_row..`) that are ready (all
    /// of them when the partition is `complete`), and keeps the rows still read.
    fn step(&mut self, held: &RecordBatch, complete: bool) -> Result<Option<RecordBatch>> {
        let rows = held.num_rows();
        let (layout, order_key) = self.exec.layout(held, false)?;
        let order_key = order_key.as_ref().map(|(values, key)| (values, *key));
        let frames = self
            .exec
            .calls
            .iter()
            .map(|call| call.frames(&layout, order_key))
            .collect::<Result<Vec<_>>>()?;
        let pending = self.emitted - self.first_row;
        let is_ready = |row: usize| {
            self.reaches
                .iter()
                .zip(&frames)
                .all(|(reach, frames)| reach.ready(row, rows, &layout, frames.as_ref()))
        };
        let ready = match complete {
            true => rows,
            false => (pending..rows).find(|&row| !is_ready(row)).unwrap_or(rows),
        };
        let output = if ready > pending {
            Some(self.evaluate(held, &layout, &frames, pending..ready)?)
        } else {
            None
        };
        // What the first row not evaluated (or the last row held) reads is kept.
        let next = ready.min(rows - 1);
        let keep = self
            .reaches
            .iter()
            .zip(&frames)
            .map(|(reach, frames)| reach.keeps_from(next, &layout, frames.as_ref()))
            .fold(ready, usize::min);
        self.emitted = self.first_row + ready;
        self.let_go(held, &layout, keep)?;
        Ok(output)
    }

    /// The rows `range` of `held`, with the calls' values.
    fn evaluate(
        &self,
        held: &RecordBatch,
        layout: &Layout,
        frames: &[Option<Frames>],
        range: std::ops::Range<usize>,
    ) -> Result<RecordBatch> {
        let span = Span {
            first_row: self.first_row,
            groups_before: self.groups_before,
            size: self.size,
        };
        let mut columns: Vec<ArrayRef> = held
            .columns()
            .iter()
            .map(|c| c.slice(range.start, range.len()))
            .collect();
        for ((call, state), frames) in self.exec.calls.iter().zip(&self.states).zip(frames) {
            let placement = Placement::Window {
                span,
                aggregate: state,
            };
            columns.push(call.evaluate(
                held,
                layout,
                frames.as_ref(),
                &placement,
                range.clone(),
            )?);
        }
        Ok(RecordBatch::try_new(
            Arc::clone(&self.exec.schema),
            columns,
        )?)
    }

    /// Lets go of the rows of `held` before `keep`, folding them into running aggregates'
    /// states.
    fn let_go(&mut self, held: &RecordBatch, layout: &Layout, keep: usize) -> Result<()> {
        let rows = held.num_rows();
        if keep > 0 {
            let gone = held.slice(0, keep);
            for (call, state) in self.exec.calls.iter().zip(&mut self.states) {
                if let AggregateState::Prefix(prefix) = state {
                    let args = call.arguments(&gone);
                    let function = call.aggregate()?;
                    let types = &call.argument_types;
                    *prefix = Some(aggregate::fold(
                        function,
                        types,
                        prefix.as_deref(),
                        &args,
                        keep,
                    )?);
                }
            }
            self.groups_before += layout
                .peer_of
                .get(keep)
                .copied()
                .unwrap_or(layout.peers.len());
            self.first_row += keep;
        }
        self.held = (keep < rows).then(|| held.slice(keep, rows - keep));
        let bytes = self.held.as_ref().map_or(0, held_bytes);
        self.reservation.try_resize(bytes)?;
        Ok(())
    }
}

/// Per call, [`AggregateState::Whole`] with its value for an aggregate over the whole
/// partition (one pass over `file` for all of them), else [`AggregateState::Framed`].
fn whole_partition_values(calls: &[WindowCall], file: &SpillFile) -> Result<Vec<AggregateState>> {
    let whole = |call: &WindowCall| call.aggregate.is_some() && !call.reads_frames();
    let mut accumulators = calls
        .iter()
        .map(|call| match (whole(call), &call.aggregate) {
            (true, Some(function)) => function.accumulator(&call.argument_types).map(Some),
            _ => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    if accumulators.iter().any(Option::is_some) {
        for batch in file.read()? {
            let batch = batch?;
            let groups = vec![0; batch.num_rows()];
            for (call, accumulator) in calls.iter().zip(&mut accumulators) {
                if let Some(accumulator) = accumulator {
                    accumulator.update_batch(&call.arguments(&batch), &groups, 1)?;
                }
            }
        }
    }
    accumulators
        .into_iter()
        .map(|accumulator| match accumulator {
            Some(mut accumulator) => Ok(AggregateState::Whole(accumulator.evaluate(1)?)),
            None => Ok(AggregateState::Framed),
        })
        .collect()
}
