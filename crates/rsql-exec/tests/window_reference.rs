//! Window functions, run as the window operator runs them (external sort, then whole window
//! partitions at a time), checked against a row-at-a-time reference on random data with NULL
//! partition keys, NULL order keys and values, ties and skewed partitions, under random memory
//! limits small enough to make the sort spill.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, UInt8Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion_common::ScalarValue;
use proptest::prelude::*;
use rsql_exec::ExecError;
use rsql_exec::aggregate::{AggregateUdf, builtin_aggregates};
use rsql_exec::operators::{SortKey, WindowCall, WindowExec, WindowStream, sort_bounded};
use rsql_plan::expr::{FrameBound, FrameUnits, WindowFrame, WindowFunctionKind};
use rsql_plan::function::BuiltinWindowFunction as F;
use rsql_rdd::{MemoryPool, RddError};

/// (partition key, order key, value); the row's index is its id.
type Row = (Option<u8>, Option<i64>, Option<i64>);

/// Partition keys skewed towards 0, order keys with many ties, a few NULLs everywhere.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    let key = prop_oneof![4 => Just(Some(0u8)), 4 => (0u8..5).prop_map(Some), 1 => Just(None)];
    let order = prop_oneof![6 => (0i64..8).prop_map(Some), 1 => Just(None)];
    let value = prop_oneof![4 => (-50i64..50).prop_map(Some), 1 => Just(None)];
    prop::collection::vec((key, order, value), 0..400)
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("k", DataType::UInt8, true),
        Field::new("o", DataType::Int64, true),
        Field::new("v", DataType::Int64, true),
    ]))
}

fn to_batches(rows: &[Row], batch_size: usize) -> Vec<RecordBatch> {
    let ids: Vec<i64> = (0..rows.len() as i64).collect();
    ids.chunks(batch_size.max(1))
        .map(|chunk| {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(chunk.to_vec())),
                Arc::new(
                    chunk
                        .iter()
                        .map(|&i| rows[i as usize].0)
                        .collect::<UInt8Array>(),
                ),
                Arc::new(
                    chunk
                        .iter()
                        .map(|&i| rows[i as usize].1)
                        .collect::<Int64Array>(),
                ),
                Arc::new(
                    chunk
                        .iter()
                        .map(|&i| rows[i as usize].2)
                        .collect::<Int64Array>(),
                ),
            ];
            RecordBatch::try_new(schema(), columns).unwrap()
        })
        .collect()
}

fn aggregate(name: &str) -> Arc<dyn AggregateUdf> {
    builtin_aggregates()
        .into_iter()
        .find(|f| f.name() == name)
        .unwrap()
}

fn rows_frame(start: FrameBound, end: FrameBound) -> WindowFrame {
    WindowFrame {
        units: FrameUnits::Rows,
        start,
        end,
    }
}

fn n(value: i64) -> ScalarValue {
    ScalarValue::Int64(Some(value))
}

/// A function under test: the call and its row-at-a-time reference.
struct Case {
    kind: WindowFunctionKind,
    constant: i64,
    frame: WindowFrame,
    ignore_nulls: bool,
}

fn builtin(function: F, constant: i64, frame: WindowFrame, ignore_nulls: bool) -> Case {
    Case {
        kind: WindowFunctionKind::Builtin(function),
        constant,
        frame,
        ignore_nulls,
    }
}

fn agg(name: &str, frame: WindowFrame) -> Case {
    Case {
        kind: WindowFunctionKind::Aggregate {
            name: name.into(),
            distinct: false,
        },
        constant: 0,
        frame,
        ignore_nulls: false,
    }
}

/// Calls whose results do not depend on the order of peers (window `ORDER BY o`).
fn peer_invariant() -> Vec<Case> {
    let running = WindowFrame::default_for(true);
    let range = WindowFrame {
        units: FrameUnits::Range,
        start: FrameBound::Preceding(n(3)),
        end: FrameBound::Following(n(2)),
    };
    vec![
        builtin(F::Rank, 0, running.clone(), false),
        builtin(F::DenseRank, 0, running.clone(), false),
        builtin(F::PercentRank, 0, running.clone(), false),
        builtin(F::CumeDist, 0, running.clone(), false),
        agg("sum", running.clone()),
        agg("count", range.clone()),
        agg("max", range),
        agg("avg", WindowFrame::default_for(false)),
    ]
}

