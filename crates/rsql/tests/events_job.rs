//! The events job end to end through the public API, SQL and DataFrame forms, against an
//! independent computation over the same records; and the shape of its plans.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use rsql::{Session, SessionConfig};
use rsql_io::{WriteFormat, WriteOptions, write_batches};

#[path = "../examples/events_job/job.rs"]
mod job;

const JOB_SQL: &str = include_str!("../../../benches/events/job.sql");

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

/// A session with `threads` workers over the events in `rows`, registered as `events`; the
/// directory lives as long as the returned guard.
fn events_session(rows: &[Event], threads: usize) -> (Session, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    write_dataset(&path, rows);
    let path = path.to_str().unwrap().to_string();
    let session = Session::with_config(SessionConfig {
        threads,
        shuffle_partitions: 3,
        // One scan partition per file, so that even this small input is spread out.
        max_partition_bytes: 1,
        ..SessionConfig::default()
    })
    .unwrap();
    session.register_parquet("events", &path).unwrap();
    (session, dir, path)
}

/// Runs `sql` over the events in `rows` and returns the result batches.
fn run_events_query(rows: &[Event], sql: &str) -> Vec<RecordBatch> {
    let (session, _dir, _) = events_session(rows, 2);
    session.sql(sql).unwrap().collect().unwrap()
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
    let batches = run_events_query(&rows, JOB_SQL);
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

/// The NDJSON lines under `dir`, as a set.
fn output_records(dir: &std::path::Path) -> BTreeSet<String> {
    assert!(
        dir.join("_SUCCESS").exists(),
        "no _SUCCESS in {}",
        dir.display()
    );
    let mut lines = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('_') {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            lines.insert(line.to_string());
        }
    }
    lines
}

#[test]
fn sql_and_dataframe_forms_write_the_same_records() {
    let rows = events();
    let (session, dir, path) = events_session(&rows, 2);
    let (sql_out, df_out) = (dir.path().join("sql"), dir.path().join("df"));
    session
        .sql(JOB_SQL)
        .unwrap()
        .write_json(sql_out.to_str().unwrap())
        .unwrap();
    job::dataframe_job(&session, &path)
        .unwrap()
        .write_json(df_out.to_str().unwrap())
        .unwrap();
    let (sql_records, df_records) = (output_records(&sql_out), output_records(&df_out));
    assert_eq!(sql_records.len(), reference(&rows).len());
    assert_eq!(sql_records, df_records);
    let first = sql_records.iter().next().unwrap();
    assert!(
        first.contains(r#""freq":"1hour""#) && first.contains(r#""metrics":{"page_views":"#),
        "{first}"
    );
}

#[test]
fn events_job_needs_no_shuffle_when_each_customer_is_read_whole() {
    let rows = events();
    // Two customers feed two workers: each partition reads whole `customer=` folders.
    let (session, _dir, path) = events_session(&rows, 2);
    for job in [
        session.sql(JOB_SQL).unwrap(),
        job::dataframe_job(&session, &path).unwrap(),
    ] {
        let (physical, _) = job.physical_plan().unwrap();
        assert_eq!(
            physical.exchange_count(),
            0,
            "{}",
            physical.display_indent()
        );
        let explain = job.explain(false).unwrap();
        assert!(explain.contains("HashAggregate(Single)"), "{explain}");
        assert!(
            explain.contains("== RDD Lineage (1 stages) =="),
            "{explain}"
        );
    }
}

#[test]
fn events_job_shuffles_once_after_a_partial_aggregate_otherwise() {
    let rows = events();
    // Four workers but two customers: placing folders whole would idle half the workers.
    let (session, _dir, _) = events_session(&rows, 4);
    let job = session.sql(JOB_SQL).unwrap();
    let (physical, _) = job.physical_plan().unwrap();
    assert_eq!(
        physical.exchange_count(),
        1,
        "{}",
        physical.display_indent()
    );
    let explain = job.explain(false).unwrap();
    let partial = explain
        .find("HashAggregate(Partial)")
        .expect("a partial aggregate");
    let exchange = explain.find("Exchange -> hash(").expect("a hash exchange");
    let final_aggregate = explain
        .find("HashAggregate(Final)")
        .expect("a final aggregate");
    // Parents print above their inputs: final, then the exchange, then the partial.
    assert!(
        final_aggregate < exchange && exchange < partial,
        "{explain}"
    );
    assert!(
        explain.contains("== RDD Lineage (2 stages) =="),
        "{explain}"
    );
}

#[test]
fn explain_analyze_reports_rows_per_operator_and_stages() {
    let rows = events();
    let (session, _dir, _) = events_session(&rows, 4);
    let batches = session
        .sql(&format!("EXPLAIN ANALYZE {JOB_SQL}"))
        .unwrap()
        .collect()
        .unwrap();
    let text: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let lines = b.column(0).as_string::<i32>();
            (0..lines.len())
                .map(|i| lines.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let text = text.join("\n");
    let scan = text
        .lines()
        .find(|l| l.trim_start().starts_with("Scan: events") && l.contains("[rows="))
        .expect("scan line");
    assert!(scan.contains(&format!("rows={}", rows.len())), "{text}");
    assert!(
        text.contains(&format!("{} rows in", reference(&rows).len())),
        "{text}"
    );
    assert_eq!(text.matches("stage ").count(), 2, "{text}");
    // The scanning stage reports every input row and the Parquet bytes it covered.
    let input = format!("input {} rows / ", rows.len());
    let scan_stage = text
        .lines()
        .find(|l| l.contains(&input))
        .unwrap_or_else(|| panic!("no stage read {input}: {text}"));
    let bytes: u64 = scan_stage
        .split(&input)
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(bytes > 0, "{scan_stage}");
}

#[test]
fn dataframe_count_counts_the_rows_of_any_plan() {
    let rows = events();
    let (session, _dir, _) = events_session(&rows, 2);
    let expected = |keep: &dyn Fn(&Event) -> bool| rows.iter().filter(|r| keep(r)).count() as u64;
    let all = session.sql("SELECT * FROM events").unwrap();
    assert_eq!(all.count().unwrap(), rows.len() as u64);
    let b_com = session
        .sql("SELECT url FROM events WHERE customer = 'b.com'")
        .unwrap();
    assert_eq!(b_com.count().unwrap(), expected(&|r| r.0 == "b.com"));
    let none = session.sql("SELECT * FROM events WHERE 1 = 0").unwrap();
    assert_eq!(none.count().unwrap(), 0);
    let sessions = session
        .sql("SELECT DISTINCT session_id FROM events")
        .unwrap();
    let distinct: BTreeSet<&String> = rows.iter().map(|r| &r.3).collect();
    assert_eq!(sessions.count().unwrap(), distinct.len() as u64);
}
