//! Physical plans survive shipping. For queries covering every operator, the plan turned into a
//! `PlanSpec`, serialized (postcard and JSON), deserialized and instantiated by another session
//! that only shares the registered functions (as an executor process would) displays the same,
//! turns back into the same spec, and returns the same rows. A function the receiving side does
//! not have, or has with other result types, is a clear error.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use rsql::{
    AggregateFunctionSignature, AggregateUdf, Arity, ColumnarValue, GroupsAccumulator, PlanSpec,
    ScalarUdf, Session, SessionConfig, SimpleScalarSignature,
};
use rsql_exec::physical::{NodeSpec, PhysicalPlan, ProjectionSource};
use rsql_io::{WriteFormat, WriteOptions, write_batches};
use rsql_plan::BuiltinAggregate;

/// How two runs of a query are compared.
#[derive(Clone, Copy)]
enum Compare {
    /// The same rows, in any order.
    Rows,
    /// The same number of rows (which rows a `LIMIT` without `ORDER BY` keeps is not fixed).
    Count,
}

/// The queries, over `t` (hive-partitioned by `k`, Parquet), `u` (Parquet), `j` (NDJSON) and
/// `p` (a persisted result).
const QUERIES: &[(&str, Compare)] = &[
    // A scan pruned by folder and row group, and a filter.
    (
        "SELECT id, x, k FROM t WHERE k = 'a' AND id > 20",
        Compare::Rows,
    ),
    // Projections: functions, CASE, CAST, LIKE, IN, BETWEEN, struct fields, a UDF.
    (
        "SELECT upper(s) AS up, concat_ws('-', s, k) AS both, \
         CASE WHEN x > 3 THEN 'big' WHEN x IS NULL THEN 'none' ELSE 'small' END AS size, \
         CASE s WHEN 'p' THEN 1 ELSE 0 END AS is_p, \
         CAST(x AS DOUBLE) / 2 AS half, s LIKE 'p%' AS like_p, s ILIKE 'Q' AS ilike_q, \
         k IN ('a', 'b') AS ab, id NOT IN (1, 2, 3) AS not_small, x BETWEEN 1 AND 5 AS mid, \
         named_struct('a', x, 'b', s).b AS field_b, window(ts, '1 hour').start AS hour_start, \
         date_format(ts, 'yyyy-MM-dd HH') AS hour, coalesce(s, 'none') AS s2, -x AS neg, \
         NOT (x > 1) AS small, plus_one(id) AS next, nullif(x, 0) AS nz, substring(s, 1, 1) \
         FROM t",
        Compare::Rows,
    ),
    // Two-phase aggregates with count(DISTINCT), count_values and a UDAF.
    (
        "SELECT s, count(*), sum(x), count(DISTINCT id), count_values(k), \
         my_count_values(k), min(ts), max(s), avg(x) FROM t GROUP BY s",
        Compare::Rows,
    ),
    // Any aggregate over DISTINCT values, beside plain ones.
    (
        "SELECT s, sum(DISTINCT x), min(DISTINCT ts), count(DISTINCT id), count(*) FROM t \
         GROUP BY s",
        Compare::Rows,
    ),
    // Single-phase: hive folders of `k` read whole.
    (
        "SELECT k, count(*) AS n, sum(x), count(DISTINCT s) FROM t GROUP BY k HAVING count(*) > 1",
        Compare::Rows,
    ),
    // A global aggregate, grouping by a computed key, DISTINCT.
    (
        "SELECT count(*), count(x), count(DISTINCT s), my_count_values(s) FROM t",
        Compare::Rows,
    ),
    (
        "SELECT window(ts, '1 hour').start AS w, count(*) FROM t GROUP BY window(ts, '1 hour')",
        Compare::Rows,
    ),
    ("SELECT DISTINCT k, s FROM t", Compare::Rows),
    // Windows: ranking, an offset with a default, aggregates over ROWS and RANGE frames.
    (
        "SELECT id, row_number() OVER (PARTITION BY k ORDER BY id) AS rn, \
         lag(x, 2, 0) OVER (PARTITION BY k ORDER BY id) AS l, \
         sum(x) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS s, \
         count(*) OVER (ORDER BY id RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS c FROM t",
        Compare::Rows,
    ),
    // A bound on a ranking: a window group limit before and after the exchange (`s` is not
    // a hive column).
    (
        "SELECT id, s, rank() OVER (PARTITION BY s ORDER BY x DESC, id) AS r FROM t \
         QUALIFY r <= 2",
        Compare::Rows,
    ),
    // Joins of every kind, with an ON filter, expression keys and a cross join.
    (
        "SELECT t.id, t.s, u.y FROM t JOIN u ON t.id = u.id AND t.x < u.id",
        Compare::Rows,
    ),
    (
        "SELECT t.id, u.y FROM t LEFT JOIN u ON t.id + 1 = u.id",
        Compare::Rows,
    ),
    (
        "SELECT t.id, u.id, u.y FROM t RIGHT JOIN u ON t.id = u.id AND t.k = 'c'",
        Compare::Rows,
    ),
    (
        "SELECT t.id, u.id FROM t FULL JOIN u ON t.id = u.id WHERE t.x IS NULL OR u.y = 'p'",
        Compare::Rows,
    ),
    (
        "SELECT count(*) FROM t CROSS JOIN u WHERE t.id < 3",
        Compare::Rows,
    ),
    (
        "SELECT j.tag, count(*) FROM t JOIN j ON t.id = j.id GROUP BY j.tag",
        Compare::Rows,
    ),
    // Sorts: a global sort, a top-k on a computed key, a limit with an offset.
    (
        "SELECT id, x FROM t ORDER BY x DESC NULLS LAST, id",
        Compare::Rows,
    ),
    (
        "SELECT id, s FROM t ORDER BY id + x, id LIMIT 5",
        Compare::Rows,
    ),
    (
        "SELECT id, x FROM t ORDER BY x DESC, id LIMIT 5",
        Compare::Rows,
    ),
    (
        "SELECT id FROM (SELECT id FROM t ORDER BY id) q LIMIT 3 OFFSET 2",
        Compare::Rows,
    ),
    ("SELECT id, s FROM t WHERE k = 'b' LIMIT 4", Compare::Count),
    // A union, literal rows, a persisted result.
    (
        "SELECT id, s FROM t WHERE k = 'a' UNION ALL SELECT id, y FROM u",
        Compare::Rows,
    ),
    // ROLLUP expands rows over its grouping sets before one aggregation.
    (
        "SELECT k, s, grouping_id(k, s) AS g, count(*), sum(x) FROM t GROUP BY ROLLUP (k, s)",
        Compare::Rows,
    ),
    // Generators: explode in the select list, posexplode_outer in a LATERAL VIEW over
    // arrays built per row, with array and map functions.
    (
        "SELECT id, explode(array(x, id)) AS e FROM t",
        Compare::Rows,
    ),
    (
        "SELECT s, p, c, size(array(s, k)), map('k', k)['k'] AS mk FROM t \
         LATERAL VIEW posexplode_outer(slice(array(s, k), 1, 1)) g AS p, c",
        Compare::Rows,
    ),
    // INTERSECT ALL repeats rows by a count column.
    (
        "SELECT s FROM t INTERSECT ALL SELECT y FROM u",
        Compare::Rows,
    ),
    (
        "SELECT column1 AS n, column2 AS name FROM (VALUES (1, 'a'), (2, NULL)) v",
        Compare::Rows,
    ),
    ("SELECT 1 AS one, 'x' AS letter", Compare::Rows),
    (
        "SELECT p.s, count(*), sum(u.id) FROM p JOIN u ON p.id = u.id GROUP BY p.s",
        Compare::Rows,
    ),
    // Generated integers over several partitions, joined to a table.
    (
        "SELECT r.range % 7 AS m, count(*) FROM range(-5, 100000, 3) r \
         JOIN t ON t.id = r.range GROUP BY m",
        Compare::Rows,
    ),
];

