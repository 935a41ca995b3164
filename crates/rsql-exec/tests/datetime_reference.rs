//! The date arithmetic kernels (`add_months`, `datediff`, `months_between`, `last_day`), which
//! work on day numbers with integer calendar arithmetic, checked against a row-at-a-time
//! reference written with chrono's calendar on random dates, NULLs included; and `hour`,
//! `date_trunc` and `date_format` in a session time zone against chrono-tz.

use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{
    ArrayRef, AsArray, Date32Array, Int64Array, RecordBatch, TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Int32Type, Schema, TimeUnit, TimestampMicrosecondType,
};
use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeZone as _, Timelike};
use datafusion_common::DFSchema;
use proptest::prelude::*;
use rsql_exec::expr::{
    ScalarFunctions, builtin_scalar_functions, create_physical_expr, evaluate_to_array,
};
use rsql_plan::{Expr, FunctionRegistry, TimeZone, col, lit};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One random row: two dates (days since 1970-01-01, years 1697 to 2243), a month count and
/// a time of day for each date, in microseconds.
type Row = (Option<i32>, Option<i32>, Option<i64>, i64, i64);

fn rows() -> impl Strategy<Value = Vec<Row>> {
    let day = prop_oneof![8 => (-100_000i32..100_000).prop_map(Some), 1 => Just(None)];
    let months = prop_oneof![8 => (-2_400i64..2_400).prop_map(Some), 1 => Just(None)];
    let time = 0..MICROS_PER_DAY;
    prop::collection::vec((day.clone(), day, months, time.clone(), time), 0..50)
}

