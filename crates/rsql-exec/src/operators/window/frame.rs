//! Where partitions, peer groups and frames begin and end in a batch of whole window
//! partitions sorted by (partition keys, order keys).

use std::ops::Range;

use arrow::array::{Array, ArrayRef, Scalar};
use arrow::compute::kernels::numeric::{add, sub};
use arrow::compute::partition;
use arrow::row::{RowConverter, Rows, SortField};
use datafusion_common::ScalarValue;
use rsql_plan::expr::{FrameBound, FrameUnits, WindowFrame};

use crate::error::{Result, exec_err};
use crate::operators::SortKey;
use crate::rows::normalize_zeros;

/// The row ranges of one batch a window function needs: its partitions and, within them,
/// its peer groups (rows equal on every `ORDER BY` key).
pub struct Layout {
    /// The partitions, in row order.
    pub partitions: Vec<Range<usize>>,
    /// The peer groups, in row order; each lies within one partition.
    pub peers: Vec<Range<usize>>,
    /// Per row, the partition it is in (an index into `partitions`).
    pub partition_of: Vec<usize>,
    /// Per row, the peer group it is in (an index into `peers`).
    pub peer_of: Vec<usize>,
}

/// Ranges of consecutive equal rows of `columns`; one range for all rows without columns.
pub(super) fn runs(columns: &[ArrayRef], rows: usize) -> Result<Vec<Range<usize>>> {
    if rows == 0 {
        return Ok(Vec::new());
    }
    if columns.is_empty() {
        return Ok(std::iter::once(0..rows).collect());
    }
    // -0.0 and 0.0 are one key (partition) and peers.
    let columns: Vec<ArrayRef> = columns.iter().map(normalize_zeros).collect();
    Ok(partition(&columns)?.ranges())
}

/// Per row, the index of the range (of `ranges`, covering `0..rows` in order) it lies in.
fn owners(ranges: &[Range<usize>], rows: usize) -> Vec<usize> {
    let mut owner = Vec::with_capacity(rows);
    for (i, range) in ranges.iter().enumerate() {
        owner.extend(std::iter::repeat_n(i, range.len()));
    }
    owner
}

impl Layout {
    /// The layout of `rows` rows with `partition_keys` and then `order_keys` columns.
    pub fn new(partition_keys: &[ArrayRef], order_keys: &[ArrayRef], rows: usize) -> Result<Self> {
        let partitions = runs(partition_keys, rows)?;
        let all: Vec<ArrayRef> = partition_keys.iter().chain(order_keys).cloned().collect();
        let peers = runs(&all, rows)?;
        Ok(Layout {
            partition_of: owners(&partitions, rows),
            peer_of: owners(&peers, rows),
            partitions,
            peers,
        })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.partition_of.len()
    }
}

/// Per row, the frame `[start, end)` of rows (within its partition) a function sees; an empty
/// frame has `start == end`.
#[derive(Default)]
pub struct Frames {
    /// First row of each frame.
    pub starts: Vec<usize>,
    /// One past the last row of each frame.
    pub ends: Vec<usize>,
}

impl Frames {
    /// The frames of `rows` only.
    pub fn slice(&self, rows: Range<usize>) -> Frames {
        Frames {
            starts: self.starts[rows.clone()].to_vec(),
            ends: self.ends[rows].to_vec(),
        }
    }
}

/// The `ORDER BY` key of a `RANGE` frame with offsets: its values, in the row format of its
/// sort order so that bytes compare as rows sort.
struct RangeKey<'a> {
    values: &'a ArrayRef,
    rows: Rows,
    converter: RowConverter,
    key: SortKey,
}

impl RangeKey<'_> {
    /// Per row, the row-format of `value ± offset` moved `towards_following` (or preceding)
    /// in sort order; `None` where the value is NULL.
    fn shifted(&self, offset: &ScalarValue, towards_following: bool) -> Result<Rows> {
        let offset = Scalar::new(offset.to_array()?);
        // Following in an ascending order means larger values.
        let shifted = if towards_following != self.key.descending {
            add(self.values, &offset)?
        } else {
            sub(self.values, &offset)?
        };
        Ok(self.converter.convert_columns(&[shifted])?)
    }
}

