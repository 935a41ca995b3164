//! Fixtures shared by the test modules.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int32Array,
    Int64Array, Int64Builder, ListBuilder, MapBuilder, StringArray, StringBuilder, StructArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Fields};
use arrow::record_batch::RecordBatch;
use rsql_io::{Dataset, DatasetOptions, ScanOptions, WriteFormat, WriteOptions, write_batches};

/// A batch with a column of every type we use; the last row is null in every column.
pub fn all_types() -> RecordBatch {
    let struct_fields = Fields::from(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("b", DataType::Utf8, true),
    ]);
    let structs = StructArray::new(
        struct_fields,
        vec![
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
            Arc::new(StringArray::from(vec![Some("x"), Some("y"), None])),
        ],
        Some(vec![true, true, false].into()),
    );
    let mut lists = ListBuilder::new(Int64Builder::new());
    lists.append_value([Some(1), Some(2)]);
    lists.append_value([None, Some(5)]);
    lists.append_null();
    let mut maps = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    maps.keys().append_value("k1");
    maps.values().append_value(10);
    maps.keys().append_value("k2");
    maps.values().append_value(20);
    maps.append(true).expect("map entry");
    maps.keys().append_value("only");
    maps.values().append_null();
    maps.append(true).expect("map entry");
    maps.append(false).expect("null map");
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(-7), Some(i32::MAX), None])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(42), None])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![Some(1.5), Some(-0.25), None])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(3.125), Some(1e300), None])),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![Some(12345), Some(-5), None])
                    .with_precision_and_scale(10, 2)
                    .expect("decimal"),
            ),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![
                Some("hello"),
                Some("wörld, \"q\""),
                None,
            ])),
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![Some(17426), Some(0), None])),
        ),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_505_610_000_000_000),
                Some(1_505_610_000_123_456),
                None,
            ])),
        ),
        (
            "ts_utc",
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_505_610_000_000_000), Some(0), None])
                    .with_timezone("UTC"),
            ),
        ),
        ("list", Arc::new(lists.finish())),
        ("struct", Arc::new(structs)),
        ("map", Arc::new(maps.finish())),
    ];
    RecordBatch::try_from_iter_with_nullable(
        columns.into_iter().map(|(name, array)| (name, array, true)),
    )
    .expect("all-types batch")
}

/// Writes `batches` to `target` as one unpartitioned part.
pub fn write(target: &Path, format: WriteFormat, batches: &[RecordBatch]) {
    let schema = batches[0].schema();
    write_batches(
        target,
        schema,
        batches.iter().cloned().map(Ok),
        WriteOptions::new(format),
    )
    .expect("write");
}

/// Reads every row of the dataset at `path`.
pub fn read_all(path: &Path, options: DatasetOptions) -> Vec<RecordBatch> {
    Dataset::open(path, options)
        .expect("open")
        .scan(ScanOptions::default())
        .expect("scan")
        .collect()
        .expect("read")
}

/// Asserts that `read` holds the same rows as `expected`: equal when printed, with the read
/// columns cast to the expected types (e.g. dictionary-encoded strings to plain strings).
/// Printing compares values only where they are valid, as a reader should.
pub fn assert_same_rows(read: &RecordBatch, expected: &RecordBatch) {
    let columns = read
        .columns()
        .iter()
        .zip(expected.schema().fields())
        .map(|(column, field)| arrow::compute::cast(column, field.data_type()).expect("cast"))
        .collect();
    let read = RecordBatch::try_new(expected.schema(), columns).expect("same schema");
    let print = |b: &RecordBatch| {
        arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b))
            .expect("print")
            .to_string()
    };
    assert_eq!(print(&read), print(expected));
}

/// All batches concatenated.
pub fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&batches[0].schema(), batches).expect("concat")
}
