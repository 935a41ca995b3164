//! Every type we use, written and read back through each format.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use rsql_io::{DatasetOptions, WriteFormat, parse_compression};

use crate::common::{all_types, assert_same_rows, concat, read_all, write};

#[test]
fn parquet_round_trips_every_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = all_types();
    write(
        &dir.path().join("out"),
        WriteFormat::parquet(),
        std::slice::from_ref(&batch),
    );
    let read = concat(&read_all(
        &dir.path().join("out"),
        DatasetOptions::parquet(),
    ));
    // Strings the writer dictionary-encoded come back as dictionaries; the rest is exact.
    let s = read.schema().index_of("s").expect("s");
    assert!(matches!(
        read.schema().field(s).data_type(),
        DataType::Dictionary(..)
    ));
    for (index, field) in batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != s)
    {
        assert_eq!(read.schema().field(index), field.as_ref());
        assert_eq!(read.column(index), batch.column(index), "{}", field.name());
    }
    assert_same_rows(&read, &batch);
}

#[test]
fn parquet_round_trips_with_every_codec() {
    let batch = all_types();
    for codec in ["none", "snappy", "gzip", "zstd", "lz4", "lz4_raw", "brotli"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let format = WriteFormat::Parquet {
            compression: parse_compression(codec).expect("codec"),
            row_group_size: 2,
        };
        write(
            &dir.path().join("out"),
            format,
            std::slice::from_ref(&batch),
        );
        let read = concat(&read_all(
            &dir.path().join("out"),
            DatasetOptions::parquet(),
        ));
        assert_same_rows(&read, &batch);
    }
}

#[test]
fn ndjson_round_trips_every_type_with_explicit_schema() {
    // JSON carries no types: decimals, dates, timestamps and maps need the explicit schema.
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = all_types();
    let format = WriteFormat::Json {
        explicit_nulls: true,
    };
    write(
        &dir.path().join("out"),
        format,
        std::slice::from_ref(&batch),
    );
    let options = DatasetOptions::json().with_schema(batch.schema());
    let read = concat(&read_all(&dir.path().join("out"), options));
    assert_eq!(read.schema(), batch.schema());
    assert_same_rows(&read, &batch);
}

#[test]
fn ndjson_writes_objects_arrays_and_iso_timestamps() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("out"), WriteFormat::json(), &[all_types()]);
    let file = std::fs::read_dir(dir.path().join("out"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a json part");
    let text = std::fs::read_to_string(file).expect("read");
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    assert_eq!(first["ts"], "2017-09-17T01:00:00");
    assert_eq!(first["map"], serde_json::json!({"k1": 10, "k2": 20}));
    assert_eq!(first["struct"], serde_json::json!({"a": 1, "b": "x"}));
    assert_eq!(first["list"], serde_json::json!([1, 2]));
}

#[test]
fn ndjson_inference_makes_structs_and_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.json");
    std::fs::write(
        &path,
        "{\"n\": 1, \"o\": {\"x\": \"a\"}, \"l\": [1, 2]}\n\n{\"n\": 2, \"o\": {\"x\": \"b\"}, \"l\": []}\n",
    )
    .expect("write");
    let batches = read_all(&path, DatasetOptions::json());
    let batch = concat(&batches);
    assert_eq!(batch.num_rows(), 2);
    let schema = batch.schema();
    assert_eq!(
        schema.field_with_name("n").expect("n").data_type(),
        &DataType::Int64
    );
    assert!(matches!(
        schema.field_with_name("o").expect("o").data_type(),
        DataType::Struct(_)
    ));
    assert!(matches!(
        schema.field_with_name("l").expect("l").data_type(),
        DataType::List(_)
    ));
}

/// The columns CSV can carry: flat scalars. Lists, structs and maps have no CSV form, and an
/// empty string reads back as null, so the fixture avoids empty strings.
fn flat_columns(batch: &RecordBatch) -> RecordBatch {
    let flat: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| !batch.schema().field(i).data_type().is_nested())
        .collect();
    batch.project(&flat).expect("project")
}

