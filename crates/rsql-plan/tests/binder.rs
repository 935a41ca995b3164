//! SQL to logical plan: the shapes the binder produces, compared as EXPLAIN-style text.

mod common;

use arrow_schema::DataType;
use common::{bind, plan, plan_text};
use rsql_plan::{CopyFormat, FunctionRegistry, Statement};

fn assert_plan(sql: &str, expected: &str) {
    assert_eq!(plan_text(sql), expected.trim(), "\n{sql}");
}

const EVENTS_JOB: &str = "
SELECT concat_ws('|', url, customer, date_format(window(ts, '1 hour').start, 'yyyy-MM-dd''T''HH:mm:ss')) AS _id,
       customer, url, '1hour' AS freq,
       date_format(window(ts, '1 hour').start, 'yyyy-MM-dd''T''HH:mm:ss') AS ts,
       named_struct('page_views', count(*), 'visitors', count(DISTINCT session_id)) AS metrics,
       count_values(referrer) AS referrers
FROM events
GROUP BY customer, url, window(ts, '1 hour')";

#[test]
fn the_events_job_aggregates_by_customer_url_and_hour_window() {
    assert_plan(
        EVENTS_JOB,
        r#"
Projection: concat_ws(Utf8("|"), events.url, CAST(events.customer AS Utf8), date_format(window(ts, Utf8("1 hour")).start, Utf8("yyyy-MM-dd'T'HH:mm:ss"))) AS _id, events.customer, events.url, Utf8("1hour") AS freq, date_format(window(ts, Utf8("1 hour")).start, Utf8("yyyy-MM-dd'T'HH:mm:ss")) AS ts, named_struct(Utf8("page_views"), count(*), Utf8("visitors"), count(DISTINCT session_id)) AS metrics, count_values(referrer) AS referrers
  Aggregate: groupBy=[[events.customer, events.url, window(events.ts, Utf8("1 hour"))]], aggr=[[count(*), count(DISTINCT events.session_id), count_values(events.referrer)]]
    TableScan: events"#,
    );
    let plan = plan(EVENTS_JOB).unwrap();
    let schema = plan.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "_id",
            "customer",
            "url",
            "freq",
            "ts",
            "metrics",
            "referrers"
        ]
    );
    assert_eq!(schema.field(4).data_type(), &DataType::Utf8);
    assert_eq!(
        schema.field(6).data_type(),
        &rsql_plan::function::count_values_type(&DataType::Utf8)
    );
    let DataType::Struct(metrics) = schema.field(5).data_type() else {
        panic!("metrics is not a struct")
    };
    assert_eq!(metrics[0].name(), "page_views");
    assert_eq!(metrics[1].data_type(), &DataType::Int64);
}

#[test]
fn where_and_select_list() {
    assert_plan(
        "SELECT a, b AS x, a * 2 FROM t WHERE a > 1 AND b IS NOT NULL",
        r#"
Projection: t.a, t.b AS x, t.a * Int64(2) AS (a * 2)
  Filter: t.a > Int64(1) AND t.b IS NOT NULL
    TableScan: t"#,
    );
    let names: Vec<String> = plan("SELECT a, b AS x, a * 2 FROM t")
        .unwrap()
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["a", "x", "(a * 2)"]);
}

#[test]
fn group_by_ordinals_aliases_having_and_order_by_alias() {
    assert_plan(
        "SELECT b, count(*) AS n FROM t GROUP BY 1 HAVING n > 1 ORDER BY n DESC, b",
        r#"
Sort: n DESC NULLS LAST, t.b ASC NULLS FIRST
  Projection: t.b, count(*) AS n
    Filter: count(*) > Int64(1)
      Aggregate: groupBy=[[t.b]], aggr=[[count(*)]]
        TableScan: t"#,
    );
    assert_plan(
        "SELECT upper(b) AS x, sum(a) FROM t GROUP BY x ORDER BY 2",
        r#"
Sort: sum(a) ASC NULLS FIRST
  Projection: upper(b) AS x, sum(a)
    Aggregate: groupBy=[[upper(t.b)]], aggr=[[sum(t.a)]]
      TableScan: t"#,
    );
}

#[test]
fn aggregates_only_in_order_by_are_computed_then_dropped() {
    assert_plan(
        "SELECT b FROM t GROUP BY b ORDER BY max(c) DESC NULLS FIRST",
        r#"
Projection: t.b
  Sort: __sort_key_1 DESC NULLS FIRST
    Projection: t.b, max(c) AS __sort_key_1
      Aggregate: groupBy=[[t.b]], aggr=[[max(t.c)]]
        TableScan: t"#,
    );
}

