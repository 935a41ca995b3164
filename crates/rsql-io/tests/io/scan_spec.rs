//! A scan shipped as a `ScanSpec` reads, unit by unit, exactly what the planned scan reads.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int32Array, Int64Array, RecordBatch, StringArray};
use rsql_io::{
    CmpOp, Dataset, DatasetOptions, FilePart, Predicate, ReadUnit, Scan, ScanOptions, ScanSpec,
    WriteFormat, WriteOptions, write_batches,
};

/// 4 hours (one of them null) x 30 rows, partitioned by hour, row groups of 10 rows.
fn hourly(dir: &Path, name: &str, format: WriteFormat) -> std::path::PathBuf {
    let target = dir.join(name);
    let hours: Int32Array = (0..120).map(|i| (i / 30 != 3).then_some(i / 30)).collect();
    let batch = RecordBatch::try_from_iter([
        ("v", Arc::new(Int64Array::from_iter_values(0..120)) as _),
        (
            "s",
            Arc::new(StringArray::from_iter(
                (0..120).map(|i| (i % 7 != 0).then(|| format!("s{i}"))),
            )) as _,
        ),
        ("hour", Arc::new(hours) as _),
    ])
    .expect("batch");
    let format = match format {
        WriteFormat::Parquet { compression, .. } => WriteFormat::Parquet {
            compression,
            row_group_size: 10,
        },
        other => other,
    };
    write_batches(
        &target,
        batch.schema(),
        [Ok(batch)],
        WriteOptions::new(format).with_partition_by(&["hour"]),
    )
    .expect("write");
    target
}

/// Every unit of `scan`, read.
fn units(scan: &Scan) -> Vec<Vec<RecordBatch>> {
    (0..scan.units().len())
        .map(|unit| {
            scan.read(unit)
                .expect("unit")
                .collect::<Result<Vec<_>, _>>()
                .expect("read")
        })
        .collect()
}

/// Plans a pruned, projected scan of `path`, ships it through postcard and checks that the
/// rebuilt scan reads the same batches per unit.
fn ships(path: &Path, options: DatasetOptions) -> ScanSpec {
    let dataset = Dataset::open(path, options).expect("open");
    let hour = dataset.schema().index_of("hour").expect("hour");
    let s = dataset.schema().index_of("s").expect("s");
    let scan = dataset
        .scan(ScanOptions {
            projection: Some(vec![hour, s]),
            predicate: Some(Predicate::compare("hour", CmpOp::LtEq, 1)),
            target_split_bytes: 1,
            batch_size: 7,
            ..ScanOptions::default()
        })
        .expect("scan");
    let spec = scan.to_spec();
    let bytes = postcard::to_allocvec(&spec).expect("serialize");
    let shipped: ScanSpec = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(shipped, spec);
    let rebuilt = Scan::from_spec(&shipped).expect("rebuild");
    assert_eq!(rebuilt.schema(), scan.schema());
    assert_eq!(rebuilt.to_spec(), spec);
    assert_eq!(units(&rebuilt), units(&scan));
    assert!(
        spec.files.len() < dataset.files().len(),
        "pruned folders are not shipped"
    );
    spec
}

#[test]
fn parquet_scans_ship_their_files_row_groups_and_partition_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = ships(
        &hourly(dir.path(), "parquet", WriteFormat::parquet()),
        DatasetOptions::parquet(),
    );
    assert_eq!(spec.files.len(), 2, "hours 0 and 1");
    assert!(spec.units.len() >= 6, "row groups of 10 rows, one per unit");
    assert!(
        spec.units
            .iter()
            .all(|u| u.parts.iter().all(|p| !p.row_groups.is_empty()))
    );
}

#[test]
fn text_scans_ship_whole_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    ships(
        &hourly(dir.path(), "json", WriteFormat::json()),
        DatasetOptions::json(),
    );
    ships(
        &hourly(dir.path(), "csv", WriteFormat::csv()),
        DatasetOptions::csv(),
    );
}

#[test]
fn inconsistent_specs_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = hourly(dir.path(), "parquet", WriteFormat::parquet());
    let scan = Dataset::open(&path, DatasetOptions::parquet())
        .expect("open")
        .scan(ScanOptions::default())
        .expect("scan");
    let mut spec = scan.to_spec();
    spec.units.push(ReadUnit {
        parts: vec![FilePart {
            file: spec.files.len(),
            row_groups: Vec::new(),
        }],
    });
    let err = Scan::from_spec(&spec).expect_err("bad file index");
    assert!(err.to_string().contains("reads file"), "{err}");
    let mut spec = scan.to_spec();
    spec.projection.push(99);
    assert!(Scan::from_spec(&spec).is_err());
    let mut spec = scan.to_spec();
    spec.files[0].partition_segments.clear();
    let err = Scan::from_spec(&spec).expect_err("missing partition folders");
    assert!(err.to_string().contains("partition"), "{err}");
}
