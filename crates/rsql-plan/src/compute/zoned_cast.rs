//! The casts the session time zone decides: between instants (timestamps with a zone) and
//! wall-clock values (text, dates, zone-less timestamps), as Spark's `Cast` with
//! `spark.sql.session.timeZone`. Instants are rendered, split into dates and turned into
//! `TIMESTAMP_NTZ` in the session zone; text without an offset, dates and `TIMESTAMP_NTZ`
//! values are read in it (see [`TimeZone::instant`] for daylight-saving gaps and overlaps).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, StringArray, TimestampMicrosecondArray};
use arrow::compute::cast;
use arrow::compute::kernels::cast_utils::string_to_datetime;
use arrow::datatypes::{DataType, Date32Type, TimeUnit, TimestampMicrosecondType};
use arrow::error::ArrowError;
use chrono::{DateTime, FixedOffset, Utc};

use crate::time_zone::TimeZone;

const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_MINUTE: i64 = 60_000_000;

/// `values` cast to `to` when the zone decides the result; `None` for every other cast.
pub(super) fn cast_in_zone(
    values: &ArrayRef,
    to: &DataType,
    zone: &TimeZone,
) -> Option<Result<ArrayRef, ArrowError>> {
    let from = values.data_type();
    let instant_from = matches!(from, DataType::Timestamp(_, Some(_)));
    let instant_to = matches!(to, DataType::Timestamp(_, Some(_)));
    let result = match (from, to) {
        (_, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) if instant_from => {
            render(values, to, zone)
        }
        (_, DataType::Date32) if instant_from => micros(values).map(|instants| {
            let days: Date32Array = instants.unary_opt::<_, Date32Type>(|t| {
                i32::try_from(zone.local_micros(t)?.div_euclid(MICROS_PER_DAY)).ok()
            });
            Arc::new(days) as ArrayRef
        }),
        (_, DataType::Timestamp(_, None)) if instant_from => micros(values).and_then(|instants| {
            let local: TimestampMicrosecondArray = instants.unary_opt(|t| zone.local_micros(t));
            retype(local, to)
        }),
        (DataType::Date32, _) if instant_to => {
            let days = values.as_primitive::<Date32Type>();
            let instants: TimestampMicrosecondArray =
                days.unary_opt(|d| zone.instant(i64::from(d).checked_mul(MICROS_PER_DAY)?));
            retype(instants, to)
        }
        (DataType::Timestamp(_, None), _) if instant_to => micros(values).and_then(|local| {
            let instants: TimestampMicrosecondArray = local.unary_opt(|t| zone.instant(t));
            retype(instants, to)
        }),
        _ => return None,
    };
    Some(result)
}

/// Text read as instants of the type `to` (a timestamp with a zone): ISO 8601 forms with or
/// without an offset (`2024-03-01 10:00:00`, `2024-03-01T10:00:00.5+01:00`, `2024-03-01`),
/// those without one read in `zone`; NULL for anything else.
pub(super) fn parse_instants(
    strings: impl Iterator<Item = Option<impl AsRef<str>>>,
    to: &DataType,
    zone: &TimeZone,
) -> Result<ArrayRef, ArrowError> {
    let instants: TimestampMicrosecondArray =
        strings.map(|s| parse_instant(s?.as_ref(), zone)).collect();
    retype(instants, to)
}

fn parse_instant(text: &str, zone: &TimeZone) -> Option<i64> {
    let as_utc = string_to_datetime(&Utc, text).ok()?;
    if zone.is_utc() {
        return Some(as_utc.timestamp_micros());
    }
    // Text naming its offset is the same instant whatever zone it is read in.
    let as_plus_one = string_to_datetime(&FixedOffset::east_opt(3_600)?, text).ok()?;
    if as_utc == as_plus_one {
        return Some(as_utc.timestamp_micros());
    }
    zone.instant(as_utc.naive_utc().and_utc().timestamp_micros())
}

/// Instants rendered as text in `zone` (Arrow's ISO 8601 form with the zone's offset).
fn render(values: &ArrayRef, to: &DataType, zone: &TimeZone) -> Result<ArrayRef, ArrowError> {
    let instants = micros(values)?;
    let text = cast(
        &instants.clone().with_timezone(zone.name()),
        &DataType::Utf8,
    )?;
    let text = with_whole_minute_offsets(text, &instants, zone);
    match to {
        DataType::Utf8 => Ok(text),
        other => cast(&text, other),
    }
}

/// `text` (the rendered `instants`) with the instants whose offset in `zone` has seconds
/// (local mean time, before about 1900), which Arrow prints rounded to the minute, printed as
/// their wall-clock time without an offset instead: that text reads back in the zone as the
/// same instant (Spark never prints an offset).
fn with_whole_minute_offsets(
    text: ArrayRef,
    instants: &TimestampMicrosecondArray,
    zone: &TimeZone,
) -> ArrayRef {
    let partial = |t: i64| {
        zone.local_micros(t)
            .is_some_and(|local| (local - t) % MICROS_PER_MINUTE != 0)
    };
    if zone.is_utc() || !instants.iter().flatten().any(partial) {
        return text;
    }
    let wall_clock = |t: i64| {
        let local = DateTime::from_timestamp_micros(zone.local_micros(t)?)?;
        Some(local.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string())
    };
    let rendered: StringArray = instants
        .iter()
        .zip(text.as_string::<i32>())
        .map(|(instant, text)| match instant {
            Some(t) if partial(t) => wall_clock(t),
            _ => text.map(str::to_string),
        })
        .collect();
    Arc::new(rendered)
}

