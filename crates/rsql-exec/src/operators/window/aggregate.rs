//! Aggregates over window frames, with any [`AggregateUdf`] through its group accumulator:
//!
//! - a frame that is the whole partition: one pass with the partition as the group, the value
//!   repeated to its rows;
//! - any other frame (running, sliding `ROWS`, `RANGE`): a segment tree of partial states, as
//!   DuckDB evaluates windows. Level 0 holds each row's state, level `k + 1` the merge of pairs
//!   of level `k`; each row's frame is the merge of at most two nodes per level. Every level is
//!   built and read with one vectorised `merge_batch` call, so a batch of `n` rows costs
//!   O(n log n) merged states whatever the frames' sizes, never O(n × frame).

use std::sync::Arc;

use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::DataType;

use super::frame::{Frames, Layout};
use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::Result;

/// Frames whose tree nodes are picked and merged at once: bounds the picks' memory (a running
/// frame over millions of rows picks about twelve nodes a row).
const FRAMES_PER_CHUNK: usize = 65_536;

/// `function` over the whole partition of every row.
pub fn whole_partition(
    function: &Arc<dyn AggregateUdf>,
    argument_types: &[DataType],
    args: &[ArrayRef],
    layout: &Layout,
) -> Result<ArrayRef> {
    let mut accumulator = function.accumulator(argument_types)?;
    let groups = layout.partitions.len();
    accumulator.update_batch(args, &layout.partition_of, groups)?;
    let values = accumulator.evaluate(groups)?;
    let indices = UInt32Array::from_iter_values(layout.partition_of.iter().map(|&p| p as u32));
    Ok(take(values.as_ref(), &indices, None)?)
}

/// Gathers `rows` of every state column.
fn take_states(states: &[ArrayRef], rows: &[u32]) -> Result<Vec<ArrayRef>> {
    let indices = UInt32Array::from_iter_values(rows.iter().copied());
    states
        .iter()
        .map(|state| Ok(take(state.as_ref(), &indices, None)?))
        .collect()
}

/// `function` over each frame of `frames` (ranges of the `rows` rows of `args`), each frame's
/// rows preceded by `prefix` when given: the one-group partial state of the rows before
/// `args` (the rows of a running frame already let go of).
pub fn over_frames(
    function: &Arc<dyn AggregateUdf>,
    argument_types: &[DataType],
    args: &[ArrayRef],
    rows: usize,
    frames: &Frames,
    prefix: Option<&[ArrayRef]>,
) -> Result<ArrayRef> {
    let outputs = frames.starts.len();
    // The levels of the tree: each node's partial state.
    let mut builder: Box<dyn GroupsAccumulator> = function.accumulator(argument_types)?;
    let identity: Vec<usize> = (0..rows).collect();
    builder.update_batch(args, &identity, rows)?;
    let mut levels: Vec<Vec<ArrayRef>> = vec![builder.state(rows)?];
    let mut width = rows;
    while width > 1 {
        let parents: Vec<usize> = (0..width).map(|i| i / 2).collect();
        let next = width.div_ceil(2);
        let below = levels.last().map(Vec::as_slice).unwrap_or_default();
        builder.merge_batch(below, &parents, next)?;
        levels.push(builder.state(next)?);
        width = next;
    }
    // Each frame as at most two nodes per level: one on its left edge, one on its right.
    // Left-edge nodes lie left to right as their level rises, right-edge nodes right to left,
    // so merging the left ones bottom-up and then the right ones top-down keeps the frame's
    // rows in order, which order-sensitive aggregates (`string_agg`, `first`) rely on. The
    // frames are resolved a chunk of rows at a time, so the picks stay small however many
    // rows the partition has.
    let mut result = function.accumulator(argument_types)?;
    for chunk_start in (0..outputs).step_by(FRAMES_PER_CHUNK) {
        let chunk = chunk_start..(chunk_start + FRAMES_PER_CHUNK).min(outputs);
        if let Some(prefix) = prefix {
            let rows: Vec<usize> = chunk.clone().collect();
            result.merge_batch(&take_states(prefix, &vec![0; rows.len()])?, &rows, outputs)?;
        }
        let mut left_picks = vec![LevelPicks::default(); levels.len()];
        let mut right_picks = vec![LevelPicks::default(); levels.len()];
        for row in chunk {
            let (mut low, mut high, mut level) = (frames.starts[row], frames.ends[row], 0);
            while low < high {
                if low % 2 == 1 {
                    left_picks[level].push(low, row);
                    low += 1;
                }
                if high % 2 == 1 {
                    high -= 1;
                    right_picks[level].push(high, row);
                }
                low /= 2;
                high /= 2;
                level += 1;
            }
        }
        let left_to_right = levels
            .iter()
            .zip(&left_picks)
            .chain(levels.iter().zip(&right_picks).rev());
        for (states, picks) in left_to_right {
            if picks.nodes.is_empty() {
                continue;
            }
            result.merge_batch(&take_states(states, &picks.nodes)?, &picks.rows, outputs)?;
        }
    }
    result.evaluate(outputs)
}