/// Calls over a total order (window `ORDER BY o, id`) evaluated a window of rows at a time
/// when their partition is spilled.
fn ordered_streamed() -> Vec<Case> {
    use FrameBound::*;
    let whole = WindowFrame::default_for(false);
    vec![
        builtin(F::RowNumber, 0, whole.clone(), false),
        builtin(F::Ntile, 3, whole.clone(), false),
        builtin(F::Lag, 1, whole.clone(), false),
        builtin(F::Lead, 2, whole.clone(), false),
        builtin(
            F::FirstValue,
            0,
            rows_frame(Preceding(n(1)), Following(n(1))),
            false,
        ),
        builtin(
            F::NthValue,
            2,
            rows_frame(Preceding(n(3)), CurrentRow),
            true,
        ),
        agg("sum", rows_frame(Preceding(n(2)), Following(n(1)))),
        agg("min", rows_frame(Following(n(1)), Following(n(3)))),
        agg("count", rows_frame(UnboundedPreceding, Preceding(n(1)))),
        agg("sum", rows_frame(UnboundedPreceding, Following(n(2)))),
        agg("max", whole),
        // Order-sensitive aggregates over sliding and running frames: the frame's rows must be
        // merged in order.
        agg("first", rows_frame(Preceding(n(2)), Following(n(2)))),
        agg("last", rows_frame(Preceding(n(3)), CurrentRow)),
        agg("first", rows_frame(UnboundedPreceding, CurrentRow)),
    ]
}

/// Calls over a total order that read their whole partition: held whole.
fn ordered_held() -> Vec<Case> {
    use FrameBound::*;
    let whole = WindowFrame::default_for(false);
    vec![
        builtin(F::Lead, 2, whole.clone(), true),
        builtin(F::Lag, 2, whole.clone(), true),
        builtin(
            F::LastValue,
            0,
            rows_frame(UnboundedPreceding, CurrentRow),
            true,
        ),
        builtin(
            F::FirstValue,
            0,
            rows_frame(Following(n(1)), UnboundedFollowing),
            true,
        ),
        builtin(F::NthValue, 2, whole, false),
        agg("sum", rows_frame(CurrentRow, UnboundedFollowing)),
    ]
}

fn exec(cases: &[Case], order_keys: Vec<SortKey>) -> Arc<WindowExec> {
    let mut fields: Vec<Field> = schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let calls = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let takes_value = !matches!(
                case.kind,
                WindowFunctionKind::Builtin(
                    F::RowNumber | F::Rank | F::DenseRank | F::PercentRank | F::CumeDist | F::Ntile
                )
            );
            let input_columns = if takes_value { vec![3] } else { vec![] };
            let argument_types = vec![DataType::Int64; input_columns.len()];
            let aggregate = match &case.kind {
                WindowFunctionKind::Aggregate { name, .. } => Some(aggregate(name)),
                WindowFunctionKind::Builtin(_) => None,
            };
            let data_type = match (&case.kind, &aggregate) {
                (WindowFunctionKind::Builtin(F::PercentRank | F::CumeDist), _) => DataType::Float64,
                (_, Some(f)) => f.return_type(&argument_types).unwrap(),
                _ => DataType::Int64,
            };
            fields.push(Field::new(format!("w{i}"), data_type, true));
            WindowCall {
                kind: case.kind.clone(),
                aggregate,
                input_columns,
                argument_types,
                constant: case.constant,
                frame: case.frame.clone(),
                ignore_nulls: case.ignore_nulls,
                name: format!("w{i}"),
            }
        })
        .collect();
    Arc::new(WindowExec {
        partition_columns: vec![1],
        order_keys,
        calls,
        schema: Arc::new(Schema::new(fields)),
    })
}

/// Per call, per row id, the value as a float.
fn run(
    exec: &Arc<WindowExec>,
    rows: &[Row],
    batch_size: usize,
    limit: usize,
) -> Result<Vec<Vec<Option<f64>>>, ExecError> {
    let pool = Arc::new(MemoryPool::new(Some(limit)).unwrap());
    let sorted = sort_bounded(
        &schema(),
        to_batches(rows, batch_size).into_iter(),
        &exec.sort_keys(),
        &pool,
    )?;
    let stream = WindowStream::try_new(Arc::clone(exec), schema(), sorted, &pool)?;
    let mut out = vec![vec![None; rows.len()]; exec.calls.len()];
    for batch in stream {
        let batch = batch?;
        let ids = batch.column(0).as_primitive::<Int64Type>().clone();
        for (c, column) in out.iter_mut().enumerate() {
            let values = cast(batch.column(4 + c), &DataType::Float64).unwrap();
            let values = values.as_primitive::<Float64Type>();
            for r in 0..batch.num_rows() {
                column[ids.value(r) as usize] = values.is_valid(r).then(|| values.value(r));
            }
        }
    }
    Ok(out)
}

