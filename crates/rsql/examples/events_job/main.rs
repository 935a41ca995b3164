//! The Spark-vs-Dask events job: page views per customer, url and hour, written as nested
//! NDJSON records (`_id`, `customer`, `url`, `freq`, `ts`, `metrics`, `referrers`).
//!
//! ```text
//! cargo run --release -p rsql --example events_job -- --sql|--dataframe INPUT_DIR OUTPUT_DIR
//! ```
//!
//! `--sql` runs `benches/events/job.sql`; `--dataframe` builds the same plan with the
//! DataFrame API. Both write the same records.

use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Parser;
use rsql::Session;

mod job;

/// The SQL form of the job, shared with the CLI.
const JOB_SQL: &str = include_str!("../../../../benches/events/job.sql");

#[derive(Debug, Parser)]
#[command(about = "Runs the events aggregation job and writes NDJSON records")]
struct Args {
    /// Run the job written in SQL (benches/events/job.sql).
    #[arg(
        long,
        conflicts_with = "dataframe",
        required_unless_present = "dataframe"
    )]
    sql: bool,
    /// Run the job written with the DataFrame API.
    #[arg(long)]
    dataframe: bool,
    /// Print the plans instead of running the job.
    #[arg(long)]
    explain: bool,
    /// The events directory (hive folders `.../customer=C/*.parquet`).
    input: String,
    /// The output directory (must not exist).
    output: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let session = Session::new()?;
    let job = if args.sql {
        session.register_parquet("events", &args.input)?;
        session
            .sql(JOB_SQL)
            .context("planning benches/events/job.sql")?
    } else {
        job::dataframe_job(&session, &args.input)?
    };
    if args.explain {
        println!("{}", job.explain(false)?);
        return Ok(());
    }
    let start = Instant::now();
    job.write_json(&args.output)
        .with_context(|| format!("writing {}", args.output))?;
    eprintln!(
        "events job ({}) wrote {} in {:.2} s",
        if args.sql { "sql" } else { "dataframe" },
        args.output,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