/// The one-group partial state of `prefix` (if any) followed by the `rows` rows of `args`.
pub fn fold(
    function: &Arc<dyn AggregateUdf>,
    argument_types: &[DataType],
    prefix: Option<&[ArrayRef]>,
    args: &[ArrayRef],
    rows: usize,
) -> Result<Vec<ArrayRef>> {
    let mut accumulator = function.accumulator(argument_types)?;
    if let Some(prefix) = prefix {
        accumulator.merge_batch(prefix, &[0], 1)?;
    }
    accumulator.update_batch(args, &vec![0; rows], 1)?;
    accumulator.state(1)
}

/// `value`, an array of one element, repeated `rows` times.
pub fn repeat(value: &ArrayRef, rows: usize) -> Result<ArrayRef> {
    let indices = UInt32Array::from(vec![0; rows]);
    Ok(take(value.as_ref(), &indices, None)?)
}

/// The tree nodes one level contributes to frames, and the row each frame belongs to.
#[derive(Clone, Default)]
struct LevelPicks {
    nodes: Vec<u32>,
    rows: Vec<usize>,
}

impl LevelPicks {
    fn push(&mut self, node: usize, row: usize) {
        self.nodes.push(node as u32);
        self.rows.push(row);
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::Int64Type;

    use super::*;
    use crate::aggregate::builtin_aggregates;

    /// Frames spanning several chunks of picks: running and sliding sums over more rows than
    /// one chunk resolves, against sums computed row by row.
    #[test]
    fn frames_over_many_chunks_match_sums_row_by_row() {
        let sum = builtin_aggregates()
            .into_iter()
            .find(|f| f.name() == "sum")
            .unwrap();
        let rows = FRAMES_PER_CHUNK * 2 + 123;
        let values: Vec<i64> = (0..rows as i64).map(|i| (i * 7919) % 101 - 50).collect();
        let args: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(values.clone()))];
        let frames_of = |start: &dyn Fn(usize) -> usize| Frames {
            starts: (0..rows).map(start).collect(),
            ends: (0..rows).map(|row| (row + 3).min(rows)).collect(),
        };
        for frames in [
            frames_of(&|_| 0),
            frames_of(&|row| row.saturating_sub(1000)),
        ] {
            let result = over_frames(&sum, &[DataType::Int64], &args, rows, &frames, None).unwrap();
            let result = result.as_primitive::<Int64Type>();
            // prefix[i]: the sum of the first i values, added one by one.
            let mut prefix = vec![0i64];
            for value in &values {
                prefix.push(prefix.last().unwrap() + value);
            }
            for row in 0..rows {
                let expected = prefix[frames.ends[row]] - prefix[frames.starts[row]];
                assert_eq!(result.value(row), expected, "row {row}");
            }
        }
    }
}
