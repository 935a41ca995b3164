//! Hash joins and sorts checked against row-at-a-time references on random data with nulls,
//! empty inputs, skewed keys and several batches per input.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Int64Array, RecordBatch, StringArray,
    StringViewArray, UInt64Array,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion_common::DFSchema;
use proptest::prelude::*;
use rsql_exec::ExecError;
use rsql_exec::expr::{PhysicalExpr, ScalarFunctions, create_physical_expr};
use rsql_exec::operators::{
    HashJoin, JoinKind, JoinTable, RangeBounds, SortKey, sample_keys, sort_batches, sort_bounded,
};
use rsql_plan::{FunctionRegistry, TimeZone, col};
use rsql_rdd::MemoryPool;

/// A row of either input: an integer key, a string key, a value.
type Row = (Option<i64>, Option<String>, Option<i64>);

const NULL_EXTENDED: Row = (None, None, None);

const KINDS: [JoinKind; 8] = [
    JoinKind::Inner,
    JoinKind::Left,
    JoinKind::Right,
    JoinKind::Full,
    JoinKind::Semi,
    JoinKind::Anti,
    JoinKind::RightSemi,
    JoinKind::RightAnti,
];

/// Keys skewed towards a few values, a few nulls everywhere.
fn rows(max_len: usize) -> impl Strategy<Value = Vec<Row>> {
    let int = prop_oneof![3 => Just(Some(0i64)), 3 => (-2i64..3).prop_map(Some), 1 => Just(None)];
    let word = prop_oneof![4 => "[abc]".prop_map(Some), 1 => Just(None)];
    let value = prop_oneof![4 => (0i64..8).prop_map(Some), 1 => Just(None)];
    prop::collection::vec((int, word, value), 0..max_len)
}

/// One side of a join: `{prefix}_k1` (`Int32` on the left, `Int64` on the right), `{prefix}_k2`
/// (`Utf8`, or a dictionary of it) and `{prefix}_v`.
fn side_schema(prefix: &str, k1: DataType, dictionary: bool) -> SchemaRef {
    let k2 = if dictionary {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    } else {
        DataType::Utf8
    };
    Arc::new(Schema::new(vec![
        Field::new(format!("{prefix}_k1"), k1, true),
        Field::new(format!("{prefix}_k2"), k2, true),
        Field::new(format!("{prefix}_v"), DataType::Int64, true),
    ]))
}

fn to_batches(schema: &SchemaRef, rows: &[Row], batch_size: usize) -> Vec<RecordBatch> {
    rows.chunks(batch_size.max(1))
        .map(|chunk| {
            let k1: ArrayRef = Arc::new(chunk.iter().map(|r| r.0).collect::<Int64Array>());
            let k2: ArrayRef = Arc::new(chunk.iter().map(|r| r.1.clone()).collect::<StringArray>());
            let v: ArrayRef = Arc::new(chunk.iter().map(|r| r.2).collect::<Int64Array>());
            let columns = [k1, k2, v]
                .iter()
                .zip(schema.fields())
                .map(|(column, field)| cast(column, field.data_type()).unwrap())
                .collect();
            RecordBatch::try_new(Arc::clone(schema), columns).unwrap()
        })
        .collect()
}

