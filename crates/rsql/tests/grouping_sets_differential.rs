//! Differential test of grouping sets: `ROLLUP`, `CUBE`, `GROUPING SETS` and their cross
//! product with plain keys return the same rows as the `UNION ALL` of one plain `GROUP BY` per
//! grouping set (the keys a set leaves out as NULL, `grouping_id` as a constant), an
//! independent formulation the engine runs without `Expand`. Random data with NULL keys and
//! values, spread over several partitions, empty tables included, and in one partition (where
//! the two aggregation phases fold into one).

mod common;

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use proptest::prelude::*;
use rsql::{Session, SessionConfig};
use rsql_exec::MemoryTable;

/// The key columns of `t` and their SQL types (for the NULLs of left-out keys).
const KEYS: [(&str, &str); 3] = [("a", "STRING"), ("b", "BIGINT"), ("c", "STRING")];

/// The aggregates computed per group: of the value column `v` and of the key columns, which
/// must read their values before Expand nulls them.
const AGGREGATES: &str = "count(*), count(v), sum(v), min(v), max(c), count(DISTINCT a), sum(b)";

/// A `GROUP BY` clause, the keys it names and its grouping sets (positions in [`KEYS`]), as
/// PostgreSQL and Spark define them.
struct Case {
    group_by: &'static str,
    keys: Vec<usize>,
    sets: Vec<Vec<usize>>,
}

fn cases() -> Vec<Case> {
    let case = |group_by, keys: &[usize], sets: &[&[usize]]| Case {
        group_by,
        keys: keys.to_vec(),
        sets: sets.iter().map(|set| set.to_vec()).collect(),
    };
    vec![
        case("ROLLUP (a, b)", &[0, 1], &[&[0, 1], &[0], &[]]),
        case(
            "CUBE (a, b, c)",
            &[0, 1, 2],
            &[&[0, 1, 2], &[0, 1], &[0, 2], &[1, 2], &[0], &[1], &[2], &[]],
        ),
        case(
            "GROUPING SETS ((a), (b, c), ())",
            &[0, 1, 2],
            &[&[0], &[1, 2], &[]],
        ),
        case("a, ROLLUP (b, c)", &[0, 1, 2], &[&[0, 1, 2], &[0, 1], &[0]]),
        case("CUBE (a), ROLLUP (c)", &[0, 2], &[&[0, 2], &[0], &[2], &[]]),
        case(
            "GROUPING SETS ((a, b), (a, b))",
            &[0, 1],
            &[&[0, 1], &[0, 1]],
        ),
    ]
}

/// The query with grouping sets over `from`: its keys, their `grouping_id`, the aggregates.
fn grouping_query(case: &Case, from: &str) -> String {
    let keys: Vec<&str> = case.keys.iter().map(|&k| KEYS[k].0).collect();
    let keys = keys.join(", ");
    format!(
        "SELECT {keys}, grouping_id({keys}), {AGGREGATES} FROM {from} GROUP BY {}",
        case.group_by
    )
}

/// The same as one plain aggregation per set, concatenated.
fn union_query(case: &Case, from: &str) -> String {
    let branches: Vec<String> = case
        .sets
        .iter()
        .map(|set| {
            let columns: Vec<String> = case
                .keys
                .iter()
                .map(|&k| {
                    let (name, sql_type) = KEYS[k];
                    if set.contains(&k) {
                        name.to_string()
                    } else {
                        format!("CAST(NULL AS {sql_type}) AS {name}")
                    }
                })
                .collect();
            let id = case
                .keys
                .iter()
                .fold(0, |bits, k| (bits << 1) | i64::from(!set.contains(k)));
            let grouped: Vec<&str> = set.iter().map(|&k| KEYS[k].0).collect();
            let group_by = if grouped.is_empty() {
                String::new()
            } else {
                format!(" GROUP BY {}", grouped.join(", "))
            };
            format!(
                "SELECT {}, CAST({id} AS BIGINT) AS g, {AGGREGATES} FROM {from}{group_by}",
                columns.join(", ")
            )
        })
        .collect();
    branches.join(" UNION ALL ")
}

/// One row of `t`.
type Row = (
    Option<&'static str>,
    Option<i64>,
    Option<&'static str>,
    Option<i64>,
);

fn row() -> impl Strategy<Value = Row> {
    (
        proptest::option::weighted(0.8, prop_oneof![Just("x"), Just("y"), Just("z")]),
        proptest::option::weighted(0.8, 0i64..3),
        proptest::option::weighted(0.7, prop_oneof![Just("p"), Just("q")]),
        proptest::option::weighted(0.8, -5i64..10),
    )
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("a", DataType::Utf8, true),
        Field::new("b", DataType::Int64, true),
        Field::new("c", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.0))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.2))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.3))),
        ],
    )
    .unwrap()
}

/// A session whose `t` holds `rows` dealt round-robin over `partitions` partitions.
fn session(rows: &[Row], partitions: usize) -> Session {
    let session = Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: partitions,
        ..SessionConfig::default()
    })
    .unwrap();
    let dealt: Vec<Vec<RecordBatch>> = (0..partitions)
        .map(|p| {
            let part: Vec<Row> = rows.iter().skip(p).step_by(partitions).cloned().collect();
            vec![batch(&part)]
        })
        .collect();
    session.register_source("t", Arc::new(MemoryTable::new(schema(), dealt)));
    session
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn grouping_sets_equal_a_union_of_group_bys(
        rows in prop_oneof![1 => Just(Vec::new()), 5 => proptest::collection::vec(row(), 1..40)],
        partitions in 1usize..4,
    ) {
        let session = session(&rows, partitions);
        // All rows, and a selective filter that often leaves none.
        for from in ["t", "t WHERE v >= 8"] {
            for case in cases() {
                let expected = common::sorted_rows(&session, &union_query(&case, from));
                let actual = common::sorted_rows(&session, &grouping_query(&case, from));
                prop_assert_eq!(
                    actual, expected, "FROM {} GROUP BY {} over {} rows", from, case.group_by,
                    rows.len()
                );
            }
        }
    }
}
