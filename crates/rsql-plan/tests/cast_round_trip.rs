//! Casts that round-trip in Spark round-trip in rsql: integers, doubles, decimals, booleans,
//! dates and timestamps to text and back; decimals through a wider decimal and back; dates
//! through instants and back in several session time zones; instants through seconds since
//! the epoch (a decimal, or a bigint for whole seconds). Values are random with the types'
//! boundaries (the smallest and largest integers, 38-digit decimals, year 1 and year 9999,
//! infinities, NaN and -0.0) and NULLs. Each cast runs in ANSI mode, so a value the cast could
//! not convert is an error, not a NULL that would compare equal.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Float32Type, Float64Type, TimeUnit};
use proptest::prelude::*;
use rsql_plan::TimeZone;
use rsql_plan::compute::{EvalMode, spark_cast};

/// 0001-01-01 and 9999-12-31 as days since 1970-01-01.
const FIRST_DAY: i32 = -719_162;
const LAST_DAY: i32 = 2_932_896;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Zones with daylight saving, midnight gaps (São Paulo until 2019), a half-hour offset and
/// local mean time before 1900 (an offset with seconds).
const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "+05:30",
];

/// `values` cast to `via` and back, in `zone`.
fn round_trip(values: &ArrayRef, via: &DataType, zone: &TimeZone) -> ArrayRef {
    let there = spark_cast(values, via, zone, EvalMode::Ansi)
        .unwrap_or_else(|e| panic!("{} to {via}: {e}", values.data_type()));
    spark_cast(&there, values.data_type(), zone, EvalMode::Ansi)
        .unwrap_or_else(|e| panic!("{via} back to {}: {e}", values.data_type()))
}

fn nullable<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![8 => value.prop_map(Some), 1 => Just(None)]
}

/// Random values of `value`, and the type's boundaries in `edges`.
fn column<T: std::fmt::Debug + Clone + 'static>(
    value: impl Strategy<Value = T> + Clone,
    edges: Vec<T>,
) -> impl Strategy<Value = Vec<Option<T>>> {
    let edge = prop::sample::select(edges);
    prop::collection::vec(nullable(prop_oneof![3 => value, 1 => edge]), 0..40)
}

fn text() -> DataType {
    DataType::Utf8
}

/// Floats compared by their bits, so NaN equals NaN and -0.0 differs from 0.0.
fn bits64(values: &ArrayRef) -> Vec<Option<u64>> {
    let values = values.as_primitive::<Float64Type>();
    values.iter().map(|v| v.map(f64::to_bits)).collect()
}

fn bits32(values: &ArrayRef) -> Vec<Option<u32>> {
    let values = values.as_primitive::<Float32Type>();
    values.iter().map(|v| v.map(f32::to_bits)).collect()
}

fn doubles() -> impl Strategy<Value = Vec<Option<f64>>> {
    let edges = vec![
        0.0,
        -0.0,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e7,
        1e-3,
        0.1,
    ];
    column(any::<f64>(), edges)
}

fn floats() -> impl Strategy<Value = Vec<Option<f32>>> {
    let edges = vec![0.0, -0.0, f32::MAX, f32::MIN_POSITIVE, f32::NAN, 1e7, 1e-3];
    column(any::<f32>(), edges)
}

/// A decimal type and values that fit it: any precision up to 38, any scale up to it.
fn decimals() -> impl Strategy<Value = (u8, i8, Vec<Option<i128>>)> {
    (1u8..=38)
        .prop_flat_map(|precision| (Just(precision), 0..=precision as i8))
        .prop_flat_map(|(precision, scale)| {
            let max = 10i128.pow(u32::from(precision)) - 1;
            (
                Just(precision),
                Just(scale),
                column(-max..=max, vec![max, -max, 0]),
            )
        })
}

fn decimal_array(precision: u8, scale: i8, values: &[Option<i128>]) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values.to_vec())
            .with_precision_and_scale(precision, scale)
            .unwrap(),
    )
}

fn days() -> impl Strategy<Value = Vec<Option<i32>>> {
    // Leap days and month ends are among the random days often enough over 27 centuries of
    // them; the first and last days, and 2000-02-29 and 1900-02-28, are added outright.
    column(
        FIRST_DAY..=LAST_DAY,
        vec![FIRST_DAY, LAST_DAY, 11_016, -25_510, 0],
    )
}

fn instants() -> impl Strategy<Value = Vec<Option<i64>>> {
    // A day inside years 1 to 9999, so that the wall clock is in them in every zone.
    let first = i64::from(FIRST_DAY + 1) * MICROS_PER_DAY;
    let last = i64::from(LAST_DAY) * MICROS_PER_DAY - 1;
    // Whole seconds half the time, so values without a fraction are common.
    let instant = prop_oneof![
        (first / 1_000_000..last / 1_000_000).prop_map(|s| s * 1_000_000),
        first..last,
    ];
    column(instant, vec![first, last, 0, -1])
}

