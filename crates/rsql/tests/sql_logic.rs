//! A sqllogictest-style runner for the `testdata/sql/*.slt` files.
//!
//! Each file runs in a fresh [`Session`] (`threads: 2`, `shuffle_partitions: 3`) that already
//! knows the fixture tables (see [`setup`]):
//!
//! * `events` — a Parquet dataset hive-partitioned by `customer` (url, referrer, session_id,
//!   ts timestamp UTC, customer); 30 rows, also reachable by path as `'${events}'`;
//! * `users(id, name, city)` and `orders(id, user_id, amount)` — temp views over `VALUES`.
//!
//! # File format
//!
//! ```text
//! # a `#` line is a comment
//! statement ok
//! SET broadcast_threshold = -1    <- settings change for the rest of the file
//!
//! statement ok
//! CREATE TEMP VIEW v AS SELECT 1 AS x
//!
//! statement error unknown table
//! SELECT * FROM nope
//!
//! query IT rowsort
//! SELECT id, name FROM users
//! ----
//! 1 | alice
//! 2 | bob
//! ```
//!
//! * Records are separated by blank lines; SQL may span several lines.
//! * `statement ok` must succeed (the result, if any, is collected and ignored);
//!   `statement error <text>` must fail with a message containing `<text>` (planning or
//!   execution).
//! * `query <types> [rowsort|nonempty|contains]`: one type letter per column (`I` integer,
//!   `R` float, `T` text, `B` boolean, `D` date/time, `?` other); the column count is checked.
//!   After the `----` line come the expected rows, one per line, columns separated by ` | `.
//!   `rowsort` sorts the rendered rows (as strings) before comparing; otherwise the order
//!   must match exactly; `nonempty` only checks that some rows come back (for `EXPLAIN`,
//!   whose text is not part of the contract); `contains` checks that each expected line is
//!   part of some row (for the lines of an `EXPLAIN` that matter). A query expecting no rows
//!   ends right after `----`.
//! * Values: `NULL` for null, `true`/`false`, the empty string as `(empty)`, floats rounded to
//!   6 decimals with trailing zeros (and a trailing `.`) trimmed (`2.5`, `3`, `0.333333`),
//!   timestamps as `YYYY-MM-DDTHH:MM:SS` (no zone), dates as `YYYY-MM-DD`, lists as
//!   `[a, b]`, everything else as Arrow's display formatting.
//! * Placeholders in SQL: `${events}` is the events dataset directory, `${tmp}` a fresh
//!   per-file scratch directory (for `COPY ... TO`), `${testdata}` the committed fixture files
//!   of `testdata/table_functions/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float32Array, Float64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rsql::{RandomFaults, Session, SessionConfig};
use rsql_io::{WriteFormat, WriteOptions, write_batches};

fn testdata_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sql"))
}

/// 2024-03-01T00:00:00Z in microseconds.
const DAY_START_MICROS: i64 = 1_709_251_200 * 1_000_000;

/// The 30 `events` rows: row `i` (0..30) has
/// customer `["acme", "globex", "initech"][i % 3]`, url `/p{i % 4}`,
/// referrer NULL when `i % 5 == 0` else `["google", "bing"][i % 2]`, session_id `s{i % 7}`,
/// ts `2024-03-01T{10 + i / 10}:{(i * 7) % 60}:00`.
fn events_batch() -> RecordBatch {
    let customers = ["acme", "globex", "initech"];
    let referrers = ["google", "bing"];
    let rows = 0..30i64;
    let url: StringArray = rows.clone().map(|i| Some(format!("/p{}", i % 4))).collect();
    let referrer: StringArray = rows
        .clone()
        .map(|i| (i % 5 != 0).then(|| referrers[(i % 2) as usize].to_string()))
        .collect();
    let session: StringArray = rows.clone().map(|i| Some(format!("s{}", i % 7))).collect();
    let ts = TimestampMicrosecondArray::from(
        rows.clone()
            .map(|i| DAY_START_MICROS + ((10 + i / 10) * 3600 + ((i * 7) % 60) * 60) * 1_000_000)
            .collect::<Vec<_>>(),
    )
    .with_timezone("UTC");
    let customer: StringArray = rows
        .map(|i| Some(customers[(i % 3) as usize].to_string()))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("url", DataType::Utf8, false),
        Field::new("referrer", DataType::Utf8, true),
        Field::new("session_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("customer", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(url),
        Arc::new(referrer),
        Arc::new(session),
        Arc::new(ts),
        Arc::new(customer),
    ];
    RecordBatch::try_new(schema, columns).expect("events batch")
}

