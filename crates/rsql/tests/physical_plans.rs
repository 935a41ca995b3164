//! Whole physical plans pinned as snapshots (insta): for representative queries, the plan the
//! planner chooses and `enforce_distribution` places, as `EXPLAIN` prints it. A change of plan
//! shows up as a snapshot diff to review.
//!
//! Tables: `events` (Parquet, hive-partitioned by `customer`, four folders), `customers` and
//! `pages` (one Parquet file each). Two threads, four shuffle partitions.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use rsql::{Session, SessionConfig};
use rsql_io::{WriteFormat, WriteOptions, write_batches};

fn strings(values: impl IntoIterator<Item = String>) -> Arc<StringArray> {
    Arc::new(StringArray::from_iter_values(values))
}

fn write(dir: &Path, name: &str, batch: RecordBatch, partition_by: &[&str]) {
    let options = WriteOptions::new(WriteFormat::parquet_with_row_groups(64));
    write_batches(
        dir.join(name),
        batch.schema(),
        [Ok(batch)],
        options.with_partition_by(partition_by),
    )
    .unwrap();
}

fn write_tables(dir: &Path) {
    let customers = ["a.com", "b.com", "c.com", "d.com"];
    let rows = 0..200usize;
    let events = RecordBatch::try_from_iter([
        (
            "customer",
            strings(rows.clone().map(|i| customers[i % 4].to_string())) as _,
        ),
        (
            "url",
            strings(rows.clone().map(|i| format!("/p{}", i % 25))) as _,
        ),
        (
            "views",
            Arc::new(Int64Array::from_iter_values(rows.map(|i| (i % 7) as i64))) as _,
        ),
    ])
    .unwrap();
    write(dir, "events", events, &["customer"]);
    let customers = RecordBatch::try_from_iter([
        ("customer", strings(customers.map(String::from)) as _),
        ("name", strings(["A", "B", "C", "D"].map(String::from)) as _),
        (
            "tier",
            strings(["gold", "free", "gold", "free"].map(String::from)) as _,
        ),
    ])
    .unwrap();
    write(dir, "customers", customers, &[]);
    let pages = RecordBatch::try_from_iter([
        ("url", strings((0..40).map(|i| format!("/p{i}"))) as _),
        ("title", strings((0..40).map(|i| format!("Page {i}"))) as _),
    ])
    .unwrap();
    write(dir, "pages", pages, &[]);
}

/// A session over the tables; `broadcast` keeps the default broadcast threshold, otherwise
/// every join is partitioned.
fn session(dir: &Path, broadcast: bool) -> Session {
    let defaults = SessionConfig::default();
    let session = Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 4,
        max_partition_bytes: 1,
        broadcast_threshold: if broadcast {
            defaults.broadcast_threshold
        } else {
            0
        },
        ..defaults
    })
    .unwrap();
    for table in ["events", "customers", "pages"] {
        let path = dir.join(table);
        session
            .register_parquet(table, path.to_str().unwrap())
            .unwrap();
    }
    session
}

/// The physical plan of `sql` as `EXPLAIN` prints it.
fn physical_plan(session: &Session, sql: &str) -> String {
    let (plan, _) = session.sql(sql).unwrap().physical_plan().unwrap();
    format!(
        "{} exchanges\n{}",
        plan.exchange_count(),
        plan.display_indent()
    )
}

/// Pins the physical plan of each `(name, sql)`.
fn assert_plans(broadcast: bool, queries: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let session = session(dir.path(), broadcast);
    for &(name, sql) in queries {
        insta::with_settings!({ description => sql, omit_expression => true }, {
            insta::assert_snapshot!(name, physical_plan(&session, sql));
        });
    }
}

#[test]
fn aggregations() {
    assert_plans(
        true,
        &[
            // Every customer's folders are read by one partition: no exchange.
            (
                "clustered_aggregate_over_hive_folders",
                "SELECT customer, count(*) AS n, sum(views) AS views FROM events \
                 GROUP BY customer",
            ),
            // Partial, a hash exchange on the group key, final.
            (
                "two_phase_aggregate",
                "SELECT url, count(*) AS n FROM events GROUP BY url",
            ),
            // Rows expanded once per grouping set, then one two-phase aggregation keyed on the
            // (nulled) keys and the set number: a single exchange.
            (
                "rollup_expands_before_one_exchange",
                "SELECT customer, url, grouping_id(customer, url) AS g, sum(views) AS views \
                 FROM events GROUP BY ROLLUP (customer, url)",
            ),
        ],
    );
}