fn ints(column: &ArrayRef) -> Vec<Option<i64>> {
    cast(column, &DataType::Int64)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

fn strings(column: &ArrayRef) -> Vec<Option<String>> {
    cast(column, &DataType::Utf8)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

/// The rows made of the three columns from `first_column` on, of every batch.
fn render(batches: &[RecordBatch], first_column: usize) -> Vec<Row> {
    batches
        .iter()
        .flat_map(|batch| {
            let k1 = ints(batch.column(first_column));
            let k2 = strings(batch.column(first_column + 1));
            let v = ints(batch.column(first_column + 2));
            k1.into_iter().zip(k2).zip(v).map(|((a, b), c)| (a, b, c))
        })
        .collect()
}

/// The condition of the filtered joins: `l_v < r_v`.
fn filter(schema: &SchemaRef) -> Arc<dyn PhysicalExpr> {
    let schema = DFSchema::try_from(schema.as_ref().clone()).unwrap();
    let expr = col("l_v").lt(col("r_v"));
    create_physical_expr(
        &expr,
        &schema,
        &FunctionRegistry::new(),
        &ScalarFunctions::new(),
        &TimeZone::utc(),
        rsql_plan::compute::EvalMode::Lenient,
    )
    .unwrap()
}

/// Nested loops over both inputs with SQL semantics: null keys match nothing.
fn reference_join(
    left: &[Row],
    right: &[Row],
    kind: JoinKind,
    keys: usize,
    filtered: bool,
) -> Vec<(Row, Row)> {
    let matches = |l: &Row, r: &Row| {
        let k1 = keys < 1 || (l.0.is_some() && l.0 == r.0);
        let k2 = keys < 2 || (l.1.is_some() && l.1 == r.1);
        let condition = !filtered || matches!((l.2, r.2), (Some(a), Some(b)) if a < b);
        k1 && k2 && condition
    };
    let mut out = Vec::new();
    for l in left {
        let matched = right.iter().filter(|r| matches(l, r));
        match kind {
            // Semi and anti joins emit left rows only: they are paired with a null right row.
            JoinKind::Semi | JoinKind::Anti => {
                if (matched.count() > 0) == (kind == JoinKind::Semi) {
                    out.push((l.clone(), NULL_EXTENDED));
                }
                continue;
            }
            JoinKind::RightSemi | JoinKind::RightAnti => continue,
            _ => {}
        }
        let before = out.len();
        out.extend(matched.map(|r| (l.clone(), r.clone())));
        if out.len() == before && matches!(kind, JoinKind::Left | JoinKind::Full) {
            out.push((l.clone(), NULL_EXTENDED));
        }
    }
    for r in right {
        let matched = left.iter().any(|l| matches(l, r));
        match kind {
            JoinKind::Right | JoinKind::Full if !matched => out.push((NULL_EXTENDED, r.clone())),
            // Right semi and anti joins emit right rows only: paired, first, with a null row.
            JoinKind::RightSemi | JoinKind::RightAnti
                if matched == (kind == JoinKind::RightSemi) =>
            {
                out.push((r.clone(), NULL_EXTENDED))
            }
            _ => {}
        }
    }
    out.sort();
    out
}

/// Builds over all right batches, probes the left batches from `threads` threads sharing the
/// table, then adds the unmatched build rows; the joined rows, sorted.
fn run_join(
    join: &HashJoin,
    left: &[RecordBatch],
    right: Vec<RecordBatch>,
    threads: usize,
) -> Vec<(Row, Row)> {
    let table = join.build(right).unwrap();
    let mut outputs = probe_from_threads(join, &table, left, threads);
    outputs.extend(join.finish_build_rows(&table).unwrap());
    for batch in &outputs {
        assert!(batch.num_rows() > 0, "empty batches are returned as None");
        assert_eq!(&batch.schema(), join.output_schema());
    }
    pairs(&outputs)
}

/// Every left batch probed against `table`, from `threads` threads sharing it.
fn probe_from_threads(
    join: &HashJoin,
    table: &JoinTable,
    left: &[RecordBatch],
    threads: usize,
) -> Vec<RecordBatch> {
    std::thread::scope(|scope| {
        let probes: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    left.iter()
                        .skip(thread)
                        .step_by(threads)
                        .filter_map(|batch| join.probe(table, batch).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        probes
            .into_iter()
            .flat_map(|probe| probe.join().unwrap())
            .collect()
    })
}

/// The joined rows as (left, right) pairs, sorted; batches with only one side's columns (semi
/// and anti joins) pair them with a null row.
fn pairs(outputs: &[RecordBatch]) -> Vec<(Row, Row)> {
    let left = render(outputs, 0);
    let has_right = outputs.first().is_some_and(|b| b.num_columns() > 3);
    let mut joined: Vec<(Row, Row)> = if has_right {
        left.into_iter().zip(render(outputs, 3)).collect()
    } else {
        left.into_iter().map(|l| (l, NULL_EXTENDED)).collect()
    };
    joined.sort();
    joined
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Every join kind, with and without a filter, on `keys` key columns: `Int32` against
    /// `Int64`, then `Utf8` against a dictionary of it.
    #[test]
    fn joins_match_reference(
        left_rows in rows(30),
        right_rows in rows(30),
        left_batch in 1usize..12,
        right_batch in 1usize..12,
        keys in 0usize..3,
        dictionary_on_left in any::<bool>(),
        threads in 1usize..3,
        limit in limits(),
    ) {
        let left_schema = side_schema("l", DataType::Int32, dictionary_on_left);
        let right_schema = side_schema("r", DataType::Int64, !dictionary_on_left);
        let left = to_batches(&left_schema, &left_rows, left_batch);
        let right = to_batches(&right_schema, &right_rows, right_batch);
        let key_columns: Vec<usize> = (0..keys).collect();
        for kind in KINDS {
            for filtered in [false, true] {
                let plain = HashJoin::try_new(
                    Arc::clone(&left_schema),
                    Arc::clone(&right_schema),
                    key_columns.clone(),
                    key_columns.clone(),
                    kind,
                    None,
                )
                .unwrap();
                let join = if filtered {
                    let condition = filter(plain.pair_schema());
                    HashJoin::try_new(
                        Arc::clone(&left_schema),
                        Arc::clone(&right_schema),
                        key_columns.clone(),
                        key_columns.clone(),
                        kind,
                        Some(condition),
                    )
                    .unwrap()
                } else {
                    plain
                };
                let expected = reference_join(&left_rows, &right_rows, kind, keys, filtered);
                prop_assert_eq!(
                    run_join(&join, &left, right.clone(), threads),
                    expected.clone(),
                    "{:?} join on {} keys, filtered: {}", kind, keys, filtered
                );
                // Within a memory limit: both sides spilled by key hash when it is small, or,
                // without keys, the build side joined a block at a time.
                let outputs = run_bounded(join, &left, &right, limit);
                prop_assert_eq!(pairs(&outputs), expected, "bounded {:?} join, limit {:?}", kind, limit);
            }
        }
    }
}

/// `join` run by [`HashJoin::join_bounded`] in a pool of `limit` bytes; the pool is empty
/// once the output was read.
fn run_bounded(
    join: HashJoin,
    left: &[RecordBatch],
    right: &[RecordBatch],
    limit: Option<usize>,
) -> Vec<RecordBatch> {
    let pool = Arc::new(MemoryPool::new(limit).unwrap());
    let join = Arc::new(join);
    let outputs: Vec<RecordBatch> = join
        .join_bounded(right.iter().cloned(), left.iter().cloned(), &pool)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for batch in &outputs {
        assert_eq!(&batch.schema(), join.output_schema());
    }
    assert_eq!(pool.used(), 0, "every reservation is returned");
    outputs
}

/// Memory limits from none to a few build batches.
fn limits() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![Just(None), (0usize..3000).prop_map(Some)]
}

/// `NOT IN` semantics row at a time: a left row passes when the right side is empty, or when
/// its key is not null, no right key is null, and no right key equals it.
fn reference_not_in(left: &[Row], right: &[Row]) -> Vec<(Row, Row)> {
    let mut out: Vec<(Row, Row)> = left
        .iter()
        .filter(|l| {
            right.is_empty()
                || (l.0.is_some()
                    && right.iter().all(|r| r.0.is_some())
                    && right.iter().all(|r| r.0 != l.0))
        })
        .map(|l| (l.clone(), NULL_EXTENDED))
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The null-aware anti join (`NOT IN`) on one key, the right side shared by probing threads.
    #[test]
    fn null_aware_anti_join_matches_not_in(
        left_rows in rows(30),
        right_rows in rows(12),
        left_batch in 1usize..12,
        threads in 1usize..3,
        limit in limits(),
    ) {
        let left_schema = side_schema("l", DataType::Int32, false);
        let right_schema = side_schema("r", DataType::Int64, false);
        let join = HashJoin::try_new(
            Arc::clone(&left_schema),
            Arc::clone(&right_schema),
            vec![0],
            vec![0],
            JoinKind::NullAwareAnti,
            None,
        )
        .unwrap();
        let left = to_batches(&left_schema, &left_rows, left_batch);
        let right = to_batches(&right_schema, &right_rows, 5);
        let expected = reference_not_in(&left_rows, &right_rows);
        prop_assert_eq!(run_join(&join, &left, right.clone(), threads), expected.clone());
        // Within a memory limit: the build side joined a block at a time.
        prop_assert_eq!(pairs(&run_bounded(join, &left, &right, limit)), expected);
    }
}

/// Each left row with its mark, sorted.
fn marked(outputs: &[RecordBatch]) -> Vec<(Row, Option<bool>)> {
    let rows = render(outputs, 0);
    let marks = outputs
        .iter()
        .flat_map(|b| b.column(3).as_boolean().iter().collect::<Vec<_>>());
    let mut marked: Vec<(Row, Option<bool>)> = rows.into_iter().zip(marks).collect();
    marked.sort();
    marked
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Mark joins keep every left row and say whether it has a match: on 0 to 2 keys with and
    /// without a condition, and null-aware (`IN` as a value) on one key.
    #[test]
    fn mark_joins_match_reference(
        left_rows in rows(30),
        right_rows in rows(12),
        left_batch in 1usize..12,
        keys in 0usize..3,
        filtered in any::<bool>(),
        threads in 1usize..3,
        limit in limits(),
    ) {
        let left_schema = side_schema("l", DataType::Int32, false);
        let right_schema = side_schema("r", DataType::Int64, true);
        let key_columns: Vec<usize> = (0..keys).collect();
        let plain = HashJoin::try_new(
            Arc::clone(&left_schema),
            Arc::clone(&right_schema),
            key_columns.clone(),
            key_columns.clone(),
            JoinKind::Mark,
            None,
        )
        .unwrap();
        let condition = filtered.then(|| filter(plain.pair_schema()));
        let join = HashJoin::try_new(
            Arc::clone(&left_schema),
            Arc::clone(&right_schema),
            key_columns.clone(),
            key_columns,
            JoinKind::Mark,
            condition,
        )
        .unwrap();
        let left = to_batches(&left_schema, &left_rows, left_batch);
        let right = to_batches(&right_schema, &right_rows, 5);
        let semi: Vec<Row> = reference_join(&left_rows, &right_rows, JoinKind::Semi, keys, filtered)
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        let mut expected: Vec<(Row, Option<bool>)> = left_rows
            .iter()
            .map(|l| (l.clone(), Some(semi.contains(l))))
            .collect();
        expected.sort();
        let table = join.build(right.clone()).unwrap();
        let outputs: Vec<RecordBatch> =
            left.iter().filter_map(|b| join.probe(&table, b).unwrap()).collect();
        prop_assert_eq!(marked(&outputs), expected.clone());
        // Within a memory limit: spilled by key hash, or a block at a time without keys.
        prop_assert_eq!(marked(&run_bounded(join, &left, &right, limit)), expected);

        // Null-aware on the first key: x IN (right keys) in three-valued logic.
        let in_join = HashJoin::try_new(
            Arc::clone(&left_schema),
            Arc::clone(&right_schema),
            vec![0],
            vec![0],
            JoinKind::NullAwareMark,
            None,
        )
        .unwrap();
        let mut expected: Vec<(Row, Option<bool>)> = left_rows
            .iter()
            .map(|l| {
                let mark = if right_rows.iter().any(|r| l.0.is_some() && r.0 == l.0) {
                    Some(true)
                } else if right_rows.is_empty() {
                    Some(false)
                } else if l.0.is_none() || right_rows.iter().any(|r| r.0.is_none()) {
                    None
                } else {
                    Some(false)
                };
                (l.clone(), mark)
            })
            .collect();
        expected.sort();
        let joined = run_marks(&in_join, &left, right.clone(), threads);
        prop_assert_eq!(joined, expected.clone());
        prop_assert_eq!(marked(&run_bounded(in_join, &left, &right, limit)), expected);
    }
}

/// Probes a mark join's table from `threads` threads; each left row with its mark, sorted.
fn run_marks(
    join: &HashJoin,
    left: &[RecordBatch],
    right: Vec<RecordBatch>,
    threads: usize,
) -> Vec<(Row, Option<bool>)> {
    let table = join.build(right).unwrap();
    marked(&probe_from_threads(join, &table, left, threads))
}

#[test]
fn null_aware_anti_join_takes_one_key_and_no_condition() {
    let schema = side_schema("l", DataType::Int64, false);
    let two_keys = HashJoin::try_new(
        Arc::clone(&schema),
        Arc::clone(&schema),
        vec![0, 1],
        vec![0, 1],
        JoinKind::NullAwareAnti,
        None,
    );
    assert!(two_keys.unwrap_err().to_string().contains("one key"));
}

#[test]
fn outer_join_fields_become_nullable() {
    let strict = |name: &str| Arc::new(Schema::new(vec![Field::new(name, DataType::Int64, false)]));
    let nullable = |kind| {
        let join =
            HashJoin::try_new(strict("l"), strict("r"), vec![0], vec![0], kind, None).unwrap();
        let fields = join.output_schema().fields().clone();
        (fields[0].is_nullable(), fields[1].is_nullable())
    };
    assert_eq!(nullable(JoinKind::Inner), (false, false));
    assert_eq!(nullable(JoinKind::Left), (false, true));
    assert_eq!(nullable(JoinKind::Right), (true, false));
    assert_eq!(nullable(JoinKind::Full), (true, true));
}

#[test]
fn incomparable_key_types_are_an_error_naming_them() {
    let left = Arc::new(Schema::new(vec![Field::new("l", DataType::Int64, true)]));
    let right = Arc::new(Schema::new(vec![Field::new("r", DataType::Utf8, true)]));
    let error =
        HashJoin::try_new(left, right, vec![0], vec![0], JoinKind::Inner, None).unwrap_err();
    assert!(matches!(error, ExecError::Execution(_)));
    let message = error.to_string();
    assert!(
        message.contains("Int64") && message.contains("Utf8"),
        "{message}"
    );
}

#[test]
fn unsigned_keys_beyond_the_signed_range_match_nothing() {
    let left = Arc::new(Schema::new(vec![Field::new("l", DataType::UInt64, true)]));
    let right = Arc::new(Schema::new(vec![Field::new("r", DataType::Int64, true)]));
    let join = HashJoin::try_new(
        left.clone(),
        right.clone(),
        vec![0],
        vec![0],
        JoinKind::Inner,
        None,
    )
    .unwrap();
    let build = RecordBatch::try_new(right, vec![Arc::new(Int64Array::from(vec![-1, 5]))]).unwrap();
    let probe =
        RecordBatch::try_new(left, vec![Arc::new(UInt64Array::from(vec![u64::MAX, 5]))]).unwrap();
    let table = join.build(vec![build]).unwrap();
    let out = join.probe(&table, &probe).unwrap().unwrap();
    assert_eq!(ints(out.column(0)), vec![Some(5)]);
    assert_eq!(ints(out.column(1)), vec![Some(5)]);
}

/// Two threads probe one table with many batches each; every build row is reported unmatched
/// exactly when no probe row of either thread matched it.
#[test]
fn concurrent_probes_report_each_unmatched_build_row_once() {
    let left_schema = side_schema("l", DataType::Int32, false);
    let right_schema = side_schema("r", DataType::Int64, true);
    let join = HashJoin::try_new(
        Arc::clone(&left_schema),
        Arc::clone(&right_schema),
        vec![0],
        vec![0],
        JoinKind::Full,
        None,
    )
    .unwrap();
    let key_rows = |keys: &mut dyn Iterator<Item = i64>| -> Vec<Row> {
        keys.map(|k| (Some(k), None, None)).collect()
    };
    let build = to_batches(&right_schema, &key_rows(&mut (0..20_000)), 20_000);
    // The multiples of 3 below 30,000, in 300 batches of 100.
    let probes = to_batches(
        &left_schema,
        &key_rows(&mut (0..10_000).map(|k| k * 3)),
        100,
    );
    let joined = run_join(&join, &probes, build, 2);
    let unmatched_build: Vec<i64> = joined
        .iter()
        .filter(|(l, _)| *l == NULL_EXTENDED)
        .filter_map(|(_, r)| r.0)
        .collect();
    assert_eq!(
        unmatched_build,
        (0..20_000).filter(|k| k % 3 != 0).collect::<Vec<_>>()
    );
    let pairs = joined
        .iter()
        .filter(|(l, r)| l.0.is_some() && r.0.is_some())
        .count();
    assert_eq!(pairs, (0..20_000).filter(|k| k % 3 == 0).count());
    let unmatched_probe = joined.iter().filter(|(_, r)| *r == NULL_EXTENDED).count();
    assert_eq!(unmatched_probe, 10_000 - pairs);
}

/// A row of a sorted input: an integer, a dictionary-encoded string, and the row's position
/// (unique, so that rows compare as a multiset).
type SortRow = (Option<i64>, Option<String>, i64);

fn sort_schema() -> SchemaRef {
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", dictionary, true),
        Field::new("id", DataType::Int64, false),
    ]))
}

