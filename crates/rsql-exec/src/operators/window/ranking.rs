//! Ranking functions: each row's number, rank or bucket from the partition and peer group it
//! is in, computed in one pass over the rows.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array};

use super::frame::Layout;

/// The ranking function to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// `row_number()`.
    RowNumber,
    /// `rank()`.
    Rank,
    /// `dense_rank()`.
    DenseRank,
    /// `percent_rank()`.
    PercentRank,
    /// `cume_dist()`.
    CumeDist,
    /// `ntile(n)`, `n > 0`.
    Ntile(u64),
}

/// Where the rows of a layout lie in their window partition when the layout is a window of
/// rows onto one partition too large to hold whole (the layout's one partition is then that
/// partition's rows `first_row..`).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// The partition's row index of the layout's first row.
    pub first_row: usize,
    /// The peer groups of the partition that end before the layout's first row.
    pub groups_before: usize,
    /// The partition's number of rows.
    pub size: usize,
}

/// `ranking` of `rows` of `layout`: of whole partitions without a `span`, else of the window
/// of one partition the span places.
pub fn evaluate(
    ranking: Ranking,
    layout: &Layout,
    span: Option<Span>,
    rows: Range<usize>,
) -> ArrayRef {
    let partition = |i: usize| &layout.partitions[layout.partition_of[i]];
    let peers = |i: usize| &layout.peers[layout.peer_of[i]];
    let first_row = span.map_or(0, |s| s.first_row);
    // Row `i`'s position in its partition, counted from 0.
    let index = |i: usize| first_row + i - partition(i).start;
    let size = |i: usize| span.map_or(partition(i).len(), |s| s.size);
    // 1 + the rows of the partition before the row's peer group.
    let rank = |i: usize| (index(peers(i).start) + 1) as i64;
    match ranking {
        Ranking::RowNumber => Arc::new(Int64Array::from_iter_values(
            rows.map(|i| index(i) as i64 + 1),
        )),
        Ranking::Rank => Arc::new(Int64Array::from_iter_values(rows.map(rank))),
        Ranking::DenseRank => Arc::new(Int64Array::from_iter_values(rows.map(|i| {
            // Peer groups are numbered across the layout; the partition's first one is 1.
            let first = layout.peer_of[partition(i).start];
            let before = span.map_or(0, |s| s.groups_before);
            (before + layout.peer_of[i] - first + 1) as i64
        }))),
        Ranking::PercentRank => Arc::new(Float64Array::from_iter_values(rows.map(|i| {
            let size = size(i);
            if size <= 1 {
                0.0
            } else {
                (rank(i) - 1) as f64 / (size - 1) as f64
            }
        }))),
        Ranking::CumeDist => Arc::new(Float64Array::from_iter_values(
            rows.map(|i| (index(peers(i).end - 1) + 1) as f64 / size(i) as f64),
        )),
        Ranking::Ntile(buckets) => Arc::new(Int64Array::from_iter_values(
            rows.map(|i| ntile(buckets, size(i) as u64, index(i) as u64)),
        )),
    }
}

/// The bucket (from 1) of row `index` of `rows` cut into `buckets` buckets whose sizes differ
/// by at most one, the larger first.
fn ntile(buckets: u64, rows: u64, index: u64) -> i64 {
    let small = rows / buckets;
    let large_buckets = rows % buckets;
    let in_large = large_buckets * (small + 1);
    let bucket = if index < in_large {
        index / (small + 1)
    } else {
        large_buckets + (index - in_large) / small.max(1)
    };
    bucket as i64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntile_puts_the_extra_rows_in_the_first_buckets() {
        let buckets: Vec<i64> = (0..7).map(|i| ntile(3, 7, i)).collect();
        assert_eq!(buckets, [1, 1, 1, 2, 2, 3, 3]);
        let buckets: Vec<i64> = (0..2).map(|i| ntile(5, 2, i)).collect();
        assert_eq!(buckets, [1, 2]);
    }
}
