//! Persistence, retries, accumulators and lineage recovery, proven with fault injection.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{EventLog, context, sorted};
use rsql_rdd::{Context, RandomFaults, RddError, SchedulerEvent, StorageLevel};

/// Counts how many times each partition of a map was computed.
fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn counts(counters: &[AtomicUsize]) -> Vec<usize> {
    counters.iter().map(|c| c.load(Ordering::SeqCst)).collect()
}

/// An RDD of 4 partitions whose computations are counted per partition.
fn counted_rdd(ctx: &Context, computed: &Arc<Vec<AtomicUsize>>) -> rsql_rdd::Rdd<(u32, u64)> {
    let computed = Arc::clone(computed);
    ctx.parallelize((0..400u32).collect::<Vec<_>>(), 4)
        .map_partitions_with_index(move |index, items| {
            computed[index].fetch_add(1, Ordering::SeqCst);
            Box::new(items.map(|i| (i % 13, u64::from(i))))
        })
}

#[test]
fn persisted_rdd_is_computed_once_across_actions() {
    for level in [
        StorageLevel::MemoryOnly,
        StorageLevel::MemoryAndDisk,
        StorageLevel::DiskOnly,
    ] {
        let ctx = context();
        let log = EventLog::attach(&ctx);
        let computed = counters(4);
        let rdd = counted_rdd(&ctx, &computed).persist(level);
        assert_eq!(rdd.storage_level(), Some(level));
        let first = rdd.collect().unwrap();
        assert_eq!(counts(&computed), vec![1; 4]);
        log.clear();
        assert_eq!(rdd.collect().unwrap(), first, "{level:?}");
        assert_eq!(rdd.count().unwrap(), 400);
        assert_eq!(counts(&computed), vec![1; 4], "{level:?} recomputed");
        let cached_reads: u64 = log
            .events()
            .iter()
            .filter_map(|e| match e {
                SchedulerEvent::TaskEnded { metrics, .. } => Some(metrics.cached_partitions_read),
                _ => None,
            })
            .sum();
        assert_eq!(cached_reads, 8);
    }
}

#[test]
fn cache_keeps_non_serializable_items_and_unpersist_recomputes() {
    let ctx = context();
    let computed = counters(4);
    let rdd = counted_rdd(&ctx, &computed)
        .map(|(k, v)| (k, Arc::new(v)))
        .cache();
    rdd.count().unwrap();
    rdd.count().unwrap();
    assert_eq!(counts(&computed), vec![1; 4]);
    rdd.unpersist();
    rdd.count().unwrap();
    assert_eq!(counts(&computed), vec![2; 4]);
}

#[test]
fn memory_only_partitions_that_do_not_fit_are_recomputed_and_memory_and_disk_spills() {
    let ctx = Context::builder()
        .threads(2)
        .memory_store_bytes(64)
        .build()
        .unwrap();
    let computed = counters(4);
    let memory_only = counted_rdd(&ctx, &computed).persist(StorageLevel::MemoryOnly);
    memory_only.count().unwrap();
    memory_only.count().unwrap();
    assert_eq!(counts(&computed), vec![2; 4]);
    assert_eq!(ctx.cached_blocks(), 0);

    let computed = counters(4);
    let spilled = counted_rdd(&ctx, &computed).persist(StorageLevel::MemoryAndDisk);
    let first = spilled.collect().unwrap();
    assert_eq!(spilled.collect().unwrap(), first);
    assert_eq!(counts(&computed), vec![1; 4]);
    assert_eq!(ctx.cached_blocks(), 4);
}

#[test]
fn dropped_cached_block_recomputes_only_that_partition() {
    let ctx = context();
    let computed = counters(4);
    let rdd = counted_rdd(&ctx, &computed).cache();
    let expected = rdd.collect().unwrap();
    assert!(ctx.drop_cached_block(rdd.id(), 2));
    assert!(!ctx.drop_cached_block(rdd.id(), 2));
    assert_eq!(rdd.collect().unwrap(), expected);
    assert_eq!(counts(&computed), vec![1, 1, 2, 1]);
}

