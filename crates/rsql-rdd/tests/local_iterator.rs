//! `Rdd::to_local_iterator`: every item in partition order (after a shuffle too), computed
//! while read, with retries, lost shuffle outputs, cancellation, deadlines and an early stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rsql_rdd::{Context, RddError, with_deadline};

fn context() -> Context {
    Context::builder().threads(2).build().unwrap()
}

#[test]
fn items_come_in_partition_order_as_collect_returns_them() {
    let context = context();
    let rdd = context.parallelize((0..1000).collect::<Vec<i64>>(), 7);
    let streamed: Vec<i64> = rdd
        .to_local_iterator()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, (0..1000).collect::<Vec<_>>());

    // After a shuffle: the same items, in the same (partition) order as collect's.
    let sums = rdd.map(|i| (i % 13, i)).reduce_by_key(|a, b| a + b);
    let streamed: Vec<(i64, i64)> = sums
        .to_local_iterator()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, sums.collect().unwrap());
    let mut expected: Vec<(i64, i64)> = (0..13)
        .map(|k| (k, (0..1000).filter(|i| i % 13 == k).sum()))
        .collect();
    let mut sorted = streamed;
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
}

#[test]
fn an_empty_rdd_streams_nothing() {
    let context = context();
    let rdd = context.parallelize(Vec::<i64>::new(), 3);
    assert_eq!(rdd.to_local_iterator().unwrap().count(), 0);
}

#[test]
fn a_task_failing_before_it_hands_anything_over_is_retried() {
    let context = context();
    let rdd = context.parallelize((0..100).collect::<Vec<i64>>(), 4);
    context.faults().fail_task_attempt(rdd.id(), 2, 0);
    let streamed: Vec<i64> = rdd
        .to_local_iterator()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, (0..100).collect::<Vec<_>>());
}

#[test]
fn a_lost_shuffle_output_is_recomputed() {
    let context = context();
    let sums = context
        .parallelize((0..400).collect::<Vec<i64>>(), 4)
        .map(|i| (i % 5, 1))
        .reduce_by_key(|a, b| a + b);
    let expected = sums.collect().unwrap();
    let shuffle_id = sums.shuffle_ids()[0];
    context.faults().lose_shuffle_output_on_fetch(shuffle_id, 1);
    let streamed: Vec<(i64, i64)> = sums
        .to_local_iterator()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, expected);
}

#[test]
fn a_failure_after_items_were_read_ends_the_stream_with_it() {
    let context = context();
    let rdd = context
        .parallelize((0..10).collect::<Vec<i64>>(), 1)
        .map(|i| if i == 5 { panic!("bad item {i}") } else { i });
    let items: Vec<_> = rdd.to_local_iterator().unwrap().collect();
    let values: Vec<i64> = items
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(values, vec![0, 1, 2, 3, 4], "no item handed over twice");
    match items.last() {
        Some(Err(RddError::Panicked(message))) => assert!(message.contains("bad item 5")),
        other => panic!("expected the panic as the last item, got {other:?}"),
    }
}

/// `items` items in 4 partitions, each taking a millisecond, counting those computed.
fn slow(context: &Context, items: usize, computed: &Arc<AtomicUsize>) -> rsql_rdd::Rdd<usize> {
    let computed = Arc::clone(computed);
    context.parallelize((0..items).collect(), 4).map(move |i| {
        computed.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
        i
    })
}

#[test]
fn dropping_the_iterator_stops_the_job() {
    let context = context();
    let computed = Arc::new(AtomicUsize::new(0));
    let rdd = slow(&context, 4000, &computed);
    let first: Vec<usize> = rdd
        .to_local_iterator()
        .unwrap()
        .take(10)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(first, (0..10).collect::<Vec<_>>());
    // The drop waited for the job: nothing is computed any more.
    let after_drop = computed.load(Ordering::SeqCst);
    assert!(after_drop < 100, "{after_drop} items computed for 10 read");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(computed.load(Ordering::SeqCst), after_drop);
}

#[test]
fn cancelling_and_deadlines_stop_the_stream() {
    let context = context();
    let computed = Arc::new(AtomicUsize::new(0));
    let rdd = slow(&context, 4000, &computed);
    let mut items = rdd.to_local_iterator().unwrap();
    assert_eq!(items.next().unwrap().unwrap(), 0);
    context.cancel_running_jobs();
    let rest: Vec<_> = items.collect();
    assert!(
        matches!(rest.last(), Some(Err(RddError::Cancelled))),
        "{:?}",
        rest.last()
    );
    assert!(rest.len() < 100, "{} items after cancelling", rest.len());

    let started = Instant::now();
    let items = with_deadline(started + Duration::from_millis(50), || {
        rdd.to_local_iterator().unwrap()
    });
    let rest: Vec<_> = items.collect();
    assert!(matches!(rest.last(), Some(Err(RddError::Cancelled))));
    assert!(started.elapsed() < Duration::from_secs(2));
    // Neither applies to the next iterator.
    assert_eq!(rdd.to_local_iterator().unwrap().count(), 4000);
}

#[test]
fn the_next_partitions_compute_while_the_driver_reads_one() {
    let context = context();
    let running = Arc::new(AtomicUsize::new(0));
    let together = Arc::new(AtomicUsize::new(0));
    let (seen_running, seen_together) = (Arc::clone(&running), Arc::clone(&together));
    // Each partition waits (up to 10 s) for another to be running before it yields: run one
    // at a time, none would ever see another.
    let rdd = context
        .parallelize((0..40).collect::<Vec<i64>>(), 4)
        .map_partitions(move |items| {
            seen_running.fetch_add(1, Ordering::SeqCst);
            let waited_from = Instant::now();
            while seen_running.load(Ordering::SeqCst) < 2
                && waited_from.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            if seen_running.load(Ordering::SeqCst) >= 2 {
                seen_together.fetch_add(1, Ordering::SeqCst);
            }
            items
        });
    let streamed: Vec<i64> = rdd
        .to_local_iterator()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, (0..40).collect::<Vec<_>>());
    assert_eq!(running.load(Ordering::SeqCst), 4);
    assert_eq!(together.load(Ordering::SeqCst), 4);
}

#[test]
fn a_later_partition_failing_ends_the_stream_after_the_partitions_before_it() {
    let context = context();
    let rdd = context
        .parallelize((0..40).collect::<Vec<i64>>(), 4)
        .map_partitions_with_index(|partition, items| {
            assert_ne!(partition, 2, "bad partition {partition}");
            items
        });
    let items: Vec<_> = rdd.to_local_iterator().unwrap().collect();
    let values: Vec<i64> = items
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    // Partition 2 holds 20..30: it fails before handing anything over, so it is retried,
    // fails for good, and its error comes after partitions 0 and 1, whole and in order.
    assert_eq!(values, (0..20).collect::<Vec<_>>());
    match items.last() {
        Some(Err(error)) => assert!(error.to_string().contains("bad partition 2"), "{error}"),
        other => panic!("expected the failure as the last item, got {other:?}"),
    }
}