/// The rows of each row's partition, in window order (`o` ascending, NULLs first; then the
/// id when `by_id`).
fn partition_of(rows: &[Row], id: usize, by_id: bool) -> Vec<usize> {
    let mut members: Vec<usize> = (0..rows.len())
        .filter(|&j| rows[j].0 == rows[id].0)
        .collect();
    members.sort_by_key(|&j| (rows[j].1, if by_id { j } else { 0 }));
    members
}

/// The reference value of `case` for row `id`.
fn reference(case: &Case, rows: &[Row], id: usize, by_id: bool) -> Option<f64> {
    let part = partition_of(rows, id, by_id);
    let pos = part.iter().position(|&j| j == id).unwrap();
    let key = |p: usize| rows[part[p]].1;
    let value = |p: usize| rows[part[p]].2;
    let peers: Vec<usize> = (0..part.len())
        .filter(|&p| key(p) == key(pos) && (!by_id || p == pos))
        .collect();
    let (first_peer, last_peer) = (peers[0], *peers.last().unwrap());
    let frame: Vec<usize> = (0..part.len())
        .filter(|&p| {
            let after_start = match (&case.frame.units, &case.frame.start) {
                (_, FrameBound::UnboundedPreceding) => true,
                (FrameUnits::Rows, FrameBound::Preceding(s)) => p + as_usize(s) >= pos,
                (FrameUnits::Rows, FrameBound::CurrentRow) => p >= pos,
                (FrameUnits::Rows, FrameBound::Following(s)) => p >= pos + as_usize(s),
                (FrameUnits::Range, FrameBound::CurrentRow) => p >= first_peer,
                (FrameUnits::Range, FrameBound::Preceding(s)) => match (key(p), key(pos)) {
                    (Some(k), Some(c)) => k >= c - as_i64(s),
                    (a, b) => a.is_none() && b.is_none(),
                },
                _ => unreachable!(),
            };
            let before_end = match (&case.frame.units, &case.frame.end) {
                (_, FrameBound::UnboundedFollowing) => true,
                (FrameUnits::Rows, FrameBound::Preceding(e)) => p + as_usize(e) <= pos,
                (FrameUnits::Rows, FrameBound::CurrentRow) => p <= pos,
                (FrameUnits::Rows, FrameBound::Following(e)) => p <= pos + as_usize(e),
                (FrameUnits::Range, FrameBound::CurrentRow) => p <= last_peer,
                (FrameUnits::Range, FrameBound::Following(e)) => match (key(p), key(pos)) {
                    (Some(k), Some(c)) => k <= c + as_i64(e),
                    (a, b) => a.is_none() && b.is_none(),
                },
                _ => unreachable!(),
            };
            after_start && before_end
        })
        .collect();
    let size = part.len() as f64;
    let non_null =
        |ps: Vec<usize>| -> Vec<usize> { ps.into_iter().filter(|&p| value(p).is_some()).collect() };
    let as_f = |v: Option<i64>| v.map(|v| v as f64);
    match &case.kind {
        WindowFunctionKind::Builtin(function) => match function {
            F::RowNumber => Some(pos as f64 + 1.0),
            F::Rank => Some(first_peer as f64 + 1.0),
            F::DenseRank => {
                let mut distinct: Vec<Option<i64>> = (0..=pos).map(key).collect();
                distinct.dedup();
                Some(distinct.len() as f64)
            }
            F::PercentRank => Some(if part.len() <= 1 {
                0.0
            } else {
                first_peer as f64 / (size - 1.0)
            }),
            F::CumeDist => Some((last_peer + 1) as f64 / size),
            F::Ntile => {
                let buckets = case.constant as usize;
                let (small, large) = (part.len() / buckets, part.len() % buckets);
                let bucket = if pos < large * (small + 1) {
                    pos / (small + 1)
                } else {
                    large + (pos - large * (small + 1)) / small.max(1)
                };
                Some(bucket as f64 + 1.0)
            }
            F::Lag | F::Lead => {
                let k = case.constant as usize;
                let candidates: Vec<usize> = if *function == F::Lag {
                    (0..pos).rev().collect()
                } else {
                    (pos + 1..part.len()).collect()
                };
                let candidates = if case.ignore_nulls {
                    non_null(candidates)
                } else {
                    candidates
                };
                candidates.get(k - 1).and_then(|&p| as_f(value(p)))
            }
            F::FirstValue | F::LastValue | F::NthValue => {
                let frame = if case.ignore_nulls {
                    non_null(frame)
                } else {
                    frame
                };
                let picked = match function {
                    F::FirstValue => frame.first(),
                    F::LastValue => frame.last(),
                    _ => frame.get(case.constant as usize - 1),
                };
                picked.and_then(|&p| as_f(value(p)))
            }
        },
        WindowFunctionKind::Aggregate { name, .. } if name == "first" => {
            frame.first().and_then(|&p| as_f(value(p)))
        }
        WindowFunctionKind::Aggregate { name, .. } if name == "last" => {
            frame.last().and_then(|&p| as_f(value(p)))
        }
        WindowFunctionKind::Aggregate { name, .. } => {
            let values: Vec<i64> = frame.iter().filter_map(|&p| value(p)).collect();
            match name.as_str() {
                "count" => Some(values.len() as f64),
                "sum" => (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64),
                "avg" => (!values.is_empty())
                    .then(|| values.iter().sum::<i64>() as f64 / values.len() as f64),
                "min" => values.iter().min().map(|&v| v as f64),
                "max" => values.iter().max().map(|&v| v as f64),
                other => panic!("no reference for {other}"),
            }
        }
    }
}

