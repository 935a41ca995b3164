//! Interactive log mining, the RDD paper's first example: load the error lines of a log once,
//! keep them in memory, then ask several questions of them.
//!
//! `cargo run --release -p rsql-rdd --example log_mining -- [LOG_FILE_OR_DIR]`
//! (without an argument, a log of 200,000 lines is generated in a temporary directory).

use std::io::Write;
use std::sync::Arc;

use rsql_rdd::{Context, TotalsListener};

fn generate_log(path: &std::path::Path, lines: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let levels = ["INFO", "INFO", "INFO", "WARN", "ERROR"];
    let services = ["mysql", "php", "nginx", "redis"];
    for i in 0..lines {
        let level = levels[i * 7 % levels.len()];
        let service = services[i * 13 % services.len()];
        writeln!(
            out,
            "2017-09-17T{:02}:{:02}:00 {level}\t{service}\trequest {i} done",
            i % 24,
            i % 60
        )?;
    }
    out.flush()
}

fn main() -> anyhow::Result<()> {
    let generated = tempfile::tempdir()?;
    let path = match std::env::args().nth(1) {
        Some(path) => path.into(),
        None => {
            let path = generated.path().join("app.log");
            generate_log(&path, 200_000)?;
            path
        }
    };
    let ctx = Context::new()?;
    let totals = Arc::new(TotalsListener::default());
    ctx.add_listener(totals.clone());

    let lines = ctx.text_file(&path, ctx.default_parallelism() * 2)?;
    let errors = lines.filter(|line| line.contains("ERROR")).cache();

    let total = errors.count()?;
    let first = totals.take();
    let mysql = errors.filter(|line| line.contains("mysql")).count()?;
    let second = totals.take();
    let php = errors.filter(|line| line.contains("php")).count()?;

    println!(
        "{total} error lines in {} ({} partitions)",
        path.display(),
        errors.num_partitions()
    );
    println!("  of which mysql: {mysql}, php: {php}");
    println!(
        "first count read {} bytes from disk; second count read {} of {} partitions from cache and {} bytes from disk",
        first.tasks.bytes_read,
        second.tasks.cached_partitions_read,
        errors.num_partitions(),
        second.tasks.bytes_read
    );
    Ok(())
}