fn write_tables(dir: &Path) {
    let rows = 0..90i64;
    let hours_base = 1_700_000_000_000_000i64;
    let t_schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, false),
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let t = RecordBatch::try_new(
        Arc::clone(&t_schema),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.clone().map(|i| ["a", "b", "c", "a"][i as usize % 4]),
            )),
            Arc::new(Int64Array::from_iter_values(rows.clone())),
            Arc::new(Int64Array::from_iter(
                rows.clone().map(|i| (i % 7 != 3).then_some(i % 11 - 3)),
            )),
            Arc::new(StringArray::from_iter(rows.clone().map(|i| {
                [Some("p"), Some("q"), Some("r"), None][i as usize % 4]
            }))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    rows.clone().map(|i| hours_base + i * 17 * 60 * 1_000_000),
                )
                .with_timezone("UTC"),
            ),
        ],
    )
    .unwrap();
    // Small row groups, so that statistics can prune them.
    let parquet = WriteFormat::parquet_with_row_groups(8);
    write_batches(
        dir.join("t"),
        t_schema,
        [Ok(t)],
        WriteOptions::new(parquet.clone()).with_partition_by(&["k"]),
    )
    .unwrap();
    let ids = || (0..60i64).step_by(2);
    let u = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from_iter_values(ids())) as _),
        (
            "y",
            Arc::new(StringArray::from_iter(
                ids().map(|i| [Some("p"), Some("q"), None][i as usize % 3]),
            )) as _,
        ),
    ])
    .unwrap();
    write_batches(
        dir.join("u"),
        u.schema(),
        [Ok(u)],
        WriteOptions::new(parquet),
    )
    .unwrap();
    let j = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from_iter_values(0..30)) as _),
        (
            "tag",
            Arc::new(StringArray::from_iter_values(
                (0..30).map(|i| format!("tag{}", i % 4)),
            )) as _,
        ),
    ])
    .unwrap();
    write_batches(
        dir.join("j"),
        j.schema(),
        [Ok(j)],
        WriteOptions::new(WriteFormat::json()),
    )
    .unwrap();
}