fn batch(rows: &[Row]) -> RecordBatch {
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("d1", DataType::Date32, true),
        Field::new("d2", DataType::Date32, true),
        Field::new("n", DataType::Int64, true),
        Field::new("t1", utc.clone(), true),
        Field::new("t2", utc, true),
    ]));
    let instant = |d: Option<i32>, time: i64| d.map(|d| i64::from(d) * MICROS_PER_DAY + time);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.0).collect::<Date32Array>()),
        Arc::new(rows.iter().map(|r| r.1).collect::<Date32Array>()),
        Arc::new(rows.iter().map(|r| r.2).collect::<Int64Array>()),
        Arc::new(
            rows.iter()
                .map(|r| instant(r.0, r.3))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        Arc::new(
            rows.iter()
                .map(|r| instant(r.1, r.4))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

fn call(name: &str, args: Vec<Expr>, batch: &RecordBatch) -> ArrayRef {
    call_in(name, args, batch, &TimeZone::utc())
}

/// `name(args)` over `batch` in a session whose time zone is `zone`.
fn call_in(name: &str, args: Vec<Expr>, batch: &RecordBatch, zone: &TimeZone) -> ArrayRef {
    let schema = DFSchema::try_from(batch.schema().as_ref().clone()).unwrap();
    let functions: ScalarFunctions = builtin_scalar_functions()
        .into_iter()
        .map(|f| (f.name().to_string(), f))
        .collect();
    let expr = Expr::ScalarFunction {
        name: name.to_string(),
        args,
    };
    let physical = create_physical_expr(
        &expr,
        &schema,
        &FunctionRegistry::new(),
        &functions,
        zone,
        rsql_plan::compute::EvalMode::Lenient,
    )
    .unwrap();
    evaluate_to_array(physical.as_ref(), batch).unwrap()
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
}

fn date(days: i32) -> NaiveDate {
    epoch() + chrono::Duration::days(i64::from(days))
}

fn days(date: NaiveDate) -> i32 {
    i32::try_from((date - epoch()).num_days()).unwrap()
}

fn add_months(d: i32, n: i64) -> Option<i32> {
    let months = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    let moved = if n >= 0 {
        date(d).checked_add_months(months)
    } else {
        date(d).checked_sub_months(months)
    };
    moved.map(days)
}

fn last_day(d: i32) -> i32 {
    let first = date(d).with_day(1).unwrap();
    days(
        first
            .checked_add_months(Months::new(1))
            .unwrap()
            .pred_opt()
            .unwrap(),
    )
}

fn is_last_day(t: NaiveDateTime) -> bool {
    t.date().succ_opt().unwrap().month() != t.month()
}

/// Spark's `DateTimeUtils.monthsBetween` with chrono's calendar.
fn months_between(t1: NaiveDateTime, t2: NaiveDateTime, round_off: bool) -> f64 {
    let months = (t1.year() - t2.year()) * 12 + t1.month() as i32 - t2.month() as i32;
    if t1.day() == t2.day() || (is_last_day(t1) && is_last_day(t2)) {
        return f64::from(months);
    }
    let in_month = |t: NaiveDateTime| {
        i64::from(t.day() - 1) * 86_400 + i64::from(t.num_seconds_from_midnight())
    };
    let diff = f64::from(months) + (in_month(t1) - in_month(t2)) as f64 / 2_678_400.0;
    if round_off {
        (diff * 1e8).round() / 1e8
    } else {
        diff
    }
}

fn time(d: i32, micros: i64) -> NaiveDateTime {
    date(d).and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::microseconds(micros)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn date_arithmetic_matches_chrono(rows in rows()) {
        let input = batch(&rows);

        let out = call("add_months", vec![col("d1"), col("n")], &input);
        let got: Vec<Option<i32>> = out.as_primitive::<Date32Type>().iter().collect();
        let want: Vec<Option<i32>> =
            rows.iter().map(|r| add_months(r.0?, r.2?)).collect();
        prop_assert_eq!(got, want);

        let out = call("datediff", vec![col("d1"), col("d2")], &input);
        let got: Vec<Option<i32>> = out.as_primitive::<Int32Type>().iter().collect();
        let want: Vec<Option<i32>> = rows
            .iter()
            .map(|r| Some(days(date(r.0?)) - days(date(r.1?))))
            .collect();
        prop_assert_eq!(got, want);

        let out = call("last_day", vec![col("d1")], &input);
        let got: Vec<Option<i32>> = out.as_primitive::<Date32Type>().iter().collect();
        let want: Vec<Option<i32>> = rows.iter().map(|r| Some(last_day(r.0?))).collect();
        prop_assert_eq!(got, want);

        for round_off in [true, false] {
            let out = call(
                "months_between",
                vec![col("t1"), col("t2"), lit(round_off)],
                &input,
            );
            let got: Vec<Option<f64>> = out.as_primitive::<Float64Type>().iter().collect();
            let want: Vec<Option<f64>> = rows
                .iter()
                .map(|r| Some(months_between(time(r.0?, r.3), time(r.1?, r.4), round_off)))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}

/// `t1` (an instant) as a date and time in `zone`, by chrono-tz.
fn in_zone(zone: &str, instant: i64) -> chrono::DateTime<Tz> {
    let tz: Tz = zone.parse().unwrap();
    tz.from_utc_datetime(
        &chrono::DateTime::from_timestamp_micros(instant)
            .unwrap()
            .naive_utc(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    // New York changes its clocks at 02:00, so local midnights always exist once.
    #[test]
    fn instants_are_read_in_the_session_zone(rows in rows()) {
        let input = batch(&rows);
        for name in ["America/New_York", "+05:30"] {
            let zone = TimeZone::parse(name).unwrap();
            let instants: Vec<Option<i64>> =
                rows.iter().map(|r| r.0.map(|d| i64::from(d) * MICROS_PER_DAY + r.3)).collect();

            let out = call_in("hour", vec![col("t1")], &input, &zone);
            let got: Vec<Option<i32>> = out.as_primitive::<Int32Type>().iter().collect();
            let want: Vec<Option<i32>> = instants
                .iter()
                .map(|t| Some(in_zone(name, (*t)?).hour() as i32))
                .collect();
            prop_assert_eq!(got, want, "hour in {}", name);

            let out = call_in("date_trunc", vec![lit("day"), col("t1")], &input, &zone);
            let got: Vec<Option<i64>> =
                out.as_primitive::<TimestampMicrosecondType>().iter().collect();
            let want: Vec<Option<i64>> = instants
                .iter()
                .map(|t| {
                    let local = in_zone(name, (*t)?);
                    let midnight = local.date_naive().and_hms_opt(0, 0, 0)?;
                    let start = local.timezone().from_local_datetime(&midnight).single()?;
                    Some(start.timestamp_micros())
                })
                .collect();
            prop_assert_eq!(got, want, "date_trunc in {}", name);

            let out = call_in("date_format", vec![col("t1"), lit("yyyy-MM-dd HH:mm:ss")], &input, &zone);
            let got: Vec<Option<String>> =
                out.as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect();
            let want: Vec<Option<String>> = instants
                .iter()
                .map(|t| Some(in_zone(name, (*t)?).format("%Y-%m-%d %H:%M:%S").to_string()))
                .collect();
            prop_assert_eq!(got, want, "date_format in {}", name);
        }
    }
}