/// The small tables every file may use.
const SETUP_SQL: &[&str] = &[
    "CREATE TEMP VIEW users AS SELECT column1 AS id, column2 AS name, column3 AS city FROM (VALUES \
     (1, 'alice', 'paris'), (2, 'bob', 'london'), (3, 'carol', NULL), (4, 'dave', 'paris'))",
    "CREATE TEMP VIEW orders AS SELECT column1 AS id, column2 AS user_id, \
     CAST(column3 AS DOUBLE) AS amount FROM (VALUES \
     (10, 1, 25.5), (11, 1, 4.5), (12, 2, 100.0), (13, 5, 7.25), (14, NULL, 3.0))",
];

/// Writes the fixture datasets under `dir` and registers them in a new session.
fn setup(dir: &Path, faults: Option<RandomFaults>) -> Result<Session, String> {
    let events_dir = dir.join("events");
    let batch = events_batch();
    write_batches(
        &events_dir,
        batch.schema(),
        [Ok(batch)],
        WriteOptions::new(WriteFormat::parquet()).with_partition_by(&["customer"]),
    )
    .map_err(|e| format!("writing events: {e}"))?;
    let config = SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        fault_injection: faults,
        ..SessionConfig::default()
    };
    let session = Session::with_config(config).map_err(|e| e.to_string())?;
    session
        .register_parquet("events", events_dir.to_str().expect("utf-8 path"))
        .map_err(|e| format!("registering events: {e}"))?;
    for sql in SETUP_SQL {
        session
            .sql(sql)
            .map_err(|e| format!("setup `{sql}`: {e}"))?;
    }
    Ok(session)
}

#[derive(Debug)]
enum Kind {
    StatementOk,
    StatementError(String),
    Query {
        columns: usize,
        rowsort: bool,
        nonempty: bool,
        contains: bool,
    },
}

#[derive(Debug)]
struct Record {
    line: usize,
    kind: Kind,
    sql: String,
    expected: Vec<String>,
}

fn parse(text: &str, file: &str) -> Result<Vec<Record>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let lineno = i + 1;
        i += 1;
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let kind = match words.as_slice() {
            ["statement", "ok"] => Kind::StatementOk,
            ["statement", "error", ..] => Kind::StatementError(
                line.trim_start()["statement error".len()..]
                    .trim()
                    .to_string(),
            ),
            ["query", types] => Kind::Query {
                columns: types.len(),
                rowsort: false,
                nonempty: false,
                contains: false,
            },
            ["query", types, "rowsort"] => Kind::Query {
                columns: types.len(),
                rowsort: true,
                nonempty: false,
                contains: false,
            },
            ["query", types, "nonempty"] => Kind::Query {
                columns: types.len(),
                rowsort: false,
                nonempty: true,
                contains: false,
            },
            ["query", types, "contains"] => Kind::Query {
                columns: types.len(),
                rowsort: false,
                nonempty: false,
                contains: true,
            },
            _ => return Err(format!("{file}:{lineno}: unknown record header `{line}`")),
        };
        let is_query = matches!(kind, Kind::Query { .. });
        let mut sql = Vec::new();
        let mut saw_separator = false;
        while i < lines.len() && !lines[i].trim().is_empty() {
            let l = lines[i].trim_end();
            i += 1;
            if is_query && l == "----" {
                saw_separator = true;
                break;
            }
            sql.push(l);
        }
        let mut expected = Vec::new();
        if is_query {
            if !saw_separator {
                return Err(format!("{file}:{lineno}: query without a `----` line"));
            }
            while i < lines.len() && !lines[i].trim().is_empty() {
                expected.push(lines[i].trim().to_string());
                i += 1;
            }
        }
        if sql.is_empty() {
            return Err(format!("{file}:{lineno}: record without SQL"));
        }
        records.push(Record {
            line: lineno,
            kind,
            sql: sql.join("\n"),
            expected,
        });
    }
    Ok(records)
}

