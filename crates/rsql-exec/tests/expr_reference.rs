//! Physical expressions checked against a row-at-a-time reference with SQL null semantics.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion_common::DFSchema;
use proptest::prelude::*;
use rsql_exec::expr::{
    ScalarFunctions, builtin_scalar_functions, create_physical_expr, evaluate_to_array,
};
use rsql_plan::{Expr, FunctionRegistry, TimeZone, col, lit};

fn batch(a: &[Option<i64>], b: &[Option<i64>], s: &[Option<String>]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(a.to_vec())),
        Arc::new(Int64Array::from(b.to_vec())),
        Arc::new(s.iter().cloned().collect::<StringArray>()),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

fn eval(expr: Expr, batch: &RecordBatch) -> ArrayRef {
    let schema = DFSchema::try_from(batch.schema().as_ref().clone()).unwrap();
    let functions: ScalarFunctions = builtin_scalar_functions()
        .into_iter()
        .map(|f| (f.name().to_string(), f))
        .collect();
    let physical = create_physical_expr(
        &expr,
        &schema,
        &FunctionRegistry::new(),
        &functions,
        &TimeZone::utc(),
        rsql_plan::compute::EvalMode::Lenient,
    )
    .unwrap();
    evaluate_to_array(physical.as_ref(), batch).unwrap()
}

fn ints(array: &ArrayRef) -> Vec<Option<i64>> {
    array.as_primitive::<Int64Type>().iter().collect()
}

fn bools(array: &ArrayRef) -> Vec<Option<bool>> {
    array.as_boolean().iter().collect()
}

fn values() -> impl Strategy<Value = Vec<(Option<i64>, Option<i64>, Option<String>)>> {
    let int = prop_oneof![5 => (-5i64..5).prop_map(Some), 1 => Just(None)];
    let word = prop_oneof![5 => "[ab]{0,3}".prop_map(Some), 1 => Just(None)];
    prop::collection::vec((int.clone(), int, word), 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn expressions_match_reference(rows in values()) {
        let a: Vec<Option<i64>> = rows.iter().map(|r| r.0).collect();
        let b: Vec<Option<i64>> = rows.iter().map(|r| r.1).collect();
        let s: Vec<Option<String>> = rows.iter().map(|r| r.2.clone()).collect();
        let input = batch(&a, &b, &s);
        let both = |f: fn(i64, i64) -> Option<i64>| -> Vec<Option<i64>> {
            a.iter().zip(&b).map(|(x, y)| x.zip(*y).and_then(|(x, y)| f(x, y))).collect()
        };
        prop_assert_eq!(ints(&eval(col("a") + col("b"), &input)), both(|x, y| Some(x + y)));
        prop_assert_eq!(ints(&eval(col("a") * lit(3i64), &input)), a.iter().map(|x| x.map(|x| x * 3)).collect::<Vec<_>>());
        // Division and modulo by zero give NULL, as in Spark.
        prop_assert_eq!(ints(&eval(col("a") % col("b"), &input)), both(|x, y| (y != 0).then(|| x % y)));
        let lt: Vec<Option<bool>> = a.iter().zip(&b).map(|(x, y)| x.zip(*y).map(|(x, y)| x < y)).collect();
        prop_assert_eq!(bools(&eval(col("a").lt(col("b")), &input)), lt.clone());
        // Three-valued AND: false wins over NULL.
        let b_pos: Vec<Option<bool>> = b.iter().map(|y| y.map(|y| y > 0)).collect();
        let and: Vec<Option<bool>> = lt.iter().zip(&b_pos).map(|(l, r)| match (l, r) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }).collect();
        prop_assert_eq!(bools(&eval(col("a").lt(col("b")).and(col("b").gt(lit(0i64))), &input)), and);
        prop_assert_eq!(bools(&eval(col("a").is_null(), &input)), a.iter().map(|x| Some(x.is_none())).collect::<Vec<_>>());
        let in_list = Expr::InList { expr: Box::new(col("a")), list: vec![lit(1i64), lit(2i64)], negated: false };
        prop_assert_eq!(bools(&eval(in_list, &input)), a.iter().map(|x| x.map(|x| x == 1 || x == 2)).collect::<Vec<_>>());
        let between = Expr::Between { expr: Box::new(col("a")), negated: true, low: Box::new(lit(-1i64)), high: Box::new(lit(1i64)) };
        prop_assert_eq!(bools(&eval(between, &input)), a.iter().map(|x| x.map(|x| !(-1..=1).contains(&x))).collect::<Vec<_>>());
        let case = Expr::Case {
            operand: None,
            when_then: vec![(col("a").gt(lit(0i64)), lit(1i64)), (col("a").lt(lit(0i64)), lit(-1i64))],
            else_expr: None,
        };
        prop_assert_eq!(ints(&eval(case, &input)), a.iter().map(|x| x.and_then(|x| (x != 0).then_some(x.signum()))).collect::<Vec<_>>());
        let coalesce = Expr::ScalarFunction { name: "coalesce".into(), args: vec![col("a"), col("b"), lit(0i64)] };
        prop_assert_eq!(ints(&eval(coalesce, &input)), a.iter().zip(&b).map(|(x, y)| Some(x.or(*y).unwrap_or(0))).collect::<Vec<_>>());
        let concat_ws = Expr::ScalarFunction { name: "concat_ws".into(), args: vec![lit("|"), col("s"), lit("x")] };
        let joined: Vec<Option<String>> = s.iter().map(|w| Some(match w { Some(w) => format!("{w}|x"), None => "x".to_string() })).collect();
        let out = eval(concat_ws, &input);
        prop_assert_eq!(out.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>(), joined);
        let like = Expr::Like { negated: false, expr: Box::new(col("s")), pattern: Box::new(lit("a%")), case_insensitive: false };
        prop_assert_eq!(bools(&eval(like, &input)), s.iter().map(|w| w.as_ref().map(|w| w.starts_with('a'))).collect::<Vec<_>>());
    }
}

#[test]
fn window_and_date_format_round_to_the_hour() {
    use arrow::array::TimestampMicrosecondArray;
    let micros = 1_505_650_000_000_000i64; // 2017-09-17T12:06:40Z
    let ts = TimestampMicrosecondArray::from(vec![Some(micros), None]).with_timezone("UTC");
    let schema = Arc::new(Schema::new(vec![Field::new(
        "ts",
        ts.data_type().clone(),
        true,
    )]));
    let input = RecordBatch::try_new(schema, vec![Arc::new(ts)]).unwrap();
    let window = Expr::ScalarFunction {
        name: "window".into(),
        args: vec![col("ts"), lit("1 hour")],
    };
    let start = Expr::ScalarFunction {
        name: "date_format".into(),
        args: vec![window.field("start"), lit("yyyy-MM-dd'T'HH:mm:ss")],
    };
    let out = eval(start, &input);
    let out = out.as_string::<i32>();
    assert_eq!(out.value(0), "2017-09-17T12:00:00");
    assert!(out.is_null(1));
}
