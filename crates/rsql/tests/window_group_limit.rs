//! Differential test of window group limits: bounds on `row_number`, `rank` and `dense_rank`
//! return the same rows with `infer_window_group_limit` as without it, on random data with
//! NULL partition keys, NULL order values, ties, empty inputs, `k = 1` and `k` past every
//! partition's size, read from several files (scan partitions) into one to four shuffle
//! partitions.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use proptest::prelude::*;
use rsql::{Session, SessionConfig};
use rsql_io::{SaveMode, WriteFormat, WriteOptions, write_batches};

const RULE: &str = "infer_window_group_limit";

/// Queries whose results do not depend on how ties are broken: `row_number` orders by a
/// unique key last, or only its ties' shared columns are selected.
const QUERIES: &[&str] = &[
    // The benchmark's shape: top 3 per key, ties broken by id.
    "SELECT g, v, id, row_number() OVER (PARTITION BY g ORDER BY v DESC NULLS LAST, id) AS rn \
     FROM t QUALIFY rn <= 3",
    // Ties left to the operator: only the tied rows' shared values are selected.
    "SELECT g, v, row_number() OVER (PARTITION BY g ORDER BY v) AS rn FROM t QUALIFY rn < 3",
    "SELECT g, f, row_number() OVER (PARTITION BY g ORDER BY f DESC NULLS FIRST) AS rn FROM t \
     QUALIFY rn = 1",
    // rank and dense_rank keep ties; two calls over one window; k = 1 and k past any size.
    "SELECT id, g, v, rank() OVER (PARTITION BY g ORDER BY v NULLS FIRST) AS r FROM t \
     QUALIFY r <= 2",
    "SELECT id, g, f, dense_rank() OVER (PARTITION BY g ORDER BY f, v DESC) AS d, \
     rank() OVER (PARTITION BY g ORDER BY f, v DESC) AS r FROM t QUALIFY d <= 2",
    "SELECT id, rank() OVER (PARTITION BY g ORDER BY v) AS r FROM t QUALIFY r = 1",
    "SELECT id, g, dense_rank() OVER (PARTITION BY g ORDER BY v) AS d FROM t QUALIFY 100 >= d",
    // Two keys, one of them an expression; a bound in a subquery's outer filter.
    "SELECT id, g, h, rank() OVER (PARTITION BY g, h % 2 ORDER BY v DESC) AS r FROM t \
     QUALIFY r < 2",
    "SELECT * FROM (SELECT id, g, v, dense_rank() OVER (PARTITION BY g ORDER BY v) AS d FROM t) q \
     WHERE d <= 2 AND g <> 'b'",
    // No PARTITION BY: a top-k over every row.
    "SELECT id, v, rank() OVER (ORDER BY v DESC) AS r FROM t QUALIFY r <= 4",
    "SELECT v, row_number() OVER (ORDER BY v NULLS FIRST) AS rn FROM t QUALIFY rn <= 5",
    // An empty input.
    "SELECT id, rank() OVER (PARTITION BY g ORDER BY v) AS r FROM t WHERE v > 100 QUALIFY r <= 2",
];

/// One row of `t`: a skewed, nullable partition key `g`, a second key `h`, order values with
/// many ties and NULLs; `id` is the row's position. (No `-0.0`: the sort orders it before
/// `0.0` where the window's peers and the group limit hold them equal, so the window without
/// the limit is not consistent there; the operator's tests cover it.)
type Row = (Option<&'static str>, i64, Option<i64>, Option<f64>);

fn t_rows() -> impl Strategy<Value = Vec<Row>> {
    let g = prop_oneof![
        5 => Just(Some("a")),
        2 => Just(Some("b")),
        1 => Just(Some("c")),
        1 => Just(None)
    ];
    let v = proptest::option::weighted(0.85, 0i64..6);
    let f = prop_oneof![
        Just(Some(-1.0)),
        Just(Some(0.0)),
        Just(Some(2.5)),
        Just(None)
    ];
    proptest::collection::vec((g, 0i64..3, v, f), 0..80)
}

/// `rows` as `files` parquet files of `t`.
fn write_table(dir: &Path, rows: &[Row], files: usize) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("g", DataType::Utf8, true),
        Field::new("h", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
    ]));
    let chunk = rows.len().div_ceil(files).max(1);
    let batches: Vec<RecordBatch> = rows
        .chunks(chunk)
        .enumerate()
        .map(|(n, part)| {
            let first = (n * chunk) as i64;
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from_iter_values(
                        (0..part.len() as i64).map(|i| first + i),
                    )),
                    Arc::new(StringArray::from_iter(part.iter().map(|r| r.0))),
                    Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.1))),
                    Arc::new(Int64Array::from_iter(part.iter().map(|r| r.2))),
                    Arc::new(Float64Array::from_iter(part.iter().map(|r| r.3))),
                ],
            )
            .unwrap()
        })
        .collect();
    let batches = if batches.is_empty() {
        vec![RecordBatch::new_empty(Arc::clone(&schema))]
    } else {
        batches
    };
    for batch in batches {
        let options =
            WriteOptions::new(WriteFormat::parquet_with_row_groups(8)).with_mode(SaveMode::Append);
        write_batches(dir.join("t"), Arc::clone(&schema), [Ok(batch)], options).unwrap();
    }
}

fn session(dir: &Path, shuffle_partitions: usize, with_rule: bool) -> Session {
    let config = SessionConfig {
        threads: 2,
        shuffle_partitions,
        // One scan partition per file.
        max_partition_bytes: 1,
        excluded_rules: if with_rule {
            Vec::new()
        } else {
            vec![RULE.to_string()]
        },
        ..SessionConfig::default()
    };
    let session = Session::with_config(config).unwrap();
    session
        .register_parquet("t", dir.join("t").to_str().unwrap())
        .unwrap();
    session
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bounded_rankings_return_the_same_rows_with_and_without_the_group_limit(
        t in t_rows(),
        files in 1usize..4,
        shuffle_partitions in 1usize..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        write_table(dir.path(), &t, files);
        let without = session(dir.path(), 2, false);
        let with = session(dir.path(), shuffle_partitions, true);
        for sql in QUERIES {
            prop_assert_eq!(common::sorted_rows(&with, sql), common::sorted_rows(&without, sql), "{}", sql);
        }
    }
}

/// The rule puts the limit in the plans the test compares: before and after the exchange, or
/// once where the rows are in one partition already.
#[test]
fn the_plans_under_test_limit_each_partition_then_each_key() {
    let dir = tempfile::tempdir().unwrap();
    let t = [(Some("a"), 0, Some(1), None), (None, 1, None, Some(0.0))];
    write_table(dir.path(), &t, 2);
    let plan = |session: &Session, sql: &str| {
        let (physical, _) = session.sql(sql).unwrap().physical_plan().unwrap();
        physical.display_indent()
    };
    let sql = QUERIES[0];
    let limited = plan(&session(dir.path(), 3, true), sql);
    let limits: Vec<&str> = limited
        .lines()
        .filter(|l| l.contains("WindowGroupLimit: row_number() <= 3"))
        .collect();
    assert_eq!(limits.len(), 2, "{limited}");
    assert!(limits[0].contains("-> hash([#1], 3)"), "{limited}");
    assert!(limits[1].contains("per partition"), "{limited}");
    assert!(!plan(&session(dir.path(), 3, false), sql).contains("WindowGroupLimit"));
    let top_k = plan(&session(dir.path(), 3, true), QUERIES[9]);
    assert_eq!(
        top_k.matches("WindowGroupLimit: rank() <= 4").count(),
        2,
        "{top_k}"
    );
}