#[test]
fn broadcast_joins() {
    assert_plans(
        true,
        &[
            (
                "broadcast_join",
                "SELECT e.url, c.name FROM events e JOIN customers c ON e.customer = c.customer",
            ),
            // Rewritten into a semi join whose build side is broadcast.
            (
                "semi_join_from_in_subquery",
                "SELECT url, views FROM events WHERE customer IN \
                 (SELECT customer FROM customers WHERE tier = 'gold')",
            ),
            // Both sides in one partition: still the broadcast join the node says it is.
            (
                "keyless_join_of_single_partitions",
                "SELECT c.name, p.title FROM customers c CROSS JOIN pages p",
            ),
        ],
    );
}

#[test]
fn partitioned_joins() {
    assert_plans(
        false,
        &[
            // The aggregate's output is already hash partitioned on `url`: only `pages` moves,
            // to the aggregate's partition count.
            (
                "partitioned_join_with_one_side_hashed",
                "SELECT v.url, v.n, p.title FROM \
                 (SELECT url, count(*) AS n FROM events GROUP BY url) v \
                 JOIN pages p ON v.url = p.url",
            ),
        ],
    );
}

#[test]
fn sorts_limits_and_unions() {
    assert_plans(
        true,
        &[
            // Range exchange on the sort keys, then a sort per partition.
            (
                "global_order_by",
                "SELECT url, views FROM events ORDER BY views DESC, url",
            ),
            // A top-k per partition, gathered, a top-k of those.
            (
                "order_by_limit",
                "SELECT url, views FROM events ORDER BY views DESC, url LIMIT 3",
            ),
            (
                "union",
                "SELECT customer FROM events UNION SELECT customer FROM customers",
            ),
        ],
    );
}

#[test]
fn windows() {
    assert_plans(
        true,
        &[
            // Every customer's folders are read by one partition: no exchange.
            (
                "window_over_hive_folders_clustered_on_its_keys",
                "SELECT url, row_number() OVER (PARTITION BY customer ORDER BY views DESC) AS rn \
                 FROM events",
            ),
            // One hash exchange on `url` serves both windows, which sort differently.
            (
                "windows_with_the_same_partition_share_an_exchange",
                "SELECT url, rank() OVER (PARTITION BY url ORDER BY views) AS r, \
                 sum(views) OVER (PARTITION BY url) AS total FROM events",
            ),
            // The aggregation's output is placed by `customer` already (hive folders).
            (
                "window_over_an_aggregation_on_its_keys",
                "SELECT customer, url, rank() OVER (PARTITION BY customer ORDER BY count(*) DESC) \
                 AS r FROM events GROUP BY customer, url",
            ),
            // The final aggregation's output is hash partitioned on `url`.
            (
                "window_over_a_hashed_aggregation",
                "SELECT url, n, sum(n) OVER (PARTITION BY url) AS total FROM \
                 (SELECT url, count(*) AS n FROM events GROUP BY url) v",
            ),
            // Without PARTITION BY, every row in one partition.
            (
                "window_without_partition_keys",
                "SELECT url, lag(views) OVER (ORDER BY views) AS before FROM events",
            ),
        ],
    );
}

/// `EXPLAIN ANALYZE` puts each operator's estimated rows beside the rows it returned.
#[test]
fn explain_analyze_shows_estimated_beside_actual_rows() {
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let session = session(dir.path(), true);
    let text = session
        .sql("SELECT url, count(*) AS n FROM events GROUP BY url")
        .unwrap()
        .explain(true)
        .unwrap();
    let line = |operator: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(operator))
            .unwrap_or_else(|| panic!("no {operator} in {text}"))
    };
    // 200 events in 25 urls; the estimator knows the table's rows, not the distinct urls.
    assert!(
        line("Scan: events").contains(", rows≈200 [rows=200,"),
        "{text}"
    );
    assert!(
        line("HashAggregate(Final)").contains(", rows≈200 [rows=25,"),
        "{text}"
    );
    // A partial phase carries no estimate.
    assert!(
        line("HashAggregate(Partial)").contains("-> unknown(4) [rows="),
        "{text}"
    );
}

/// An `OR` over two aliases of the hive-partitioned table, each branch naming one customer per
/// side (TPC-H Q7's shape), reads only the two folders each side's branches name.
#[test]
fn an_or_over_both_sides_of_a_join_prunes_each_scan() {
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let session = session(dir.path(), true);
    let sql = "SELECT e1.customer AS c1, e2.customer AS c2, count(*) AS n \
               FROM events e1 JOIN events e2 ON e1.url = e2.url \
               WHERE (e1.customer = 'a.com' AND e2.customer = 'b.com') \
               OR (e1.customer = 'b.com' AND e2.customer = 'c.com') \
               GROUP BY e1.customer, e2.customer ORDER BY c1";
    let plan = physical_plan(&session, sql);
    let mut scans: Vec<&str> = plan
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("Scan: events"))
        .collect();
    scans.sort_by_key(|scan| scan.contains("c.com"));
    assert_eq!(scans.len(), 2, "{plan}");
    for (scan, [first, second]) in scans.iter().zip([["a.com", "b.com"], ["b.com", "c.com"]]) {
        assert!(
            scan.contains("2 read units, pruning customer IN (")
                && scan.contains(first)
                && scan.contains(second),
            "{plan}"
        );
    }
    // Row by row: event i has customer i % 4 and url i % 25.
    let customers = ["a.com", "b.com", "c.com", "d.com"];
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..200 {
        for j in 0..200 {
            let pair = (customers[i % 4], customers[j % 4]);
            if i % 25 == j % 25 && [("a.com", "b.com"), ("b.com", "c.com")].contains(&pair) {
                *expected.entry(pair).or_insert(0i64) += 1;
            }
        }
    }
    let expected: Vec<String> = expected
        .into_iter()
        .map(|((c1, c2), n)| format!("{c1} | {c2} | {n}"))
        .collect();
    let batches = session.sql(sql).unwrap().collect().unwrap();
    assert_eq!(common::row_texts(&batches), expected);
}

