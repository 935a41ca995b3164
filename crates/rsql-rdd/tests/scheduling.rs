//! Stage cutting, shuffle reuse and co-partitioning, observed through the listener bus.

mod common;

use std::sync::Arc;

use common::{EventLog, context, sorted};
use rsql_rdd::Context;
use rsql_rdd::{HashPartitioner, Partitioner, SchedulerEvent, SchedulerListener};

fn pairs(n: usize) -> Vec<(u32, u64)> {
    (0..n as u32).map(|i| (i % 17, u64::from(i))).collect()
}

#[test]
fn narrow_chain_runs_as_one_stage() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let rdd = ctx.parallelize((0..100).collect::<Vec<i32>>(), 4);
    let out = rdd
        .map(|x| x * 2)
        .filter(|x| x % 3 == 0)
        .map(|x| x + 1)
        .count()
        .unwrap();
    assert_eq!(out, 34);
    assert_eq!(log.map_stages(), 0);
    assert_eq!(log.result_stages(), 1);
    assert_eq!(log.successful_tasks(), 4);
}

#[test]
fn map_then_reduce_by_key_shuffles_once_and_combines_map_side() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let words = ctx.parallelize(
        (0..1000)
            .map(|i| format!("w{}", i % 10))
            .collect::<Vec<_>>(),
        4,
    );
    let counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
    assert_eq!(counts.collect().unwrap().len(), 10);
    assert_eq!(log.map_stages(), 1);
    assert_eq!(log.result_stages(), 1);
    // Map-side combine: each of the 4 map partitions ships at most one record per key.
    let shuffled: u64 = log
        .events()
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::StageCompleted { stage, metrics } if stage.name.starts_with("map") => {
                Some(metrics.tasks.records_written)
            }
            _ => None,
        })
        .sum();
    assert!(shuffled <= 4 * 10, "shuffled {shuffled} records");
}

#[test]
fn second_action_reuses_shuffle_output() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let sums = ctx.parallelize(pairs(200), 3).reduce_by_key(|a, b| a + b);
    let first = sorted(sums.collect().unwrap());
    log.clear();
    assert_eq!(sorted(sums.collect().unwrap()), first);
    assert_eq!(log.map_stages(), 0, "map stage rerun on the second action");
    assert_eq!(log.result_stages(), 1);
}

#[test]
fn reduce_by_key_after_partition_by_does_not_shuffle() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let placed = ctx
        .parallelize(pairs(300), 3)
        .partition_by(Arc::new(HashPartitioner::new(4)))
        .cache();
    placed.count().unwrap();
    assert_eq!(log.map_stages(), 1);
    log.clear();
    let sums = placed.reduce_by_key(|a, b| a + b);
    assert_eq!(
        sums.shuffle_ids(),
        placed.shuffle_ids(),
        "a new shuffle was planned"
    );
    assert!(sums.partitioner().is_some());
    let expected = sorted(
        ctx.parallelize(pairs(300), 2)
            .reduce_by_key(|a, b| a + b)
            .collect()
            .unwrap(),
    );
    log.clear();
    assert_eq!(sorted(sums.collect().unwrap()), expected);
    assert_eq!(log.map_stages(), 0);
    // group_by_key too.
    log.clear();
    assert_eq!(placed.group_by_key().count().unwrap(), 17);
    assert_eq!(log.map_stages(), 0);
}

#[test]
fn join_of_co_partitioned_rdds_shuffles_neither_side() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let left = ctx
        .parallelize(pairs(100), 2)
        .partition_by(Arc::new(HashPartitioner::new(4)))
        .cache();
    // An equal, but distinct, partitioner instance.
    let right = ctx
        .parallelize(pairs(50), 5)
        .map_values(|v| v * 10)
        .partition_by(Arc::new(HashPartitioner::new(4)))
        .cache();
    left.count().unwrap();
    right.count().unwrap();
    log.clear();
    let joined = left.join(&right);
    let result = joined.collect().unwrap();
    assert_eq!(log.map_stages(), 0, "co-partitioned join shuffled");
    let expected = ctx
        .parallelize(pairs(100), 3)
        .join(&ctx.parallelize(pairs(50), 1).map_values(|v| v * 10));
    assert_eq!(sorted(result), sorted(expected.collect().unwrap()));
    // The join keeps the partitioner: a following reduce_by_key is narrow too.
    log.clear();
    joined
        .map_values(|(a, b)| a + b)
        .reduce_by_key(|a, b| a + b)
        .count()
        .unwrap();
    assert_eq!(log.map_stages(), 0);
}

