//! The date arithmetic kernels (`add_months`, `date_add`, `date_sub`, `datediff`,
//! `months_between`, `last_day`), which work on day numbers with integer calendar arithmetic,
//! checked against a row-at-a-time reference written with chrono's calendar on random dates,
//! NULLs included; `hour`, `date_trunc` and `date_format` in a session time zone against
//! chrono-tz; and date and timestamp plus or minus an interval, and timestamp minus timestamp,
//! in UTC and in zones with daylight saving, against Java's `ZonedDateTime` rules (which
//! Spark's `timestampAddInterval` follows) written with chrono-tz.

use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{
    ArrayRef, AsArray, Date32Array, Int64Array, IntervalMonthDayNanoArray, RecordBatch,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Int32Type, IntervalMonthDayNano,
    IntervalMonthDayNanoType, IntervalUnit, Schema, TimeUnit, TimestampMicrosecondType,
};
use chrono::{
    Datelike, FixedOffset, LocalResult, Months, NaiveDate, NaiveDateTime, Offset, TimeZone as _,
    Timelike,
};
use datafusion_common::DFSchema;
use proptest::prelude::*;
use rsql_exec::expr::{
    ScalarFunctions, builtin_scalar_functions, create_physical_expr, evaluate_to_array,
};
use rsql_plan::{Expr, FunctionRegistry, Operator, TimeZone, col, lit};

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
    let expr = Expr::ScalarFunction {
        name: name.to_string(),
        args,
    };
    eval_in(&expr, batch, zone)
}

/// `expr` over `batch` in a session whose time zone is `zone`.
fn eval_in(expr: &Expr, batch: &RecordBatch, zone: &TimeZone) -> ArrayRef {
    let schema = DFSchema::try_from(batch.schema().as_ref().clone()).unwrap();
    let functions: ScalarFunctions = builtin_scalar_functions()
        .into_iter()
        .map(|f| (f.name().to_string(), f))
        .collect();
    let physical = create_physical_expr(
        expr,
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

        for (name, sign) in [("date_add", 1), ("date_sub", -1)] {
            let out = call(name, vec![col("d1"), col("n")], &input);
            let got: Vec<Option<i32>> = out.as_primitive::<Date32Type>().iter().collect();
            let want: Vec<Option<i32>> = rows
                .iter()
                .map(|r| Some(days(date(r.0?) + chrono::Duration::days(sign * r.2?))))
                .collect();
            prop_assert_eq!(got, want, "{}", name);
        }

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

/// One random row for interval arithmetic: an instant (microseconds since the epoch), a date
/// (days since the epoch) and an interval's months, days and microseconds.
type IntervalRow = (Option<i64>, Option<i32>, Option<(i32, i32, i64)>);

/// Instants from 1900 to 2100, or within three hours of a daylight-saving change in Paris or
/// New York (give or take whole days), where intervals land in gaps and overlaps.
fn interval_rows() -> impl Strategy<Value = Vec<IntervalRow>> {
    // 2024-03-31 01:00Z and 2024-10-27 01:00Z (Paris), 2024-03-10 07:00Z and 2024-11-03
    // 06:00Z (New York).
    let changes = prop::sample::select(vec![
        1_711_846_800i64,
        1_729_990_800,
        1_710_054_000,
        1_730_613_600,
    ]);
    let near_change = (changes, -3i64..3, -10_800i64..10_800)
        .prop_map(|(change, days, seconds)| (change + days * 86_400 + seconds) * 1_000_000);
    let anywhere = -2_208_988_800_000_000i64..4_102_444_800_000_000;
    let instant = prop_oneof![
        4 => anywhere.prop_map(Some),
        4 => near_change.prop_map(Some),
        1 => Just(None),
    ];
    let day = prop_oneof![8 => (-25_567i32..47_482).prop_map(Some), 1 => Just(None)];
    let parts = (
        -30i32..30,
        -400i32..400,
        -200_000_000_000i64..200_000_000_000,
    );
    let interval = prop_oneof![
        3 => parts.prop_map(Some),
        // Whole days, often without months, move a time near a change onto the change's day.
        2 => (prop_oneof![Just(0i32), -30i32..30], -3i32..4).prop_map(|(m, d)| Some((m, d, 0))),
        1 => Just(None),
    ];
    prop::collection::vec((instant, day, interval), 0..40)
}

fn interval_batch(rows: &[IntervalRow]) -> RecordBatch {
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let ntz = DataType::Timestamp(TimeUnit::Microsecond, None);
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", utc, true),
        Field::new("ntz", ntz, true),
        Field::new("d", DataType::Date32, true),
        Field::new("i", DataType::Interval(IntervalUnit::MonthDayNano), true),
    ]));
    let instants: TimestampMicrosecondArray = rows.iter().map(|r| r.0).collect();
    let intervals: IntervalMonthDayNanoArray = rows
        .iter()
        .map(|r| {
            r.2.map(|(m, d, us)| IntervalMonthDayNano::new(m, d, us * 1_000))
        })
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(instants.clone().with_timezone("UTC")),
        Arc::new(instants),
        Arc::new(rows.iter().map(|r| r.1).collect::<Date32Array>()),
        Arc::new(intervals),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

