//! Differential test of the planner's rules: every query returns the same rows with every
//! logical rule, with none, with each rule alone, and under physical choices (broadcast or
//! shuffled joins, hive folders read whole or split), on random data with nulls, skewed keys
//! and empty tables.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use proptest::prelude::*;
use rsql::{Session, SessionConfig};
use rsql_io::{WriteFormat, WriteOptions, write_batches};

/// The logical optimizer's rules, by name.
const RULES: [&str; 11] = [
    "fold_constants",
    "factor_or_conditions",
    "derive_filters_from_or",
    "push_down_filter",
    "infer_window_group_limit",
    "filter_aggregates_by_join_keys",
    "push_down_semi_joins",
    "reorder_joins",
    "rewrite_single_distinct",
    "count_matches_by_join_key",
    "push_down_projection",
];

/// Queries that give each rule something to do. Those with `ORDER BY` on a unique key are
/// compared in order, the others as row sets.
const QUERIES: &[&str] = &[
    // Filters through projections and subqueries; columns pruned.
    "SELECT id, x FROM (SELECT id, x, s FROM t) q WHERE x > 3 AND s = 'p'",
    // Hive folder pruning, also under OR, with a two-phase or clustered aggregate.
    "SELECT k, count(*), sum(x), count(DISTINCT s), min(s), max(x) FROM t \
     WHERE k = 'a' OR x < 0 GROUP BY k",
    "SELECT s, count(*) AS n FROM t WHERE k IN ('b', 'c') GROUP BY s HAVING count(*) > 1",
    // Aggregations of distinct values only, grouped and global, over expressions and NULLs.
    "SELECT k, count(DISTINCT x), sum(DISTINCT x), avg(DISTINCT x) FROM t GROUP BY k",
    "SELECT k, count(DISTINCT s), sum(DISTINCT x), max(x), count(*) FROM t GROUP BY k",
    "SELECT count(DISTINCT x), min(DISTINCT x) FROM t WHERE x > 100",
    "SELECT s, count(DISTINCT x % 3) FROM t GROUP BY s HAVING count(DISTINCT x % 3) > 1",
    // Filters pushed into both sides of an inner join; a constant to fold.
    "SELECT t.id, t.k, u.y FROM t JOIN u ON t.id = u.id WHERE u.y <> 'q' AND t.x >= 1 + 2",
    // A filter on the preserved side goes down; on the null-supplying side it must not.
    "SELECT t.s, u.y, count(*) FROM t LEFT JOIN u ON t.id = u.id WHERE t.k <> 'b' \
     GROUP BY t.s, u.y",
    "SELECT t.id, t.x, u.y FROM t LEFT JOIN u ON t.id = u.id WHERE u.y IS NULL",
    "SELECT t.id, u.id, u.y FROM t FULL JOIN u ON t.id = u.id WHERE t.x IS NULL OR u.y = 'p'",
    "SELECT t.id, u.y FROM t RIGHT JOIN u ON t.id = u.id AND t.k = 'c'",
    // Join conditions on one side only: into the right side of left, semi, anti and mark
    // joins (the TPC-H Q13 shape), never into a preserved side.
    "SELECT t.id, u.y FROM t LEFT JOIN u ON t.x = u.id AND u.y NOT LIKE '%q%' AND t.k <> 'b'",
    "SELECT t.id, count(u.id) FROM t LEFT JOIN u ON t.x = u.id AND u.y <> 'p' GROUP BY t.id",
    "SELECT t.id FROM t LEFT ANTI JOIN u ON t.x = u.id AND u.y = 'p' AND t.s IS NOT NULL",
    "SELECT t.id FROM t LEFT SEMI JOIN u ON t.x = u.id AND u.y IS NULL",
    "SELECT t.id, u.y FROM t FULL JOIN u ON t.x = u.id AND u.y = 'q' AND t.k = 'a'",
    // Constant predicates, true and false.
    "SELECT id, s FROM t WHERE id BETWEEN 2 AND 10 AND 1 = 1",
    "SELECT id FROM t WHERE 1 = 2 OR coalesce(s, 'none') = 'none'",
    // Group keys that are the hive column plus others (clustered scans apply).
    "SELECT k, s, count(*), sum(id) FROM t GROUP BY k, s",
    "SELECT DISTINCT k, x FROM t WHERE x IS NOT NULL",
    // Order and limit over a unique key.
    "SELECT id, k, x FROM t WHERE s IS NOT NULL ORDER BY id DESC LIMIT 7",
    "SELECT u.id, count(t.id) AS n FROM u LEFT JOIN t ON u.id = t.id GROUP BY u.id ORDER BY u.id",
    // Counts of columns only outer joins make NULL (joined on nullable `x`).
    "SELECT u.id, count(t.id) AS n, count(t.s) FROM u LEFT JOIN t ON u.id = t.x AND t.s <> 'q' \
     GROUP BY u.id ORDER BY u.id",
    "SELECT u.y, count(t.k), count(*) FROM t RIGHT JOIN u ON t.x = u.id GROUP BY u.y",
    "SELECT count(t.id), count(u.id), count(*) FROM t FULL JOIN u ON t.x = u.id",
    "SELECT u.y, count(t.k), count(u.id), count(*) FROM t FULL JOIN u ON t.id = u.id GROUP BY u.y",
    // A union whose branches are filtered separately.
    "SELECT id, s FROM (SELECT id, s FROM t WHERE k = 'a' UNION ALL SELECT id, y FROM u) v \
     WHERE s <> 'r'",
    // Three relations written with a cross product first, joined on nullable keys.
    "SELECT t.id, u.id, w.id FROM u w, t, u WHERE t.s = u.y AND u.id = w.id AND t.x > 0",
    "SELECT t.id, count(*) FROM t, u, u AS w WHERE t.x = u.id AND w.y = t.s AND t.k <> 'c' \
     GROUP BY t.id",
    // IN, EXISTS and their negations over joins: semi and anti joins pushed to one side.
    "SELECT t.id, u.y FROM t JOIN u ON t.id = u.id WHERE u.y IN (SELECT s FROM t WHERE x > 2)",
    "SELECT t.id, t.s FROM t JOIN u ON t.id = u.id \
     WHERE NOT EXISTS (SELECT 1 FROM u AS w WHERE w.id = t.x) AND t.s NOT IN (SELECT y FROM u)",
    // A join key repeated in every OR branch.
    "SELECT t.id, u.y FROM t, u WHERE (t.x = u.id AND t.s = 'p') OR (t.x = u.id AND u.y = 'q')",
    // ORs over both sides of joins (TPC-H Q7 and Q19 shapes): each side gets its part of every
    // branch, also from an outer or semi join's condition, with NULLs in the compared columns.
    "SELECT t.id, w.id, w.y FROM t, u, u AS w WHERE t.x = u.id AND u.id = w.id \
     AND ((t.s = 'p' AND w.y = 'q') OR (t.s = 'q' AND w.y = 'p'))",
    "SELECT t.id, u.id FROM t JOIN u ON t.x = u.id \
     WHERE (t.k = 'a' AND u.y = 'p' AND t.x > 2) OR (t.k = 'b' AND u.y IS NULL) OR t.s = 'r'",
    "SELECT t.id, u.id FROM t, u WHERE (t.x = u.id AND t.k = 'a' AND u.y = 'p') \
     OR (t.x = u.id AND t.s = 'q' AND u.y IN ('p', 'q'))",
    "SELECT t.id, u.id, u.y FROM t LEFT JOIN u ON t.x = u.id \
     AND ((t.s = 'p' AND u.y = 'q') OR (t.k = 'b' AND u.y = 'p'))",
    "SELECT t.id, u.id FROM t RIGHT JOIN u ON t.x = u.id \
     AND ((t.s = 'p' AND u.y = 'q') OR (t.s IS NULL AND u.id > 3))",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.x \
     AND ((t.s = 'p' AND u.y = 'q') OR (t.k = 'c' AND u.y IS NULL)))",
    "SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = t.x \
     AND ((t.s = 'p' AND u.y = 'q') OR (t.k = 'c' AND u.y IS NULL)))",
    // Subqueries: semi, anti and null-aware anti joins, joins against aggregates.
    "SELECT id FROM t WHERE x IN (SELECT id FROM u WHERE y = 'p')",
    "SELECT id FROM t WHERE x NOT IN (SELECT id FROM u WHERE y IS NOT NULL)",
    "SELECT id FROM t WHERE s NOT IN (SELECT y FROM u)",
    "SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = t.x AND u.y = t.s)",
    "SELECT id, (SELECT count(*) FROM u WHERE u.id = t.x) AS n FROM t",
    "SELECT id FROM t WHERE x > (SELECT avg(id) FROM u) AND k = 'a'",
    "SELECT k, count(*) FROM t WHERE s IN (SELECT y FROM u WHERE u.id > t.x) GROUP BY k",
    // Aggregates joined on a group key with a filtered table: their input is semi-joined with
    // it first (TPC-H Q17 and Q20 shapes); not on a preserved side.
    "SELECT u.id, a.n, a.s FROM u JOIN (SELECT x, count(*) AS n, sum(id) AS s FROM t GROUP BY x) a \
     ON u.id = a.x WHERE u.y = 'p'",
    "SELECT t.id FROM t JOIN u ON t.x = u.id WHERE u.y = 'q' \
     AND t.id > (SELECT avg(w.id) FROM t AS w WHERE w.x = u.id)",
    "SELECT u.id, a.n FROM u LEFT JOIN (SELECT x, count(*) AS n FROM t GROUP BY x) a \
     ON u.id = a.x WHERE u.y IS NULL",
    "SELECT u.id FROM u WHERE u.y = 'p' AND NOT EXISTS \
     (SELECT 1 FROM (SELECT x, count(*) AS n FROM t GROUP BY x) a WHERE a.x = u.id AND a.n > 1)",
    "SELECT a.x, a.n, u.y FROM (SELECT x, count(*) AS n FROM t GROUP BY x) a \
     LEFT JOIN u ON a.x = u.id AND u.y = 'p'",
    // Subqueries as values: mark joins.
    "SELECT id, EXISTS (SELECT 1 FROM u WHERE u.id = t.x) AS e, s IN (SELECT y FROM u) AS i FROM t",
    "SELECT id FROM t WHERE s = 'q' OR x IN (SELECT id FROM u WHERE y = 'p')",
    // A null-safe join key: NULL matches NULL.
    "SELECT t.id, u.id FROM t JOIN u ON t.s IS NOT DISTINCT FROM u.y WHERE t.k <> 'b'",
    // Set operations (NULLs compare equal, duplicates counted), with filters above them.
    "SELECT v.x, v.s FROM (SELECT x, s FROM t INTERSECT ALL SELECT id, y FROM u) v WHERE v.x > 0",
    "SELECT x, s FROM t WHERE k <> 'c' EXCEPT SELECT id, y FROM u",
    "SELECT s FROM t EXCEPT ALL SELECT y FROM u UNION SELECT s FROM t WHERE x IS NULL",
    // Grouping sets: a filter below Expand, HAVING kept above the grand total (or pushed onto
    // the nulled keys without one), columns pruned through Expand.
    "SELECT k, s, grouping_id(k, s), count(*), sum(x) FROM t WHERE x > 0 GROUP BY ROLLUP (k, s) \
     HAVING s IS NULL OR count(*) > 1",
    "SELECT k, s, count(DISTINCT x) FROM t GROUP BY GROUPING SETS ((k), (s)) HAVING s <> 'p'",
    // Bounded rankings: a window group limit per key (the hive column or not) or overall
    // (`ORDER BY` a unique key: windows' `ORDER BY` would keep the rows from being sorted).
    "SELECT id, s, x, row_number() OVER (PARTITION BY s ORDER BY x DESC, id) AS rn FROM t \
     QUALIFY rn <= 2 ORDER BY id",
    "SELECT * FROM (SELECT id, k, rank() OVER (PARTITION BY k ORDER BY x) AS r FROM t) q \
     WHERE r = 1 AND k <> 'c' ORDER BY id",
    "SELECT id, x, dense_rank() OVER (ORDER BY s NULLS FIRST, x) AS d FROM t QUALIFY d < 3 \
     ORDER BY id",
];

