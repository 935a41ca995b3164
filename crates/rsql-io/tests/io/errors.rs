//! Each failure is a typed error naming the file, never a panic, and never partial output.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int32Array, StringArray};
use arrow::record_batch::RecordBatch;
use rsql_io::{
    Dataset, DatasetOptions, IoError, SaveMode, ScanOptions, WriteFormat, WriteOptions,
    write_batches,
};

use crate::common::{concat, read_all, write};

fn ints(name: &str) -> RecordBatch {
    RecordBatch::try_from_iter([(name, Arc::new(Int32Array::from(vec![1, 2, 3])) as _)])
        .expect("batch")
}

/// Opens and reads everything, returning the first error.
fn read_error(path: &Path, options: DatasetOptions) -> IoError {
    let scan = match Dataset::open(path, options) {
        Ok(dataset) => dataset.scan(ScanOptions::default()),
        Err(error) => return error,
    };
    match scan.and_then(|scan| scan.collect()) {
        Ok(_) => panic!("reading {} should fail", path.display()),
        Err(error) => error,
    }
}

#[test]
fn truncated_parquet_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("t"), WriteFormat::parquet(), &[ints("a")]);
    let file = std::fs::read_dir(dir.path().join("t"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("part");
    let bytes = std::fs::read(&file).expect("read");
    std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncate");
    let error = read_error(&file, DatasetOptions::parquet());
    assert!(matches!(error, IoError::Parquet { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&file.display().to_string()),
        "{error}"
    );
}

#[test]
fn wrong_magic_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fake.parquet");
    std::fs::write(&file, b"this is definitely not a parquet file, just text").expect("write");
    let error = read_error(dir.path(), DatasetOptions::parquet());
    assert!(matches!(error, IoError::Parquet { .. }), "{error:?}");
    assert!(error.to_string().contains("fake.parquet"), "{error}");
}

#[test]
fn schema_conflict_names_both_files_and_the_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        &dir.path().join("t/x=1"),
        WriteFormat::parquet(),
        &[ints("a")],
    );
    let strings =
        RecordBatch::try_from_iter([("a", Arc::new(StringArray::from(vec!["p", "q"])) as _)])
            .expect("batch");
    write(
        &dir.path().join("t/x=2"),
        WriteFormat::parquet(),
        &[strings],
    );
    let error = read_error(&dir.path().join("t"), DatasetOptions::parquet());
    let message = error.to_string();
    assert!(matches!(error, IoError::SchemaConflict { .. }), "{error:?}");
    assert!(message.contains("`a`"), "{message}");
    assert!(
        message.contains("x=1") && message.contains("x=2"),
        "{message}"
    );
}

#[test]
fn compatible_schemas_widen() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        &dir.path().join("t/x=1"),
        WriteFormat::parquet(),
        &[ints("a")],
    );
    let wide = RecordBatch::try_from_iter([
        (
            "a",
            Arc::new(arrow::array::Int64Array::from(vec![1_i64 << 40])) as _,
        ),
        ("b", Arc::new(StringArray::from(vec!["new"])) as _),
    ])
    .expect("batch");
    write(&dir.path().join("t/x=2"), WriteFormat::parquet(), &[wide]);
    let batch = concat(&read_all(&dir.path().join("t"), DatasetOptions::parquet()));
    let a = batch.column_by_name("a").expect("a");
    assert_eq!(a.data_type(), &arrow::datatypes::DataType::Int64);
    assert_eq!(batch.num_rows(), 4);
    assert_eq!(batch.column_by_name("b").expect("b").null_count(), 3);
}

#[test]
fn malformed_json_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.json");
    std::fs::write(&file, "{\"a\": 1}\n{\"a\": 2}\n{\"a\": oops}\n{\"a\": 4}\n").expect("write");
    let schema = ints("a").schema();
    let fail_fast = DatasetOptions::new(rsql_io::FileFormat::Json(rsql_io::JsonOptions {
        mode: rsql_io::ReadMode::FailFast,
        ..Default::default()
    }));
    let error = read_error(&file, fail_fast.clone().with_schema(schema.clone()));
    match &error {
        IoError::MalformedRecord {
            format: "JSON",
            file: name,
            line,
            ..
        } => {
            assert!(name.ends_with("bad.json"));
            assert_eq!(*line, 3);
        }
        other => panic!("expected a malformed-JSON error, got {other:?}"),
    }
    assert!(error.to_string().contains("bad.json:3"), "{error}");
    // Inference fails the same way.
    let inferred = read_error(&file, fail_fast);
    assert!(inferred.to_string().contains("bad.json:3"), "{inferred}");
}

