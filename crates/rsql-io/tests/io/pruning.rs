//! Predicates skip partitions and row groups; metrics count what was read.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use arrow::record_batch::RecordBatch;
use rsql_io::{
    CmpOp, Dataset, DatasetOptions, Predicate, ScanOptions, WriteFormat, WriteOptions,
    write_batches,
};

/// 5 hours x 100 rows, partitioned by hour, plus 10 rows with a null hour.
fn hourly(dir: &Path) -> std::path::PathBuf {
    let target = dir.join("hourly");
    let hours: Int32Array = (0..500)
        .map(|i| Some(i / 100))
        .chain((0..10).map(|_| None))
        .collect();
    let values = Int64Array::from_iter_values(0..510);
    let batch =
        RecordBatch::try_from_iter([("v", Arc::new(values) as _), ("hour", Arc::new(hours) as _)])
            .expect("batch");
    write_batches(
        &target,
        batch.schema(),
        [Ok(batch)],
        WriteOptions::new(WriteFormat::parquet()).with_partition_by(&["hour"]),
    )
    .expect("write");
    target
}

/// Scans with `predicate`; returns the hours read and the scan's metrics.
fn hours_read(path: &Path, predicate: Predicate) -> (Vec<Option<i32>>, rsql_io::ReadMetrics) {
    let dataset = Dataset::open(path, DatasetOptions::parquet()).expect("open");
    let scan = dataset
        .scan(ScanOptions {
            predicate: Some(predicate),
            ..Default::default()
        })
        .expect("scan");
    let mut hours = Vec::new();
    for batch in scan.collect().expect("read") {
        let column = batch.column_by_name("hour").expect("hour");
        let dict = column.as_dictionary::<Int32Type>();
        let values = dict.values().as_primitive::<Int32Type>();
        for key in dict.keys() {
            hours.push(key.map(|k| values.value(k as usize)));
        }
    }
    hours.sort();
    hours.dedup();
    (hours, scan.metrics())
}

#[test]
fn partition_predicates_list_only_matching_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = hourly(dir.path());
    let (hours, metrics) = hours_read(&path, Predicate::eq("hour", 2));
    assert_eq!(hours, vec![Some(2)]);
    assert_eq!((metrics.files_total, metrics.files_matched), (6, 1));
    assert_eq!(metrics.rows_read, 100);

    let (hours, _) = hours_read(&path, Predicate::is_in("hour", [1, 3]));
    assert_eq!(hours, vec![Some(1), Some(3)]);

    let between = Predicate::And(vec![
        Predicate::compare("hour", CmpOp::GtEq, 1),
        Predicate::compare("hour", CmpOp::Lt, 3),
    ]);
    assert_eq!(hours_read(&path, between).0, vec![Some(1), Some(2)]);
    assert_eq!(
        hours_read(&path, Predicate::compare("hour", CmpOp::Gt, 3)).0,
        vec![Some(4)]
    );
    assert_eq!(
        hours_read(&path, Predicate::compare("hour", CmpOp::LtEq, 0)).0,
        vec![Some(0)]
    );
    let (hours, metrics) = hours_read(&path, Predicate::is_null("hour"));
    assert_eq!(hours, vec![None]);
    assert_eq!(metrics.rows_read, 10);
}

#[test]
fn unknown_predicate_column_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = Dataset::open(hourly(dir.path()), DatasetOptions::parquet()).expect("open");
    let error = dataset
        .scan(ScanOptions {
            predicate: Some(Predicate::eq("nope", 1)),
            ..Default::default()
        })
        .expect_err("unknown column");
    assert!(error.to_string().contains("nope"), "{error}");
    assert!(error.to_string().contains("hour"), "{error}");
}

/// One file of 10 row groups of 1000 rows, sorted on `id`, with a string column.
fn sorted_file(dir: &Path) -> std::path::PathBuf {
    let target = dir.join("sorted");
    let ids = Int64Array::from_iter_values(0..10_000);
    let names: StringArray = (0..10_000).map(|i| Some(format!("n{:05}", i))).collect();
    let batch =
        RecordBatch::try_from_iter([("id", Arc::new(ids) as _), ("name", Arc::new(names) as _)])
            .expect("batch");
    write_batches(
        &target,
        batch.schema(),
        [Ok(batch)],
        WriteOptions::new(WriteFormat::Parquet {
            compression: parquet::basic::Compression::SNAPPY,
            row_group_size: 1000,
        }),
    )
    .expect("write");
    target
}

/// Reads with `predicate`: (row groups read, smallest and largest id read).
fn row_groups_read(path: &Path, predicate: Predicate) -> (u64, i64, i64) {
    let dataset = Dataset::open(path, DatasetOptions::parquet()).expect("open");
    let scan = dataset
        .scan(ScanOptions {
            predicate: Some(predicate),
            ..Default::default()
        })
        .expect("scan");
    let batches = scan.collect().expect("read");
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    let metrics = scan.metrics();
    assert_eq!(metrics.row_groups_total, 10);
    assert_eq!(metrics.row_groups_read, metrics.row_groups_matched);
    (
        metrics.row_groups_read,
        ids.iter().copied().min().unwrap_or(-1),
        ids.iter().copied().max().unwrap_or(-1),
    )
}

