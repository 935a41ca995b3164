//! Reading from S3 through a local emulator (moto_server), started by `.ci/run`.
//!
//! The emulator's address comes from `RSQL_TEST_S3_ENDPOINT`; credentials and region from the
//! usual `AWS_*` variables. Without it the test prints why it skips.

use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, StringArray};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use rsql_io::{Dataset, DatasetOptions, Predicate, S3Bucket, ScanOptions, WriteFormat};

use crate::common::write;

#[test]
fn reads_a_partitioned_parquet_dataset_from_s3() {
    let Ok(endpoint) = std::env::var("RSQL_TEST_S3_ENDPOINT") else {
        println!(
            "skipped: RSQL_TEST_S3_ENDPOINT is not set (.ci/run starts moto_server and sets it)"
        );
        return;
    };
    let bucket_name = std::env::var("RSQL_TEST_S3_BUCKET").unwrap_or_else(|_| "rsql-test".into());
    assert!(std::env::var("AWS_ENDPOINT").is_ok_and(|e| e == endpoint));
    let bucket = S3Bucket::from_env(&bucket_name).expect("client");

    // Stage a partitioned dataset locally and upload it object by object.
    let dir = tempfile::tempdir().expect("tempdir");
    for hour in 0..3_i64 {
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(hour * 10..hour * 10 + 10)) as _,
            ),
            ("s", Arc::new(StringArray::from(vec!["v"; 10])) as _),
        ])
        .expect("batch");
        write(
            &dir.path().join(format!("hour={hour}")),
            WriteFormat::parquet(),
            &[batch],
        );
    }
    let prefix = format!("ds-{}", std::process::id());
    for entry in rsql_io::list_files(&dir.path().into()).expect("local list") {
        let local = entry.source.name();
        let relative = local
            .strip_prefix(&dir.path().display().to_string())
            .expect("under dir")
            .trim_start_matches('/');
        let data = std::fs::read(&local).expect("read");
        bucket
            .put(&format!("{prefix}/{relative}"), Bytes::from(data))
            .expect("upload");
    }
    bucket
        .put(&format!("{prefix}/_SUCCESS"), Bytes::new())
        .expect("marker");

    let url = format!("s3://{bucket_name}/{prefix}");
    let dataset = Dataset::open(url.as_str(), DatasetOptions::parquet()).expect("open s3 dataset");
    assert_eq!(dataset.files().len(), 3);
    let scan = dataset
        .scan(ScanOptions {
            predicate: Some(Predicate::eq("hour", 1)),
            projection: Some(vec![0]),
            ..Default::default()
        })
        .expect("scan");
    let ids: Vec<i64> = scan
        .collect()
        .expect("read from s3")
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(ids, (10..20).collect::<Vec<_>>());
    assert_eq!(scan.metrics().files_matched, 1);

    let glob = format!("s3://{bucket_name}/{prefix}/hour=2/*.parquet");
    assert_eq!(
        Dataset::open(glob.as_str(), DatasetOptions::parquet())
            .expect("glob")
            .files()
            .len(),
        1
    );

    let missing = format!("s3://{bucket_name}/{prefix}-missing");
    let error = Dataset::open(missing.as_str(), DatasetOptions::parquet()).expect_err("missing");
    assert!(matches!(error, rsql_io::IoError::NotFound(_)), "{error:?}");
}
