//! Hash aggregation, single-phase and two-phase around a hash exchange, checked against a
//! row-at-a-time reference on random data with nulls, empty inputs and skewed keys; also with
//! memory limits small enough to make every mode flush early or spill.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, UInt8Array};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, UInt8Type};
use proptest::prelude::*;
use rsql_exec::aggregate::{AggregateUdf, builtin_aggregates};
use rsql_exec::operators::{AggregateCall, AggregateMode, HashAggregate, hash_split};
use rsql_rdd::MemoryPool;

type Row = (Option<u8>, Option<i64>, Option<String>);

/// Keys skewed towards 0, a few nulls everywhere.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    let key = prop_oneof![4 => Just(Some(0u8)), 4 => (0u8..6).prop_map(Some), 1 => Just(None)];
    let value = prop_oneof![6 => (-100i64..100).prop_map(Some), 1 => Just(None)];
    let word = prop_oneof![6 => "[abc]{1,2}".prop_map(Some), 1 => Just(None)];
    prop::collection::vec((key, value, word), 0..80)
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::UInt8, true),
        Field::new("v", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]))
}

fn to_batches(rows: &[Row], batch_size: usize) -> Vec<RecordBatch> {
    rows.chunks(batch_size.max(1))
        .map(|chunk| {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(chunk.iter().map(|r| r.0).collect::<UInt8Array>()),
                Arc::new(chunk.iter().map(|r| r.1).collect::<Int64Array>()),
                Arc::new(chunk.iter().map(|r| r.2.clone()).collect::<StringArray>()),
            ];
            RecordBatch::try_new(schema(), columns).unwrap()
        })
        .collect()
}

fn function(name: &str) -> Arc<dyn AggregateUdf> {
    builtin_aggregates()
        .into_iter()
        .find(|f| f.name() == name)
        .unwrap()
}

/// (function, argument column) of every aggregate under test.
const AGGREGATES: [(&str, Option<usize>); 8] = [
    ("count", None),
    ("count", Some(1)),
    ("sum", Some(1)),
    ("min", Some(2)),
    ("max", Some(1)),
    ("avg", Some(1)),
    ("count_distinct", Some(2)),
    ("count_values", Some(2)),
];

fn calls(mode: AggregateMode) -> Vec<AggregateCall> {
    let mut next_state = 1;
    AGGREGATES
        .iter()
        .enumerate()
        .map(|(i, (name, arg))| {
            let f = function(name);
            let argument_types: Vec<DataType> = arg
                .iter()
                .map(|&c| schema().field(c).data_type().clone())
                .collect();
            let input_columns = match mode {
                AggregateMode::Final => {
                    let n = f.state_fields(&argument_types).unwrap().len();
                    let cols = (next_state..next_state + n).collect();
                    next_state += n;
                    cols
                }
                _ => arg.iter().copied().collect(),
            };
            AggregateCall {
                function: f,
                argument_types,
                input_columns,
                name: format!("a{i}"),
            }
        })
        .collect()
}

/// One output row rendered as comparable text: key, then each aggregate.
fn render(batch: &RecordBatch) -> BTreeMap<Option<u8>, Vec<String>> {
    let keys = batch.column(0).as_primitive::<UInt8Type>();
    (0..batch.num_rows())
        .map(|row| {
            let key = keys.is_valid(row).then(|| keys.value(row));
            let values = (1..batch.num_columns())
                .map(|c| {
                    let column = batch.column(c);
                    if column.is_null(row) {
                        return "null".to_string();
                    }
                    match column.data_type() {
                        DataType::Int64 => {
                            column.as_primitive::<Int64Type>().value(row).to_string()
                        }
                        DataType::Float64 => {
                            format!("{:.6}", column.as_primitive::<Float64Type>().value(row))
                        }
                        DataType::Utf8 => column.as_string::<i32>().value(row).to_string(),
                        DataType::Map(_, _) => {
                            let map = column.as_map().value(row);
                            let keys = map.column(0).as_string::<i32>();
                            let counts = map.column(1).as_primitive::<Int64Type>();
                            (0..map.len())
                                .map(|i| format!("{}={}", keys.value(i), counts.value(i)))
                                .collect::<Vec<_>>()
                                .join(",")
                        }
                        other => panic!("unexpected type {other}"),
                    }
                })
                .collect();
            (key, values)
        })
        .collect()
}

fn reference(rows: &[Row]) -> BTreeMap<Option<u8>, Vec<String>> {
    let mut groups: BTreeMap<Option<u8>, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        groups.entry(row.0).or_default().push(row);
    }
    groups
        .into_iter()
        .map(|(key, rows)| {
            let values: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
            let words: Vec<&str> = rows.iter().filter_map(|r| r.2.as_deref()).collect();
            let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
            for w in &words {
                *counts.entry(w).or_default() += 1;
            }
            let opt = |v: Option<String>| v.unwrap_or_else(|| "null".to_string());
            let rendered = vec![
                rows.len().to_string(),
                values.len().to_string(),
                opt((!values.is_empty()).then(|| values.iter().sum::<i64>().to_string())),
                opt(words.iter().min().map(|w| w.to_string())),
                opt(values.iter().max().map(|v| v.to_string())),
                opt((!values.is_empty()).then(|| {
                    format!(
                        "{:.6}",
                        values.iter().sum::<i64>() as f64 / values.len() as f64
                    )
                })),
                words.iter().collect::<BTreeSet<_>>().len().to_string(),
                counts
                    .iter()
                    .map(|(w, n)| format!("{w}={n}"))
                    .collect::<Vec<_>>()
                    .join(","),
            ];
            (key, rendered)
        })
        .collect()
}

