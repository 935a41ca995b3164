//! Serde round trips of expressions and of the Arrow values they hold: nested and
//! dictionary-encoded types, time zones, nulls, qualified columns, in a binary format (postcard)
//! and a self-describing one (JSON).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, DictionaryArray, Int32Array, Int64Builder, MapBuilder, RecordBatch,
    RecordBatchOptions, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Fields, Int32Type, Schema, TimeUnit};
use datafusion_common::scalar::ScalarStructBuilder;
use datafusion_common::{Column, DFSchema, DFSchemaRef, ScalarValue, TableReference};
use rsql_plan::{Expr, Operator, SortExpr, col, lit};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `value` through postcard and through JSON; both copies must equal it.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let bytes = postcard::to_allocvec(value).unwrap();
    let back: T = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(&back, value, "postcard");
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "json");
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Scalar(#[serde(with = "rsql_plan::codec::scalar")] ScalarValue);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Type(#[serde(with = "rsql_plan::codec::data_type")] DataType);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Types(#[serde(with = "rsql_plan::codec::data_types")] Vec<DataType>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct QualifiedSchema(#[serde(with = "rsql_plan::codec::df_schema")] DFSchemaRef);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Batch(#[serde(with = "rsql_plan::codec::batch")] RecordBatch);

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `map<string, bigint>` as Spark (and `count_values`) builds it.
fn string_to_int_map() -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Int64, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

fn nested_types() -> Vec<DataType> {
    let tagged = Field::new("tagged", DataType::Int32, true)
        .with_metadata(HashMap::from([("origin".to_string(), "test".to_string())]));
    vec![
        DataType::Null,
        DataType::Int64,
        DataType::Decimal128(20, 4),
        utc_micros(),
        DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Paris".into())),
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        string_to_int_map(),
        DataType::Struct(Fields::from(vec![
            Field::new("start", utc_micros(), true),
            Field::new("end", utc_micros(), true),
            tagged,
            Field::new(
                "refs",
                DataType::List(Arc::new(Field::new_list_field(string_to_int_map(), true))),
                false,
            ),
        ])),
    ]
}

#[test]
fn data_types_round_trip_with_nesting_zones_and_metadata() {
    for data_type in nested_types() {
        round_trip(&Type(data_type));
    }
    round_trip(&Types(nested_types()));
    round_trip(&Types(Vec::new()));
}

fn map_value(entries: &[(&str, Option<i64>)]) -> ScalarValue {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    for (key, value) in entries {
        builder.keys().append_value(key);
        builder.values().append_option(*value);
    }
    builder.append(true).unwrap();
    ScalarValue::Map(Arc::new(builder.finish()))
}

#[test]
fn scalar_values_round_trip_with_nested_types_and_nulls() {
    let window = ScalarStructBuilder::new()
        .with_scalar(
            Field::new("start", utc_micros(), true),
            ScalarValue::TimestampMicrosecond(Some(1_700_000_000_000_000), Some("UTC".into())),
        )
        .with_scalar(
            Field::new("end", utc_micros(), true),
            ScalarValue::TimestampMicrosecond(None, Some("UTC".into())),
        )
        .build()
        .unwrap();
    let mut values = vec![
        ScalarValue::Null,
        ScalarValue::Int64(Some(-7)),
        ScalarValue::Int64(None),
        ScalarValue::Utf8(Some("a'b".into())),
        ScalarValue::Utf8(None),
        ScalarValue::Boolean(Some(true)),
        ScalarValue::Float64(Some(2.5)),
        ScalarValue::Decimal128(Some(123_456), 20, 4),
        ScalarValue::Date32(Some(19_000)),
        ScalarValue::TimestampNanosecond(Some(5), Some("Europe/Paris".into())),
        ScalarValue::Binary(Some(vec![0, 1, 255])),
        ScalarValue::Dictionary(
            Box::new(DataType::Int32),
            Box::new(ScalarValue::Utf8(Some("a.com".into()))),
        ),
        ScalarValue::List(ScalarValue::new_list_nullable(
            &[ScalarValue::Int32(Some(1)), ScalarValue::Int32(None)],
            &DataType::Int32,
        )),
        ScalarValue::new_null_list(DataType::Utf8, true, 1),
        map_value(&[("x", Some(2)), ("y", None)]),
        window,
        ScalarStructBuilder::new_null(vec![Field::new("a", DataType::Int32, true)]),
    ];
    for data_type in nested_types() {
        values.push(ScalarValue::try_new_null(&data_type).unwrap());
    }
    for value in values {
        round_trip(&Scalar(value));
    }
}

#[test]
fn expressions_round_trip_with_every_variant() {
    let qualified =
        |relation: TableReference, name: &str| Expr::Column(Column::new(Some(relation), name));
    let ts = col("ts").cast_to(utc_micros());
    let expr = Expr::Case {
        operand: None,
        when_then: vec![
            (
                qualified(TableReference::bare("t"), "x")
                    .gt(lit(3i64))
                    .and(Expr::Between {
                        expr: Box::new(col("x")),
                        negated: true,
                        low: Box::new(lit(1i64)),
                        high: Box::new(lit(ScalarValue::Int64(None))),
                    }),
                Expr::ScalarFunction {
                    name: "date_trunc".into(),
                    args: vec![lit("hour"), ts.clone()],
                },
            ),
            (
                Expr::Like {
                    negated: false,
                    expr: Box::new(qualified(TableReference::partial("db", "t"), "s")),
                    pattern: Box::new(lit("a%")),
                    case_insensitive: true,
                },
                Expr::ScalarFunction {
                    name: "window".into(),
                    args: vec![ts, lit("1 hour")],
                }
                .field("start"),
            ),
        ],
        else_expr: Some(Box::new(lit(ScalarValue::TimestampMicrosecond(
            None,
            Some("UTC".into()),
        )))),
    };
    let exprs = vec![
        expr.alias("bucket"),
        Expr::InList {
            expr: Box::new(qualified(TableReference::full("c", "db", "t"), "k")),
            list: vec![lit("a"), lit("b")],
            negated: true,
        },
        Expr::AggregateFunction {
            name: "count".into(),
            args: vec![col("session_id")],
            distinct: true,
        },
        Expr::AggregateFunction {
            name: "count".into(),
            args: vec![],
            distinct: false,
        },
        col("referrers").map_get(lit("x.com")).is_null(),
        !col("flag").is_not_null(),
        -(col("a") % lit(2i32)),
        Expr::BinaryExpr {
            left: Box::new(col("a")),
            op: Operator::Divide,
            right: Box::new(col("b").cast_to(string_to_int_map())),
        },
    ];
    round_trip(&exprs);
    round_trip(&vec![
        SortExpr::new(col("a"), false, true),
        col("b").sort(true),
    ]);
}

#[test]
fn qualified_schemas_round_trip() {
    let fields = vec![
        (
            Some(TableReference::bare("t")),
            Arc::new(Field::new("id", DataType::Int64, false)),
        ),
        (
            Some(TableReference::partial("db", "u")),
            Arc::new(Field::new("id", DataType::Int64, true)),
        ),
        (
            None,
            Arc::new(Field::new("window", nested_types()[8].clone(), true)),
        ),
    ];
    let metadata = HashMap::from([("source".to_string(), "events".to_string())]);
    let schema = DFSchema::new_with_metadata(fields, metadata).unwrap();
    round_trip(&QualifiedSchema(Arc::new(schema)));
}

#[test]
fn batches_round_trip_including_ones_without_columns() {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "k",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new("n", DataType::Int32, true),
    ]));
    let keys: DictionaryArray<Int32Type> = vec![Some("a"), None, Some("a")].into_iter().collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(keys),
        Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
    ];
    round_trip(&Batch(RecordBatch::try_new(schema, columns).unwrap()));
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        Vec::new(),
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .unwrap();
    round_trip(&Batch(one_row));
    let strings = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
    let empty = RecordBatch::try_new(
        strings,
        vec![Arc::new(StringArray::from(Vec::<&str>::new()))],
    )
    .unwrap();
    round_trip(&Batch(empty));
}

#[test]
fn malformed_bytes_are_an_error_not_a_panic() {
    let bytes = postcard::to_allocvec(&vec![1u8, 2, 3]).unwrap();
    let err = postcard::from_bytes::<Scalar>(&bytes).unwrap_err();
    assert!(!err.to_string().is_empty());
    let json = r#"[1, 2, 3]"#;
    assert!(serde_json::from_str::<Type>(json).is_err());
}