/// `count_values` registered under another name, as a user's UDAF: only sessions that register
/// it know it.
#[derive(Debug)]
struct Renamed {
    name: &'static str,
    inner: BuiltinAggregate,
}

impl AggregateFunctionSignature for Renamed {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        self.inner.arity()
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        self.inner.coerce_types(args)
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        self.inner.return_type(args)
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        self.inner.state_fields(args)
    }
}

impl AggregateUdf for Renamed {
    fn accumulator(&self, args: &[DataType]) -> rsql_exec::Result<Box<dyn GroupsAccumulator>> {
        self.inner.accumulator(args)
    }
}

/// `plus_one(bigint) -> bigint`, a scalar UDF.
#[derive(Debug)]
struct PlusOne;

impl ScalarUdf for PlusOne {
    fn name(&self) -> &str {
        "plus_one"
    }

    fn invoke(
        &self,
        args: &[ColumnarValue],
        num_rows: usize,
        _return_type: &DataType,
    ) -> rsql_exec::Result<ColumnarValue> {
        let values = args[0].clone().into_array(num_rows)?;
        let one = Int64Array::new_scalar(1);
        Ok(ColumnarValue::Array(arrow::compute::kernels::numeric::add(
            &values, &one,
        )?))
    }
}

fn config(broadcast: bool) -> SessionConfig {
    SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        broadcast_threshold: if broadcast { 10 << 20 } else { 0 },
        // Every row group its own scan partition.
        max_partition_bytes: 1,
        ..SessionConfig::default()
    }
}

/// A session with the test's functions registered (`my_count_values` as `udaf` says).
fn session_with_functions(config: SessionConfig, udaf: BuiltinAggregate) -> Session {
    let session = Session::with_config(config).unwrap();
    session.register_udf(
        Arc::new(SimpleScalarSignature::new(
            "plus_one",
            vec![DataType::Int64],
            DataType::Int64,
        )),
        Arc::new(PlusOne),
    );
    session.register_udaf(Arc::new(Renamed {
        name: "my_count_values",
        inner: udaf,
    }));
    session
}

/// The planning side: functions and tables.
fn planner(dir: &Path, broadcast: bool) -> Session {
    let session = session_with_functions(config(broadcast), BuiltinAggregate::CountValues);
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    session.register_parquet("t", &path("t")).unwrap();
    session.register_parquet("u", &path("u")).unwrap();
    let j = session.read_json(&path("j")).unwrap();
    session.register_table("j", &j);
    let p = session
        .sql("SELECT id, s, x FROM t WHERE x IS NOT NULL")
        .unwrap()
        .persist()
        .unwrap();
    session.register_table("p", &p);
    session
}

/// Runs `plan` on `session`'s runtime; one line per row, sorted.
fn run(plan: &PhysicalPlan, session: &Session) -> Vec<String> {
    let batches = plan.lower(session.context()).unwrap().collect().unwrap();
    let mut rows = common::row_texts(&batches);
    rows.sort();
    rows
}

