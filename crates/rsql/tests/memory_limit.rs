//! Queries under a memory limit far below their working set spill to disk and return the same
//! rows as without a limit; every reserved byte is returned when the job ends.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rsql::{Session, SessionConfig};
use rsql_io::{WriteFormat, WriteOptions, write_batches};

const ROWS: i64 = 60_000;

/// `t(k, g, s, v)`: 20 000 keys `k`, 7 groups `g`, strings `s` and values `v`.
fn write_table(dir: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("g", DataType::Int64, false),
        Field::new("s", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
    ]));
    let batches: Vec<_> = (0..6)
        .map(|chunk| {
            let rows = (chunk * ROWS / 6)..((chunk + 1) * ROWS / 6);
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from_iter_values(
                        rows.clone().map(|i| (i * 7919) % 20_000),
                    )),
                    Arc::new(Int64Array::from_iter_values(rows.clone().map(|i| i % 7))),
                    Arc::new(StringArray::from_iter(rows.clone().map(|i| {
                        (i % 11 != 0).then(|| format!("session-{}", (i * 31) % 997))
                    }))),
                    Arc::new(Int64Array::from_iter(
                        rows.map(|i| (i % 13 != 0).then_some(i % 1000)),
                    )),
                ],
            )
            .unwrap()
        })
        .collect();
    // Row groups of 10 000 rows, so that the scan has several partitions.
    let parquet = WriteFormat::parquet_with_row_groups(10_000);
    let batches = batches.into_iter().map(Ok);
    write_batches(dir, schema, batches, WriteOptions::new(parquet)).unwrap();
}

fn session(dir: &Path, memory_limit: Option<usize>) -> Session {
    let session = Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        memory_limit,
        max_partition_bytes: 64 << 10,
        ..SessionConfig::default()
    })
    .unwrap();
    session
        .register_parquet("t", dir.to_str().unwrap())
        .unwrap();
    session
}

/// Rows as text, sorted unless the query orders them.
fn rows(session: &Session, sql: &str) -> Vec<String> {
    let batches = session.sql(sql).unwrap().collect().unwrap();
    let mut rows = common::row_texts(&batches);
    if !sql.contains("ORDER BY") {
        rows.sort();
    }
    rows
}

#[test]
fn queries_over_the_memory_limit_spill_and_return_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let unlimited = session(&table, None);
    let limited = session(&table, Some(256 << 10));
    let queries = [
        // Partial aggregates flush, the shuffle spills, final aggregates spill and merge.
        "SELECT k, count(*), count(DISTINCT s), sum(v), min(s), max(v) FROM t GROUP BY k",
        "SELECT g, count(DISTINCT k), count_values(s) FROM t GROUP BY g",
        // A range exchange and a sort of every row (sorted runs spilled and merged), and a
        // top-k.
        "SELECT k, v, s FROM t WHERE v IS NOT NULL ORDER BY v DESC, k, s",
        "SELECT k, v, s FROM t ORDER BY v DESC, k, s LIMIT 50",
        "SELECT count(*), count(DISTINCT s) FROM t",
    ];
    for sql in queries {
        let expected = rows(&unlimited, sql);
        assert!(!expected.is_empty(), "{sql}");
        assert_eq!(rows(&limited, sql), expected, "{sql}");
    }
    let pool = limited.context().memory_pool();
    assert!(pool.spilled_bytes() > 0, "nothing spilled");
    assert_eq!(pool.used(), 0, "every reservation is returned");
    assert_eq!(unlimited.context().memory_pool().spilled_bytes(), 0);
}

/// A partitioned join over the limit splits both sides into spill partitions by key hash and
/// returns the same rows.
#[test]
fn a_partitioned_join_over_the_limit_spills_and_returns_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let config = |memory_limit| SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        max_partition_bytes: 64 << 10,
        // Both sides shuffled, never broadcast.
        broadcast_threshold: 0,
        memory_limit,
        ..SessionConfig::default()
    };
    let sql = "SELECT a.k, a.v, b.g, b.s FROM t a JOIN t b ON a.k = b.k AND a.g = b.g \
               WHERE a.v < 20";
    let run = |memory_limit| {
        let session = Session::with_config(config(memory_limit)).unwrap();
        session
            .register_parquet("t", table.to_str().unwrap())
            .unwrap();
        let rows = rows(&session, sql);
        (rows, session)
    };
    let (expected, _) = run(None);
    assert!(!expected.is_empty());
    let (limited, session) = run(Some(64 << 10));
    assert_eq!(limited, expected);
    let pool = session.context().memory_pool();
    assert!(pool.spilled_bytes() > 0, "nothing spilled");
    assert_eq!(pool.used(), 0);
}

/// A broadcast side is shared by every task and held whole: past the limit the query fails
/// with an error that names the operator and the limit, and the pool is left empty.
#[test]
fn a_broadcast_side_over_the_limit_fails_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let limited = session(&table, Some(64 << 10));
    let err = limited
        .sql("SELECT a.k, b.v FROM t a JOIN t b ON a.k = b.k")
        .unwrap()
        .collect()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("memory limit reached: HashJoin broadcast side needs"),
        "{err}"
    );
    assert!(err.contains(&format!("of {} in use", 64 << 10)), "{err}");
    assert_eq!(limited.context().memory_pool().used(), 0);
}

/// The join strategy EXPLAIN names is the one that runs, even when both sides of a keyless
/// join are in one partition each: its build side is the broadcast side, held whole, and past
/// the limit the query fails as a broadcast join does.
#[test]
fn a_keyless_join_of_single_partitions_runs_as_the_broadcast_join_explain_names() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let limited = session(&table, Some(64 << 10));
    let sql = "SELECT a.k, b.s FROM (SELECT k FROM t LIMIT 10) a \
               CROSS JOIN (SELECT s FROM t LIMIT 60000) b";
    let df = limited.sql(sql).unwrap();
    let explain = df.explain(false).unwrap();
    assert!(
        explain.contains("HashJoin(Inner, broadcast) -> single"),
        "{explain}"
    );
    let err = df.collect().unwrap_err().to_string();
    assert!(
        err.contains("memory limit reached: HashJoin broadcast side needs"),
        "{err}"
    );
    assert_eq!(limited.context().memory_pool().used(), 0);
}

/// `SET memory_limit` applies to the next query of a running session: the same query that ran
/// in memory spills after the SET and returns the same rows, and `RESET` restores no limit.
#[test]
fn set_memory_limit_applies_to_the_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let session = session(&table, None);
    let pool = Arc::clone(session.context().memory_pool());
    let sql = "SELECT k, count(*), count(DISTINCT s), sum(v) FROM t GROUP BY k";
    let expected = rows(&session, sql);
    assert_eq!(pool.spilled_bytes(), 0);

    session.sql("SET memory_limit = '256KiB'").unwrap();
    assert_eq!(session.config().memory_limit, Some(256 << 10));
    assert_eq!(pool.limit(), Some(256 << 10));
    assert_eq!(rows(&session, sql), expected);
    assert!(
        pool.spilled_bytes() > 0,
        "nothing spilled under the new limit"
    );

    session.sql("RESET memory_limit").unwrap();
    assert_eq!(pool.limit(), None);
    assert_eq!(session.config().memory_limit, None);
}
