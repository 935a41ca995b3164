//! Counters describing what a scan listed, pruned and decoded.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a scan's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadMetrics {
    /// Files in the dataset.
    pub files_total: u64,
    /// Files left after partition pruning.
    pub files_matched: u64,
    /// Row groups in the files left after partition pruning (Parquet only).
    pub row_groups_total: u64,
    /// Row groups left after statistics pruning (Parquet only).
    pub row_groups_matched: u64,
    /// Row groups actually opened for decoding so far (Parquet only).
    pub row_groups_read: u64,
    /// Rows decoded so far.
    pub rows_read: u64,
    /// Malformed text records dropped (`DROPMALFORMED`) or replaced by nulls (`PERMISSIVE`) so
    /// far.
    pub bad_records: u64,
}

/// The live counters behind [`ReadMetrics`], shared by every reader of one scan.
#[derive(Debug, Default)]
pub(crate) struct MetricCounters {
    pub files_total: AtomicU64,
    pub files_matched: AtomicU64,
    pub row_groups_total: AtomicU64,
    pub row_groups_matched: AtomicU64,
    pub row_groups_read: AtomicU64,
    pub rows_read: AtomicU64,
    pub bad_records: std::sync::Arc<AtomicU64>,
}

impl MetricCounters {
    pub(crate) fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ReadMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ReadMetrics {
            files_total: get(&self.files_total),
            files_matched: get(&self.files_matched),
            row_groups_total: get(&self.row_groups_total),
            row_groups_matched: get(&self.row_groups_matched),
            row_groups_read: get(&self.row_groups_read),
            rows_read: get(&self.rows_read),
            bad_records: get(&self.bad_records),
        }
    }
}
