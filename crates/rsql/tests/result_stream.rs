//! `DataFrame::execute_stream` returns what `collect` does, in the same order, without the
//! driver holding the result; `collect` counts what it gathers against the memory limit.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use rsql::{Session, SessionConfig};

fn session(memory_limit: Option<usize>) -> Session {
    Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        memory_limit,
        ..SessionConfig::default()
    })
    .unwrap()
}

fn values(batches: impl IntoIterator<Item = RecordBatch>) -> Vec<Option<i64>> {
    batches
        .into_iter()
        .flat_map(|b| {
            b.column(0)
                .as_primitive::<Int64Type>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_stream_returns_what_collect_does_in_order() {
    let session = session(None);
    for sql in [
        // NULLs, several scan partitions, a shuffle, a global sort, an empty result.
        "SELECT CASE WHEN range % 5 = 0 THEN NULL ELSE range END FROM range(0, 20000)",
        "SELECT sum(range) FROM range(0, 20000) GROUP BY range % 13",
        "SELECT range FROM range(0, 20000) ORDER BY range % 7, range DESC",
        "SELECT range FROM range(0, 100) WHERE range < 0",
    ] {
        let df = session.sql(sql).unwrap();
        let collected = values(df.collect().unwrap());
        let stream = df.execute_stream().unwrap();
        let types = |schema: arrow::datatypes::SchemaRef| {
            let fields = schema.fields().iter();
            fields
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(types(stream.schema()), types(df.schema()));
        let streamed = values(stream.map(Result::unwrap));
        assert_eq!(streamed, collected, "{sql}");
    }
    // The global sort, checked against a row-at-a-time reference.
    let df = session
        .sql("SELECT range FROM range(0, 20000) ORDER BY range % 7, range DESC")
        .unwrap();
    let mut expected: Vec<i64> = (0..20000).collect();
    expected.sort_by_key(|v| (v % 7, -v));
    let streamed = values(df.execute_stream().unwrap().map(Result::unwrap));
    assert_eq!(streamed, expected.into_iter().map(Some).collect::<Vec<_>>());
}

#[test]
fn a_result_larger_than_the_limit_streams_but_does_not_collect() {
    let session = session(Some(8 << 20));
    let df = session.sql("SELECT range FROM range(0, 3000000)").unwrap();
    let error = df.collect().expect_err("24 MB do not fit in 8 MB");
    let message = error.to_string();
    assert!(
        message.contains("memory limit reached: collected result needs"),
        "{message}"
    );
    assert_eq!(session.context().memory_pool().used(), 0);
    let (mut rows, mut last) = (0usize, None);
    for batch in df.execute_stream().unwrap() {
        let batch = batch.unwrap();
        rows += batch.num_rows();
        last = batch.column(0).as_primitive::<Int64Type>().iter().last();
    }
    assert_eq!(rows, 3_000_000);
    assert_eq!(last, Some(Some(2_999_999)));
}

#[test]
fn an_explain_streams_its_text() {
    let session = session(None);
    let df = session
        .sql("EXPLAIN SELECT range FROM range(0, 10)")
        .unwrap();
    let batches: Vec<RecordBatch> = df.execute_stream().unwrap().map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].schema().field(0).name(), "plan");
}
