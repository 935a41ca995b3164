//! Bad input never panics and never leaves partial output: every case fails with one line
//! naming the file (and the line or row group where the format has them), or, under a read
//! mode that says so, keeps going with the documented rows. Expected rows are worked out by
//! hand from the tiny files each test writes.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rsql::{Session, SessionConfig};
use rsql_io::{WriteFormat, WriteOptions, write_batches};

use common::row_texts;

/// Two threads and tiny partitions, so that several tasks read the files.
fn session() -> Session {
    Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 2,
        max_partition_bytes: 64,
        ..SessionConfig::default()
    })
    .expect("session")
}

/// Runs `sql` to completion: its rows as text, or the error message.
fn run(session: &Session, sql: &str) -> Result<Vec<String>, String> {
    session
        .sql(sql)
        .and_then(|df| df.collect())
        .map(|batches| row_texts(&batches))
        .map_err(|error| error.to_string())
}

/// The error `sql` fails with, checked to be one line holding every one of `needles`.
fn error_of(session: &Session, sql: &str, needles: &[&str]) -> String {
    let message = match run(session, sql) {
        Ok(rows) => panic!("{sql} should fail, got {rows:?}"),
        Err(message) => message,
    };
    assert!(!message.contains('\n'), "not one line: {message}");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in: {message}");
    }
    message
}

/// `sql`'s rows, sorted.
fn sorted_rows(session: &Session, sql: &str) -> Vec<String> {
    let mut rows = run(session, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.sort();
    rows
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// A Parquet file `name` in `dir` with column `a` holding 0..rows in row groups of 100 rows.
fn parquet_file(dir: &Path, name: &str, rows: i64) -> PathBuf {
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(Int64Array::from_iter_values(0..rows))],
    )
    .expect("batch");
    let staging = dir.join(format!("{name}.out"));
    write_batches(
        &staging,
        schema,
        [Ok(batch)],
        WriteOptions::new(WriteFormat::parquet_with_row_groups(100)),
    )
    .expect("write");
    let part = std::fs::read_dir(&staging)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.extension().is_some_and(|e| e == "parquet"))
        .expect("a part file");
    let file = dir.join(name);
    std::fs::rename(part, &file).expect("move");
    std::fs::remove_dir_all(staging).expect("clean");
    file
}

fn sql_path(path: &Path) -> String {
    path_text(path).replace('\'', "''")
}

#[test]
fn truncated_parquet_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = parquet_file(dir.path(), "cut.parquet", 1000);
    let bytes = std::fs::read(&file).expect("read");
    std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncate");
    let sql = format!("SELECT sum(a) FROM read_parquet('{}')", sql_path(&file));
    error_of(&session(), &sql, &[&path_text(&file), "Parquet"]);
}

#[test]
fn a_text_file_named_parquet_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    parquet_file(dir.path(), "good.parquet", 10);
    let fake = dir.path().join("fake.parquet");
    std::fs::write(&fake, "a,b\n1,2\n").expect("write");
    let sql = format!("SELECT count(*) FROM '{}'", sql_path(dir.path()));
    error_of(&session(), &sql, &[&path_text(&fake)]);
}

#[test]
fn garbage_inside_a_row_group_names_the_file_and_the_row_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = parquet_file(dir.path(), "garbled.parquet", 1000);
    let session = session();
    let sql = format!("SELECT sum(a) FROM read_parquet('{}')", sql_path(&file));
    // sum(0..1000), by the formula n(n-1)/2.
    assert_eq!(sorted_rows(&session, &sql), vec!["499500"]);
    // Overwrite the middle of the data pages (the footer stays readable) with garbage.
    let mut bytes = std::fs::read(&file).expect("read");
    let middle = bytes.len() / 3;
    for (i, byte) in bytes[middle..middle + 200].iter_mut().enumerate() {
        *byte = (i * 37 % 251) as u8;
    }
    std::fs::write(&file, &bytes).expect("garble");
    error_of(&session, &sql, &[&path_text(&file), "row group"]);
}

