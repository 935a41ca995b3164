//! SQL bound by rsql-plan, optimized, lowered onto RDDs and run: the events job's aggregation
//! against an independent computation over the same records.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use rsql_exec::aggregate::register_builtin_aggregates;
use rsql_exec::expr::{ScalarFunctions, builtin_scalar_functions};
use rsql_exec::{ListingTable, PlannerContext, create_physical_plan};
use rsql_io::{Dataset, DatasetOptions, WriteFormat, WriteOptions, write_batches};
use rsql_plan::{Catalog, FunctionRegistry, Optimizer, Statement, TableSource, bind_sql};
use rsql_rdd::Context;

struct Tables(HashMap<String, Arc<dyn TableSource>>);

impl Catalog for Tables {
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        self.0.get(name).cloned()
    }

    fn resolve_path(
        &self,
        path: &str,
        _format: Option<&str>,
    ) -> rsql_plan::Result<Arc<dyn TableSource>> {
        Err(rsql_plan::PlanError::NotSupported {
            construct: format!("path {path}"),
            position: None,
        })
    }
}

type Event = (&'static str, String, &'static str, String, i64);

/// Deterministic events over two customers, several urls and hours.
fn events() -> Vec<Event> {
    let referrers = [
        "http://google.com/",
        "http://bing.com/",
        "http://facebook.com/",
    ];
    (0..600i64)
        .map(|i| {
            let customer = if i % 3 == 0 { "b.com" } else { "a.com" };
            let url = format!("http://{customer}/articles/{}", i % 4);
            let session = format!("s{}", (i * 7) % 11);
            let ts = 1_505_606_400_000_000 + (i * 977 % 86_400) * 1_000_000; // within 2017-09-17
            (customer, url, referrers[(i % 5 % 3) as usize], session, ts)
        })
        .collect()
}