#[test]
fn join_with_one_partitioned_side_shuffles_only_the_other() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let left = ctx
        .parallelize(pairs(100), 2)
        .partition_by(Arc::new(HashPartitioner::new(4)))
        .cache();
    left.count().unwrap();
    log.clear();
    let right = ctx.parallelize(pairs(40), 3);
    left.join(&right).count().unwrap();
    assert_eq!(log.map_stages(), 1);
}

#[test]
fn map_drops_and_map_values_keeps_the_partitioner() {
    let ctx = context();
    let placed = ctx
        .parallelize(pairs(10), 2)
        .partition_by(Arc::new(HashPartitioner::new(3)));
    assert!(placed.partitioner().is_some());
    assert!(placed.map_values(|v| v + 1).partitioner().is_some());
    assert!(placed.flat_map_values(|v| vec![v]).partitioner().is_some());
    assert!(placed.filter(|_| true).partitioner().is_some());
    assert!(placed.map(|(k, v)| (k, v + 1)).partitioner().is_none());
    assert!(placed.flat_map(|kv| vec![kv]).partitioner().is_none());
    // partition_by with an equal partitioner is a no-op.
    let again = placed.partition_by(Arc::new(HashPartitioner::new(3)));
    assert_eq!(again.id(), placed.id());
}

/// The seed's example: pages of one site land in one partition.
#[derive(Debug)]
struct DomainPartitioner {
    partitions: usize,
}

impl Partitioner<String> for DomainPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, url: &String) -> usize {
        let domain = url.split('/').nth(2).unwrap_or("");
        Partitioner::<String>::partition(
            &HashPartitioner::new(self.partitions),
            &domain.to_string(),
        )
    }
    fn same_as(&self, other: &dyn Partitioner<String>) -> bool {
        (other as &dyn std::any::Any)
            .downcast_ref::<DomainPartitioner>()
            .is_some_and(|o| o.partitions == self.partitions)
    }
}

#[test]
fn custom_partitioner_places_by_domain_and_co_partitions() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    let urls: Vec<(String, u32)> = (0..60)
        .map(|i| (format!("http://site{}.com/page{}", i % 5, i), i))
        .collect();
    let links = ctx
        .parallelize(urls.clone(), 3)
        .partition_by(Arc::new(DomainPartitioner { partitions: 4 }))
        .cache();
    for part in links.glom().collect().unwrap() {
        let domains: std::collections::BTreeSet<String> = part
            .iter()
            .map(|(u, _)| u.split('/').nth(2).unwrap().to_string())
            .collect();
        for domain in &domains {
            let elsewhere = urls
                .iter()
                .filter(|(u, _)| u.contains(domain.as_str()))
                .count();
            assert_eq!(
                part.iter()
                    .filter(|(u, _)| u.contains(domain.as_str()))
                    .count(),
                elsewhere
            );
        }
    }
    let ranks = links
        .map_values(|_| 1.0f64)
        .partition_by(Arc::new(DomainPartitioner { partitions: 4 }));
    log.clear();
    assert_eq!(links.join(&ranks).count().unwrap(), 60);
    assert_eq!(log.map_stages(), 0);
}

#[test]
fn debug_string_indents_by_stage() {
    let ctx = context();
    let counts = ctx
        .parallelize(vec!["a b", "b c"], 2)
        .flat_map(|l| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1))
        .reduce_by_key(|a, b| a + b);
    let text = counts.to_debug_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let named = counts.set_name("word counts").to_debug_string();
    assert!(
        named
            .lines()
            .next()
            .is_some_and(|l| l.contains("] word counts")),
        "{named}"
    );
    assert!(
        lines[0].starts_with("(2) MapPartitionsRDD[") && lines[0].contains("reduce_by_key at "),
        "{text}"
    );
    assert!(
        lines[0].contains("scheduling.rs"),
        "call site missing: {text}"
    );
    assert!(lines[1].starts_with(" |  ShuffledRDD["), "{text}");
    assert!(
        lines[2].starts_with(" +-(2) MapPartitionsRDD[") && lines[2].contains("map at"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("    |  MapPartitionsRDD[") && lines[3].contains("flat_map"),
        "{text}"
    );
    assert!(
        lines[4].starts_with("    |  ParallelCollectionRDD["),
        "{text}"
    );
}