/// `v` rounded to 6 decimals, trailing zeros trimmed.
fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn render_value(array: &dyn Array, formatter: &ArrayFormatter, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".into();
    }
    let rendered = match array.data_type() {
        DataType::Float64 => {
            let a = array.as_any().downcast_ref::<Float64Array>().expect("f64");
            format_float(a.value(row))
        }
        DataType::Float32 => {
            let a = array.as_any().downcast_ref::<Float32Array>().expect("f32");
            format_float(f64::from(a.value(row)))
        }
        _ => formatter.value(row).to_string(),
    };
    if rendered.is_empty() {
        "(empty)".into()
    } else {
        rendered
    }
}

fn render(batches: &[RecordBatch]) -> Result<(usize, Vec<String>), String> {
    let options = FormatOptions::default()
        .with_null("NULL")
        .with_timestamp_format(Some("%Y-%m-%dT%H:%M:%S"))
        .with_timestamp_tz_format(Some("%Y-%m-%dT%H:%M:%S"));
    let mut rows = Vec::new();
    let mut columns = 0;
    for batch in batches {
        columns = batch.num_columns();
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("formatting: {e}"))?;
        for row in 0..batch.num_rows() {
            let values: Vec<String> = batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(c, f)| render_value(c.as_ref(), f, row))
                .collect();
            rows.push(values.join(" | "));
        }
    }
    Ok((columns, rows))
}

fn run_sql(session: &Session, sql: &str) -> Result<Vec<RecordBatch>, String> {
    session
        .sql(sql)
        .and_then(|df| df.collect())
        .map_err(|e| e.to_string())
}

fn run_record(session: &Session, record: &Record, sql: &str) -> Result<(), String> {
    match &record.kind {
        Kind::StatementOk => run_sql(session, sql)
            .map(|_| ())
            .map_err(|e| format!("expected success, got error: {e}")),
        Kind::StatementError(expected) => match run_sql(session, sql) {
            Ok(_) => Err(format!(
                "expected an error containing `{expected}`, got success"
            )),
            Err(e) if e.contains(expected.as_str()) => Ok(()),
            Err(e) => Err(format!(
                "expected an error containing `{expected}`\n  actual error: {e}"
            )),
        },
        Kind::Query {
            columns,
            rowsort,
            nonempty,
            contains,
        } => {
            let batches = run_sql(session, sql).map_err(|e| format!("query failed: {e}"))?;
            let (actual_columns, mut actual) = render(&batches)?;
            if *contains {
                let missing: Vec<&String> = record
                    .expected
                    .iter()
                    .filter(|line| !actual.iter().any(|row| row.contains(line.as_str())))
                    .collect();
                return if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "no row contains {missing:?}; the rows:\n{}",
                        actual.join("\n")
                    ))
                };
            }
            if *nonempty {
                return if actual.is_empty() || actual_columns != *columns {
                    Err(format!(
                        "expected at least one row of {columns} columns, got {} rows",
                        actual.len()
                    ))
                } else {
                    Ok(())
                };
            }
            let mut expected = record.expected.clone();
            if *rowsort {
                actual.sort();
                expected.sort();
            }
            let column_mismatch = !actual.is_empty() && actual_columns != *columns;
            if actual != expected || column_mismatch {
                let mut msg = String::from("wrong result");
                if column_mismatch {
                    msg.push_str(&format!(
                        " ({actual_columns} columns, the record's types say {columns})"
                    ));
                }
                msg.push_str("\n  expected:\n");
                for row in &expected {
                    msg.push_str(&format!("    {row}\n"));
                }
                msg.push_str("  actual:\n");
                for row in &actual {
                    msg.push_str(&format!("    {row}\n"));
                }
                return Err(msg);
            }
            Ok(())
        }
    }
}

/// Runs one `.slt` file; panics listing every failed record.
/// Runs every record of `name`, under random faults when `faults` is set.
fn run_file(name: &str, faults: Option<RandomFaults>) {
    let path = testdata_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let records = parse(&text, name).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let session = setup(dir.path(), faults).unwrap_or_else(|e| panic!("{name}: setup failed: {e}"));
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let events = dir.path().join("events");
    let fixtures = testdata_dir().join("../table_functions");
    let mut failures = Vec::new();
    for record in &records {
        let sql = record
            .sql
            .replace("${events}", events.to_str().expect("utf-8 path"))
            .replace("${tmp}", scratch.to_str().expect("utf-8 path"))
            .replace("${testdata}", fixtures.to_str().expect("utf-8 path"));
        if let Err(msg) = run_record(&session, record, &sql) {
            failures.push(format!(
                "{name}:{}: {msg}\n  sql: {}",
                record.line, record.sql
            ));
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} records failed in {name}:\n\n{}",
            failures.len(),
            records.len(),
            failures.join("\n\n")
        );
    }
}

