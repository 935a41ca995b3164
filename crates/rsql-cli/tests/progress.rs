//! Progress on a terminal: `script` gives the binary a pseudo-terminal for stderr while stdout
//! goes to a file, so the test sees what a user would, and checks that stdout stays clean.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use parquet::basic::Compression;
use rsql_benches::events::{EventsConfig, generate};

/// Runs `rsql ARGS > stdout.txt` under `script` in `dir`; returns (terminal output, stdout).
fn run_on_a_terminal(dir: &Path, args: &str) -> Option<(String, String)> {
    let binary = env!("CARGO_BIN_EXE_rsql");
    let inner = format!("{binary} {args} > stdout.txt");
    let status = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "terminal.txt"])
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?; // no `script` on this machine
    assert!(status.success(), "{inner} failed: {status}");
    let terminal = fs::read_to_string(dir.join("terminal.txt")).unwrap();
    let stdout = fs::read_to_string(dir.join("stdout.txt")).unwrap();
    Some((terminal, stdout))
}

#[test]
fn a_slow_query_shows_progress_on_the_terminal_and_never_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    generate(&EventsConfig {
        // Enough rows that the job runs well past the bar's half-second delay in a debug build.
        records: 1_500_000,
        records_per_file: 100_000,
        customers: 2,
        sessions: None,
        compression: Compression::SNAPPY,
        seed: 1,
        out: dir.path().join("events"),
    })
    .unwrap();
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/events/job.sql");
    let args = format!(
        // One thread: the job must outlast the bar's delay even on a fast machine.
        "--table events=events -f {} --format ndjson --threads 1",
        job.display()
    );
    let Some((terminal, stdout)) = run_on_a_terminal(dir.path(), &args) else {
        eprintln!("skipped: `script` is not installed");
        return;
    };
    assert!(terminal.contains("stage 1/"), "{terminal:?}");
    assert!(terminal.contains("tasks "), "{terminal:?}");
    // The bar is cleared at the end, and none of it went to stdout.
    assert!(stdout.lines().count() > 100);
    assert!(
        stdout.lines().all(|l| l.starts_with("{\"_id\":")),
        "{stdout}"
    );

    let (quiet, quiet_stdout) = run_on_a_terminal(dir.path(), &format!("{args} --quiet")).unwrap();
    assert!(!quiet.contains("stage"), "{quiet:?}");
    assert_eq!(quiet_stdout.lines().count(), stdout.lines().count());
}
