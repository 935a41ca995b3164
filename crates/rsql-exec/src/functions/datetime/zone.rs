//! The one place where instants meet wall-clock time. A timestamp with a zone is read in that
//! zone; a timestamp without one, a date turned into a timestamp and text parsed without an
//! offset are read in the session zone, [`SESSION_TIME_ZONE`] (UTC until rsql has a session
//! setting; threading one through means building [`Zone::session`] from it).

use std::str::FromStr;

use arrow::array::timezone::Tz;
use arrow::datatypes::DataType;
use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use rsql_plan::function::SESSION_TIME_ZONE;

use crate::error::Result;

/// A time zone in which instants (microseconds since the epoch) have a wall-clock time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Zone {
    tz: Tz,
    /// Whether the zone is UTC, where wall-clock and instant microseconds are equal.
    utc: bool,
}

impl Zone {
    fn named(name: &str) -> Result<Zone> {
        Ok(Zone {
            tz: Tz::from_str(name)?,
            utc: matches!(name, "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC"),
        })
    }

    /// The session zone.
    pub(super) fn session() -> Result<Zone> {
        Zone::named(SESSION_TIME_ZONE)
    }

    /// The zone values of `data_type` are read in: a timestamp's own zone, else the session's.
    pub(super) fn of(data_type: &DataType) -> Result<Zone> {
        match data_type {
            DataType::Timestamp(_, Some(tz)) => Zone::named(tz),
            _ => Zone::session(),
        }
    }

    /// The wall-clock time of `instant`, as microseconds since 1970-01-01 00:00 of this zone.
    pub(super) fn local_micros(&self, instant: i64) -> Option<i64> {
        if self.utc {
            return Some(instant);
        }
        let offset = self.date_time(instant)?.offset().fix().local_minus_utc();
        instant.checked_add(i64::from(offset) * 1_000_000)
    }

    /// The instant whose wall-clock time is `local` (microseconds since 1970-01-01 00:00 of
    /// this zone); in a daylight-saving overlap the earlier, in a gap the time after it.
    pub(super) fn instant(&self, local: i64) -> Option<i64> {
        if self.utc {
            return Some(local);
        }
        let naive = DateTime::from_timestamp_micros(local)?.naive_utc();
        let offset = match self.tz.offset_from_local_datetime(&naive) {
            LocalResult::Single(offset) | LocalResult::Ambiguous(offset, _) => offset,
            LocalResult::None => self.tz.offset_from_utc_datetime(&naive),
        };
        local.checked_sub(i64::from(offset.fix().local_minus_utc()) * 1_000_000)
    }

    /// `instant` as a date and time in this zone, for formatting.
    pub(super) fn date_time(&self, instant: i64) -> Option<DateTime<Tz>> {
        let utc: NaiveDateTime = DateTime::from_timestamp_micros(instant)?.naive_utc();
        Some(self.tz.from_utc_datetime(&utc))
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::TimeUnit;

    use super::*;

    #[test]
    fn wall_clock_time_follows_the_zone() {
        let hour = 3_600_000_000;
        let utc = Zone::session().unwrap();
        assert_eq!(utc.local_micros(5), Some(5));
        let plus2 = Zone::of(&DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("+02:00".into()),
        ))
        .unwrap();
        assert_eq!(plus2.local_micros(0), Some(2 * hour));
        assert_eq!(plus2.instant(2 * hour), Some(0));
        assert!(Zone::named("Mars/Olympus").is_err());
    }
}