/// Runs `plan` within `pool` and concatenates its output batches.
fn run(plan: &HashAggregate, input: Vec<RecordBatch>, pool: &Arc<MemoryPool>) -> RecordBatch {
    let out = plan
        .aggregate_bounded(input.into_iter().map(Ok), pool)
        .unwrap();
    concat_batches(plan.output_schema(), &out).unwrap()
}

fn single_phase(
    batches: &[RecordBatch],
    pool: &Arc<MemoryPool>,
) -> BTreeMap<Option<u8>, Vec<String>> {
    let plan = HashAggregate::try_new(
        &schema(),
        AggregateMode::Single,
        vec![0],
        calls(AggregateMode::Single),
    )
    .unwrap();
    render(&run(&plan, batches.to_vec(), pool))
}

/// Partial per map partition, hash exchange on the key, final per reduce partition.
fn two_phase(
    batches: &[RecordBatch],
    maps: usize,
    reduces: usize,
    pool: &Arc<MemoryPool>,
) -> BTreeMap<Option<u8>, Vec<String>> {
    let partial = HashAggregate::try_new(
        &schema(),
        AggregateMode::Partial,
        vec![0],
        calls(AggregateMode::Partial),
    )
    .unwrap();
    let final_plan = HashAggregate::try_new(
        partial.output_schema(),
        AggregateMode::Final,
        vec![0],
        calls(AggregateMode::Final),
    )
    .unwrap();
    let mut buckets: Vec<Vec<RecordBatch>> = vec![Vec::new(); reduces];
    for map in 0..maps {
        let input: Vec<RecordBatch> = batches.iter().skip(map).step_by(maps).cloned().collect();
        let states = run(&partial, input, pool);
        for (bucket, part) in hash_split(&states, &[0], reduces)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            buckets[bucket].extend(part);
        }
    }
    let outputs: Vec<RecordBatch> = buckets
        .into_iter()
        .map(|input| run(&final_plan, input, pool))
        .collect();
    render(&concat_batches(final_plan.output_schema(), &outputs).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn aggregates_match_reference(
        rows in rows(),
        batch_size in 1usize..20,
        maps in 1usize..4,
        reduces in 1usize..4,
        limit in prop_oneof![Just(None), (0usize..20_000).prop_map(Some)],
    ) {
        let batches = to_batches(&rows, batch_size);
        let expected = reference(&rows);
        let pool = Arc::new(MemoryPool::new(limit).unwrap());
        prop_assert_eq!(single_phase(&batches, &pool), expected.clone());
        prop_assert_eq!(two_phase(&batches, maps, reduces, &pool), expected);
        prop_assert_eq!(pool.used(), 0, "every reservation is returned");
    }
}

#[test]
fn global_aggregate_of_no_rows_is_one_row() {
    let calls_single = calls(AggregateMode::Single);
    let plan =
        HashAggregate::try_new(&schema(), AggregateMode::Single, vec![], calls_single).unwrap();
    let out = plan.aggregate(std::iter::empty()).unwrap();
    assert_eq!(out.num_rows(), 1);
    assert_eq!(out.column(0).as_primitive::<Int64Type>().value(0), 0);
    assert!(out.column(2).is_null(0), "sum of nothing is null");
}

#[test]
fn count_values_keeps_dictionary_input_encoded_and_counts_right() {
    use arrow::array::DictionaryArray;
    use arrow::datatypes::Int32Type;
    let referrers: DictionaryArray<Int32Type> =
        vec![Some("g"), Some("b"), Some("g"), None, Some("g")]
            .into_iter()
            .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::UInt8, true),
        Field::new("r", referrers.data_type().clone(), true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(UInt8Array::from(vec![1, 1, 2, 2, 1])),
            Arc::new(referrers),
        ],
    )
    .unwrap();
    let call = AggregateCall {
        function: function("count_values"),
        argument_types: vec![schema.field(1).data_type().clone()],
        input_columns: vec![1],
        name: "referrers".into(),
    };
    let plan = HashAggregate::try_new(&schema, AggregateMode::Single, vec![0], vec![call]).unwrap();
    let rendered = render(&plan.aggregate([Ok(batch)]).unwrap());
    assert_eq!(rendered[&Some(1)], vec!["b=1,g=2".to_string()]);
    assert_eq!(rendered[&Some(2)], vec!["g=1".to_string()]);
}