#[test]
fn conflicting_parquet_schemas_name_the_column_and_both_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    parquet_file(dir.path(), "ints.parquet", 10);
    let strings = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
    let batch = RecordBatch::try_new(
        Arc::clone(&strings),
        vec![Arc::new(StringArray::from(vec![Some("x"), None]))],
    )
    .expect("batch");
    write_batches(
        dir.path().join("strings"),
        strings,
        [Ok(batch)],
        WriteOptions::new(WriteFormat::parquet()),
    )
    .expect("write");
    let sql = format!(
        "SELECT * FROM read_parquet('{}/**/*.parquet')",
        sql_path(dir.path())
    );
    error_of(&session(), &sql, &["`a`", "ints.parquet", "strings/part-"]);
}

#[test]
fn conflicting_csv_files_name_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("1.csv"), "a,b\n1,x\n2,y\n").expect("write");
    std::fs::write(dir.path().join("2.csv"), "a,b\n3,z\nfour,w\n").expect("write");
    let sql = format!(
        "SELECT * FROM read_csv('{}/*.csv', mode => 'FAILFAST')",
        sql_path(dir.path())
    );
    error_of(&session(), &sql, &["2.csv:3: malformed CSV record", "four"]);
}

#[test]
fn ragged_csv_rows_fail_fast_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ragged.csv");
    std::fs::write(&file, "a,b\n1,2\n3\n4,5\n").expect("write");
    let too_many = dir.path().join("wide.csv");
    std::fs::write(&too_many, "a,b\n1,2\n3,4\n5,6,7\n").expect("write");
    let session = session();
    for (file, line) in [(&file, 3), (&too_many, 4)] {
        let sql = format!(
            "SELECT * FROM read_csv('{}', mode => 'failfast')",
            sql_path(file)
        );
        error_of(&session, &sql, &[&format!("{}:{line}:", path_text(file))]);
    }
}

#[test]
fn ragged_csv_rows_under_the_read_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ragged.csv");
    std::fs::write(&file, "a,b\n1,2\n3\n4,5,6\n7,8\n").expect("write");
    let session = session();
    let query = |mode: &str| {
        format!(
            "SELECT * FROM read_csv('{}', mode => '{mode}', columns => {{'a': 'BIGINT', 'b': 'BIGINT'}})",
            sql_path(&file)
        )
    };
    assert_eq!(
        sorted_rows(&session, &query("DROPMALFORMED")),
        vec!["1 | 2", "7 | 8"]
    );
    // Counting reads no column, yet still finds the ragged rows.
    let count = format!(
        "SELECT count(*) FROM read_csv('{}', mode => 'DROPMALFORMED')",
        sql_path(&file)
    );
    assert_eq!(sorted_rows(&session, &count), vec!["2"]);
    assert_eq!(
        sorted_rows(&session, &query("PERMISSIVE")),
        vec!["1 | 2", "7 | 8", "NULL | NULL", "NULL | NULL"]
    );
    // With a `_corrupt_record` column in the schema, PERMISSIVE keeps the raw lines.
    let sql = format!(
        "SELECT a, b, _corrupt_record FROM read_csv('{}', columns => {{'a': 'BIGINT', 'b': 'BIGINT', \
         '_corrupt_record': 'VARCHAR'}})",
        sql_path(&file)
    );
    assert_eq!(
        sorted_rows(&session, &sql),
        vec![
            "1 | 2 | NULL",
            "7 | 8 | NULL",
            "NULL | NULL | 3",
            "NULL | NULL | 4,5,6"
        ]
    );
}

#[test]
fn invalid_utf8_in_csv_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latin1.csv");
    std::fs::write(&file, b"name,n\nok,1\ncaf\xe9,2\n").expect("write");
    let session = session();
    let sql = format!(
        "SELECT * FROM read_csv('{}', mode => 'FAILFAST')",
        sql_path(&file)
    );
    error_of(
        &session,
        &sql,
        &[&format!("{}:3:", path_text(&file)), "UTF-8"],
    );
    let sql = format!(
        "SELECT * FROM read_csv('{}', mode => 'DROPMALFORMED')",
        sql_path(&file)
    );
    assert_eq!(sorted_rows(&session, &sql), vec!["ok | 1"]);
}

