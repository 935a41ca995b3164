//! NDJSON and CSV datasets: partitioned directories and projections.

use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, StringArray};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use rsql_io::{Dataset, DatasetOptions, ScanOptions, WriteFormat, WriteOptions, write_batches};

fn people() -> RecordBatch {
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as _),
        (
            "name",
            Arc::new(StringArray::from(vec!["ann", "bob", "cy", "di"])) as _,
        ),
        (
            "team",
            Arc::new(StringArray::from(vec!["x", "y", "x", "y"])) as _,
        ),
    ])
    .expect("batch")
}

#[test]
fn partitioned_text_datasets_read_back_projected() {
    for (format, options) in [
        (WriteFormat::json(), DatasetOptions::json()),
        (WriteFormat::csv(), DatasetOptions::csv()),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("people");
        write_batches(
            &target,
            people().schema(),
            [Ok(people())],
            WriteOptions::new(format).with_partition_by(&["team"]),
        )
        .expect("write");
        assert!(target.join("team=x").is_dir() && target.join("team=y").is_dir());
        let dataset = Dataset::open(&target, options).expect("open");
        let names: Vec<&str> = dataset
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["id", "name", "team"]);
        let scan = dataset
            .scan(ScanOptions {
                projection: Some(vec![0]),
                predicate: Some(rsql_io::Predicate::eq("team", "y")),
                ..Default::default()
            })
            .expect("scan");
        let mut ids: Vec<i64> = scan
            .collect()
            .expect("read")
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        ids.sort();
        assert_eq!(ids, vec![2, 4]);
    }
}