/// The first position in `range` where `before` is false; `before` must hold for a prefix of
/// the range only (a binary search).
fn partition_point(range: Range<usize>, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (range.start, range.end);
    while low < high {
        let middle = low + (high - low) / 2;
        if before(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Computes the frames of `frame` for every row of `layout`; `order_key` is the only `ORDER
/// BY` column with its sort key, needed by `RANGE` frames with offsets.
pub fn frames(
    frame: &WindowFrame,
    layout: &Layout,
    order_key: Option<(&ArrayRef, SortKey)>,
) -> Result<Frames> {
    let range_key = match (frame.units, &frame.start, &frame.end) {
        (FrameUnits::Range, FrameBound::Preceding(_) | FrameBound::Following(_), _)
        | (FrameUnits::Range, _, FrameBound::Preceding(_) | FrameBound::Following(_)) => {
            let Some((values, key)) = order_key else {
                return exec_err("a RANGE frame with an offset needs one ORDER BY key");
            };
            let converter = RowConverter::new(vec![SortField::new_with_options(
                values.data_type().clone(),
                key.options(),
            )])?;
            let rows = converter.convert_columns(std::slice::from_ref(values))?;
            Some(RangeKey {
                values,
                rows,
                converter,
                key,
            })
        }
        _ => None,
    };
    let starts = bound_positions(&frame.start, frame.units, layout, range_key.as_ref(), true)?;
    let mut ends = bound_positions(&frame.end, frame.units, layout, range_key.as_ref(), false)?;
    for (end, &start) in ends.iter_mut().zip(&starts) {
        *end = (*end).max(start);
    }
    Ok(Frames { starts, ends })
}

/// Per row, the position of one frame bound: the first row in the frame for a start bound, one
/// past the last for an end bound.
fn bound_positions(
    bound: &FrameBound,
    units: FrameUnits,
    layout: &Layout,
    range_key: Option<&RangeKey>,
    is_start: bool,
) -> Result<Vec<usize>> {
    let rows = layout.rows();
    let partition = |i: usize| &layout.partitions[layout.partition_of[i]];
    let peers = |i: usize| &layout.peers[layout.peer_of[i]];
    let count = |value: &ScalarValue| -> Result<usize> {
        match value {
            ScalarValue::Int64(Some(n)) if *n >= 0 => Ok(usize::try_from(*n).unwrap_or(usize::MAX)),
            other => exec_err(format!("a ROWS frame offset must be a count, not {other}")),
        }
    };
    Ok(match (bound, units) {
        (FrameBound::UnboundedPreceding, _) => (0..rows).map(|i| partition(i).start).collect(),
        (FrameBound::UnboundedFollowing, _) => (0..rows).map(|i| partition(i).end).collect(),
        (FrameBound::CurrentRow, FrameUnits::Rows) => (0..rows)
            .map(|i| if is_start { i } else { i + 1 })
            .collect(),
        (FrameBound::CurrentRow, FrameUnits::Range) => (0..rows)
            .map(|i| {
                if is_start {
                    peers(i).start
                } else {
                    peers(i).end
                }
            })
            .collect(),
        (FrameBound::Preceding(n), FrameUnits::Rows) => {
            let n = count(n)?;
            let shift = usize::from(!is_start);
            (0..rows)
                .map(|i| (i + shift).saturating_sub(n).max(partition(i).start))
                .collect()
        }
        (FrameBound::Following(n), FrameUnits::Rows) => {
            let n = count(n)?;
            let shift = usize::from(!is_start);
            (0..rows)
                .map(|i| {
                    i.saturating_add(n)
                        .saturating_add(shift)
                        .min(partition(i).end)
                })
                .collect()
        }
        (FrameBound::Preceding(offset) | FrameBound::Following(offset), FrameUnits::Range) => {
            let Some(key) = range_key else {
                return exec_err("a RANGE frame with an offset needs its ORDER BY key");
            };
            let towards_following = matches!(bound, FrameBound::Following(_));
            let targets = key.shifted(offset, towards_following)?;
            (0..rows)
                .map(|i| {
                    if key.values.is_null(i) {
                        // NULLs are peers of each other only.
                        let peers = peers(i);
                        return if is_start { peers.start } else { peers.end };
                    }
                    let range = partition(i);
                    let target = targets.row(i);
                    // A start is the first row not before the target, an end the first row
                    // after it.
                    partition_point(range.clone(), |r| {
                        let row = key.rows.row(r);
                        if is_start {
                            row < target
                        } else {
                            row <= target
                        }
                    })
                })
                .collect()
        }
    })
}