#[test]
fn joins_on_using_and_cross() {
    assert_plan(
        "SELECT t.*, u.d FROM t LEFT JOIN u ON t.a = u.a AND u.d LIKE 'x%'",
        r#"
Projection: t.a, t.b, t.c, u.d
  Left Join: t.a = u.a Filter: u.d LIKE Utf8("x%")
    TableScan: t
    TableScan: u"#,
    );
    assert_plan(
        "SELECT a, d FROM t FULL JOIN u USING (a)",
        r#"
Projection: a, u.d
  Projection: coalesce(t.a, u.a) AS a, t.b, t.c, u.d
    Full Join: t.a = u.a
      TableScan: t
      TableScan: u"#,
    );
    assert_plan(
        "SELECT * FROM t x CROSS JOIN u, u AS v WHERE x.a = v.a",
        r#"
Projection: x.a, x.b, x.c, u.a, u.d, v.a, v.d
  Filter: x.a = v.a
    Cross Join:
      Cross Join:
        SubqueryAlias: x
          TableScan: t
        TableScan: u
      SubqueryAlias: v
        TableScan: u"#,
    );
    assert_plan(
        "SELECT t.a FROM t RIGHT JOIN u ON u.a = t.a",
        r#"
Projection: t.a
  Right Join: t.a = u.a
    TableScan: t
    TableScan: u"#,
    );
}

#[test]
fn with_union_all_order_and_limit() {
    assert_plan(
        "WITH x AS (SELECT a FROM t) SELECT a FROM x UNION ALL SELECT a FROM u ORDER BY 1 LIMIT 3 OFFSET 1",
        r#"
Limit: skip=1, fetch=3
  Sort: x.a ASC NULLS FIRST
    Union
      Projection: x.a
        SubqueryAlias: x
          Projection: t.a
            TableScan: t
      Projection: u.a
        TableScan: u"#,
    );
    assert_plan(
        "SELECT a FROM t UNION SELECT c FROM t",
        r#"
Distinct:
  Union
    Projection: CAST(t.a AS Float64) AS a
      Projection: t.a
        TableScan: t
    Projection: t.c
      TableScan: t"#,
    );
}

#[test]
fn distinct_case_cast_in_between_and_subqueries() {
    assert_plan(
        "SELECT DISTINCT CASE WHEN a IN (1, 2) THEN 'low' ELSE CAST(a AS STRING) END AS k \
         FROM (SELECT a FROM t WHERE c NOT BETWEEN 0 AND 1.5) s",
        r#"
Distinct:
  Projection: CASE WHEN s.a IN (Int64(1), Int64(2)) THEN Utf8("low") ELSE CAST(s.a AS Utf8) END AS k
    SubqueryAlias: s
      Projection: t.a
        Filter: t.c NOT BETWEEN CAST(Int64(0) AS Float64) AND CAST(Decimal128(1.5,2,1) AS Float64)
          TableScan: t"#,
    );
    assert_plan(
        "SELECT CASE b WHEN 'x' THEN 1 WHEN 'y' THEN 2.5 END FROM t",
        r#"
Projection: CASE t.b WHEN Utf8("x") THEN CAST(Int64(1) AS Decimal128(21, 1)) WHEN Utf8("y") THEN CAST(Decimal128(2.5,2,1) AS Decimal128(21, 1)) END AS CASE b WHEN 'x' THEN 1 WHEN 'y' THEN 2.5 END
  TableScan: t"#,
    );
}

#[test]
fn paths_and_partition_columns_keep_their_shape() {
    assert_plan(
        "SELECT url FROM 'data/events/' WHERE customer = 'a.com' AND ts >= '2017-09-17 12:00:00'",
        r#"
Projection: events.url
  Filter: events.customer = Utf8("a.com") AND events.ts >= CAST(Utf8("2017-09-17 12:00:00") AS Timestamp(µs, "UTC"))
    TableScan: events"#,
    );
    assert_plan(
        "SELECT count(*) FROM parquet.`/tmp/ev` e",
        r#"
Projection: count(*)
  Aggregate: groupBy=[[]], aggr=[[count(*)]]
    SubqueryAlias: e
      TableScan: ev"#,
    );
}