/// One row of `t` (hive-partitioned by `k`).
#[derive(Debug, Clone)]
struct TRow {
    k: &'static str,
    id: i64,
    x: Option<i64>,
    s: Option<&'static str>,
}

/// One row of `u` (a plain directory, possibly empty).
#[derive(Debug, Clone)]
struct URow {
    id: i64,
    y: Option<&'static str>,
}

/// Rows of `t`; `id` is the row's position, unique so that `ORDER BY id` fixes the order.
fn t_rows() -> impl Strategy<Value = Vec<TRow>> {
    proptest::collection::vec(t_row(), 1..60).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(id, row)| TRow {
                id: id as i64,
                ..row
            })
            .collect()
    })
}

fn t_row() -> impl Strategy<Value = TRow> {
    (
        // Skewed: most rows land in folder `a`.
        prop_oneof![6 => Just("a"), 2 => Just("b"), 1 => Just("c")],
        Just(0i64),
        proptest::option::weighted(0.8, -5i64..10),
        proptest::option::weighted(
            0.8,
            prop_oneof![4 => Just("p"), 1 => Just("q"), 1 => Just("r")],
        ),
    )
        .prop_map(|(k, id, x, s)| TRow { k, id, x, s })
}

fn u_row() -> impl Strategy<Value = URow> {
    (
        0i64..25,
        proptest::option::weighted(0.7, prop_oneof![Just("p"), Just("q")]),
    )
        .prop_map(|(id, y)| URow { id, y })
}