#[test]
fn permissive_json_nulls_and_counts_bad_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        "{\"a\": 1}\n{\"a\": \"text\"}\n{broken\n{\"a\": 4}\n",
    )
    .expect("write");
    let options = DatasetOptions::json();
    let nullable = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("a", arrow::datatypes::DataType::Int32, true),
    ]));
    let scan = Dataset::open(&file, options.with_schema(nullable))
        .expect("open")
        .scan(ScanOptions::default())
        .expect("scan");
    let batch = concat(&scan.collect().expect("read"));
    let expected = Int32Array::from(vec![Some(1), None, None, Some(4)]);
    assert_eq!(
        batch.column(0).as_ref(),
        &expected as &dyn arrow::array::Array
    );
    assert_eq!(scan.metrics().bad_records, 2);
}

#[test]
fn missing_path_is_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = read_error(&dir.path().join("nothing-here"), DatasetOptions::parquet());
    assert!(matches!(error, IoError::NotFound(_)), "{error:?}");
    assert!(error.to_string().contains("nothing-here"), "{error}");
}

#[test]
fn glob_matching_nothing_names_the_pattern() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("nothing-1")).expect("mkdir");
    let error = read_error(&dir.path().join("nothing-*/x"), DatasetOptions::parquet());
    assert!(matches!(error, IoError::NoMatch(_)), "{error:?}");
    assert!(
        error.to_string().starts_with("no files match the pattern ")
            && error.to_string().ends_with("nothing-*/x"),
        "{error}"
    );
}

#[test]
fn permission_denied_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("locked.parquet");
    std::fs::write(&file, b"PAR1").expect("write");
    let mut permissions = std::fs::metadata(&file).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o000);
    std::fs::set_permissions(&file, permissions).expect("chmod");
    let path = if std::fs::File::open(&file).is_err() {
        file
    } else {
        // Root ignores file modes. A write-only sysctl is refused even to root.
        let sysctl = Path::new("/proc/sys/vm/drop_caches");
        if std::fs::File::open(sysctl).is_ok() || !sysctl.exists() {
            println!("skipped: running with privileges that no file mode can deny");
            return;
        }
        sysctl.to_path_buf()
    };
    let error = read_error(&path, DatasetOptions::parquet());
    match &error {
        IoError::Fs {
            path: named,
            source,
        } => {
            assert_eq!(named, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected a permission error, got {other:?}"),
    }
}

/// Names in `dir`, sorted, including hidden ones.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn failed_write_leaves_no_partial_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("out");
    let batches = vec![
        Ok(ints("a")),
        Err(IoError::Invalid("upstream task failed".into())),
    ];
    let options = WriteOptions::new(WriteFormat::parquet());
    let error = write_batches(&target, ints("a").schema(), batches, options.clone())
        .expect_err("failing input");
    assert!(error.to_string().contains("upstream"));
    assert_eq!(
        names(dir.path()),
        Vec::<String>::new(),
        "nothing staged is left"
    );

    // Overwriting an existing output with a failing job keeps the old output.
    write(&target, WriteFormat::parquet(), &[ints("a")]);
    let before = names(&target);
    let batches = vec![Ok(ints("a")), Err(IoError::Invalid("boom".into()))];
    write_batches(
        &target,
        ints("a").schema(),
        batches,
        options.with_mode(SaveMode::Overwrite),
    )
    .expect_err("failing input");
    assert_eq!(names(&target), before);
    assert_eq!(names(dir.path()), vec!["out".to_string()]);
    assert_eq!(
        concat(&read_all(&target, DatasetOptions::parquet())).num_rows(),
        3
    );
}