fn as_usize(value: &ScalarValue) -> usize {
    as_i64(value) as usize
}

fn as_i64(value: &ScalarValue) -> i64 {
    match value {
        ScalarValue::Int64(Some(v)) => *v,
        other => panic!("not an offset: {other}"),
    }
}

fn check(
    streamed: bool,
    cases: &[Case],
    order_keys: Vec<SortKey>,
    by_id: bool,
    rows: &[Row],
    batch_size: usize,
    limit: usize,
) -> Result<(), TestCaseError> {
    let exec = exec(cases, order_keys);
    let got = match run(&exec, rows, batch_size, limit) {
        Ok(got) => got,
        Err(ExecError::Rdd(RddError::ResourcesExhausted { consumer, .. })) => {
            let batches = to_batches(rows, batch_size);
            let sizes = batches.iter().map(|b| b.get_array_memory_size());
            let (input, biggest) = (sizes.clone().sum::<usize>(), sizes.max().unwrap_or(0));
            // Calls that read all of a window partition hold it whole: one larger than the
            // limit fails the query clearly. Others spill it and hold a few batches of it.
            let enough = if streamed { 2 * biggest } else { input };
            prop_assert!(
                limit < enough,
                "{consumer} ran out of memory under {limit} bytes"
            );
            return Ok(());
        }
        Err(other) => return Err(TestCaseError::fail(other.to_string())),
    };
    for (c, (case, got)) in cases.iter().zip(&got).enumerate() {
        prop_assert_eq!(got.len(), rows.len());
        for (id, &actual) in got.iter().enumerate() {
            let expected = reference(case, rows, id, by_id);
            let same = match (actual, expected) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                (a, b) => a.is_none() && b.is_none(),
            };
            prop_assert!(
                same,
                "{:?} (call {c}) row {id}: got {:?}, expected {expected:?}",
                case.kind,
                actual
            );
        }
    }
    Ok(())
}

const ASC: fn(usize) -> SortKey = |column| SortKey {
    column,
    descending: false,
    nulls_first: true,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn windows_match_a_row_at_a_time_reference(
        rows in rows(),
        batch_size in 1usize..40,
        limit in prop_oneof![Just(usize::MAX / 4), 500usize..20_000],
    ) {
        check(true, &peer_invariant(), vec![ASC(2)], false, &rows, batch_size, limit)?;
        let order = || vec![ASC(2), ASC(0)];
        check(true, &ordered_streamed(), order(), true, &rows, batch_size, limit)?;
        check(false, &ordered_held(), order(), true, &rows, batch_size, limit)?;
    }
}
