//! The fields `EXTRACT(field FROM x)` and `date_part('field', x)` take, with Spark's names,
//! synonyms and result types.

use arrow_schema::DataType;

/// A field of a date or timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    /// The calendar year, `INT`.
    Year,
    /// The quarter, 1 to 4, `INT`.
    Quarter,
    /// The month, 1 to 12, `INT`.
    Month,
    /// The ISO 8601 week of the year (weeks start on Monday; week 1 holds the year's first
    /// Thursday), `INT`.
    Week,
    /// The day of the month, `INT`.
    Day,
    /// The day of the week, 1 (Sunday) to 7 (Saturday), as Spark's `dayofweek` and `DOW`.
    DayOfWeek,
    /// The ISO day of the week, 1 (Monday) to 7 (Sunday), as Spark's `DOW_ISO`.
    DayOfWeekIso,
    /// The day of the year, 1 to 366, `INT`.
    DayOfYear,
    /// The hour, 0 to 23, `INT`.
    Hour,
    /// The minute, 0 to 59, `INT`.
    Minute,
    /// The second with its fraction, `DECIMAL(8, 6)`, as Spark.
    Second,
    /// Seconds since 1970-01-01 00:00:00 UTC with microseconds, `DECIMAL(20, 6)`, as Spark.
    Epoch,
}

impl DateField {
    /// Every field with the names it is written as (case-insensitive).
    pub const NAMES: &'static [(DateField, &'static [&'static str])] = &[
        (
            DateField::Year,
            &["year", "y", "years", "yr", "yrs", "yyyy"],
        ),
        (DateField::Quarter, &["quarter", "qtr"]),
        (DateField::Month, &["month", "mon", "mons", "months"]),
        (DateField::Week, &["week", "w", "weeks"]),
        (DateField::Day, &["day", "d", "days"]),
        (DateField::DayOfWeek, &["dayofweek", "dow"]),
        (
            DateField::DayOfWeekIso,
            &["dayofweek_iso", "dow_iso", "isodow"],
        ),
        (DateField::DayOfYear, &["doy", "dayofyear"]),
        (DateField::Hour, &["hour", "h", "hours", "hr", "hrs"]),
        (
            DateField::Minute,
            &["minute", "m", "min", "mins", "minutes"],
        ),
        (
            DateField::Second,
            &["second", "s", "sec", "seconds", "secs"],
        ),
        (DateField::Epoch, &["epoch"]),
    ];

    /// The field named `name` (any case), if there is one.
    pub fn parse(name: &str) -> Option<DateField> {
        let lower = name.trim().to_lowercase();
        DateField::NAMES
            .iter()
            .find(|(_, names)| names.contains(&lower.as_str()))
            .map(|(field, _)| *field)
    }

    /// The type of the field's value.
    pub fn data_type(self) -> DataType {
        match self {
            DateField::Second => DataType::Decimal128(8, 6),
            DateField::Epoch => DataType::Decimal128(20, 6),
            _ => DataType::Int32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_by_any_of_their_names() {
        assert_eq!(DateField::parse("YEAR"), Some(DateField::Year));
        assert_eq!(DateField::parse("dow"), Some(DateField::DayOfWeek));
        assert_eq!(DateField::parse("DayOfYear"), Some(DateField::DayOfYear));
        assert_eq!(DateField::parse("fortnight"), None);
        assert_eq!(DateField::Second.data_type(), DataType::Decimal128(8, 6));
        assert_eq!(DateField::Quarter.data_type(), DataType::Int32);
    }
}
