//! Listing: directories, globs, hidden and marker files, hive partition discovery.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int32Array};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;
use rsql_io::{Dataset, DatasetOptions, WriteFormat, list_files};

use crate::common::{concat, read_all, write};

fn one_row(value: i32) -> RecordBatch {
    RecordBatch::try_from_iter([("v", Arc::new(Int32Array::from(vec![value])) as _)])
        .expect("batch")
}

/// `root/month=MM/customer=C/` folders, plus marker and hidden files that must be skipped.
fn layout(root: &Path) {
    for (month, customer, value) in [
        ("09", "a.com", 1),
        ("10", "b.com", 2),
        ("__HIVE_DEFAULT_PARTITION__", "a.com", 3),
    ] {
        let dir = root.join(format!("month={month}/customer={customer}"));
        write(&dir, WriteFormat::parquet(), &[one_row(value)]);
    }
    std::fs::write(root.join("_SUCCESS"), b"").expect("marker");
    std::fs::write(root.join("month=09/.part.crc"), b"junk").expect("crc");
    std::fs::write(root.join("month=09/x.crc"), b"junk").expect("crc");
    std::fs::create_dir_all(root.join("_temporary/0")).expect("tmp");
    std::fs::write(root.join("_temporary/0/part.parquet"), b"junk").expect("tmp file");
}

#[test]
fn hidden_and_marker_files_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let files = list_files(&dir.path().into()).expect("list");
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.source.name().ends_with(".parquet")));
}

#[test]
fn partition_types_are_inferred_and_null_is_default_partition() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let batch = concat(&read_all(dir.path(), DatasetOptions::parquet()));
    let schema = batch.schema();
    let dict = |t: DataType| DataType::Dictionary(Box::new(DataType::Int32), Box::new(t));
    assert_eq!(schema.field(1).name(), "month");
    assert_eq!(schema.field(1).data_type(), &dict(DataType::Int32));
    assert_eq!(schema.field(2).data_type(), &dict(DataType::Utf8));
    let mut rows: Vec<(i32, Option<i32>, String)> = (0..batch.num_rows())
        .map(|row| {
            let month = batch.column(1).as_dictionary::<Int32Type>();
            let customer = batch.column(2).as_dictionary::<Int32Type>();
            let month_value = month
                .key(row)
                .map(|k| month.values().as_primitive::<Int32Type>().value(k));
            let customer_value = customer
                .values()
                .as_string::<i32>()
                .value(customer.key(row).expect("customer is never null"));
            (
                batch.column(0).as_primitive::<Int32Type>().value(row),
                month_value,
                customer_value.to_string(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (1, Some(9), "a.com".to_string()),
            (2, Some(10), "b.com".to_string()),
            (3, None, "a.com".to_string()),
        ]
    );
    assert!(batch.column(1).is_null(2) || batch.column(1).logical_null_count() == 1);
}

#[test]
fn explicit_schema_overrides_partition_types() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let schema = Arc::new(Schema::new(vec![Field::new("month", DataType::Utf8, true)]));
    let dataset =
        Dataset::open(dir.path(), DatasetOptions::parquet().with_schema(schema)).expect("open");
    let month = dataset.schema().field_with_name("month").expect("month");
    assert_eq!(
        month.data_type(),
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    );
    let batch = concat(
        &dataset
            .scan(Default::default())
            .expect("scan")
            .collect()
            .expect("read"),
    );
    let months = arrow::compute::cast(batch.column(1), &DataType::Utf8).expect("cast");
    let mut months: Vec<Option<&str>> = months.as_string::<i32>().iter().collect();
    months.sort();
    assert_eq!(months, vec![None, Some("09"), Some("10")]);
}

#[test]
fn globs_select_matching_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let pattern = dir.path().join("month=*/customer=a.com/*.parquet");
    let batch = concat(&read_all(&pattern, DatasetOptions::parquet()));
    assert_eq!(batch.num_rows(), 2);
    let dirs = dir.path().join("month=1*");
    assert_eq!(
        concat(&read_all(&dirs, DatasetOptions::parquet())).num_rows(),
        1
    );
}

#[test]
fn recursive_glob_reaches_every_depth_and_keeps_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let pattern = dir.path().join("**/*.parquet");
    let dataset = Dataset::open(pattern.as_path(), DatasetOptions::parquet()).expect("open");
    assert_eq!(dataset.files().len(), 3);
    assert_eq!(dataset.partition_columns(), vec!["month", "customer"]);
}

#[test]
fn several_locations_open_as_one_dataset() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let locations = [
        dir.path().join("month=0*/*/*.parquet").into(),
        dir.path().join("month=1?/customer=b.com/*.parquet").into(),
    ];
    let dataset = Dataset::open_all(&locations, DatasetOptions::parquet()).expect("open");
    assert_eq!(dataset.partition_columns(), vec!["month", "customer"]);
    let batch = concat(
        &dataset
            .scan(rsql_io::ScanOptions::default())
            .expect("scan")
            .collect()
            .expect("read"),
    );
    let mut values: Vec<i32> = batch
        .column(0)
        .as_primitive::<Int32Type>()
        .values()
        .to_vec();
    values.sort_unstable();
    assert_eq!(values, vec![1, 2]);
}

#[test]
fn hive_partitioning_off_yields_data_columns_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let options = DatasetOptions::parquet().with_hive_partitioning(false);
    let dataset = Dataset::open(dir.path(), options).expect("open");
    assert!(dataset.partition_columns().is_empty());
    assert_eq!(dataset.schema().fields().len(), 1);
    let spec = dataset
        .scan(rsql_io::ScanOptions::default())
        .expect("scan")
        .to_spec();
    let rebuilt = rsql_io::Scan::from_spec(&spec).expect("rebuild");
    assert_eq!(concat(&rebuilt.collect().expect("read")).num_rows(), 3);
}

/// A scan narrowed to some of its columns (a partition column among them, in another order)
/// reads the same units and gives those columns of the full scan, row for row.
#[test]
fn a_narrowed_scan_reads_the_chosen_columns_of_the_same_units() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let dataset = Dataset::open(dir.path(), DatasetOptions::parquet()).expect("open");
    let full = dataset.scan(Default::default()).expect("scan");
    let last = full.schema().fields().len() - 1;
    let narrowed = full.with_columns(&[last, 0]).expect("narrow");
    assert_eq!(narrowed.units(), full.units());
    assert_eq!(narrowed.schema().field(0), full.schema().field(last));
    assert_eq!(narrowed.schema().field(1), full.schema().field(0));
    let (all, some) = (
        concat(&full.collect().expect("read")),
        concat(&narrowed.collect().expect("read")),
    );
    assert_eq!(some.num_columns(), 2);
    assert_eq!(some.column(0).to_data(), all.column(last).to_data());
    assert_eq!(some.column(1).to_data(), all.column(0).to_data());
    assert!(full.with_columns(&[last + 1]).is_err());
}