fn instant_array(values: &[Option<i64>], zone: Option<&str>) -> ArrayRef {
    let array = TimestampMicrosecondArray::from(values.to_vec());
    Arc::new(match zone {
        Some(zone) => array.with_timezone(zone),
        None => array,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn integers_round_trip_through_text(
        tiny in column(any::<i8>(), vec![i8::MIN, i8::MAX]),
        small in column(any::<i16>(), vec![i16::MIN, i16::MAX]),
        int in column(any::<i32>(), vec![i32::MIN, i32::MAX, 0]),
        big in column(any::<i64>(), vec![i64::MIN, i64::MAX, 0]),
    ) {
        let utc = TimeZone::utc();
        let columns: [ArrayRef; 4] = [
            Arc::new(Int8Array::from(tiny)),
            Arc::new(Int16Array::from(small)),
            Arc::new(Int32Array::from(int)),
            Arc::new(Int64Array::from(big)),
        ];
        for values in &columns {
            let back = round_trip(values, &text(), &utc);
            prop_assert_eq!(back.as_ref(), values.as_ref());
        }
        // Narrower integers fit every wider one, and come back.
        let big: ArrayRef = columns[2].clone();
        let back = round_trip(&big, &DataType::Int64, &utc);
        prop_assert_eq!(back.as_ref(), big.as_ref());
        let back = round_trip(&big, &DataType::Decimal128(10, 0), &utc);
        prop_assert_eq!(back.as_ref(), big.as_ref());
    }

    #[test]
    fn floats_round_trip_through_text(doubles in doubles(), floats in floats()) {
        let utc = TimeZone::utc();
        let values: ArrayRef = Arc::new(Float64Array::from(doubles));
        prop_assert_eq!(bits64(&round_trip(&values, &text(), &utc)), bits64(&values));
        let values: ArrayRef = Arc::new(Float32Array::from(floats));
        prop_assert_eq!(bits32(&round_trip(&values, &text(), &utc)), bits32(&values));
        // Every float is a double.
        prop_assert_eq!(bits32(&round_trip(&values, &DataType::Float64, &utc)), bits32(&values));
    }

    #[test]
    fn decimals_round_trip_through_text_and_wider_decimals(
        (precision, scale, values) in decimals(),
        wider in 0u8..=38,
        more_scale in 0u8..=38,
    ) {
        let utc = TimeZone::utc();
        let values = decimal_array(precision, scale, &values);
        let back = round_trip(&values, &text(), &utc);
        prop_assert_eq!(back.as_ref(), values.as_ref());
        // A decimal with at least as many digits on each side of the point holds every value.
        let extra = wider.min(38 - precision);
        let more_scale = more_scale.min(extra);
        let via = DataType::Decimal128(precision + extra, scale + more_scale as i8);
        let back = round_trip(&values, &via, &utc);
        prop_assert_eq!(back.as_ref(), values.as_ref());
    }

    #[test]
    fn booleans_round_trip_through_text(values in column(any::<bool>(), vec![true, false])) {
        let values: ArrayRef = Arc::new(BooleanArray::from(values));
        let back = round_trip(&values, &text(), &TimeZone::utc());
        prop_assert_eq!(back.as_ref(), values.as_ref());
    }

    #[test]
    fn dates_and_timestamps_round_trip_in_every_zone(days in days(), instants in instants()) {
        let dates: ArrayRef = Arc::new(Date32Array::from(days));
        let zoned = instant_array(&instants, Some("UTC"));
        let wall_clock = instant_array(&instants, None);
        let instant_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        // Instants are seconds since the epoch as numbers: exactly as DECIMAL(38,6), and as a
        // BIGINT when they are whole seconds.
        let utc = TimeZone::utc();
        let back = round_trip(&zoned, &DataType::Decimal128(38, 6), &utc);
        prop_assert_eq!(back.as_ref(), zoned.as_ref());
        let whole: Vec<Option<i64>> =
            instants.iter().map(|t| t.map(|t| t - t.rem_euclid(1_000_000))).collect();
        let whole = instant_array(&whole, Some("UTC"));
        let back = round_trip(&whole, &DataType::Int64, &utc);
        prop_assert_eq!(back.as_ref(), whole.as_ref());
        let wall_clock_type = DataType::Timestamp(TimeUnit::Microsecond, None);
        for name in ZONES {
            let zone = TimeZone::parse(name).unwrap();
            let back = round_trip(&dates, &text(), &zone);
            prop_assert_eq!(back.as_ref(), dates.as_ref(), "date via text in {}", name);
            let back = round_trip(&dates, &instant_type, &zone);
            prop_assert_eq!(back.as_ref(), dates.as_ref(), "date via timestamp in {}", name);
            let back = round_trip(&dates, &wall_clock_type, &zone);
            prop_assert_eq!(back.as_ref(), dates.as_ref(), "date via timestamp_ntz in {}", name);
            let back = round_trip(&zoned, &text(), &zone);
            prop_assert_eq!(back.as_ref(), zoned.as_ref(), "timestamp via text in {}", name);
            let back = round_trip(&wall_clock, &text(), &zone);
            prop_assert_eq!(back.as_ref(), wall_clock.as_ref(), "timestamp_ntz via text in {}", name);
        }
    }
}