fn write_tables(dir: &Path, t: &[TRow], u: &[URow]) {
    let t_schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, false),
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let t_batch = RecordBatch::try_new(
        Arc::clone(&t_schema),
        vec![
            Arc::new(StringArray::from_iter_values(t.iter().map(|r| r.k))),
            Arc::new(Int64Array::from_iter_values(t.iter().map(|r| r.id))),
            Arc::new(Int64Array::from_iter(t.iter().map(|r| r.x))),
            Arc::new(StringArray::from_iter(t.iter().map(|r| r.s))),
        ],
    )
    .unwrap();
    // Small row groups, so that row-group statistics can prune.
    let parquet = WriteFormat::parquet_with_row_groups(4);
    write_batches(
        dir.join("t"),
        t_schema,
        [Ok(t_batch)],
        WriteOptions::new(parquet.clone()).with_partition_by(&["k"]),
    )
    .unwrap();
    let u_schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("y", DataType::Utf8, true),
    ]));
    let u_batch = RecordBatch::try_new(
        Arc::clone(&u_schema),
        vec![
            Arc::new(Int64Array::from_iter_values(u.iter().map(|r| r.id))),
            Arc::new(StringArray::from_iter(u.iter().map(|r| r.y))),
        ],
    )
    .unwrap();
    write_batches(
        dir.join("u"),
        u_schema,
        [Ok(u_batch)],
        WriteOptions::new(parquet),
    )
    .unwrap();
}