/// The instant whose wall-clock time in `tz` is `local`, as Java's `ZonedDateTime` resolves it:
/// in an overlap the instant with the offset `keep` if it is one of the two, else the earlier;
/// in a gap, the wall clock read with the offset in force before the gap (so 02:30 in a gap
/// from 02:00 to 03:00 is 03:30).
fn resolve(tz: &Tz, local: NaiveDateTime, keep: Option<FixedOffset>) -> chrono::DateTime<Tz> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(earlier, later) => {
            if Some(later.offset().fix()) == keep {
                later
            } else {
                earlier
            }
        }
        LocalResult::None => {
            let before = tz
                .offset_from_utc_datetime(&(local - chrono::Duration::hours(6)))
                .fix();
            let utc = local - chrono::Duration::seconds(i64::from(before.local_minus_utc()));
            tz.from_utc_datetime(&utc)
        }
    }
}

/// `t` plus `months`, then `days` on `tz`'s wall clock, each step resolved as Java's
/// `ZonedDateTime.plusMonths` and `plusDays` resolve it, then `micros` of elapsed time.
fn plus_interval(tz: &Tz, t: chrono::DateTime<Tz>, (months, days, micros): (i32, i32, i64)) -> i64 {
    let mut t = t;
    if months != 0 {
        let local = t.naive_local();
        let moved = if months > 0 {
            local.checked_add_months(Months::new(months.unsigned_abs()))
        } else {
            local.checked_sub_months(Months::new(months.unsigned_abs()))
        };
        t = resolve(tz, moved.unwrap(), Some(t.offset().fix()));
    }
    if days != 0 {
        let moved = t.naive_local() + chrono::Duration::days(i64::from(days));
        t = resolve(tz, moved, Some(t.offset().fix()));
    }
    t.timestamp_micros() + micros
}

fn negated((months, days, micros): (i32, i32, i64)) -> (i32, i32, i64) {
    (-months, -days, -micros)
}