/// `{"a":1,"b":"p"}`, a broken line, `{"a":3}`, a line with invalid UTF-8, `{"a":5,"b":"q"}`.
fn bad_json(dir: &Path) -> PathBuf {
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        b"{\"a\": 1, \"b\": \"p\"}\n{\"a\": 2, broken\n{\"a\": 3}\n\n{\"a\": 4, \"b\": \"\xff\"}\n{\"a\": 5, \"b\": \"q\"}\n",
    )
    .expect("write");
    file
}

#[test]
fn malformed_json_fails_fast_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = bad_json(dir.path());
    let session = session();
    let sql = format!(
        "SELECT * FROM read_json('{}', mode => 'FAILFAST')",
        sql_path(&file)
    );
    error_of(&session, &sql, &[&format!("{}:2", path_text(&file))]);
    // With an explicit schema inference is skipped: the reader finds the same line.
    let sql = format!(
        "SELECT * FROM read_json('{}', mode => 'FAILFAST', columns => {{'a': 'BIGINT', 'b': 'VARCHAR'}})",
        sql_path(&file)
    );
    error_of(&session, &sql, &[&format!("{}:2", path_text(&file))]);
    // `ignore_errors => false` (DuckDB's spelling) is FAILFAST.
    let sql = format!(
        "SELECT * FROM read_json('{}', ignore_errors => false)",
        sql_path(&file)
    );
    error_of(&session, &sql, &[&format!("{}:2", path_text(&file))]);
}

#[test]
fn invalid_utf8_in_json_names_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latin1.json");
    std::fs::write(&file, b"{\"s\": \"ok\"}\n{\"s\": \"caf\xe9\"}\n").expect("write");
    let sql = format!(
        "SELECT * FROM read_json('{}', mode => 'FAILFAST', columns => {{'s': 'VARCHAR'}})",
        sql_path(&file)
    );
    error_of(
        &session(),
        &sql,
        &[&format!("{}:2", path_text(&file)), "UTF-8"],
    );
}

#[test]
fn permissive_json_keeps_malformed_lines_in_corrupt_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = bad_json(dir.path());
    let session = session();
    // Inference met malformed lines, so the schema ends with `_corrupt_record`; PERMISSIVE is
    // the default.
    let sql = format!("SELECT * FROM read_json('{}')", sql_path(&file));
    assert_eq!(
        sorted_rows(&session, &sql),
        vec![
            "1 | p | NULL",
            "3 | NULL | NULL",
            "5 | q | NULL",
            "NULL | NULL | {\"a\": 2, broken",
            "NULL | NULL | {\"a\": 4, \"b\": \"\u{fffd}\"}",
        ]
    );
    let sql = format!(
        "SELECT count(*), count(_corrupt_record) FROM read_json('{}', mode => 'PERMISSIVE')",
        sql_path(&file)
    );
    assert_eq!(sorted_rows(&session, &sql), vec!["5 | 2"]);
    // DuckDB's `ignore_errors => true` is PERMISSIVE.
    let sql = format!(
        "SELECT a FROM read_json('{}', ignore_errors => true) WHERE _corrupt_record IS NULL",
        sql_path(&file)
    );
    assert_eq!(sorted_rows(&session, &sql), vec!["1", "3", "5"]);
}

#[test]
fn permissive_json_with_a_clean_sample_has_no_corrupt_record_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("late.json");
    // A type mismatch after the inference sample of one record: a row of nulls.
    std::fs::write(&file, "{\"a\": 1}\n{\"a\": \"two\"}\n{\"a\": 3}\n").expect("write");
    let session = session();
    let sql = format!(
        "SELECT * FROM read_json('{}', sample_size => 1)",
        sql_path(&file)
    );
    assert_eq!(sorted_rows(&session, &sql), vec!["1", "3", "NULL"]);
    let sql = format!(
        "SELECT _corrupt_record FROM read_json('{}', sample_size => 1)",
        sql_path(&file)
    );
    error_of(&session, &sql, &["_corrupt_record"]);
    // Naming the column in the schema keeps the raw line.
    let sql = format!(
        "SELECT a, _corrupt_record FROM read_json('{}', columns => {{'a': 'BIGINT', \
         '_corrupt_record': 'VARCHAR'}})",
        sql_path(&file)
    );
    assert_eq!(
        sorted_rows(&session, &sql),
        vec!["1 | NULL", "3 | NULL", "NULL | {\"a\": \"two\"}"]
    );
}