/// A named session setting: which rules run and how the physical planner may choose.
struct Variant {
    name: String,
    config: SessionConfig,
}

fn variants() -> Vec<Variant> {
    let base = SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        // One scan partition per file.
        max_partition_bytes: 1,
        ..SessionConfig::default()
    };
    let excluding = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let mut variants = vec![
        Variant {
            name: "all rules".into(),
            config: base.clone(),
        },
        Variant {
            name: "all rules, joins shuffled, folders split over 4 threads".into(),
            config: SessionConfig {
                threads: 4,
                shuffle_partitions: 5,
                broadcast_threshold: 0,
                ..base.clone()
            },
        },
        Variant {
            name: "all rules, one partition".into(),
            config: SessionConfig {
                threads: 1,
                shuffle_partitions: 1,
                max_partition_bytes: u64::MAX,
                ..base.clone()
            },
        },
    ];
    for rule in RULES {
        let others: Vec<&str> = RULES.iter().copied().filter(|r| *r != rule).collect();
        variants.push(Variant {
            name: format!("{rule} alone"),
            config: SessionConfig {
                excluded_rules: excluding(&others),
                ..base.clone()
            },
        });
    }
    variants
}

/// The configuration every variant is compared with: no logical rule at all, and no runtime
/// filter.
fn unoptimized() -> SessionConfig {
    SessionConfig {
        threads: 2,
        shuffle_partitions: 2,
        runtime_filters: false,
        excluded_rules: RULES.iter().map(|r| r.to_string()).collect(),
        ..SessionConfig::default()
    }
}

