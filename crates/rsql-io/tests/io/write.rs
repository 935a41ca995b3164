//! Save modes, `_SUCCESS`, and concurrent parts of one job.

use std::sync::Arc;

use arrow::array::Int32Array;
use arrow::record_batch::RecordBatch;
use rsql_io::{
    DatasetOptions, IoError, OutputJob, SUCCESS_MARKER, SaveMode, WriteFormat, WriteOptions,
    write_batches,
};

use crate::common::{concat, read_all};

fn rows(values: Vec<i32>) -> RecordBatch {
    RecordBatch::try_from_iter([("v", Arc::new(Int32Array::from(values)) as _)]).expect("batch")
}

fn save(target: &std::path::Path, values: Vec<i32>, mode: SaveMode) -> rsql_io::Result<()> {
    let batch = rows(values);
    write_batches(
        target,
        batch.schema(),
        [Ok(batch)],
        WriteOptions::new(WriteFormat::parquet()).with_mode(mode),
    )
}

fn count(target: &std::path::Path) -> usize {
    concat(&read_all(target, DatasetOptions::parquet())).num_rows()
}

#[test]
fn save_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("nested/out");
    save(&target, vec![1, 2], SaveMode::ErrorIfExists).expect("first write");
    assert!(target.join(SUCCESS_MARKER).is_file());
    let error = save(&target, vec![3], SaveMode::ErrorIfExists).expect_err("exists");
    assert!(matches!(error, IoError::AlreadyExists(_)));
    save(&target, vec![3, 4, 5], SaveMode::Append).expect("append");
    assert_eq!(count(&target), 5);
    save(&target, vec![6], SaveMode::Overwrite).expect("overwrite");
    assert_eq!(count(&target), 1);
    let leftovers: Vec<_> = std::fs::read_dir(target.parent().expect("parent"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("out")]);
}

#[test]
fn parts_written_from_many_threads_commit_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("out");
    let job = OutputJob::begin(
        &target,
        rows(vec![]).schema(),
        WriteOptions::new(WriteFormat::json()),
    )
    .expect("begin");
    std::thread::scope(|scope| {
        for part in 0..4 {
            let mut writer = job.part_writer(part).expect("part");
            scope.spawn(move || {
                writer.write(&rows(vec![part as i32; 10])).expect("write");
                writer.finish().expect("finish");
            });
        }
    });
    assert!(!target.exists(), "nothing is visible before commit");
    job.commit().expect("commit");
    let schema = rows(vec![]).schema();
    assert_eq!(
        concat(&read_all(
            &target,
            DatasetOptions::json().with_schema(schema)
        ))
        .num_rows(),
        40
    );
}

/// Remote locations cannot be written yet: the write fails before it creates anything,
/// instead of writing into a local folder named `s3:`.
#[test]
fn writing_to_a_url_fails_and_creates_nothing() {
    let cwd = std::env::current_dir().expect("cwd");
    let error = save(
        std::path::Path::new("s3://bucket/out/"),
        vec![1],
        SaveMode::ErrorIfExists,
    )
    .expect_err("s3 write");
    assert!(
        error.to_string().contains(
            "cannot write to s3://bucket/out/: writing to s3:// locations is not supported yet"
        ),
        "{error}"
    );
    assert!(!cwd.join("s3:").exists());
}