#[test]
fn failed_attempt_is_retried_with_unchanged_result() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let computed = counters(4);
    let pairs = counted_rdd(&ctx, &computed);
    let expected = sorted(
        ctx.parallelize((0..400u32).map(|i| (i % 13, u64::from(i))).collect(), 1)
            .reduce_by_key(|a, b| a + b)
            .collect()
            .unwrap(),
    );
    // First attempt of map partition 1 and of result partition 0 fail.
    let sums = pairs.reduce_by_key(|a, b| a + b);
    ctx.faults().fail_task_attempt(pairs.id(), 1, 0);
    ctx.faults().fail_task_attempt(sums.id(), 0, 0);
    assert_eq!(sorted(sums.collect().unwrap()), expected);
    let failed: Vec<(usize, usize)> = log
        .events()
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::TaskEnded {
                partition,
                attempt,
                error: Some(_),
                ..
            } => Some((*partition, *attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(sorted(failed), vec![(0, 0), (1, 0)]);
    // An injected failure fails before the task runs: partition 1 was computed once.
    assert_eq!(counts(&computed), vec![1; 4]);
}

#[test]
fn panicking_task_is_retried() {
    let ctx = context();
    let failed_once = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&failed_once);
    let doubled = ctx
        .parallelize((0..100).collect::<Vec<i32>>(), 4)
        .map(move |x| {
            if x == 42 && !flag.swap(true, Ordering::SeqCst) {
                panic!("flaky worker");
            }
            x * 2
        });
    assert_eq!(
        doubled.collect().unwrap(),
        (0..100).map(|x| x * 2).collect::<Vec<_>>()
    );
    assert!(failed_once.load(Ordering::SeqCst));
}

