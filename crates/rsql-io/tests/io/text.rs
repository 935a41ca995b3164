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
fn partition_values_with_special_characters_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("odd");
    let teams = ["a/b", "x=y", "50%", "plain"];
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as _),
        ("team", Arc::new(StringArray::from(teams.to_vec())) as _),
    ])
    .expect("batch");
    write_batches(
        &target,
        batch.schema(),
        [Ok(batch)],
        WriteOptions::new(WriteFormat::parquet()).with_partition_by(&["team"]),
    )
    .expect("write");
    assert!(target.join("team=a%2Fb").is_dir());
    let dataset = Dataset::open(&target, rsql_io::DatasetOptions::parquet()).expect("open");
    let mut read: Vec<(i64, String)> = Vec::new();
    for batch in dataset
        .scan(ScanOptions::default())
        .expect("scan")
        .collect()
        .expect("read")
    {
        let team =
            arrow::compute::cast(batch.column(1), &arrow::datatypes::DataType::Utf8).expect("cast");
        for row in 0..batch.num_rows() {
            read.push((
                batch.column(0).as_primitive::<Int64Type>().value(row),
                team.as_string::<i32>().value(row).to_string(),
            ));
        }
    }
    read.sort();
    let expected: Vec<(i64, String)> = (1..=4).zip(teams.iter().map(|t| t.to_string())).collect();
    assert_eq!(read, expected);
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