/// The microseconds of a timestamp array, whatever its unit and zone.
fn micros(values: &ArrayRef) -> Result<TimestampMicrosecondArray, ArrowError> {
    // A cast between timestamps that ends without a zone keeps the numbers.
    let cast = cast(values, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    Ok(cast.as_primitive::<TimestampMicrosecondType>().clone())
}

/// Microsecond timestamps as the timestamp type `to` (its unit and zone; the numbers stay).
fn retype(values: TimestampMicrosecondArray, to: &DataType) -> Result<ArrayRef, ArrowError> {
    let DataType::Timestamp(unit, tz) = to else {
        return Err(ArrowError::CastError(format!("{to} is not a timestamp")));
    };
    let values: ArrayRef = Arc::new(values.with_timezone_opt(tz.clone()));
    match unit {
        TimeUnit::Microsecond => Ok(values),
        _ => cast(&values, to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-03-01T10:00:00Z.
    const TEN_UTC: i64 = 1_709_287_200_000_000;
    const HOUR: i64 = 3_600_000_000;

    fn instants(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values.to_vec()).with_timezone("UTC"))
    }

    fn utc_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    // Expected values by hand: Paris is UTC+1 in March before the 31st, +2 in July.
    #[test]
    fn instants_render_and_split_into_dates_in_the_zone() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let late = TEN_UTC + 13 * HOUR + HOUR / 2; // 23:30 UTC, 00:30 on March 2nd in Paris.
        let values = instants(&[Some(TEN_UTC), Some(late), None]);
        let text = cast_in_zone(&values, &DataType::Utf8, &paris)
            .unwrap()
            .unwrap();
        let text = text.as_string::<i32>();
        assert_eq!(text.value(0), "2024-03-01T11:00:00+01:00");
        assert_eq!(text.value(1), "2024-03-02T00:30:00+01:00");
        assert!(text.is_null(2));
        let dates = cast_in_zone(&values, &DataType::Date32, &paris)
            .unwrap()
            .unwrap();
        let dates = dates.as_primitive::<Date32Type>();
        assert_eq!((dates.value(0), dates.value(1)), (19783, 19784));
        let ntz = DataType::Timestamp(TimeUnit::Microsecond, None);
        let local = cast_in_zone(&values, &ntz, &paris).unwrap().unwrap();
        assert_eq!(
            local.as_primitive::<TimestampMicrosecondType>().value(0),
            TEN_UTC + HOUR
        );
    }

    // Paris kept local mean time (+00:09:21) until 1911: midnight on 1900-01-01 there was
    // 23:50:39 UTC the day before (-2 208 988 800 s - 561 s), by hand.
    #[test]
    fn offsets_with_seconds_render_as_wall_clock_time_that_reads_back() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let values = instants(&[Some(-2_208_989_361_000_000)]);
        let text = cast_in_zone(&values, &DataType::Utf8, &paris)
            .unwrap()
            .unwrap();
        assert_eq!(text.as_string::<i32>().value(0), "1900-01-01T00:00:00");
        let strings = text.as_string::<i32>().iter();
        let back = parse_instants(strings, &utc_type(), &paris).unwrap();
        assert_eq!(back.as_ref(), values.as_ref());
    }

    #[test]
    fn text_without_an_offset_is_read_in_the_zone() {
        let plus2 = TimeZone::parse("+02:00").unwrap();
        let text = [
            Some("2024-03-01 12:00:00"),
            Some("2024-03-01T10:00:00Z"),
            Some("2024-03-01 11:00:00+01:00"),
            Some("2024-03-01"),
            Some("nonsense"),
            None,
        ];
        let parsed = parse_instants(text.into_iter(), &utc_type(), &plus2).unwrap();
        let parsed = parsed.as_primitive::<TimestampMicrosecondType>();
        let expected = [
            Some(TEN_UTC),
            Some(TEN_UTC),
            Some(TEN_UTC),
            Some(TEN_UTC - 12 * HOUR),
            None,
            None,
        ];
        assert_eq!(parsed.iter().collect::<Vec<_>>(), expected);
        assert_eq!(parsed.timezone(), Some("UTC"));
    }

    #[test]
    fn dates_and_wall_clock_times_become_instants_in_the_zone() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(19783), None]));
        let out = cast_in_zone(&dates, &utc_type(), &paris).unwrap().unwrap();
        let out = out.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(out.value(0), TEN_UTC - 11 * HOUR);
        assert!(out.is_null(1));
        let wall: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![TEN_UTC]));
        let out = cast_in_zone(&wall, &utc_type(), &paris).unwrap().unwrap();
        assert_eq!(
            out.as_primitive::<TimestampMicrosecondType>().value(0),
            TEN_UTC - HOUR
        );
        let numbers: ArrayRef = Arc::new(StringArray::from(vec!["1"]));
        assert!(cast_in_zone(&numbers, &DataType::Int64, &paris).is_none());
    }
}
