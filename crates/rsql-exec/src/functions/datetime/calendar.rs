//! Calendar arithmetic on days since 1970-01-01 in the proleptic Gregorian calendar, with
//! integers only (no per-row chrono objects): the kernels behind `add_months`, `last_day`,
//! `months_between`, `next_day`, `trunc` and `make_date`. Results out of the `Date32` range
//! are `None` (NULL).

/// Microseconds in a day.
pub(super) const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Microseconds in a second.
pub(super) const MICROS_PER_SECOND: i64 = 1_000_000;

/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in a 400-year era.
const DAYS_PER_ERA: i64 = 146_097;

/// The `(year, month 1..=12, day 1..=31)` of `days` since 1970-01-01.
pub(super) fn civil(days: i32) -> (i64, u32, u32) {
    // Years counted from March, so the leap day ends the year.
    let z = i64::from(days) + EPOCH_SHIFT;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z - era * DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // `month` is 1..=12 and `day` 1..=31 by construction.
    (year, month as u32, day as u32)
}

/// Days since 1970-01-01 of a valid `year-month-day`; `None` outside the `Date32` range.
fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i32> {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i32::try_from(era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT).ok()
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `year-month-day` as days since 1970-01-01; `None` for an invalid date (`2023-02-29`,
/// month 13) or one out of range, as Spark's `make_date`.
pub(super) fn make_date(year: i64, month: i64, day: i64) -> Option<i32> {
    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    let day = u32::try_from(day).ok()?;
    // Years beyond ±10^7 are far outside Date32; bounding them keeps the arithmetic exact.
    if !(-10_000_000..=10_000_000).contains(&year) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    days_from_civil(year, month, day)
}

/// `days` moved by `months` months, the day clamped to the last day of the target month
/// (Spark's `add_months`: 2024-01-31 + 1 month is 2024-02-29).
pub(super) fn add_months(days: i32, months: i64) -> Option<i32> {
    let (year, month, day) = civil(days);
    let index = (year * 12 + i64::from(month) - 1).checked_add(months)?;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    make_date(
        year,
        i64::from(month),
        i64::from(day.min(days_in_month(year, month))),
    )
}

/// The last day of the month of `days`.
pub(super) fn last_day(days: i32) -> Option<i32> {
    let (year, month, _) = civil(days);
    days_from_civil(year, month, days_in_month(year, month))
}

/// The day of the week of `days`: 0 for Monday to 6 for Sunday (1970-01-01 was a Thursday).
pub(super) fn weekday(days: i32) -> u32 {
    (i64::from(days) + 3).rem_euclid(7) as u32
}

/// The weekday (0 = Monday) named by Spark's `next_day` spellings: `MO`, `MON`, `MONDAY`, ...
/// in any case.
pub(super) fn parse_weekday(name: &str) -> Option<u32> {
    const NAMES: [&str; 7] = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    let upper = name.trim().to_uppercase();
    let valid = |full: &str| upper == full || upper == full[..2] || upper == full[..3];
    NAMES.iter().position(|full| valid(full)).map(|i| i as u32)
}

/// The first date after `days` that falls on `weekday` (0 = Monday).
pub(super) fn next_day(days: i32, weekday_wanted: u32) -> Option<i32> {
    let ahead = (weekday_wanted + 7 - weekday(days)) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    days.checked_add(ahead as i32)
}

/// A calendar unit a date is truncated to (`trunc`, and `date_trunc`'s longer units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateUnit {
    /// January 1st.
    Year,
    /// The first day of the quarter.
    Quarter,
    /// The first day of the month.
    Month,
    /// The Monday of the week.
    Week,
}

impl DateUnit {
    /// The unit Spark's `trunc` knows by `name` (any case): `year`/`yyyy`/`yy`, `quarter`,
    /// `month`/`mon`/`mm`, `week`.
    pub(super) fn parse(name: &str) -> Option<DateUnit> {
        Some(match name.trim().to_lowercase().as_str() {
            "year" | "yyyy" | "yy" => DateUnit::Year,
            "quarter" => DateUnit::Quarter,
            "month" | "mon" | "mm" => DateUnit::Month,
            "week" => DateUnit::Week,
            _ => return None,
        })
    }

    /// The first day of the unit holding `days`.
    pub(super) fn truncate(self, days: i32) -> Option<i32> {
        let (year, month, _) = civil(days);
        match self {
            DateUnit::Year => days_from_civil(year, 1, 1),
            DateUnit::Quarter => days_from_civil(year, month - (month - 1) % 3, 1),
            DateUnit::Month => days_from_civil(year, month, 1),
            DateUnit::Week => days.checked_sub(weekday(days) as i32),
        }
    }
}

/// Spark's `months_between` of two wall-clock times (microseconds since 1970-01-01 00:00 of
/// the same zone): whole months when both fall on the same day of the month or both on the
/// last day of their months, else the month difference plus the difference of the times in
/// the month (day and whole seconds) over a 31-day month; rounded to 8 decimals if
/// `round_off`.
pub(super) fn months_between(local1: i64, local2: i64, round_off: bool) -> Option<f64> {
    let split = |local: i64| -> Option<(i32, i64)> {
        let days = i32::try_from(local.div_euclid(MICROS_PER_DAY)).ok()?;
        Some((days, local.rem_euclid(MICROS_PER_DAY) / MICROS_PER_SECOND))
    };
    let ((days1, seconds1), (days2, seconds2)) = (split(local1)?, split(local2)?);
    let ((year1, month1, day1), (year2, month2, day2)) = (civil(days1), civil(days2));
    let month_diff = (year1 - year2) * 12 + i64::from(month1) - i64::from(month2);
    let both_last = day1 == days_in_month(year1, month1) && day2 == days_in_month(year2, month2);
    if day1 == day2 || both_last {
        return Some(month_diff as f64);
    }
    let seconds_diff = (i64::from(day1) - i64::from(day2)) * 86_400 + seconds1 - seconds2;
    let diff = month_diff as f64 + seconds_diff as f64 / (31.0 * 86_400.0);
    Some(if round_off {
        (diff * 1e8).round() / 1e8
    } else {
        diff
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Days since 1970-01-01 worked out by hand: 2024-01-31 is 19753, 2024-02-29 is 19782,
    // 2023-02-28 is 19416, 2000-03-01 is 11017, 1969-12-31 is -1.

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(-1), (1969, 12, 31));
        assert_eq!(civil(19782), (2024, 2, 29));
        assert_eq!(civil(11017), (2000, 3, 1));
        assert_eq!(make_date(2024, 2, 29), Some(19782));
        assert_eq!(make_date(2023, 2, 29), None);
        assert_eq!(make_date(2023, 13, 1), None);
        assert_eq!(make_date(i64::MAX, 1, 1), None);
    }

    #[test]
    fn months_clamp_and_weeks_start_on_monday() {
        assert_eq!(add_months(19753, 1), Some(19782));
        assert_eq!(add_months(19782, -12), Some(19416));
        assert_eq!(add_months(19782, i64::MAX), None);
        assert_eq!(last_day(19753 + 1), Some(19782));
        // 1970-01-01 was a Thursday; the next Monday is 1970-01-05, the week's is 1969-12-29.
        assert_eq!(weekday(0), 3);
        assert_eq!(next_day(0, parse_weekday("mon").unwrap()), Some(4));
        assert_eq!(next_day(0, parse_weekday("TH").unwrap()), Some(7));
        assert_eq!(parse_weekday("Mondays"), None);
        assert_eq!(DateUnit::Week.truncate(0), Some(-3));
        assert_eq!(DateUnit::Quarter.truncate(19782), Some(19723));
    }

    #[test]
    fn months_between_follows_spark() {
        let day = |d: i64| d * MICROS_PER_DAY;
        // 2024-02-29 and 2024-01-31 are both month ends: exactly one month.
        assert_eq!(months_between(day(19782), day(19753), true), Some(1.0));
        // 2024-03-01 vs 2024-01-31: 2 months - 30 days / 31.
        let v = months_between(day(19783), day(19753), true).unwrap();
        assert_eq!(v, 1.03225806);
    }
}