fn write_dataset(dir: &std::path::Path, rows: &[Event]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("url", DataType::Utf8, false),
        Field::new("referrer", DataType::Utf8, false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("customer", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            rows.iter()
                .map(|r| Some(r.1.clone()))
                .collect::<StringArray>(),
        ),
        Arc::new(rows.iter().map(|r| Some(r.2)).collect::<StringArray>()),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.3.clone()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            TimestampMicrosecondArray::from(rows.iter().map(|r| r.4).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        Arc::new(rows.iter().map(|r| Some(r.0)).collect::<StringArray>()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut options = WriteOptions::new(WriteFormat::parquet());
    options.partition_by = vec!["customer".into()];
    write_batches(dir, schema, [Ok(batch)], options).unwrap();
}

/// (customer, url, hour) -> (page views, visitors, referrer counts)
type Groups = BTreeMap<(String, String, String), (i64, usize, BTreeMap<String, i64>)>;

fn reference(rows: &[Event]) -> Groups {
    let mut sessions: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    let mut groups = Groups::new();
    for (customer, url, referrer, session, ts) in rows {
        let hour = chrono::DateTime::from_timestamp_micros(ts - ts.rem_euclid(3_600_000_000))
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let key = (customer.to_string(), url.clone(), hour);
        let group = groups.entry(key.clone()).or_default();
        group.0 += 1;
        *group.2.entry(referrer.to_string()).or_default() += 1;
        sessions.entry(key).or_default().insert(session.clone());
    }
    for (key, group) in groups.iter_mut() {
        group.1 = sessions[key].len();
    }
    groups
}

/// Runs `sql` over the events in `rows` and returns the result batches.
fn run_events_query(rows: &[Event], sql: &str) -> Vec<RecordBatch> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    write_dataset(&path, rows);

    let table = ListingTable::new(
        Dataset::open(path.to_str().unwrap(), DatasetOptions::parquet()).unwrap(),
    );
    let catalog = Tables(HashMap::from([(
        "events".to_string(),
        Arc::new(table) as Arc<dyn TableSource>,
    )]));
    let mut registry = FunctionRegistry::new();
    let aggregate_functions = register_builtin_aggregates(&mut registry);
    let Statement::Query(plan) = bind_sql(sql, &catalog, &registry).unwrap() else {
        panic!("not a query");
    };
    let plan = Optimizer::new().optimize(plan, &registry).unwrap();

    let context = Context::builder().threads(2).build().unwrap();
    let scalar_functions: ScalarFunctions = builtin_scalar_functions()
        .into_iter()
        .map(|f| (f.name().to_string(), f))
        .collect();
    let cx = PlannerContext {
        context: &context,
        registry: &registry,
        scalar_functions: &scalar_functions,
        aggregate_functions: &aggregate_functions,
        shuffle_partitions: 3,
        broadcast_threshold: 10 << 20,
    };
    let physical = create_physical_plan(&plan, &cx).unwrap();
    physical.lower(&context).unwrap().collect().unwrap()
}

/// Text of column `c` at every row (dictionary and partition columns included).
fn text_column(batch: &RecordBatch, c: usize) -> Vec<String> {
    let column = arrow::compute::cast(batch.column(c), &DataType::Utf8).unwrap();
    column
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

/// The referrer counts of every row of a `count_values` column.
fn referrer_maps(column: &ArrayRef) -> Vec<BTreeMap<String, i64>> {
    let maps = column.as_map();
    (0..maps.len())
        .map(|row| {
            let map = maps.value(row);
            let (keys, counts) = (
                map.column(0).as_string::<i32>(),
                map.column(1).as_primitive::<Int64Type>(),
            );
            (0..map.len())
                .map(|i| (keys.value(i).to_string(), counts.value(i)))
                .collect()
        })
        .collect()
}

#[test]
fn events_aggregation_matches_an_independent_computation() {
    let rows = events();
    let batches = run_events_query(
        &rows,
        "SELECT customer, url, date_format(window(ts, '1 hour').start, 'yyyy-MM-dd''T''HH:mm:ss') AS hour, \
         count(*) AS page_views, count(DISTINCT session_id) AS visitors, count_values(referrer) AS referrers \
         FROM events GROUP BY customer, url, window(ts, '1 hour')",
    );
    let mut got = Groups::new();
    for batch in &batches {
        // Partition and dictionary-encoded columns stay dictionaries through the aggregation.
        let text = |c: usize| arrow::compute::cast(batch.column(c), &DataType::Utf8).unwrap();
        let (customer, url, hour) = (text(0), text(1), text(2));
        let (customer, url, hour) = (
            customer.as_string::<i32>(),
            url.as_string::<i32>(),
            hour.as_string::<i32>(),
        );
        let views = batch.column(3).as_primitive::<Int64Type>();
        let visitors = batch.column(4).as_primitive::<Int64Type>();
        let referrers = batch.column(5).as_map();
        for row in 0..batch.num_rows() {
            let map = referrers.value(row);
            let (keys, counts) = (
                map.column(0).as_string::<i32>(),
                map.column(1).as_primitive::<Int64Type>(),
            );
            let counted = (0..map.len())
                .map(|i| (keys.value(i).to_string(), counts.value(i)))
                .collect();
            let key = (
                customer.value(row).to_string(),
                url.value(row).to_string(),
                hour.value(row).to_string(),
            );
            assert!(
                got.insert(
                    key,
                    (views.value(row), visitors.value(row) as usize, counted)
                )
                .is_none(),
                "a group appears twice"
            );
        }
    }
    assert_eq!(got, reference(&rows));
    assert!(
        got.len() > 24,
        "too few groups to be meaningful: {}",
        got.len()
    );
}

#[test]
fn committed_job_sql_builds_the_nested_records() {
    let rows = events();
    let batches = run_events_query(&rows, include_str!("../../../benches/events/job.sql"));
    let expected = reference(&rows);
    let mut seen = 0;
    for batch in &batches {
        let schema = batch.schema();
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
        let (id, customer, url, freq, ts) = (
            text_column(batch, 0),
            text_column(batch, 1),
            text_column(batch, 2),
            text_column(batch, 3),
            text_column(batch, 4),
        );
        let metrics = batch.column(5).as_struct();
        let views = metrics
            .column_by_name("page_views")
            .unwrap()
            .as_primitive::<Int64Type>();
        let visitors = metrics
            .column_by_name("visitors")
            .unwrap()
            .as_primitive::<Int64Type>();
        for (row, referrers) in referrer_maps(batch.column(6)).into_iter().enumerate() {
            assert_eq!(
                id[row],
                format!("{}|{}|{}", url[row], customer[row], ts[row])
            );
            assert_eq!(freq[row], "1hour");
            let want = &expected[&(customer[row].clone(), url[row].clone(), ts[row].clone())];
            assert_eq!(
                (views.value(row), visitors.value(row) as usize, referrers),
                want.clone()
            );
            seen += 1;
        }
    }
    assert_eq!(seen, expected.len());
}