fn sort_input(values: &[(Option<i64>, Option<String>)]) -> Vec<SortRow> {
    values
        .iter()
        .enumerate()
        .map(|(id, (a, b))| (*a, b.clone(), id as i64))
        .collect()
}

fn sort_batches_of(rows: &[SortRow], batch_size: usize) -> Vec<RecordBatch> {
    rows.chunks(batch_size.max(1))
        .map(|chunk| {
            let b: DictionaryArray<Int32Type> = chunk.iter().map(|r| r.1.as_deref()).collect();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(chunk.iter().map(|r| r.0).collect::<Int64Array>()),
                Arc::new(b),
                Arc::new(chunk.iter().map(|r| Some(r.2)).collect::<Int64Array>()),
            ];
            RecordBatch::try_new(sort_schema(), columns).unwrap()
        })
        .collect()
}

fn sort_rows_of(batch: Option<&RecordBatch>) -> Vec<SortRow> {
    let Some(batch) = batch else {
        return Vec::new();
    };
    let ids = ints(batch.column(2));
    ints(batch.column(0))
        .into_iter()
        .zip(strings(batch.column(1)))
        .zip(ids)
        .map(|((a, b), id)| (a, b, id.unwrap()))
        .collect()
}

fn compare_by<T: Ord>(x: &Option<T>, y: &Option<T>, key: &SortKey) -> Ordering {
    match (x, y) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) if key.nulls_first => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => compare_by(y, x, key).reverse(),
        (Some(x), Some(y)) if key.descending => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
    }
}

