//! `read-events`: decode throughput of rsql-io over a Parquet dataset (the generated events).
//!
//! Prints rows/s and MB/s (compressed bytes on disk per second) for all columns and for one
//! column, single-threaded and with every core. `benches/io/read_events.py` measures pyarrow
//! on the same files the same way.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use rayon::prelude::*;
use rsql_io::{Dataset, DatasetOptions, ScanOptions};

/// Measures how fast rsql-io decodes a Parquet dataset.
#[derive(Debug, Parser)]
#[command(name = "read-events")]
struct Args {
    /// Dataset root.
    #[arg(long, default_value = "events")]
    path: PathBuf,
    /// Runs per configuration; the best is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Rows per decoded batch.
    #[arg(long, default_value_t = 8192)]
    batch_size: usize,
    /// The single column of the one-column runs.
    #[arg(long, default_value = "url")]
    column: String,
}

/// Opens (footers included, as pyarrow does on every read) and reads the whole dataset once
/// with `threads` threads; returns (rows, seconds).
fn read_once(
    path: &Path,
    projection: Option<Vec<usize>>,
    threads: usize,
    batch_size: usize,
) -> Result<(u64, f64)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let start = Instant::now();
    let dataset = Dataset::open(path, DatasetOptions::parquet())?;
    let scan = dataset.scan(ScanOptions {
        projection,
        parallelism: threads * 4,
        batch_size,
        ..ScanOptions::default()
    })?;
    let rows: Vec<Result<u64>> = pool.install(|| {
        (0..scan.units().len())
            .into_par_iter()
            .map(|unit| {
                let mut rows = 0u64;
                for batch in scan.read(unit)? {
                    rows += batch?.num_rows() as u64;
                }
                Ok(rows)
            })
            .collect()
    });
    let rows = rows.into_iter().sum::<Result<u64>>()?;
    Ok((rows, start.elapsed().as_secs_f64()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dataset = Dataset::open(args.path.as_path(), DatasetOptions::parquet())?;
    let bytes: u64 = dataset.files().iter().map(|f| f.size).sum();
    let column = dataset
        .schema()
        .index_of(&args.column)
        .with_context(|| format!("no column {}", args.column))?;
    let data_columns = ["url", "referrer", "session_id", "ts"]
        .iter()
        .map(|name| dataset.schema().index_of(name))
        .collect::<Result<Vec<usize>, _>>()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "dataset {}: {} files, {:.1} MB",
        args.path.display(),
        dataset.files().len(),
        bytes as f64 / 1e6
    );
    for (label, projection) in [("all columns", data_columns), ("one column", vec![column])] {
        for threads in [1, cores] {
            let mut best = f64::MAX;
            let mut rows = 0;
            for _ in 0..args.repeat {
                let (n, seconds) = read_once(
                    &args.path,
                    Some(projection.clone()),
                    threads,
                    args.batch_size,
                )?;
                rows = n;
                best = best.min(seconds);
            }
            println!(
                "rsql-io {label:11} threads={threads}: {rows} rows in {best:.3} s = {:.1} Mrows/s, {:.1} MB/s",
                rows as f64 / best / 1e6,
                bytes as f64 / best / 1e6
            );
        }
    }
    Ok(())
}