#[test]
fn csv_round_trips_every_flat_type_with_explicit_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = flat_columns(&all_types());
    write(
        &dir.path().join("out"),
        WriteFormat::csv(),
        std::slice::from_ref(&batch),
    );
    let options = DatasetOptions::csv().with_schema(batch.schema());
    let read = concat(&read_all(&dir.path().join("out"), options));
    assert_eq!(read, batch);
}

#[test]
fn csv_rejects_nested_columns_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = all_types();
    let result = rsql_io::write_batches(
        dir.path().join("out"),
        batch.schema(),
        [Ok(batch)],
        rsql_io::WriteOptions::new(WriteFormat::csv()),
    );
    let error = result.expect_err("nested columns cannot be CSV");
    assert!(error.to_string().contains("part-00000"), "{error}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn csv_inference_reads_header_types_and_null_string() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.csv");
    std::fs::write(&path, "id;name;score\n1;'a;b';1.5\n2;NA;NA\n").expect("write");
    let options = DatasetOptions::new(rsql_io::FileFormat::Csv(rsql_io::CsvOptions {
        delimiter: b';',
        quote: b'\'',
        null_string: Some("NA".into()),
        ..Default::default()
    }));
    let batch = concat(&read_all(&path, options));
    let expected = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            arrow::datatypes::Field::new("id", DataType::Int64, true),
            arrow::datatypes::Field::new("name", DataType::Utf8, true),
            arrow::datatypes::Field::new("score", DataType::Float64, true),
        ])),
        vec![
            Arc::new(arrow::array::Int64Array::from(vec![1, 2])),
            Arc::new(arrow::array::StringArray::from(vec![Some("a;b"), None])),
            Arc::new(arrow::array::Float64Array::from(vec![Some(1.5), None])),
        ],
    )
    .expect("expected");
    assert_eq!(batch, expected);
}

#[test]
fn csv_escape_character_escapes_quotes_in_quoted_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.csv");
    std::fs::write(&path, "id,name\n1,\"say \\\"hi\\\", ok\"\n").expect("write");
    let options = DatasetOptions::new(rsql_io::FileFormat::Csv(rsql_io::CsvOptions {
        escape: Some(b'\\'),
        ..Default::default()
    }));
    let batch = concat(&read_all(&path, options));
    let names = batch
        .column(1)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>();
    assert_eq!(names.map(|a| a.value(0)), Some("say \"hi\", ok"));
}

#[test]
fn parquet_view_columns_are_read_as_plain_strings_and_binaries() {
    use arrow::array::{Array, AsArray, BinaryViewArray, StringViewArray};
    use arrow::datatypes::Field;

    let dir = tempfile::tempdir().expect("tempdir");
    let text: Vec<Option<String>> = (0..40)
        .map(|i| (i % 7 != 3).then(|| format!("a fairly long distinct string number {i}")))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("s", DataType::Utf8View, true),
        Field::new("b", DataType::BinaryView, true),
    ]));
    let strings = StringViewArray::from_iter(text.iter().map(|t| t.as_deref()));
    let binaries = BinaryViewArray::from_iter(text.iter().map(|t| t.as_deref().map(str::as_bytes)));
    let batch =
        RecordBatch::try_new(schema, vec![Arc::new(strings), Arc::new(binaries)]).expect("batch");
    write(
        &dir.path().join("out"),
        WriteFormat::parquet(),
        std::slice::from_ref(&batch),
    );
    let read = concat(&read_all(
        &dir.path().join("out"),
        DatasetOptions::parquet(),
    ));
    // Strings come back as Utf8 (dictionary-encoded, as the writer encoded them).
    let string_type = read.schema().field(0).data_type().clone();
    assert_eq!(
        string_type,
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    );
    assert_eq!(read.schema().field(1).data_type(), &DataType::Binary);
    let s = arrow::compute::cast(read.column(0), &DataType::Utf8).expect("cast");
    let s = s.as_string::<i32>();
    let b = read.column(1).as_binary::<i32>();
    assert_eq!(s.len(), 40);
    for (i, expected) in text.iter().enumerate() {
        assert_eq!(s.is_valid(i).then(|| s.value(i)), expected.as_deref());
        assert_eq!(
            b.is_valid(i).then(|| b.value(i)),
            expected.as_deref().map(str::as_bytes)
        );
    }
}
