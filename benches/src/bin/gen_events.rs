//! `gen-events`: writes the events dataset (see `rsql_benches::events`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use rsql_benches::events::{EventsConfig, generate};

/// Generates `year=2017/month=09/day=17/hour=HH/customer=C/part-NNNNN.gz.parquet` page-view
/// events, deterministically from a seed.
#[derive(Debug, Parser)]
#[command(name = "gen-events")]
struct Args {
    /// Total number of records.
    #[arg(long, default_value_t = 10_000_000)]
    records: u64,
    /// Target records per file (files per hour = max(1, records / this / 24)).
    #[arg(long, default_value_t = 2_000_000)]
    records_per_file: u64,
    /// Number of customers: a.com, b.com, ...
    #[arg(long, default_value_t = 1)]
    customers: usize,
    /// Use this many high-cardinality session ids instead of the 210 letter permutations.
    #[arg(long)]
    sessions: Option<u64>,
    /// Parquet codec: gzip, snappy, zstd, lz4, brotli, none.
    #[arg(long, default_value = "gzip")]
    compression: String,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Dataset root directory.
    #[arg(long, default_value = "events")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let config = EventsConfig {
        records: args.records,
        records_per_file: args.records_per_file,
        customers: args.customers,
        sessions: args.sessions,
        compression: rsql_io::parse_compression(&args.compression)?,
        seed: args.seed,
        out: args.out,
    };
    let start = Instant::now();
    let summary = generate(&config)?;
    println!(
        "wrote {} records in {} files ({:.1} MB) to {} in {:.2} s",
        summary.records,
        summary.files,
        summary.bytes as f64 / 1e6,
        config.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
