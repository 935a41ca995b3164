//! `sql-fuzz`: the differential SQL fuzzer (rsql against SQLite) and the no-panic run.
//!
//! ```text
//! sql-fuzz --seed 1 --queries 5000 --minimise      # compare; minimise what fails
//! sql-fuzz --seed 1 --no-panic 100000              # malformed statements must fail cleanly
//! ```

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use rsql_benches::fuzz::ast::Dialect;
use rsql_benches::fuzz::differential;
use rsql_benches::fuzz::no_panic::no_panic;

/// Runs random SQL through rsql and SQLite and reports every difference.
#[derive(Debug, Parser)]
#[command(name = "sql-fuzz")]
struct Args {
    /// The first round's seed (round `n` uses `seed + n`).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Queries to compare.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Shrink every failing query (and its data) and print the minimal reproduction.
    #[arg(long)]
    minimise: bool,
    /// Minimise at most this many failures.
    #[arg(long, default_value_t = 10)]
    max_minimised: usize,
    /// Instead of comparing, run this many statements (most of them malformed) and check that
    /// none panics and every error is one non-empty line.
    #[arg(long)]
    no_panic: Option<usize>,
    /// Percentage of the no-panic statements that are mutated.
    #[arg(long, default_value_t = 80)]
    mutated: u32,
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    // Panics are caught and reported per statement; the default hook would print each twice.
    std::panic::set_hook(Box::new(|_| {}));
    match args.no_panic {
        Some(statements) => run_no_panic(&args, statements),
        None => run_differential(&args),
    }
}

fn run_differential(args: &Args) -> Result<ExitCode> {
    let start = std::time::Instant::now();
    let report = differential(args.seed, args.queries, &|_| false)?;
    for finding in &report.findings {
        println!(
            "-- seed {} query {} (broadcast: {}): {:?}\n{}\n",
            finding.seed,
            finding.index,
            finding.broadcast,
            finding.outcome,
            finding.sql()
        );
    }
    if args.minimise {
        for finding in report.findings.iter().take(args.max_minimised) {
            let (query, db) = finding.minimise()?;
            println!(
                "== minimised (seed {} query {}, {:?})\n{}\n-- rsql:\n{};\n-- SQLite:\n{};\n",
                finding.seed,
                finding.index,
                finding.outcome,
                db.to_rsql_views(),
                query.to_sql(Dialect::Rsql),
                query.to_sql(Dialect::Sqlite),
            );
        }
    }
    for (message, count) in &report.unsupported {
        println!("{count:6} unsupported: {message}");
    }
    println!(
        "{} queries compared ({} passed, {} failed), {} unsupported by rsql, {} skipped (SQLite rejected them), in {:.1?}",
        report.compared(),
        report.passed,
        report.findings.len(),
        report.unsupported.values().sum::<usize>(),
        report.skipped,
        start.elapsed()
    );
    Ok(exit_code(report.findings.is_empty()))
}

fn run_no_panic(args: &Args, statements: usize) -> Result<ExitCode> {
    let report = no_panic(args.seed, statements, args.mutated)?;
    for (sql, message) in &report.panics {
        println!("-- PANIC: {message}\n{sql}\n");
    }
    for (sql, message) in &report.bad_messages {
        println!("-- BAD ERROR MESSAGE: {message:?}\n{sql}\n");
    }
    println!(
        "{} statements in {:.1?}: {} ran, {} failed cleanly, {} panicked, {} bad error messages",
        report.statements,
        report.elapsed,
        report.succeeded,
        report.errors,
        report.panics.len(),
        report.bad_messages.len()
    );
    Ok(exit_code(
        report.panics.is_empty() && report.bad_messages.is_empty(),
    ))
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