fn compare_rows(x: &SortRow, y: &SortRow, keys: &[SortKey]) -> Ordering {
    keys.iter()
        .map(|key| match key.column {
            0 => compare_by(&x.0, &y.0, key),
            _ => compare_by(&x.1, &y.1, key),
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// The sort keys of every row, to compare orders where ties may come in any order.
fn key_values(rows: &[SortRow], keys: &[SortKey]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            keys.iter()
                .map(|key| match key.column {
                    0 => format!("{:?}", row.0),
                    _ => format!("{:?}", row.1),
                })
                .collect()
        })
        .collect()
}

fn sorted_by_id(mut rows: Vec<SortRow>) -> Vec<SortRow> {
    rows.sort_by_key(|row| row.2);
    rows
}

fn sort_keys() -> impl Strategy<Value = Vec<SortKey>> {
    let key =
        (0usize..2, any::<bool>(), any::<bool>()).prop_map(|(column, descending, nulls_first)| {
            SortKey {
                column,
                descending,
                nulls_first,
            }
        });
    prop::collection::vec(key, 1..3)
}

fn sort_values() -> impl Strategy<Value = Vec<(Option<i64>, Option<String>)>> {
    let int = prop_oneof![4 => (-3i64..4).prop_map(Some), 1 => Just(None)];
    let word = prop_oneof![4 => "[a-c]{0,2}".prop_map(Some), 1 => Just(None)];
    prop::collection::vec((int, word), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn sorts_match_reference(
        values in sort_values(),
        keys in sort_keys(),
        batch_size in 1usize..16,
        fetch in prop_oneof![9 => 0usize..70, 1 => Just(usize::MAX)],
        limit in prop_oneof![Just(None), (0usize..4000).prop_map(Some)],
    ) {
        let input = sort_input(&values);
        let batches = sort_batches_of(&input, batch_size);
        let mut expected = input.clone();
        expected.sort_by(|x, y| compare_rows(x, y, &keys));

        // Within a memory limit: sorted runs spilled and merged.
        let pool = Arc::new(MemoryPool::new(limit).unwrap());
        let merged: Vec<RecordBatch> = sort_bounded(&sort_schema(), batches.iter().cloned(), &keys, &pool)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let merged: Vec<SortRow> = merged.iter().flat_map(|b| sort_rows_of(Some(b))).collect();
        prop_assert_eq!(key_values(&merged, &keys), key_values(&expected, &keys));
        prop_assert_eq!(sorted_by_id(merged), input.clone());
        prop_assert_eq!(pool.used(), 0);

        let sorted = sort_batches(&sort_schema(), batches.iter().cloned(), &keys, None).unwrap();
        prop_assert_eq!(sorted.is_none(), input.is_empty());
        let sorted = sort_rows_of(sorted.as_ref());
        prop_assert_eq!(key_values(&sorted, &keys), key_values(&expected, &keys));
        prop_assert_eq!(sorted_by_id(sorted), input.clone());

        let top = sort_batches(&sort_schema(), batches.iter().cloned(), &keys, Some(fetch)).unwrap();
        let top = sort_rows_of(top.as_ref());
        let k = fetch.min(input.len());
        prop_assert_eq!(key_values(&top, &keys), key_values(&expected[..k], &keys));
        for row in &top {
            prop_assert_eq!(row, &input[row.2 as usize], "a row of the input");
        }
        let mut ids: Vec<i64> = top.iter().map(|row| row.2).collect();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), k, "no row twice");
    }

    /// Range partitioning from sampled keys, each partition sorted on its own, concatenated in
    /// partition order: a global sort.
    #[test]
    fn range_partitioned_sort_is_a_global_sort(
        values in sort_values(),
        keys in sort_keys(),
        batch_size in 1usize..16,
        partitions in 1usize..5,
        sample_rows in 1usize..8,
    ) {
        let input = sort_input(&values);
        let batches = sort_batches_of(&input, batch_size);
        let samples: Vec<RecordBatch> = batches
            .iter()
            .filter_map(|batch| sample_keys(batch, &keys, sample_rows).unwrap())
            .collect();
        for sample in &samples {
            prop_assert!(sample.num_rows() <= sample_rows);
            prop_assert_eq!(sample.num_columns(), keys.len());
        }
        let bounds = RangeBounds::from_samples(&samples, &keys, partitions).unwrap();
        prop_assert_eq!(bounds.partitions(), partitions);
        let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
        for batch in &batches {
            let split = bounds.split(batch, &keys).unwrap();
            prop_assert_eq!(split.len(), partitions);
            for (part, piece) in parts.iter_mut().zip(split) {
                part.extend(piece);
            }
        }
        let mut sorted = Vec::new();
        for part in parts {
            let part = sort_batches(&sort_schema(), part.into_iter(), &keys, None).unwrap();
            sorted.extend(sort_rows_of(part.as_ref()));
        }
        let mut expected = input.clone();
        expected.sort_by(|x, y| compare_rows(x, y, &keys));
        prop_assert_eq!(key_values(&sorted, &keys), key_values(&expected, &keys));
        prop_assert_eq!(sorted_by_id(sorted), input);
    }
}