macro_rules! slt_tests {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                run_file($file, None);
            }
        )*

        /// The same files with a third of task attempts failing, a third of shuffles losing
        /// a map output and a third of cached partitions dropped (`SET fault_injection`): the
        /// answers must not change.
        mod under_faults {
            use super::*;

            const FAULTS: RandomFaults = RandomFaults {
                probability: 0.3,
                seed: 7,
            };

            $(
                #[test]
                fn $test() {
                    run_file($file, Some(FAULTS));
                }
            )*
        }

        /// Every `.slt` file in the directory has a test above.
        #[test]
        fn every_slt_file_is_listed() {
            let listed = [$($file),*];
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(testdata_dir()).expect("testdata/sql") {
                let name = entry.expect("dir entry").file_name().to_string_lossy().into_owned();
                if name.ends_with(".slt") && !listed.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
            assert!(missing.is_empty(), "add these files to slt_tests!: {missing:?}");
        }
    };
}

slt_tests! {
    ansi => "ansi.slt",
    approx => "approx.slt",
    distinct_aggregates => "distinct_aggregates.slt",
    select => "select.slt",
    datetime => "datetime.slt",
    aggregate => "aggregate.slt",
    join => "join.slt",
    order_limit => "order_limit.slt",
    ddl => "ddl.slt",
    join_shuffle => "join_shuffle.slt",
    errors => "errors.slt",
    subquery => "subquery.slt",
    decimal => "decimal.slt",
    interval => "interval.slt",
    set_operations => "set_operations.slt",
    math => "math.slt",
    conditional => "conditional.slt",
    cast => "cast.slt",
    string => "string.slt",
    window => "window.slt",
    window_group_limit => "window_group_limit.slt",
    fuzz_regressions => "fuzz_regressions.slt",
    settings => "settings.slt",
    describe => "describe.slt",
    tables => "tables.slt",
    statistics => "statistics.slt",
    grouping_sets => "grouping_sets.slt",
    time_zone => "time_zone.slt",
    table_functions => "table_functions.slt",
    quantiles => "quantiles.slt",
    nested => "nested.slt",
    or_derived_filters => "or_derived_filters.slt",
    join_build_side => "join_build_side.slt",
}

/// `SET fault_injection` makes task attempts fail (the listener counts them) and changes no
/// answer: the runs above rely on it injecting something.
#[test]
fn the_fault_injection_setting_fails_attempts_and_keeps_the_answer() {
    let session = Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        ..SessionConfig::default()
    })
    .unwrap();
    let totals = Arc::new(rsql_rdd::TotalsListener::default());
    session
        .context()
        .add_listener(Arc::clone(&totals) as Arc<dyn rsql_rdd::SchedulerListener>);
    let sql = "SELECT a.x % 5 AS k, count(*) AS n, sum(b.y) AS s \
               FROM range(1000) a(x) JOIN (SELECT x AS y FROM range(1000) t(x)) b ON a.x = b.y \
               GROUP BY 1 ORDER BY 1";
    // By hand: each k in 0..5 has the 200 values x = k, k + 5, ..., summing to
    // 200 k + 5 (0 + 1 + ... + 199).
    let expected: Vec<String> = (0..5)
        .map(|k| format!("{k} | 200 | {}", 200 * k + 5 * 199 * 200 / 2))
        .collect();
    let rows = |session: &Session| -> Vec<String> {
        let batches = session.sql(sql).unwrap().collect().unwrap();
        render(&batches).unwrap().1
    };
    assert_eq!(rows(&session), expected);
    assert_eq!(totals.take().failed_tasks, 0);
    session.sql("SET fault_injection = '0.5,11'").unwrap();
    assert_eq!(rows(&session), expected);
    assert!(totals.take().failed_tasks > 0, "no attempt failed");
    session.sql("RESET fault_injection").unwrap();
    assert_eq!(rows(&session), expected);
    assert_eq!(totals.take().failed_tasks, 0);
}
