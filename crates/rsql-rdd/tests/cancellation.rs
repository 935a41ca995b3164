//! Cancelling running jobs: tasks stop between items, tasks not started never start, the job
//! fails with `Cancelled` (once, not retried), and nothing it half computed is kept: the next
//! job over the same lineage computes the right answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rsql_rdd::{Context, Rdd, RddError};

const ITEMS: usize = 4000;

/// `(i % 10, 1)` for every item, each taking a millisecond, counting the items computed.
fn slow_pairs(context: &Context, computed: &Arc<AtomicUsize>) -> Rdd<(usize, usize)> {
    let computed = Arc::clone(computed);
    context.parallelize((0..ITEMS).collect(), 8).map(move |i| {
        computed.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
        (i % 10, 1)
    })
}

/// Runs `job` on another thread and cancels it once some items were computed.
fn cancel_midway<R: Send + 'static>(
    context: &Context,
    computed: &Arc<AtomicUsize>,
    job: impl FnOnce() -> rsql_rdd::Result<R> + Send + 'static,
) -> rsql_rdd::Result<R> {
    let running = std::thread::spawn(job);
    while computed.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(Duration::from_millis(1));
    }
    context.cancel_running_jobs();
    running.join().expect("the job thread")
}

#[test]
fn a_cancelled_job_stops_early_and_the_next_job_runs() {
    let context = Context::builder().threads(2).build().unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let rdd = slow_pairs(&context, &computed);
    let job = rdd.clone();
    let result = cancel_midway(&context, &computed, move || job.count());
    assert!(matches!(result, Err(RddError::Cancelled)), "{result:?}");
    let at_cancel = computed.load(Ordering::SeqCst);
    assert!(
        at_cancel < ITEMS / 2,
        "{at_cancel} items computed before stopping"
    );
    // Cancelling applies to jobs running at the time, not to later ones.
    assert_eq!(rdd.count().unwrap(), ITEMS as u64);
}

#[test]
fn a_job_cancelled_in_its_map_stage_keeps_no_partial_shuffle_output() {
    let context = Context::builder().threads(2).build().unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let sums = slow_pairs(&context, &computed).reduce_by_key(|a, b| a + b);
    let job = sums.clone();
    let result = cancel_midway(&context, &computed, move || job.collect());
    assert!(matches!(result, Err(RddError::Cancelled)), "{result:?}");
    // The same lineage again: map outputs cut short were not registered, so every key
    // counts all its items.
    let mut again = sums.collect().unwrap();
    again.sort();
    let expected: Vec<(usize, usize)> = (0..10).map(|k| (k, ITEMS / 10)).collect();
    assert_eq!(again, expected);
}
