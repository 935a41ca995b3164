//! Offset functions: `lag`, `lead`, `first_value`, `last_value`, `nth_value`. Each row's
//! source row is found first (an index, or none), then all values are gathered with one `take`.
//! With `IGNORE NULLS`, offsets count only rows whose value is not NULL.

use arrow::array::{Array, ArrayRef, UInt64Array};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{is_null, take};

use super::frame::{Frames, Layout};
use crate::error::Result;

/// Which row of its frame a frame value function reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramePosition {
    /// `first_value`.
    First,
    /// `last_value`.
    Last,
    /// `nth_value(x, n)`: the `n`-th row, from 1.
    Nth(u64),
}

/// The rows whose value is not NULL, and per row how many of them come before it.
struct NonNull {
    positions: Vec<usize>,
    /// `before[i]`: the non-NULL rows before row `i` (one entry more than rows).
    before: Vec<usize>,
}

impl NonNull {
    fn new(values: &dyn Array) -> Self {
        let mut positions = Vec::new();
        let mut before = Vec::with_capacity(values.len() + 1);
        for i in 0..values.len() {
            before.push(positions.len());
            if values.is_valid(i) {
                positions.push(i);
            }
        }
        before.push(positions.len());
        NonNull { positions, before }
    }
}

/// `values` taken at `indices` (NULL where there is none), with `default` there instead if
/// given.
fn gather(
    values: &ArrayRef,
    indices: Vec<Option<u64>>,
    default: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    let indices = UInt64Array::from(indices);
    let taken = take(values.as_ref(), &indices, None)?;
    Ok(match default {
        Some(default) if indices.null_count() > 0 => zip(&is_null(&indices)?, default, &taken)?,
        _ => taken,
    })
}

/// `lag` (negative `offset`) or `lead` (positive): the value `offset` rows away within the
/// partition, else `default` (NULL without one).
pub fn shift(
    values: &ArrayRef,
    default: Option<&ArrayRef>,
    layout: &Layout,
    offset: i64,
    ignore_nulls: bool,
) -> Result<ArrayRef> {
    let partition = |i: usize| &layout.partitions[layout.partition_of[i]];
    let distance = offset.unsigned_abs() as usize;
    let indices: Vec<Option<u64>> = if offset == 0 {
        (0..values.len()).map(|i| Some(i as u64)).collect()
    } else if ignore_nulls {
        let non_null = NonNull::new(values.as_ref());
        (0..values.len())
            .map(|i| {
                let range = partition(i);
                let found = if offset < 0 {
                    let before = non_null.before[i];
                    before
                        .checked_sub(distance)
                        .map(|k| non_null.positions[k])
                        .filter(|&p| p >= range.start)
                } else {
                    let through = non_null.before[i + 1];
                    non_null
                        .positions
                        .get(through + distance - 1)
                        .copied()
                        .filter(|&p| p < range.end)
                };
                found.map(|p| p as u64)
            })
            .collect()
    } else {
        (0..values.len())
            .map(|i| {
                let range = partition(i);
                let target = if offset < 0 {
                    i.checked_sub(distance).filter(|&t| t >= range.start)
                } else {
                    i.checked_add(distance).filter(|&t| t < range.end)
                };
                target.map(|t| t as u64)
            })
            .collect()
    };
    gather(values, indices, default)
}

/// `first_value`, `last_value` or `nth_value` over each row's frame.
pub fn frame_value(
    values: &ArrayRef,
    frames: &Frames,
    position: FramePosition,
    ignore_nulls: bool,
) -> Result<ArrayRef> {
    let bounds = frames.starts.iter().zip(&frames.ends);
    let indices: Vec<Option<u64>> = if ignore_nulls {
        let non_null = NonNull::new(values.as_ref());
        bounds
            .map(|(&start, &end)| {
                // The non-NULL rows of the frame are positions[first..last].
                let (first, last) = (non_null.before[start], non_null.before[end]);
                let k = pick(position, first, last)?;
                Some(non_null.positions[k] as u64)
            })
            .collect()
    } else {
        bounds
            .map(|(&start, &end)| pick(position, start, end).map(|k| k as u64))
            .collect()
    };
    gather(values, indices, None)
}

/// The index `position` picks out of `start..end`, if the range has it.
fn pick(position: FramePosition, start: usize, end: usize) -> Option<usize> {
    if start >= end {
        return None;
    }
    match position {
        FramePosition::First => Some(start),
        FramePosition::Last => Some(end - 1),
        FramePosition::Nth(n) => usize::try_from(n - 1)
            .ok()
            .and_then(|k| start.checked_add(k))
            .filter(|&k| k < end),
    }
}