#[test]
fn events_report_stages_tasks_and_metrics() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    ctx.parallelize(pairs(90), 3)
        .reduce_by_key(|a, b| a + b)
        .count()
        .unwrap();
    let events = log.events();
    assert!(matches!(
        events.first(),
        Some(SchedulerEvent::JobStarted { stages: 2, .. })
    ));
    assert!(matches!(
        events.last(),
        Some(SchedulerEvent::JobEnded {
            succeeded: true,
            ..
        })
    ));
    let completed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::StageCompleted { stage, metrics } => {
                Some((stage.clone(), metrics.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 2);
    let (map_stage, map_metrics) = &completed[0];
    assert_eq!(map_stage.num_tasks, 3);
    assert_eq!(map_metrics.tasks_succeeded, 3);
    assert_eq!(map_metrics.tasks.records_read, 90);
    assert_eq!(map_metrics.tasks.records_written, 3 * 17);
    assert!(map_metrics.tasks.shuffle_bytes_written > 0);
    let (_, result_metrics) = &completed[1];
    assert_eq!(result_metrics.tasks.shuffle_records_read, 3 * 17);
    assert_eq!(result_metrics.tasks.records_written, 17);
}

#[test]
fn dropping_rdds_frees_shuffles_and_blocks() {
    let ctx = context();
    {
        let sums = ctx
            .parallelize(pairs(50), 2)
            .reduce_by_key(|a, b| a + b)
            .cache();
        sums.count().unwrap();
        assert_eq!(ctx.live_shuffles(), 1);
        assert_eq!(ctx.cached_blocks(), 2);
    }
    assert_eq!(ctx.live_shuffles(), 0);
    assert_eq!(ctx.cached_blocks(), 0);
}

#[test]
fn custom_shuffle_splits_batches_by_key() {
    let ctx = context();
    // "Batches" of values, split per bucket as an Arrow batch would be split by key hash.
    let batches: Vec<Vec<u32>> = (0..12).map(|b| (b * 10..b * 10 + 10).collect()).collect();
    let split = ctx
        .parallelize(batches, 3)
        .shuffle(4, |batches, _, buckets| {
            let mut out = vec![Vec::new(); buckets];
            for batch in batches {
                let mut parts = vec![Vec::new(); buckets];
                for v in batch {
                    parts[v as usize % buckets].push(v);
                }
                for (bucket, part) in parts.into_iter().enumerate() {
                    if !part.is_empty() {
                        out[bucket].push(part);
                    }
                }
            }
            out
        });
    let partitions = split.glom().collect().unwrap();
    assert_eq!(partitions.len(), 4);
    for (bucket, batches) in partitions.iter().enumerate() {
        assert!(batches.iter().flatten().all(|v| *v as usize % 4 == bucket));
    }
    let all: Vec<u32> = partitions.into_iter().flatten().flatten().collect();
    assert_eq!(sorted(all), (0..120).collect::<Vec<_>>());
}

#[test]
fn shuffle_routing_into_the_wrong_number_of_buckets_is_an_error() {
    let ctx = Context::builder()
        .threads(2)
        .max_task_attempts(1)
        .build()
        .unwrap();
    let bad = ctx
        .parallelize(vec![1, 2, 3], 2)
        .shuffle(3, |items, _, _| vec![items.collect::<Vec<i32>>()]);
    let error = bad.collect().unwrap_err().to_string();
    assert!(error.contains("into 1 buckets instead of 3"), "{error}");
}

#[test]
fn zip_partitions_pairs_partitions_or_broadcasts_a_single_one() {
    let ctx = context();
    let left = ctx.parallelize((0..8).collect::<Vec<i32>>(), 4);
    let right = ctx.parallelize((100..108).collect::<Vec<i32>>(), 4);
    let sums = left
        .zip_partitions(&right, |l, r, _| {
            let (l, r): (Vec<i32>, Vec<i32>) = (l.collect(), r.collect());
            Box::new(std::iter::once(
                l.iter().sum::<i32>() + r.iter().sum::<i32>(),
            ))
        })
        .expect("same partition counts");
    assert_eq!(sums.collect().unwrap(), vec![202, 210, 218, 226]);

    let small = ctx.parallelize(vec![1000], 1);
    let broadcast = left
        .zip_partitions(&small, |l, r, _| {
            let extra: i32 = r.sum();
            Box::new(l.map(move |x| x + extra))
        })
        .expect("one partition is broadcast");
    assert_eq!(broadcast.num_partitions(), 4);
    assert_eq!(
        broadcast.collect().unwrap(),
        (1000..1008).collect::<Vec<i32>>()
    );

    let three = ctx.parallelize(vec![1, 2, 3], 3);
    match left.zip_partitions(&three, |l, _, _| l) {
        Ok(_) => panic!("3 partitions cannot pair with 4"),
        Err(error) => assert!(error.to_string().contains("got 3"), "{error}"),
    }
}

#[test]
fn a_removed_listener_hears_nothing_more() {
    let ctx = context();
    let log = EventLog::attach(&ctx);
    ctx.parallelize(pairs(10), 2).count().unwrap();
    let heard = log.events().len();
    assert!(heard > 0);
    let registered: Arc<dyn SchedulerListener> = log.clone();
    assert!(ctx.remove_listener(&registered));
    assert!(!ctx.remove_listener(&registered), "already removed");
    ctx.parallelize(pairs(10), 2).count().unwrap();
    assert_eq!(log.events().len(), heard);
}

#[test]
fn a_prepared_shuffle_prepares_inside_the_first_job_once_and_counts_its_stage() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let ctx = context();
    let log = EventLog::attach(&ctx);
    let input = ctx.parallelize((0..100u32).collect::<Vec<_>>(), 4);
    // The routing needs the input's maximum, found by a job of its own before the map stage.
    let max: Arc<Mutex<Option<u32>>> = Arc::default();
    let preparations = Arc::new(AtomicUsize::new(0));
    let (found, sample, counter) = (Arc::clone(&max), input.clone(), Arc::clone(&preparations));
    let split = input.shuffle_prepared(
        2,
        move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut found = found.lock().unwrap();
            if found.is_none() {
                *found = sample.collect()?.into_iter().max();
            }
            Ok(())
        },
        move |items, _, buckets| {
            let max = max.lock().unwrap().expect("prepared before the map stage");
            let mut out = vec![Vec::new(); buckets];
            for item in items {
                out[usize::from(item > max / 2)].push(item);
            }
            out
        },
        |_| 4,
    );
    // Building the lineage and counting its stages runs nothing.
    assert_eq!(split.planned_stages(), 3);
    assert_eq!(preparations.load(Ordering::SeqCst), 0);
    assert!(log.events().is_empty());

    let parts = split.glom().collect().unwrap();
    assert_eq!(parts[0], (0..=49).collect::<Vec<_>>());
    assert_eq!(parts[1], (50..100).collect::<Vec<_>>());
    assert_eq!(preparations.load(Ordering::SeqCst), 1);
    // The preparation's job, the map stage and the result stage.
    assert_eq!(log.result_stages() + log.map_stages(), 3);

    // A second action reuses the shuffle output: nothing is prepared or mapped again.
    assert_eq!(split.planned_stages(), 1);
    assert_eq!(split.count().unwrap(), 100);
    assert_eq!(preparations.load(Ordering::SeqCst), 1);
}

/// Partitions handed over are used instead of computing them, once each; a partition not
/// handed over, or asked for again, is computed from lineage.
#[test]
fn handed_over_partitions_are_used_once_and_others_computed() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let ctx = context();
    let computed = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&computed);
    let rdd = ctx
        .parallelize((0..40).collect::<Vec<i32>>(), 4)
        .map(move |x| {
            counter.fetch_add(1, Ordering::Relaxed);
            x
        });
    // Partition 1 handed over with other values, so that its use shows.
    let handed = Arc::new(Mutex::new(Some(vec![100, 101])));
    let take = Arc::clone(&handed);
    let with = rdd.with_handed_over(move |partition| {
        (partition == 1)
            .then(|| take.lock().unwrap().take())
            .flatten()
    });
    let first = sorted(with.collect().unwrap());
    let expected: Vec<i32> = (0..10).chain(20..40).chain([100, 101]).collect();
    assert_eq!(first, sorted(expected));
    assert_eq!(computed.load(Ordering::Relaxed), 30);
    // Taken: the second run computes partition 1.
    assert_eq!(sorted(with.collect().unwrap()), (0..40).collect::<Vec<_>>());
    assert_eq!(computed.load(Ordering::Relaxed), 70);
}