fn timestamps(out: &ArrayRef) -> Vec<Option<i64>> {
    out.as_primitive::<TimestampMicrosecondType>()
        .iter()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn intervals_move_the_wall_clock_as_java_does(rows in interval_rows()) {
        let input = interval_batch(&rows);
        for name in ["UTC", "Europe/Paris", "America/New_York", "+05:30"] {
            let zone = TimeZone::parse(name).unwrap();
            let tz: Tz = name.parse().unwrap();
            let at = |instant: i64| {
                tz.from_utc_datetime(&chrono::DateTime::from_timestamp_micros(instant).unwrap().naive_utc())
            };
            for (op, sign) in [(Operator::Plus, false), (Operator::Minus, true)] {
                let signed = |i: (i32, i32, i64)| if sign { negated(i) } else { i };
                let expr = Expr::BinaryExpr {
                    left: Box::new(col("t")),
                    op,
                    right: Box::new(col("i")),
                };
                let got = timestamps(&eval_in(&expr, &input, &zone));
                let want: Vec<Option<i64>> = rows
                    .iter()
                    .map(|r| Some(plus_interval(&tz, at(r.0?), signed(r.2?))))
                    .collect();
                prop_assert_eq!(got, want, "t {:?} i in {}", op, name);

                // A zone-less timestamp moves on its own wall clock, whatever the session zone.
                let expr = Expr::BinaryExpr {
                    left: Box::new(col("ntz")),
                    op,
                    right: Box::new(col("i")),
                };
                let got = timestamps(&eval_in(&expr, &input, &zone));
                let utc: Tz = "UTC".parse().unwrap();
                let want: Vec<Option<i64>> = rows
                    .iter()
                    .map(|r| {
                        let t = utc.from_utc_datetime(
                            &chrono::DateTime::from_timestamp_micros(r.0?).unwrap().naive_utc(),
                        );
                        Some(plus_interval(&utc, t, signed(r.2?)))
                    })
                    .collect();
                prop_assert_eq!(got, want, "ntz {:?} i in {}", op, name);

                // A date moves from its midnight in the zone; without a sub-day part that is
                // the calendar's months and days (Spark's dateAddInterval).
                let expr = Expr::BinaryExpr {
                    left: Box::new(col("d")),
                    op,
                    right: Box::new(col("i")),
                };
                let out = eval_in(&expr, &input, &zone);
                let got: Vec<Option<i32>> = out.as_primitive::<Date32Type>().iter().collect();
                let want: Vec<Option<i32>> = rows
                    .iter()
                    .map(|r| {
                        let (months, day_count, micros) = signed(r.2?);
                        let start = date(r.1?);
                        if micros == 0 {
                            let moved = add_months(days(start), i64::from(months))?;
                            return Some(moved + day_count);
                        }
                        let midnight = resolve(&tz, start.and_hms_opt(0, 0, 0).unwrap(), None);
                        let moved = plus_interval(&tz, midnight, (months, day_count, micros));
                        Some(days(at(moved).date_naive()))
                    })
                    .collect();
                prop_assert_eq!(got, want, "d {:?} i in {}", op, name);
            }
        }
    }

    #[test]
    fn timestamps_differ_by_elapsed_time(rows in interval_rows(), shift in any::<u8>()) {
        let input = interval_batch(&rows);
        // Each instant against the one `shift` rows on, NULLs included.
        let others: Vec<Option<i64>> = (0..rows.len())
            .map(|k| rows[(k + usize::from(shift)) % rows.len()].0)
            .collect();
        let schema = Arc::new(Schema::new(vec![
            input.schema().field(0).clone(),
            Field::new("u", input.schema().field(0).data_type().clone(), true),
        ]));
        let u = TimestampMicrosecondArray::from(others.clone()).with_timezone("UTC");
        let input = RecordBatch::try_new(schema, vec![input.column(0).clone(), Arc::new(u)]).unwrap();
        let expr = Expr::BinaryExpr {
            left: Box::new(col("t")),
            op: Operator::Minus,
            right: Box::new(col("u")),
        };
        let zone = TimeZone::parse("Europe/Paris").unwrap();
        let out = eval_in(&expr, &input, &zone);
        let got: Vec<Option<IntervalMonthDayNano>> =
            out.as_primitive::<IntervalMonthDayNanoType>().iter().collect();
        let want: Vec<Option<IntervalMonthDayNano>> = rows
            .iter()
            .zip(&others)
            .map(|(r, u)| Some(IntervalMonthDayNano::new(0, 0, (r.0? - (*u)?) * 1_000)))
            .collect();
        prop_assert_eq!(got, want);
    }
}
