//! Files written by other Parquet writers (fixtures made by `testdata/io/make_fixtures.py`).

use std::path::PathBuf;

use arrow::array::{Array, AsArray, StringArray, TimestampNanosecondArray};
use arrow::datatypes::{DataType, Int32Type, TimeUnit};
use rsql_io::DatasetOptions;

use crate::common::{concat, read_all};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/io")
        .join(name)
}

#[test]
fn int96_timestamps_read_as_timestamps() {
    let batch = concat(&read_all(
        &fixture("int96.parquet"),
        DatasetOptions::parquet(),
    ));
    let ts = batch.column_by_name("ts").expect("ts");
    assert_eq!(
        ts.data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, None)
    );
    let expected = TimestampNanosecondArray::from(vec![
        Some(1_505_610_000_000_000_000),
        Some(1_505_692_799_000_000_000),
        None,
    ]);
    assert_eq!(ts.as_ref(), &expected as &dyn Array);
}

#[test]
fn dictionary_encoded_strings_stay_dictionaries() {
    let batch = concat(&read_all(
        &fixture("plain_schema_dict.parquet"),
        DatasetOptions::parquet(),
    ));
    let column = batch.column(0);
    assert_eq!(
        column.data_type(),
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    );
    let values = arrow::compute::cast(column, &DataType::Utf8).expect("cast");
    let expected = StringArray::from(vec![Some("x"), Some("y"), Some("x"), None]);
    assert_eq!(values.as_string::<i32>(), &expected);
    assert!(column.as_dictionary::<Int32Type>().values().len() <= 2);
}
