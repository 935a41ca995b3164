//! Per-operator counters filled in while a plan runs, for `EXPLAIN ANALYZE`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

/// Output rows, batches and time of one operator, summed over its tasks.
#[derive(Debug, Default)]
pub struct OperatorMetrics {
    rows: AtomicU64,
    batches: AtomicU64,
    nanos: AtomicU64,
}

impl OperatorMetrics {
    /// Rows the operator produced.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Batches the operator produced.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Time spent producing its batches, its inputs' time included, summed over tasks.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }

    /// Counts the batches `batches` yields and the time spent waiting for each.
    pub fn observe<'a>(
        self: &Arc<Self>,
        batches: impl Iterator<Item = RecordBatch> + 'a,
    ) -> impl Iterator<Item = RecordBatch> + 'a {
        Observed {
            metrics: Arc::clone(self),
            batches,
        }
    }
}

struct Observed<I> {
    metrics: Arc<OperatorMetrics>,
    batches: I,
}

impl<I: Iterator<Item = RecordBatch>> Iterator for Observed<I> {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        let start = Instant::now();
        let batch = self.batches.next();
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.metrics.nanos.fetch_add(nanos, Ordering::Relaxed);
        if let Some(batch) = &batch {
            self.metrics.batches.fetch_add(1, Ordering::Relaxed);
            self.metrics
                .rows
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        }
        batch
    }
}