/// Counts the jobs started and the stages completed on a session's runtime.
#[derive(Default)]
struct StageCounter {
    jobs: std::sync::atomic::AtomicUsize,
    stages: std::sync::atomic::AtomicUsize,
}

impl rsql_rdd::SchedulerListener for StageCounter {
    fn on_event(&self, event: &rsql_rdd::SchedulerEvent) {
        use std::sync::atomic::Ordering::SeqCst;
        match event {
            rsql_rdd::SchedulerEvent::JobStarted { .. } => {
                self.jobs.fetch_add(1, SeqCst);
            }
            rsql_rdd::SchedulerEvent::StageCompleted { .. } => {
                self.stages.fetch_add(1, SeqCst);
            }
            _ => {}
        }
    }
}

#[test]
fn explain_runs_nothing_and_counts_the_stages_a_run_takes() {
    use std::sync::atomic::Ordering::SeqCst;

    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let session = session(dir.path(), false);
    let counter = Arc::new(StageCounter::default());
    session
        .context()
        .add_listener(Arc::clone(&counter) as Arc<dyn rsql_rdd::SchedulerListener>);
    // 0, 1, 2 and 3 exchanges; a global ORDER BY adds a sampling stage for its range bounds,
    // and a shuffled join's runtime filter one gathering its build side's keys.
    for (sql, stages) in [
        ("SELECT url FROM events WHERE views > 3", 1),
        ("SELECT url, sum(views) FROM events GROUP BY url", 2),
        ("SELECT url FROM events ORDER BY url", 3),
        (
            "SELECT url, sum(views) AS v FROM events GROUP BY url ORDER BY v DESC, url",
            4,
        ),
        (
            "SELECT c.tier, count(*) AS n FROM events e JOIN customers c \
             ON e.customer = c.customer GROUP BY c.tier",
            5,
        ),
    ] {
        let explained = session
            .sql(&format!("EXPLAIN {sql}"))
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(counter.jobs.load(SeqCst), 0, "EXPLAIN ran a job: {sql}");
        let text = arrow::util::pretty::pretty_format_batches(&explained)
            .unwrap()
            .to_string();
        assert!(
            text.contains(&format!("== RDD Lineage ({stages} stages) ==")),
            "{sql}\n{text}"
        );
        session.sql(sql).unwrap().collect().unwrap();
        assert_eq!(counter.stages.swap(0, SeqCst), stages, "{sql}");
        counter.jobs.store(0, SeqCst);
    }
}

/// A table expression read twice (TPC-H Q15's shape) is aggregated once: both readers fetch the
/// same shuffle, so the events are read once.
#[test]
fn a_table_expression_read_twice_is_computed_once() {
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path());
    let session = session(dir.path(), false);
    let totals = Arc::new(rsql_rdd::TotalsListener::default());
    session
        .context()
        .add_listener(Arc::clone(&totals) as Arc<dyn rsql_rdd::SchedulerListener>);
    let sql = "WITH v AS (SELECT url, sum(views) AS total FROM events GROUP BY url) \
               SELECT url, total FROM v WHERE total = (SELECT max(total) FROM v) ORDER BY url";
    let rows = common::row_texts(&session.sql(sql).unwrap().collect().unwrap());
    // Row i of events has url /p{i % 25} and views i % 7.
    let mut by_url = [0i64; 25];
    for i in 0..200 {
        by_url[i % 25] += (i % 7) as i64;
    }
    let max = *by_url.iter().max().unwrap();
    let mut expected: Vec<(String, i64)> = (0..25)
        .filter(|&u| by_url[u] == max)
        .map(|u| (format!("/p{u}"), max))
        .collect();
    expected.sort();
    let expected: Vec<String> = expected
        .into_iter()
        .map(|(url, total)| format!("{url} | {total}"))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(totals.totals().tasks.records_read, 200, "events read once");
}
