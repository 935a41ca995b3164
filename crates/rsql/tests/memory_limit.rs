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

/// Rows as text, sorted unless the query orders them. The result is streamed: collected, it
/// would count against the limit the operators are tested under.
fn rows(session: &Session, sql: &str) -> Vec<String> {
    let stream = session.sql(sql).unwrap().execute_stream().unwrap();
    let mut rows: Vec<String> = stream
        .flat_map(|batch| common::row_texts(&[batch.unwrap()]))
        .collect();
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
        // Exact quantiles hold every value: wide partial groups are emitted as they grow, and
        // final groups spill their values and merge them again.
        "SELECT g, median(v), percentile(k, 0.9), quantile_disc(v, 0.25) FROM t GROUP BY g",
        "SELECT k % 500 AS b, median(v) FROM t GROUP BY k % 500",
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

/// Two threads, small scan splits and joins whose both sides are shuffled, never broadcast.
fn shuffled_joins(memory_limit: Option<usize>) -> SessionConfig {
    SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        max_partition_bytes: 64 << 10,
        broadcast_threshold: 0,
        memory_limit,
        ..SessionConfig::default()
    }
}

/// A partitioned join over the limit splits both sides into spill partitions by key hash and
/// returns the same rows.
#[test]
fn a_partitioned_join_over_the_limit_spills_and_returns_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let sql = "SELECT a.k, a.v, b.g, b.s FROM t a JOIN t b ON a.k = b.k AND a.g = b.g \
               WHERE a.v < 20";
    let run = |memory_limit| {
        let session = Session::with_config(shuffled_joins(memory_limit)).unwrap();
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

/// A join key with few values (7 groups) under a tiny limit: spill partitions too large for
/// the pool are split again by a new hash seed, and those no split separates (one key) are
/// joined a block at a time; the rows are those of an unlimited run.
#[test]
fn a_skewed_join_key_under_a_tiny_limit_is_split_again_then_joined_in_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let queries = [
        "SELECT a.g, count(*), count(b.s), sum(a.v), min(b.s) FROM \
         (SELECT g, v FROM t WHERE k < 100) a LEFT JOIN (SELECT g, s FROM t WHERE v < 200) b \
         ON a.g = b.g GROUP BY a.g",
        "SELECT count(*), count(a.v), count(b.s), sum(a.v) FROM \
         (SELECT g, v FROM t WHERE k < 100 AND g < 5) a \
         FULL JOIN (SELECT g, s FROM t WHERE v < 200) b ON a.g = b.g",
    ];
    let run = |memory_limit| {
        let session = Session::with_config(shuffled_joins(memory_limit)).unwrap();
        session
            .register_parquet("t", table.to_str().unwrap())
            .unwrap();
        let rows: Vec<Vec<String>> = queries.iter().map(|sql| rows(&session, sql)).collect();
        (rows, session)
    };
    let (expected, _) = run(None);
    // DuckDB's answer over the same rows.
    assert_eq!(expected[1], ["342478 | 312456 | 313499 | 154765346"]);
    let (limited, session) = run(Some(16 << 10));
    assert_eq!(limited, expected);
    let pool = session.context().memory_pool();
    assert!(pool.spilled_bytes() > 0, "nothing spilled");
    assert_eq!(pool.used(), 0);
}

/// A session over `dir` whose joins broadcast any build side, under `memory_limit`.
fn broadcasting_session(dir: &Path, memory_limit: Option<usize>) -> Session {
    let session = Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        max_partition_bytes: 64 << 10,
        broadcast_threshold: u64::MAX,
        memory_limit,
        ..SessionConfig::default()
    })
    .unwrap();
    session
        .register_parquet("t", dir.to_str().unwrap())
        .unwrap();
    session
}

