//! Word count over 10 million generated words: `flat_map` + `reduce_by_key` on a two-thread
//! context, against a single-threaded `HashMap` loop over the same lines in the same process.
//!
//! `cargo bench -p rsql-benches --bench wordcount`

use std::collections::HashMap;
use std::hint::black_box;

use compact_str::CompactString;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rsql_rdd::Context;

const WORDS: usize = 10_000_000;
const WORDS_PER_LINE: usize = 10;
const VOCABULARY: usize = 50_000;

/// Lines of space-separated words with a skewed (squared-uniform) word distribution.
fn generate_lines() -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(7);
    (0..WORDS / WORDS_PER_LINE)
        .map(|_| {
            let words: Vec<String> = (0..WORDS_PER_LINE)
                .map(|_| {
                    let r: f64 = rng.random();
                    format!("w{}", (r * r * VOCABULARY as f64) as usize)
                })
                .collect();
            words.join(" ")
        })
        .collect()
}

/// The baseline: one thread, one hash map, no allocation for words already counted.
fn count_sequential(lines: &[String]) -> usize {
    let mut counts: HashMap<String, u64, ahash::RandomState> = HashMap::default();
    for line in lines {
        for word in line.split(' ') {
            match counts.get_mut(word) {
                Some(count) => *count += 1,
                None => {
                    counts.insert(word.to_string(), 1);
                }
            }
        }
    }
    counts.len()
}

/// The RDD job: every word becomes a `(word, 1)` record, combined map-side, shuffled once.
/// `K` is the key type: `String` allocates per word, `CompactString` keeps short words inline.
fn count_rdd<K>(ctx: &Context, lines: &[String], partitions: usize) -> usize
where
    K: for<'a> From<&'a str> + Clone + Eq + std::hash::Hash + Send + Sync + 'static,
{
    ctx.parallelize(lines.to_vec(), partitions)
        .flat_map(|line| {
            line.split(' ')
                .map(|word| (K::from(word), 1u64))
                .collect::<Vec<_>>()
        })
        .reduce_by_key(|a, b| a + b)
        .count()
        .map(|n| n as usize)
        .unwrap_or_default()
}

fn wordcount(c: &mut Criterion) {
    let lines = generate_lines();
    let ctx = Context::builder().threads(2).build().expect("context");
    let ctx_one = Context::builder().threads(1).build().expect("context");
    let distinct = count_sequential(&lines);
    assert_eq!(count_rdd::<String>(&ctx, &lines, 8), distinct);
    assert_eq!(count_rdd::<CompactString>(&ctx, &lines, 8), distinct);

    let mut group = c.benchmark_group("wordcount_10M");
    group.sample_size(10);
    group.bench_function("hashmap_1_thread", |b| {
        b.iter(|| count_sequential(black_box(&lines)))
    });
    group.bench_function("rdd_2_threads_string_keys", |b| {
        b.iter(|| count_rdd::<String>(&ctx, black_box(&lines), 8))
    });
    group.bench_function("rdd_2_threads_compact_keys", |b| {
        b.iter(|| count_rdd::<CompactString>(&ctx, black_box(&lines), 8))
    });
    // The same job on one worker: how the runtime itself scales on this machine.
    group.bench_function("rdd_1_thread_compact_keys", |b| {
        b.iter(|| count_rdd::<CompactString>(&ctx_one, black_box(&lines), 8))
    });
    group.finish();
}

criterion_group!(benches, wordcount);
criterion_main!(benches);