#[test]
fn range_bounds_balance_distinct_keys() {
    let values: Vec<(Option<i64>, Option<String>)> =
        (0..4000).map(|i| (Some((i * 7919) % 4000), None)).collect();
    let input = sort_input(&values);
    let batches = sort_batches_of(&input, 500);
    let keys = [SortKey {
        column: 0,
        descending: true,
        nulls_first: false,
    }];
    let samples: Vec<RecordBatch> = batches
        .iter()
        .filter_map(|batch| sample_keys(batch, &keys, 50).unwrap())
        .collect();
    let bounds = RangeBounds::from_samples(&samples, &keys, 4).unwrap();
    let mut sizes = [0usize; 4];
    for batch in &batches {
        for (size, piece) in sizes.iter_mut().zip(bounds.split(batch, &keys).unwrap()) {
            *size += piece.map_or(0, |p| p.num_rows());
        }
    }
    assert!(
        sizes.iter().all(|&n| (700..=1300).contains(&n)),
        "{sizes:?}"
    );
}

/// A top-k over many batches, each with its own dictionary and string view buffers, holds only
/// the values of the rows it keeps.
#[test]
fn top_k_keeps_no_values_of_dropped_rows() {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "d",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new("v", DataType::Utf8View, true),
    ]));
    let batches = (0..100).map(|b| {
        let words: Vec<String> = (0..50)
            .map(|i| format!("word {b:03} {i:02} padded to some length"))
            .collect();
        let dictionary: DictionaryArray<Int32Type> =
            words.iter().map(|w| Some(w.as_str())).collect();
        let views: StringViewArray = words.iter().map(|w| Some(w.as_str())).collect();
        RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(dictionary), Arc::new(views)],
        )
        .unwrap()
    });
    let keys = [SortKey {
        column: 1,
        descending: false,
        nulls_first: true,
    }];
    let top = sort_batches(&schema, batches, &keys, Some(5))
        .unwrap()
        .unwrap();
    assert_eq!(
        strings(top.column(1))[0].as_deref(),
        Some("word 000 00 padded to some length")
    );
    assert!(top.column(0).as_any_dictionary().values().len() <= 5);
    assert!(top.column(1).as_string_view().total_buffer_bytes_used() <= 5 * 40);
}