/// A broadcast side larger than the limit is not an error: every task joins its probe
/// partition with the whole build side within the pool (spilling by key hash, or a block at a
/// time for joins that cannot be split) and the rows are those of an unlimited run, for every
/// join kind planned as a broadcast.
#[test]
fn a_broadcast_side_over_the_limit_falls_back_to_a_spilling_join() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let unlimited = broadcasting_session(&table, None);
    let limited = broadcasting_session(&table, Some(64 << 10));
    let queries = [
        "SELECT a.k, b.v, b.s FROM t a JOIN t b ON a.k = b.k WHERE a.v < 30",
        "SELECT a.k, a.v, b.s FROM (SELECT * FROM t WHERE v < 30) a LEFT JOIN \
         (SELECT * FROM t WHERE g < 3) b ON a.k = b.k AND a.g = b.g",
        "SELECT k, v FROM t a WHERE v < 200 AND EXISTS \
         (SELECT 1 FROM t b WHERE b.k = a.k AND b.g = 3)",
        "SELECT k, v FROM t a WHERE v < 200 AND NOT EXISTS \
         (SELECT 1 FROM t b WHERE b.k = a.k AND b.g = 3)",
        // Null-aware: the build side cannot be split by key hash, so it is joined in blocks.
        "SELECT k, v FROM t WHERE v < 100 AND k NOT IN \
         (SELECT v * 20 FROM t WHERE g = 1 AND v IS NOT NULL)",
        "SELECT k, v, k IN (SELECT v * 20 FROM t WHERE g = 1) FROM t WHERE v < 100",
    ];
    let pool = limited.context().memory_pool();
    for sql in queries {
        let df = limited.sql(sql).unwrap();
        let explain = df.explain(false).unwrap();
        assert!(explain.contains("broadcast"), "{sql}: {explain}");
        let expected = rows(&unlimited, sql);
        assert!(!expected.is_empty(), "{sql}");
        let spilled = pool.spilled_bytes();
        assert_eq!(rows(&limited, sql), expected, "{sql}");
        assert!(pool.spilled_bytes() > spilled, "{sql}: nothing spilled");
        assert_eq!(pool.used(), 0, "{sql}: every reservation is returned");
    }
    assert_eq!(unlimited.context().memory_pool().spilled_bytes(), 0);
}

/// Joins without equality keys hold their build side a block at a time within the limit,
/// reading the spilled probe side once per block, and return the rows of an unlimited run.
#[test]
fn keyless_joins_over_the_limit_join_the_build_side_in_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let unlimited = session(&table, None);
    let limited = session(&table, Some(64 << 10));
    let queries = [
        "SELECT a.k, a.v, b.k, b.s FROM (SELECT k, v FROM t WHERE k < 40) a \
         JOIN t b ON b.v > a.v + 900",
        "SELECT a.k, a.v, b.k, b.s FROM (SELECT k, v FROM t WHERE k < 40) a \
         LEFT JOIN t b ON b.v > a.v + 990",
        "SELECT a.k, a.v, b.k, b.v FROM (SELECT k, v FROM t WHERE k < 40) a \
         FULL JOIN (SELECT k, v FROM t WHERE g = 2) b ON b.v > a.v + 990",
        "SELECT k, v FROM t a WHERE k < 300 AND NOT EXISTS \
         (SELECT 1 FROM t b WHERE b.v > a.v + 995)",
        "SELECT k, v FROM t a WHERE k < 300 AND EXISTS \
         (SELECT 1 FROM t b WHERE b.v > a.v + 995)",
    ];
    let pool = limited.context().memory_pool();
    for sql in queries {
        let expected = rows(&unlimited, sql);
        assert!(!expected.is_empty(), "{sql}");
        let spilled = pool.spilled_bytes();
        assert_eq!(rows(&limited, sql), expected, "{sql}");
        assert!(pool.spilled_bytes() > spilled, "{sql}: nothing spilled");
        assert_eq!(pool.used(), 0, "{sql}: every reservation is returned");
    }
}

/// The join strategy EXPLAIN names is the one that runs, even when both sides of a keyless
/// join are in one partition each: its build side is the broadcast side; past the limit it is
/// joined a block at a time. The counts are computed by hand: ten probe rows times every row
/// of `t`, of which those with `i % 11 == 0` have a null `s`.
#[test]
fn a_cross_join_over_the_limit_runs_in_blocks_as_the_broadcast_join_explain_names() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write_table(&table);
    let limited = session(&table, Some(64 << 10));
    let sql = "SELECT count(*), count(b.s) FROM (SELECT k FROM t LIMIT 10) a \
               CROSS JOIN (SELECT s FROM t LIMIT 60000) b";
    let df = limited.sql(sql).unwrap();
    let explain = df.explain(false).unwrap();
    assert!(
        explain.contains("HashJoin(Inner, broadcast) -> single"),
        "{explain}"
    );
    let null_s = (0..ROWS).filter(|i| i % 11 == 0).count() as i64;
    let expected = format!("{} | {}", 10 * ROWS, 10 * (ROWS - null_s));
    assert_eq!(rows(&limited, sql), vec![expected]);
    let pool = limited.context().memory_pool();
    assert!(pool.spilled_bytes() > 0, "nothing spilled");
    assert_eq!(pool.used(), 0);
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