/// What a spec contains, as labels: operator kinds and the variants that matter.
fn features(spec: &PlanSpec, into: &mut BTreeSet<String>) {
    let label = match &spec.node {
        NodeSpec::Scan { pruning, scan, .. } => {
            let format = format!("{:?}", scan.format);
            let format = format.split('(').next().unwrap_or_default().to_string();
            format!("Scan({format}, pruned={})", pruning.is_some())
        }
        NodeSpec::Range { .. } => "Range".into(),
        NodeSpec::Values { .. } => "Values".into(),
        NodeSpec::Filter { .. } => "Filter".into(),
        NodeSpec::Projection { source, .. } => match source {
            ProjectionSource::Exprs { .. } => "Projection(exprs)".into(),
            ProjectionSource::Columns(_) => "Projection(columns)".into(),
        },
        NodeSpec::Aggregate { mode, .. } => format!("Aggregate({mode:?})"),
        NodeSpec::HashJoin {
            kind,
            broadcast,
            filter,
            left_keys,
            ..
        } => {
            if filter.is_some() {
                into.insert("HashJoin(filter)".into());
            }
            if left_keys.is_empty() {
                into.insert("HashJoin(no keys)".into());
            }
            format!("HashJoin({kind:?}, broadcast={broadcast})")
        }
        NodeSpec::Sort { fetch, .. } => format!("Sort(top-k={})", fetch.is_some()),
        NodeSpec::Limit { .. } => "Limit".into(),
        NodeSpec::Window { .. } => "Window".into(),
        NodeSpec::WindowGroupLimit { scope, .. } => format!("WindowGroupLimit({scope:?})"),
        NodeSpec::ReplicateRows { .. } => "ReplicateRows".into(),
        NodeSpec::Generate { generator, .. } => {
            format!(
                "Generate(position={}, outer={})",
                generator.position, generator.outer
            )
        }
        NodeSpec::Expand { .. } => "Expand".into(),
        NodeSpec::Union { .. } => "Union".into(),
        NodeSpec::Exchange { .. } => "Exchange".into(),
    };
    into.insert(label);
    let children: Vec<&PlanSpec> = match &spec.node {
        NodeSpec::Scan { .. } | NodeSpec::Range { .. } | NodeSpec::Values { .. } => Vec::new(),
        NodeSpec::Filter { input, .. }
        | NodeSpec::Projection { input, .. }
        | NodeSpec::Aggregate { input, .. }
        | NodeSpec::Window { input, .. }
        | NodeSpec::WindowGroupLimit { input, .. }
        | NodeSpec::Sort { input, .. }
        | NodeSpec::Limit { input, .. }
        | NodeSpec::ReplicateRows { input }
        | NodeSpec::Generate { input, .. }
        | NodeSpec::Expand { input, .. }
        | NodeSpec::Exchange { input } => vec![input],
        NodeSpec::HashJoin { left, right, .. } => vec![left, right],
        NodeSpec::Union { inputs } => inputs.iter().collect(),
    };
    for child in children {
        features(child, into);
    }
}