fn session(config: SessionConfig, dir: &Path) -> Session {
    let session = Session::with_config(config).unwrap();
    for table in ["t", "u"] {
        session
            .register_parquet(table, dir.join(table).to_str().unwrap())
            .unwrap();
    }
    session
}

/// Each row as text, sorted unless the query fixes the order.
fn rows(session: &Session, sql: &str) -> Vec<String> {
    let batches = session
        .sql(sql)
        .and_then(|df| df.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows = common::row_texts(&batches);
    if !sql.contains("ORDER BY") {
        rows.sort();
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn optimized_and_unoptimized_plans_return_the_same_rows(
        t in t_rows(),
        u in proptest::collection::vec(u_row(), 0..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        write_tables(dir.path(), &t, &u);
        let reference = session(unoptimized(), dir.path());
        let variants: Vec<(String, Session)> = variants()
            .into_iter()
            .map(|v| (v.name, session(v.config, dir.path())))
            .collect();
        for sql in QUERIES {
            let expected = rows(&reference, sql);
            for (name, session) in &variants {
                prop_assert_eq!(&rows(session, sql), &expected, "{} with {}", sql, name);
            }
        }
    }
}

/// The rules really change the plans the differential test runs: folders are pruned and
/// columns dropped only when the rules run.
#[test]
fn the_rules_change_the_plans_under_test() {
    let dir = tempfile::tempdir().unwrap();
    let t = [
        TRow {
            k: "a",
            id: 1,
            x: Some(1),
            s: Some("p"),
        },
        TRow {
            k: "b",
            id: 2,
            x: None,
            s: None,
        },
    ];
    write_tables(dir.path(), &t, &[]);
    let sql = "SELECT id FROM (SELECT id, s, k FROM t) q WHERE k = 'a' AND 1 = 1";
    let plan_with = |config| {
        let session = session(config, dir.path());
        let (physical, _) = session.sql(sql).unwrap().physical_plan().unwrap();
        physical.display_indent()
    };
    let optimized = plan_with(SessionConfig::default());
    let unoptimized = plan_with(unoptimized());
    assert!(
        optimized.contains("Scan: t [id, k], 1 read units, pruning k = 'a'"),
        "{optimized}"
    );
    assert!(
        unoptimized.contains("Scan: t [id, x, s, k]"),
        "{unoptimized}"
    );
    assert!(!optimized.contains("Int64(1) = Int64(1)"), "{optimized}");
    assert!(unoptimized.contains("Int64(1) = Int64(1)"), "{unoptimized}");
}

/// The shuffled variant's joins filter their probe sides at run time, so that the differential
/// test compares them with the reference's unfiltered joins.
#[test]
fn shuffled_joins_filter_their_probe_side_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let t: Vec<TRow> = (0..6)
        .map(|id| TRow {
            k: "a",
            id,
            x: Some(id % 3),
            s: Some("p"),
        })
        .collect();
    let u = [URow {
        id: 1,
        y: Some("p"),
    }];
    write_tables(dir.path(), &t, &u);
    let sql = "SELECT t.id, u.y FROM t JOIN u ON t.x = u.id";
    let plan_with = |config| {
        let session = session(config, dir.path());
        let (physical, _) = session.sql(sql).unwrap().physical_plan().unwrap();
        physical.display_indent()
    };
    let shuffled = variants()
        .into_iter()
        .find(|v| v.config.broadcast_threshold == 0)
        .unwrap();
    let filtered = plan_with(shuffled.config.clone());
    assert!(
        filtered.contains("HashJoin(Inner, partitioned, runtime filter)"),
        "{filtered}"
    );
    let unfiltered = plan_with(SessionConfig {
        runtime_filters: false,
        ..shuffled.config
    });
    assert!(
        unfiltered.contains("HashJoin(Inner, partitioned)"),
        "{unfiltered}"
    );
}