/// `w(i, g, v)`: 200 000 rows `i`, two groups `g` (one of 150 000 rows), values `v` with ties
/// and NULLs.
fn write_one_big_partition(dir: &Path) {
    const ROWS: i64 = 200_000;
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int64, false),
        Field::new("g", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
    ]));
    let batches = (0..4).map(move |chunk| {
        let rows = (chunk * ROWS / 4)..((chunk + 1) * ROWS / 4);
        Ok(RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from_iter_values(rows.clone())),
                Arc::new(Int64Array::from_iter_values(
                    rows.clone().map(|i| i64::from(i % 4 == 0)),
                )),
                Arc::new(Int64Array::from_iter(
                    rows.map(|i| (i % 17 != 0).then_some((i * 7919) % 5_000)),
                )),
            ],
        )
        .unwrap())
    });
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int64, false),
        Field::new("g", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
    ]));
    let parquet = WriteFormat::parquet_with_row_groups(50_000);
    write_batches(dir, schema, batches, WriteOptions::new(parquet)).unwrap();
}

/// Windows over one window partition far larger than the limit (all 200 000 rows, or 150 000
/// of one `PARTITION BY` key) spill it and evaluate it from disk a window of rows at a time,
/// returning the rows of an unlimited run.
#[test]
fn a_window_partition_over_the_limit_spills_and_returns_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("w");
    write_one_big_partition(&table);
    let run = |memory_limit| {
        let session = Session::with_config(SessionConfig {
            threads: 2,
            shuffle_partitions: 3,
            memory_limit,
            ..SessionConfig::default()
        })
        .unwrap();
        session
            .register_parquet("w", table.to_str().unwrap())
            .unwrap();
        session
    };
    // One window specification per query, so that only one sorts and windows at a time.
    let queries = [
        "SELECT i, row_number() OVER (ORDER BY i), rank() OVER w, sum(v) OVER w, \
         avg(v) OVER () FROM w WINDOW w AS (ORDER BY v)",
        "SELECT i, sum(v) OVER (w ROWS BETWEEN 10 PRECEDING AND CURRENT ROW), \
         lag(v, 3) OVER w, first(v) OVER (w ROWS UNBOUNDED PRECEDING) \
         FROM w WINDOW w AS (ORDER BY i DESC)",
        "SELECT i, dense_rank() OVER w, percent_rank() OVER w, cume_dist() OVER w, \
         ntile(7) OVER w, lead(v, 2, -1) OVER w, \
         max(v) OVER (w ROWS BETWEEN 5 PRECEDING AND 5 FOLLOWING), \
         count(v) OVER (PARTITION BY g ORDER BY v RANGE BETWEEN 100 PRECEDING AND 50 FOLLOWING) \
         FROM w WINDOW w AS (PARTITION BY g ORDER BY v, i)",
    ];
    let unlimited = run(None);
    let limited = run(Some(1 << 20));
    let pool = limited.context().memory_pool();
    // The rows as text in one order (the queries' `ORDER BY`s are the windows'), streamed: the
    // result collected whole would not fit the limit.
    let sorted = |session: &Session, sql: &str| {
        let mut rows = rows(session, sql);
        rows.sort();
        rows
    };
    for sql in queries {
        let expected = sorted(&unlimited, sql);
        assert_eq!(expected.len(), 200_000, "{sql}");
        let spilled = pool.spilled_bytes();
        let got = sorted(&limited, sql);
        let first_difference = got.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(
            first_difference.map(|i| (&got[i], &expected[i])),
            None,
            "{sql}"
        );
        assert_eq!(got.len(), expected.len(), "{sql}");
        assert!(pool.spilled_bytes() > spilled, "{sql}: nothing spilled");
        assert_eq!(pool.used(), 0, "{sql}: every reservation is returned");
    }
    // By hand: the row numbers of one partition of n rows add up to n (n + 1) / 2.
    let sql = "SELECT sum(r) FROM (SELECT row_number() OVER (ORDER BY v DESC) AS r FROM w)";
    assert_eq!(rows(&limited, sql), ["20000100000"]);
}