#[test]
fn task_failing_every_attempt_fails_the_job_naming_stage_partition_and_cause() {
    let ctx = Context::builder()
        .threads(2)
        .max_task_attempts(3)
        .build()
        .unwrap();
    let log = EventLog::attach(&ctx);
    let rdd = ctx.parallelize((0..100).collect::<Vec<i32>>(), 4).map(|x| {
        if x == 60 {
            panic!("bad record {x}");
        }
        x
    });
    let error = rdd.count().unwrap_err();
    match &error {
        RddError::TaskFailed {
            partition,
            attempts,
            cause,
            ..
        } => {
            assert_eq!(*partition, 2);
            assert_eq!(*attempts, 3);
            assert!(matches!(cause.as_ref(), RddError::Panicked(m) if m == "bad record 60"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("map at") && message.contains("faults.rs"),
        "{message}"
    );
    assert!(
        message.contains("partition 2 failed 3 time(s)"),
        "{message}"
    );
    assert!(matches!(
        log.events().last(),
        Some(SchedulerEvent::JobEnded {
            succeeded: false,
            ..
        })
    ));
    // The context stays usable after a failed job.
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
}

/// Runs a one-partition job whose task fails with `error()` on every attempt; returns the
/// job's error and how many attempts ran.
fn failing_job(error: fn() -> RddError) -> (RddError, usize) {
    let ctx = Context::builder()
        .threads(1)
        .max_task_attempts(4)
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let rdd = ctx
        .parallelize(vec![1, 2, 3], 1)
        .map_partitions_with_context(move |items, tc| {
            counter.fetch_add(1, Ordering::SeqCst);
            tc.fail(error());
            items
        });
    let failure = rdd.count().unwrap_err();
    (failure, runs.load(Ordering::SeqCst))
}

#[test]
fn errors_a_retry_cannot_heal_fail_the_job_after_one_attempt() {
    let (failure, runs) = failing_job(|| RddError::External("cannot add 'a' to 1".into()));
    assert_eq!(runs, 1);
    assert!(
        matches!(&failure, RddError::TaskFailed { attempts: 1, .. }),
        "{failure:?}"
    );
    let message = failure.to_string();
    assert!(
        message.ends_with("failed: partition 0: cannot add 'a' to 1"),
        "{message}"
    );

    let (failure, runs) = failing_job(|| RddError::ResourcesExhausted {
        consumer: "sort".into(),
        requested: 10,
        used: 5,
        limit: 8,
    });
    assert_eq!(runs, 1, "{failure}");
}

#[test]
fn io_errors_are_retried_even_when_wrapped_by_an_operator() {
    #[derive(Debug, thiserror::Error)]
    #[error("reading part-0.parquet")]
    struct ScanError(#[source] std::io::Error);

    let (failure, runs) = failing_job(|| {
        RddError::External(Box::new(ScanError(std::io::Error::other(
            "connection reset",
        ))))
    });
    assert_eq!(runs, 4);
    assert!(
        failure.to_string().contains("failed 4 time(s)"),
        "{failure}"
    );
}

#[test]
fn accumulator_counts_each_partition_once_under_retries() {
    let ctx = context();
    let total = ctx.long_accumulator("sum");
    let seen = ctx.accumulator("seen", Vec::new(), |all: &mut Vec<i64>, mut more| {
        all.append(&mut more)
    });
    let failed_once = Arc::new(AtomicBool::new(false));
    let rdd = ctx.parallelize((1..=100).collect::<Vec<i64>>(), 4);
    ctx.faults().fail_task_attempt(rdd.id(), 3, 0);
    let (acc, acc_seen, flag) = (total.clone(), seen.clone(), Arc::clone(&failed_once));
    rdd.foreach(move |x| {
        acc.add(x);
        acc_seen.add(vec![x]);
        // Fails after its partition already added 1..=30 to the accumulators.
        if x == 30 && !flag.swap(true, Ordering::SeqCst) {
            panic!("fail after partial updates");
        }
    })
    .unwrap();
    assert!(failed_once.load(Ordering::SeqCst));
    assert_eq!(total.value(), 5050);
    assert_eq!(sorted(seen.value()), (1..=100).collect::<Vec<_>>());
    // On the driver, additions go straight to the total.
    total.add(1);
    assert_eq!(total.value(), 5051);
    total.reset();
    assert_eq!(total.value(), 0);
}

#[test]
fn lost_shuffle_output_recomputes_only_that_map_partition() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let computed = counters(4);
    let sums = counted_rdd(&ctx, &computed).reduce_by_key(|a, b| a + b);
    let expected = sorted(sums.collect().unwrap());
    let shuffles = sums.shuffle_ids();
    assert_eq!(shuffles.len(), 1);
    let shuffle = shuffles[0];
    assert!(ctx.drop_shuffle_output(shuffle, 3));
    log.clear();
    assert_eq!(sorted(sums.collect().unwrap()), expected);
    assert_eq!(counts(&computed), vec![1, 1, 1, 2]);
    assert_eq!(log.map_stages(), 1);
}

#[test]
fn shuffle_output_lost_mid_job_is_recomputed_from_lineage() {
    let ctx = context();
    let computed = counters(4);
    let sums = counted_rdd(&ctx, &computed).reduce_by_key(|a, b| a + b);
    let expected = sorted(sums.collect().unwrap());
    ctx.faults()
        .lose_shuffle_output_on_fetch(sums.shuffle_ids()[0], 1);
    let log = EventLog::attach(&ctx);
    assert_eq!(sorted(sums.collect().unwrap()), expected);
    assert_eq!(counts(&computed), vec![1, 2, 1, 1]);
    let fetch_failures = log
        .events()
        .iter()
        .filter(|e| matches!(e, SchedulerEvent::TaskEnded { error: Some(m), .. } if m.contains("missing")))
        .count();
    assert!(fetch_failures >= 1);
}

#[test]
fn broadcast_value_is_shared_not_copied() {
    let ctx = context();
    let table = ctx.broadcast((0..1000).collect::<Vec<u32>>());
    let address = table.value().as_ptr() as usize;
    let shared = table.clone();
    let addresses = ctx
        .parallelize((0..8).collect::<Vec<u32>>(), 8)
        .map(move |i| (shared.value().as_ptr() as usize, shared[i as usize]))
        .collect()
        .unwrap();
    assert!(addresses.iter().all(|(a, _)| *a == address));
    assert_eq!(
        addresses.iter().map(|p| p.1).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
}

#[test]
fn missing_input_is_an_error_naming_the_path() {
    let ctx = context();
    let error = ctx.text_file("/no/such/dir/input.txt", 2).err().unwrap();
    assert!(
        error.to_string().starts_with("/no/such/dir/input.txt: "),
        "{error}"
    );
}

#[test]
fn failed_save_leaves_no_output_and_existing_target_is_refused() {
    let ctx = context();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let failing = ctx.parallelize((0..10).collect::<Vec<i32>>(), 3).map(|x| {
        if x == 9 {
            panic!("disk full");
        }
        x
    });
    assert!(failing.save_as_text_file(&out).is_err());
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "staging directory left behind"
    );
    std::fs::create_dir(&out).unwrap();
    let error = ctx
        .parallelize(vec![1], 1)
        .save_as_text_file(&out)
        .unwrap_err();
    assert!(matches!(error, RddError::OutputExists(_)));
}

#[test]
fn in_task_is_true_only_while_a_task_runs() {
    let ctx = context();
    assert!(!rsql_rdd::in_task());
    let inside = ctx
        .parallelize(vec![1, 2, 3, 4], 2)
        .map(|_| rsql_rdd::in_task())
        .collect()
        .unwrap();
    assert_eq!(inside, vec![true; 4]);
    assert!(!rsql_rdd::in_task());
}

#[test]
fn random_faults_change_no_answer_and_repeat_from_their_seed() {
    /// A cached RDD behind a shuffle, read by two jobs (the second reads the cache), each
    /// job's answer with the task attempts that failed and the partitions computed.
    fn run(random: Option<RandomFaults>) -> (Vec<(u32, u64)>, u64, usize, Vec<usize>) {
        let ctx = context();
        ctx.faults().set_random(random);
        let log = EventLog::attach(&ctx);
        let computed = counters(4);
        let sums = counted_rdd(&ctx, &computed)
            .reduce_by_key(|a, b| a + b)
            .map(|(k, v)| (k, v * 2))
            .cache();
        let first = sorted(sums.collect().unwrap());
        let second = sorted(sums.collect().unwrap());
        assert_eq!(first, second);
        let sum: u64 = sums.map(|(_, v)| v).collect().unwrap().iter().sum();
        let failed = log
            .events()
            .iter()
            .filter(|e| matches!(e, SchedulerEvent::TaskEnded { error: Some(_), .. }))
            .count();
        (first, sum, failed, counts(&computed))
    }

    let (expected, expected_sum, failed, computed) = run(None);
    assert_eq!(failed, 0);
    assert_eq!(computed, vec![1; 4]);
    let by_hand: Vec<(u32, u64)> = (0..13u32)
        .map(|k| {
            (
                k,
                2 * (0..400u64).filter(|i| i % 13 == u64::from(k)).sum::<u64>(),
            )
        })
        .collect();
    assert_eq!(expected, by_hand);

    let mut faults_seen = 0;
    for seed in 0..8 {
        let random = RandomFaults {
            probability: 0.5,
            seed,
        };
        let (answer, sum, failed, computed) = run(Some(random));
        assert_eq!(answer, expected, "seed {seed}");
        assert_eq!(sum, expected_sum, "seed {seed}");
        // Lost map outputs and cached partitions are computed again from lineage.
        faults_seen += failed + computed.iter().map(|c| c - 1).sum::<usize>();
        assert_eq!(
            run(Some(random)),
            (answer, sum, failed, computed),
            "seed {seed} repeats"
        );
    }
    assert!(
        faults_seen > 8,
        "only {faults_seen} faults over 8 seeds at p = 0.5"
    );
}

#[test]
fn random_faults_at_certainty_still_leave_every_task_its_last_attempt() {
    let ctx = context();
    ctx.faults().set_random(Some(RandomFaults {
        probability: 1.0,
        seed: 1,
    }));
    let sums = ctx
        .parallelize((0..100u64).collect::<Vec<_>>(), 3)
        .map(|i| (i % 4, i))
        .reduce_by_key(|a, b| a + b);
    let expected: Vec<(u64, u64)> = (0..4)
        .map(|k| (k, (0..100).filter(|i| i % 4 == k).sum()))
        .collect();
    assert_eq!(sorted(sums.collect().unwrap()), expected);
}