#[test]
fn struct_fields_map_subscripts_and_select_without_from() {
    assert_plan(
        "SELECT m['x'], s.v FROM (SELECT count_values(b) AS m, struct(a, c AS v) AS s FROM t GROUP BY a, c) q",
        r#"
Projection: q.m[Utf8("x")] AS m['x'], q.s.v
  SubqueryAlias: q
    Projection: count_values(b) AS m, named_struct(Utf8("a"), t.a, Utf8("v"), t.c) AS s
      Aggregate: groupBy=[[t.a, t.c]], aggr=[[count_values(t.b)]]
        TableScan: t"#,
    );
    assert_plan(
        "SELECT 1, 'x', -2.5 AS y",
        r#"
Projection: Int64(1) AS 1, Utf8("x") AS 'x', Decimal128(-2.5,2,1) AS y
  EmptyRelation: rows=1"#,
    );
    assert_plan(
        "VALUES (1, 'a'), (2, NULL)",
        r#"Values: (Int64(1), Utf8("a")), (Int64(2), CAST(NULL AS Utf8))"#,
    );
}

#[test]
fn integer_division_is_double_division() {
    let plan = plan("SELECT a / 2 AS half FROM t").unwrap();
    assert_eq!(plan.schema().field(0).data_type(), &DataType::Float64);
    assert_eq!(
        plan.display_indent().lines().next(),
        Some("Projection: CAST(t.a AS Float64) / CAST(Int64(2) AS Float64) AS half")
    );
}

#[test]
fn statements_views_copy_and_explain() {
    match bind("CREATE OR REPLACE TEMP VIEW v AS SELECT a FROM t").unwrap() {
        Statement::CreateView {
            name,
            plan,
            query,
            or_replace,
            temporary,
        } => {
            assert_eq!(name, "v");
            assert_eq!(query, "SELECT a FROM t");
            assert!(or_replace && temporary);
            assert_eq!(plan.display_indent(), "Projection: t.a\n  TableScan: t");
        }
        other => panic!("{other:?}"),
    }
    match bind("COPY (SELECT a FROM t) TO 'out/dir' (FORMAT json, PARTITION_BY (A))").unwrap() {
        Statement::Copy {
            path,
            format,
            partition_by,
            ..
        } => {
            assert_eq!(path, "out/dir");
            assert_eq!(format, CopyFormat::Json);
            assert_eq!(partition_by, ["a"]);
        }
        other => panic!("{other:?}"),
    }
    let err = bind("COPY (SELECT a FROM t) TO 'out' (FORMAT csv, PARTITION_BY (z))").unwrap_err();
    assert!(
        err.to_string()
            .contains("partition column 'z' is not a column of the rows written (a)"),
        "{err}"
    );
    assert_plan(
        "EXPLAIN ANALYZE SELECT a FROM t",
        "Analyze\n  Projection: t.a\n    TableScan: t",
    );
}

#[test]
fn names_are_case_insensitive_and_backticks_quote() {
    assert_plan(
        "SELECT `A`, UPPER(B) FROM T WHERE Lower(b) LIKE '%x'",
        r#"
Projection: t.a, upper(t.b) AS UPPER(B)
  Filter: lower(t.b) LIKE Utf8("%x")
    TableScan: t"#,
    );
}

#[test]
fn registered_udfs_bind_by_name() {
    let mut registry = FunctionRegistry::new();
    registry.register_scalar(std::sync::Arc::new(rsql_plan::SimpleScalarSignature::new(
        "shout",
        vec![DataType::Utf8],
        DataType::Utf8,
    )));
    let statement = rsql_plan::bind_sql("SELECT shout(a) FROM t", &common::MockCatalog, &registry);
    let Ok(Statement::Query(plan)) = statement else {
        panic!("{statement:?}")
    };
    assert_eq!(
        plan.display_indent(),
        "Projection: shout(CAST(t.a AS Utf8)) AS shout(a)\n  TableScan: t"
    );
}

#[test]
fn clock_functions_bind_to_the_statements_instant() {
    let registry = FunctionRegistry::new();
    // 2024-02-29T23:59:59Z: day 19782, 1709251199 seconds.
    let binder = rsql_plan::SqlBinder::new(&common::MockCatalog, &registry)
        .at_instant(1_709_251_199_000_000);
    let statement = binder.bind_sql(
        "SELECT current_date, current_date(), unix_timestamp(), now() = current_timestamp() FROM t",
    );
    let Ok(Statement::Query(plan)) = statement else {
        panic!("{statement:?}")
    };
    assert_eq!(
        plan.display_indent(),
        "Projection: Date32(\"2024-02-29\") AS current_date, Date32(\"2024-02-29\") AS current_date(), \
         Int64(1709251199) AS unix_timestamp(), TimestampMicrosecond(1709251199000000, Some(\"UTC\")) \
         = TimestampMicrosecond(1709251199000000, Some(\"UTC\")) AS (now() = current_timestamp())\n  \
         TableScan: t"
    );
}