#[test]
fn statistics_skip_row_groups_of_a_sorted_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sorted_file(dir.path());
    assert_eq!(
        row_groups_read(&path, Predicate::eq("id", 4321_i64)),
        (1, 4000, 4999)
    );
    assert_eq!(
        row_groups_read(&path, Predicate::compare("id", CmpOp::GtEq, 8500_i64)),
        (2, 8000, 9999)
    );
    assert_eq!(
        row_groups_read(&path, Predicate::compare("id", CmpOp::Lt, 1000_i64)),
        (1, 0, 999)
    );
    // An Int32 literal against an Int64 column still prunes.
    assert_eq!(
        row_groups_read(&path, Predicate::is_in("id", [5, 9999])),
        (2, 0, 9999)
    );
    assert_eq!(
        row_groups_read(&path, Predicate::eq("name", "n01234")),
        (1, 1000, 1999)
    );
    let both = Predicate::And(vec![
        Predicate::compare("id", CmpOp::Gt, 2500_i64),
        Predicate::compare("id", CmpOp::LtEq, 3100_i64),
    ]);
    assert_eq!(row_groups_read(&path, both), (2, 2000, 3999));
    assert_eq!(row_groups_read(&path, Predicate::is_null("id")).0, 0);
    assert_eq!(row_groups_read(&path, Predicate::eq("id", -1_i64)).0, 0);
}

#[test]
fn projection_decodes_only_requested_columns_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = Dataset::open(hourly(dir.path()), DatasetOptions::parquet()).expect("open");
    let scan = dataset
        .scan(ScanOptions {
            projection: Some(vec![1, 0]),
            ..Default::default()
        })
        .expect("scan");
    let batch = arrow::compute::concat_batches(scan.schema(), &scan.collect().expect("read"))
        .expect("concat");
    assert_eq!(batch.num_rows(), 510);
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["hour", "v"]);
    assert_eq!(
        batch.schema().field(0).data_type(),
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Int32))
    );
    assert_eq!(batch.column(1).null_count(), 0);
}

#[test]
fn partition_only_and_empty_projections_keep_row_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = Dataset::open(hourly(dir.path()), DatasetOptions::parquet()).expect("open");
    for projection in [vec![1], vec![]] {
        let scan = dataset
            .scan(ScanOptions {
                projection: Some(projection.clone()),
                ..Default::default()
            })
            .expect("scan");
        let batches = scan.collect().expect("read");
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 510, "projection {projection:?}");
        assert!(batches.iter().all(|b| b.num_columns() == projection.len()));
    }
}

#[test]
fn splits_cover_every_row_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = Dataset::open(sorted_file(dir.path()), DatasetOptions::parquet()).expect("open");
    let scan = dataset
        .scan(ScanOptions {
            target_split_bytes: 1,
            ..Default::default()
        })
        .expect("scan");
    assert_eq!(scan.units().len(), 10, "one unit per row group");
    let mut ids: Vec<i64> = Vec::new();
    for unit in (0..scan.units().len()).rev() {
        for batch in scan.read(unit).expect("unit") {
            ids.extend(
                batch
                    .expect("batch")
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values(),
            );
        }
    }
    ids.sort();
    assert_eq!(ids, (0..10_000).collect::<Vec<_>>());

    let grouped = Dataset::open(hourly(dir.path()), DatasetOptions::parquet())
        .expect("open")
        .scan(ScanOptions::default())
        .expect("scan");
    assert_eq!(grouped.units().len(), 1, "small files share a unit");
    assert_eq!(grouped.units()[0].parts.len(), 6);
}

#[test]
fn cluster_by_keeps_each_unit_within_one_partition_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = hourly(dir.path());
    let dataset = Dataset::open(&path, DatasetOptions::parquet()).expect("open");
    let scan = dataset
        .scan(ScanOptions {
            cluster_by: vec!["hour".to_string()],
            ..Default::default()
        })
        .expect("scan");
    // Without clustering, the six small files would share one unit.
    assert_eq!(scan.units().len(), 6);
    let mut rows = 0;
    for unit in 0..scan.units().len() {
        let value = scan
            .partition_value(unit, "hour")
            .expect("partition column");
        let value = value.as_primitive::<Int32Type>();
        for batch in scan.read(unit).expect("reader") {
            let batch = batch.expect("batch");
            rows += batch.num_rows();
            let hours = batch.column_by_name("hour").expect("hour");
            let hours = hours.as_dictionary::<Int32Type>();
            let values = hours.values().as_primitive::<Int32Type>();
            for key in hours.keys() {
                let hour = key.map(|k| values.value(k as usize));
                assert_eq!(hour, value.iter().next().flatten());
            }
        }
    }
    assert_eq!(rows, 510);
    let error = dataset
        .scan(ScanOptions {
            cluster_by: vec!["v".to_string()],
            ..Default::default()
        })
        .expect_err("v is not a partition column");
    assert!(error.to_string().contains("hour"), "{error}");
}
