//! The `statement_timeout` setting cancels a statement that runs too long: the error names
//! the setting, spill files are removed, and the session runs the next statement.

use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use rsql::{Error, Session, SessionConfig};

fn session(memory_limit: Option<usize>) -> Session {
    Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        memory_limit,
        ..SessionConfig::default()
    })
    .unwrap()
}

fn single_i64(batches: &[RecordBatch]) -> i64 {
    let batch = batches.iter().find(|b| b.num_rows() > 0).unwrap();
    batch.column(0).as_primitive::<Int64Type>().value(0)
}

fn spill_files(session: &Session) -> usize {
    std::fs::read_dir(session.context().memory_pool().spill_dir())
        .unwrap()
        .count()
}

/// Hours of work: ten billion rows.
const ENDLESS_CROSS_JOIN: &str =
    "SELECT count(*) FROM range(0, 100000) a CROSS JOIN range(0, 100000) b";
/// An aggregation of fifty million groups: it spills under a small limit and runs for minutes.
const SPILLING_AGGREGATE: &str = "SELECT count(*) FROM \
    (SELECT range % 50000000 AS k, count(*) FROM range(0, 500000000) GROUP BY 1)";

fn assert_times_out(session: &Session, sql: &str) {
    let started = Instant::now();
    let error = session
        .sql(sql)
        .and_then(|df| df.collect())
        .expect_err("the statement should time out");
    let elapsed = started.elapsed();
    assert!(
        matches!(error, Error::StatementTimeout(t) if t == Duration::from_millis(200)),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the statement was cancelled after 200ms (statement_timeout)"
    );
    assert!(!error.is_cancelled());
    assert!(
        elapsed < Duration::from_secs(10),
        "stopped after {elapsed:?}"
    );
}

#[test]
fn a_statement_past_its_timeout_is_cancelled_and_the_session_goes_on() {
    let session = session(Some(256 << 10));
    session.set("statement_timeout", "200ms").unwrap();
    let shown = session
        .sql("SHOW statement_timeout")
        .unwrap()
        .collect()
        .unwrap();
    assert!(
        arrow::util::pretty::pretty_format_batches(&shown)
            .unwrap()
            .to_string()
            .contains("200ms")
    );
    assert_times_out(&session, ENDLESS_CROSS_JOIN);
    assert_times_out(&session, SPILLING_AGGREGATE);
    assert!(session.context().memory_pool().spilled_bytes() > 0);
    assert_eq!(spill_files(&session), 0, "spill files left behind");
    assert_eq!(session.context().memory_pool().used(), 0);

    // The next statement runs within the timeout, and without one.
    let quick = session.sql("SELECT count(*) FROM range(0, 1000)").unwrap();
    assert_eq!(single_i64(&quick.collect().unwrap()), 1000);
    session.set("statement_timeout", "0").unwrap();
    let rows = session
        .sql("SELECT sum(range) FROM range(0, 2000000)")
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(single_i64(&rows), 1_999_999_000_000);
}

#[test]
fn a_streamed_result_times_out_too() {
    let session = session(None);
    session.sql("SET statement_timeout = '200ms'").unwrap();
    let df = session
        .sql("SELECT a.range FROM range(0, 100000) a CROSS JOIN range(0, 100000) b")
        .unwrap();
    let started = Instant::now();
    let last = df.execute_stream().unwrap().last().unwrap();
    assert!(
        matches!(last, Err(Error::StatementTimeout(_))),
        "{:?}",
        last.map(|b| b.num_rows())
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn timeouts_parse_as_durations() {
    let session = session(None);
    for (value, shown) in [
        ("30s", "30s"),
        ("5min", "5min"),
        ("1500", "1500ms"),
        ("0", "0"),
    ] {
        session.set("statement_timeout", value).unwrap();
        let config = session.config();
        let setting = rsql::settings::setting("statement_timeout").unwrap();
        assert_eq!(setting.value(&config), shown);
    }
    let error = session.set("statement_timeout", "soon").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid value 'soon' for statement_timeout"),
        "{error}"
    );
}