#[test]
fn json_numbers_in_a_string_column_keep_their_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mixed.json");
    // Inference widens `a` to a string, as Spark does: no line is malformed.
    std::fs::write(&file, "{\"a\": 1}\n{\"a\": \"x\"}\n{\"a\": true}\n").expect("write");
    let sql = format!(
        "SELECT * FROM read_json('{}', mode => 'FAILFAST')",
        sql_path(&file)
    );
    assert_eq!(sorted_rows(&session(), &sql), vec!["1", "true", "x"]);
}

#[test]
fn dropmalformed_json_skips_bad_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = bad_json(dir.path());
    let sql = format!(
        "SELECT a, b FROM read_json('{}', mode => 'DROPMALFORMED')",
        sql_path(&file)
    );
    assert_eq!(
        sorted_rows(&session(), &sql),
        vec!["1 | p", "3 | NULL", "5 | q"]
    );
}

#[test]
fn an_unknown_mode_is_a_plan_error() {
    let sql = "SELECT * FROM read_json('x.json', mode => 'LENIENT')";
    error_of(
        &session(),
        sql,
        &["LENIENT", "PERMISSIVE", "DROPMALFORMED", "FAILFAST"],
    );
}

#[test]
fn a_file_deleted_after_planning_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let session = session();
    let parquet = parquet_file(dir.path(), "gone.parquet", 10);
    let csv = dir.path().join("gone.csv");
    std::fs::write(&csv, "a\n1\n").expect("write");
    let json = dir.path().join("gone.json");
    std::fs::write(&json, "{\"a\": 1}\n").expect("write");
    for file in [parquet, csv, json] {
        let df = session
            .sql(&format!("SELECT * FROM '{}'", sql_path(&file)))
            .expect("plan");
        std::fs::remove_file(&file).expect("delete");
        let message = df.collect().expect_err("the file is gone").to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains(&path_text(&file)), "{message}");
    }
}

/// Whether `dir` holds anything besides `keep`.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}

#[test]
fn an_output_directory_under_a_regular_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("plain_file");
    std::fs::write(&blocker, "not a directory").expect("write");
    let target = blocker.join("out");
    let sql = format!(
        "COPY (SELECT * FROM range(10)) TO '{}' (FORMAT parquet)",
        sql_path(&target)
    );
    error_of(
        &session(),
        &sql,
        &[&format!("{}: not a directory", path_text(&blocker))],
    );
    assert!(leftovers(dir.path(), &["plain_file"]).is_empty());
}

#[test]
fn a_copy_failing_midway_leaves_no_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).expect("mkdir");
    for i in 0..4 {
        std::fs::write(input.join(format!("{i}.json")), format!("{{\"a\": {i}}}\n"))
            .expect("write");
    }
    std::fs::write(input.join("9.json"), "{\"a\": 9}\n{\"a\": oops}\n").expect("write");
    let session = session();
    for format in ["parquet", "csv", "json"] {
        let target = dir.path().join(format!("out_{format}"));
        let sql = format!(
            "COPY (SELECT a FROM read_json('{}/*.json', mode => 'FAILFAST', columns => {{'a': 'BIGINT'}})) \
             TO '{}' (FORMAT {format})",
            sql_path(&input),
            sql_path(&target)
        );
        error_of(&session, &sql, &["9.json:2"]);
        assert!(!target.exists(), "{format}: partial output left behind");
    }
    assert!(
        leftovers(dir.path(), &["in"]).is_empty(),
        "staging directories left behind"
    );
}