#[test]
fn shared_operator_state_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<HashJoin>();
    send_sync::<JoinTable>();
    send_sync::<RangeBounds>();
}

/// With room for almost nothing, every batch is a run of its own and the runs cannot all be
/// opened at once: they are merged in passes, and the answer is still the sorted input.
#[test]
fn runs_too_many_to_open_at_once_merge_in_passes() {
    let values: Vec<(Option<i64>, Option<String>)> = (0..400i64)
        .map(|i| {
            let int = (i % 11 != 0).then_some((i * 7919) % 97);
            let word = (i % 13 != 0).then(|| format!("w{}", (i * 31) % 17));
            (int, word)
        })
        .collect();
    let input = sort_input(&values);
    let keys = [
        SortKey {
            column: 0,
            descending: true,
            nulls_first: false,
        },
        SortKey {
            column: 1,
            descending: false,
            nulls_first: true,
        },
    ];
    let mut expected = input.clone();
    expected.sort_by(|x, y| compare_rows(x, y, &keys));
    // Every batch is larger than the pool: each is a run, and each cursor past the second is
    // refused, so every pass merges two runs into one.
    let pool = Arc::new(MemoryPool::new(Some(64)).unwrap());
    let batches = sort_batches_of(&input, 5);
    let merged: Vec<RecordBatch> = sort_bounded(&sort_schema(), batches.into_iter(), &keys, &pool)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let merged: Vec<SortRow> = merged.iter().flat_map(|b| sort_rows_of(Some(b))).collect();
    assert_eq!(key_values(&merged, &keys), key_values(&expected, &keys));
    assert_eq!(sorted_by_id(merged), input);
    assert_eq!(pool.used(), 0);
    assert!(pool.spilled_bytes() > 0);
}