#[test]
fn shipped_plans_rebuild_to_the_same_plan_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let mut seen = BTreeSet::new();
    for broadcast in [true, false] {
        let planner = planner(dir.path(), broadcast);
        // The receiving side knows the functions, not the tables.
        let executor = session_with_functions(config(broadcast), BuiltinAggregate::CountValues);
        for &(sql, compare) in QUERIES {
            let context = format!("{sql} (broadcast={broadcast})");
            let (plan, _) = planner
                .sql(sql)
                .and_then(|df| df.physical_plan())
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            let spec = plan.to_spec();
            features(&spec, &mut seen);

            let bytes = postcard::to_allocvec(&spec).unwrap();
            let shipped: PlanSpec = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(shipped, spec, "postcard: {context}");
            let json = serde_json::to_string(&spec).unwrap();
            let from_json: PlanSpec = serde_json::from_str(&json).unwrap();
            assert_eq!(from_json, spec, "json: {context}");

            let rebuilt = executor
                .instantiate_plan(&shipped)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(rebuilt.display_indent(), plan.display_indent(), "{context}");
            assert_eq!(rebuilt.to_spec(), spec, "{context}");

            let expected = run(&plan, &planner);
            let got = run(&rebuilt, &executor);
            match compare {
                Compare::Rows => assert_eq!(got, expected, "{context}"),
                Compare::Count => assert_eq!(got.len(), expected.len(), "{context}"),
            }
            assert!(
                !expected.is_empty() || sql.contains("HAVING"),
                "{context}: no rows"
            );
        }
    }
    let expected = [
        "Aggregate(Final)",
        "Aggregate(Partial)",
        "Aggregate(Single)",
        "Exchange",
        "Expand",
        "Filter",
        "Generate(position=false, outer=false)",
        "Generate(position=true, outer=true)",
        "HashJoin(Full, broadcast=false)",
        "HashJoin(Inner, broadcast=false)",
        "HashJoin(Inner, broadcast=true)",
        "HashJoin(Left, broadcast=false)",
        "HashJoin(Left, broadcast=true)",
        "HashJoin(Right, broadcast=false)",
        "HashJoin(filter)",
        "HashJoin(no keys)",
        "Limit",
        "Projection(columns)",
        "Projection(exprs)",
        "Range",
        "ReplicateRows",
        "Scan(Json, pruned=false)",
        "Scan(Parquet, pruned=false)",
        "Scan(Parquet, pruned=true)",
        "Sort(top-k=false)",
        "Sort(top-k=true)",
        "Union",
        "Values",
        "Window",
        "WindowGroupLimit(Global)",
        "WindowGroupLimit(Partition)",
    ];
    let missing: Vec<&&str> = expected.iter().filter(|f| !seen.contains(**f)).collect();
    assert!(
        missing.is_empty(),
        "not covered: {missing:?}; seen {seen:?}"
    );
}

#[test]
fn functions_missing_on_the_receiving_side_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let planner = planner(dir.path(), true);
    let spec = |sql: &str| {
        planner
            .sql(sql)
            .unwrap()
            .physical_plan()
            .unwrap()
            .0
            .to_spec()
    };
    let bare = Session::with_config(config(true)).unwrap();

    let udaf = spec("SELECT k, my_count_values(s) FROM t GROUP BY k");
    let err = bare.instantiate_plan(&udaf).unwrap_err().to_string();
    assert!(
        err.contains("aggregate function 'my_count_values' is registered"),
        "{err}"
    );

    let udf = spec("SELECT plus_one(id) FROM t");
    let err = bare.instantiate_plan(&udf).unwrap_err().to_string();
    assert!(err.contains("'plus_one'"), "{err}");

    // Registered, but with other results: `my_count_values` as `count` returns a bigint.
    let different = session_with_functions(config(true), BuiltinAggregate::Count);
    let err = different.instantiate_plan(&udaf).unwrap_err().to_string();
    assert!(
        err.contains("aggregation rebuilt here does not produce the planned"),
        "{err}"
    );
}

/// A plan keeps the time zone of the session that planned it: a receiving session in UTC runs
/// it as planned in Paris. Reference by hand: `t.id` runs over 0..90, so the instants
/// `id` hours after the epoch fall in January 1970, when Paris was at UTC+1.
#[test]
fn shipped_plans_keep_the_planning_session_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let planner = planner(dir.path(), false);
    planner.set("time_zone", "Europe/Paris").unwrap();
    let executor = session_with_functions(config(false), BuiltinAggregate::CountValues);
    let sql = "SELECT id, hour(timestamp_seconds(id * 3600)) AS h, \
               date_format(timestamp_seconds(id * 3600), 'HH:mm') AS f \
               FROM t WHERE hour(timestamp_seconds(id * 3600)) < 3";
    let (plan, _) = planner.sql(sql).unwrap().physical_plan().unwrap();
    let json = serde_json::to_string(&plan.to_spec()).unwrap();
    assert!(json.contains("Europe/Paris"), "{json}");
    let shipped: PlanSpec = serde_json::from_str(&json).unwrap();
    let rebuilt = executor.instantiate_plan(&shipped).unwrap();
    let mut expected: Vec<String> = (0..90i64)
        .map(|id| (id, (id + 1) % 24))
        .filter(|&(_, hour)| hour < 3)
        .map(|(id, hour)| format!("{id} | {hour} | {hour:02}:00"))
        .collect();
    expected.sort();
    assert_eq!(run(&rebuilt, &executor), expected);
    assert_eq!(run(&plan, &planner), expected);
}
