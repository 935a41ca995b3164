//! PageRank as in the RDD paper: links joined with ranks, contributions reduced by key.
//!
//! Runs twice on the same generated graph: with `links` hash-partitioned and persisted, the join
//! in every iteration reads `links` in place and only the contributions are shuffled; without,
//! `links` is shuffled again in every iteration. Prints the top ranks and the shuffles per
//! iteration of both runs.
//!
//! `cargo run --release -p rsql-rdd --example pagerank -- [PAGES] [ITERATIONS]`

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rsql_rdd::{Context, HashPartitioner, Rdd, TotalsListener};

/// A deterministic random web graph: every page links to 1..=8 other pages.
fn generate_links(pages: u32, seed: u64) -> Vec<(u32, Vec<u32>)> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..pages)
        .map(|page| {
            let degree = rng.random_range(1..=8);
            // Skewed targets: low page numbers are popular.
            let targets = (0..degree)
                .map(|_| {
                    let r: f64 = rng.random();
                    ((r * r) * f64::from(pages)) as u32
                })
                .collect();
            (page, targets)
        })
        .collect()
}

/// Runs `iterations` of PageRank; returns the final ranks and the shuffles each iteration ran.
fn pagerank(
    totals: &TotalsListener,
    links: Rdd<(u32, Vec<u32>)>,
    iterations: usize,
) -> anyhow::Result<(Rdd<(u32, f64)>, Vec<usize>)> {
    let mut ranks = links.map_values(|_| 1.0);
    let mut shuffles = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let contributions = links.join(&ranks).values().flat_map(|(targets, rank)| {
            let share = rank / targets.len() as f64;
            targets
                .into_iter()
                .map(move |t| (t, share))
                .collect::<Vec<_>>()
        });
        ranks = contributions
            .reduce_by_key(|a, b| a + b)
            .map_values(|sum| 0.15 + 0.85 * sum);
        totals.take();
        ranks.count()?;
        shuffles.push(totals.take().shuffle_map_stages);
    }
    Ok((ranks, shuffles))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pages: u32 = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let iterations: usize = args.next().map_or(Ok(10), |a| a.parse())?;
    let ctx = Context::new()?;
    let totals = Arc::new(TotalsListener::default());
    ctx.add_listener(totals.clone());
    let partitions = ctx.default_parallelism() * 4;
    let graph = generate_links(pages, 42);

    let raw = ctx.parallelize(graph.clone(), partitions);
    let (_, plain_shuffles) = pagerank(&totals, raw, iterations)?;

    let started = std::time::Instant::now();
    let links = ctx
        .parallelize(graph, partitions)
        .partition_by(Arc::new(HashPartitioner::new(partitions)))
        .cache();
    let (ranks, co_shuffles) = pagerank(&totals, links, iterations)?;
    let top = ranks.map(|(page, rank)| (ordered(rank), page)).top(5)?;
    println!("PageRank over {pages} pages, {iterations} iterations, {partitions} partitions");
    for (rank, page) in top {
        println!("  page {page:>8}  rank {:.4}", rank as f64 / 1e9);
    }
    println!("shuffles per iteration without co-partitioning: {plain_shuffles:?}");
    println!("shuffles per iteration with partition_by + cache on links: {co_shuffles:?}");
    println!("co-partitioned run took {:.2?}", started.elapsed());
    Ok(())
}

/// Ranks as integers (nano-rank units) so that they can be ordered by `top`.
fn ordered(rank: f64) -> u64 {
    (rank * 1e9) as u64
}