/// -0.0 and 0.0 are equal sort keys (as in SQL comparisons and the window's peers): sorted by
/// a float then an integer, the integers come in order across both zeros, in memory, spilled
/// and in a top-k.
#[test]
fn negative_and_positive_zero_sort_as_one_key() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("f", DataType::Float64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    let rows = 600i64;
    let batches: Vec<RecordBatch> = (0..rows)
        .collect::<Vec<_>>()
        .chunks(50)
        .map(|chunk| {
            let f: Vec<f64> = chunk
                .iter()
                .map(|i| if i % 2 == 0 { -0.0 } else { 0.0 })
                .collect();
            let v: Vec<i64> = chunk.iter().map(|i| (i * 7919) % rows).collect();
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(arrow::array::Float64Array::from(f)),
                    Arc::new(arrow::array::Int64Array::from(v)),
                ],
            )
            .unwrap()
        })
        .collect();
    let keys = [
        SortKey {
            column: 0,
            descending: false,
            nulls_first: false,
        },
        SortKey {
            column: 1,
            descending: false,
            nulls_first: false,
        },
    ];
    let values_of = |batches: &[RecordBatch]| -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(1)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect()
    };
    // By hand: every v of 0..600 once (7919 is prime to 600), in order.
    let expected: Vec<i64> = (0..rows).collect();
    for limit in [None, Some(2_000)] {
        let pool = Arc::new(MemoryPool::new(limit).unwrap());
        let sorted: Vec<RecordBatch> = sort_bounded(&schema, batches.iter().cloned(), &keys, &pool)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(values_of(&sorted), expected, "limit {limit:?}");
    }
    let top = sort_batches(&schema, batches.iter().cloned(), &keys, Some(10))
        .unwrap()
        .unwrap();
    assert_eq!(values_of(&[top]), expected[..10].to_vec());
}
