//! The "must show": `rsql --table events=<dir> -f benches/events/job.sql --format ndjson
//! --output out/` writes the same records as the `events_job` example (`--sql`), which
//! registers the directory, runs the same file through `Session::sql` and `write_json`.

mod common;

use std::fs;
use std::path::Path;

use parquet::basic::Compression;
use rsql::Session;
use rsql_benches::events::{EventsConfig, generate};

/// The job file, as both the CLI and the example run it.
fn job_sql_path() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/events/job.sql");
    path.to_str().unwrap().to_string()
}

/// Every NDJSON record under `dir`, each re-serialized with sorted keys, sorted.
fn records(dir: &Path) -> Vec<String> {
    assert!(
        dir.join("_SUCCESS").exists(),
        "{} was not committed",
        dir.display()
    );
    let mut records = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            for line in fs::read_to_string(&path).unwrap().lines() {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                records.push(value.to_string());
            }
        }
    }
    records.sort();
    records
}

#[test]
fn the_cli_writes_the_same_records_as_the_events_job_example() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    generate(&EventsConfig {
        records: 30_000,
        records_per_file: 500,
        customers: 3,
        sessions: None,
        compression: Compression::SNAPPY,
        seed: 7,
        out: events.clone(),
    })
    .unwrap();
    let events = events.to_str().unwrap();

    // The CLI, as the issue writes the command.
    let table = format!("events={events}");
    common::run_in(
        dir.path(),
        &[
            "--table",
            &table,
            "-f",
            &job_sql_path(),
            "--format",
            "ndjson",
            "--output",
            "out/",
        ],
        None,
    )
    .ok();

    // The example's `--sql` path: register, plan the same file, write_json.
    let session = Session::new().unwrap();
    session.register_parquet("events", events).unwrap();
    let job = fs::read_to_string(job_sql_path()).unwrap();
    let out2 = dir.path().join("out2");
    session
        .sql(&job)
        .unwrap()
        .write_json(out2.to_str().unwrap())
        .unwrap();

    let cli = records(&dir.path().join("out"));
    let example = records(&out2);
    assert!(cli.len() > 100, "only {} records", cli.len());
    assert_eq!(cli, example);

    // And the records are the job's: one per customer, url and hour, with nested metrics.
    let first: serde_json::Value = serde_json::from_str(&cli[0]).unwrap();
    for key in [
        "_id",
        "customer",
        "url",
        "freq",
        "ts",
        "metrics",
        "referrers",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    let views: u64 = cli
        .iter()
        .map(|r| {
            let value: serde_json::Value = serde_json::from_str(r).unwrap();
            value["metrics"]["page_views"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(views, 30_000);
}
