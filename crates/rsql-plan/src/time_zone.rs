//! The session time zone (Spark's `spark.sql.session.timeZone`): the one place where instants
//! meet wall-clock time.
//!
//! Timestamps with a zone (`TIMESTAMP`, Arrow `Timestamp(µs, "UTC")`) are instants; the session
//! zone says how they are rendered as text, split into fields (`hour`, `EXTRACT`), truncated
//! (`date_trunc`) and turned into dates, and in which zone text without an offset, dates and
//! zone-less timestamps (`TIMESTAMP_NTZ`) are read when they become instants. The zone named
//! in an Arrow timestamp type does not change this, as in Spark.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::timezone::Tz;
use chrono::{DateTime, Days, LocalResult, Offset, TimeZone as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{PlanError, Result};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// A time zone in which instants (microseconds since the epoch) have a wall-clock time: an
/// IANA name (`Europe/Paris`) or a fixed offset (`+02:00`).
#[derive(Clone)]
pub struct TimeZone {
    /// The name as given, which `SHOW time_zone` prints.
    name: Arc<str>,
    tz: Tz,
    /// Whether wall-clock and instant microseconds are always equal (UTC or a zero offset).
    utc: bool,
}

impl TimeZone {
    /// UTC, the default session zone.
    pub fn utc() -> TimeZone {
        TimeZone {
            name: Arc::from("UTC"),
            tz: Tz::from_str("UTC").unwrap_or_else(|_| unreachable!("UTC is a time zone")),
            utc: true,
        }
    }

    /// The zone called `name`: an IANA name (`Europe/Paris`, `UTC`) or an offset (`+02:00`,
    /// `-0530`, `+01`); an error naming it otherwise.
    pub fn parse(name: &str) -> Result<TimeZone> {
        let name = name.trim();
        let tz = Tz::from_str(name).map_err(|_| {
            PlanError::invalid(format!(
                "unknown time zone '{name}' (use a region such as Europe/Paris, UTC or an \
                 offset such as +02:00)"
            ))
        })?;
        let utc = matches!(
            name,
            "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "+00:00" | "+0000" | "+00"
        );
        Ok(TimeZone {
            name: Arc::from(name),
            tz,
            utc,
        })
    }

    /// The zone's name as it was given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether wall-clock time is always the instant's UTC time in this zone.
    pub fn is_utc(&self) -> bool {
        self.utc
    }

    /// The wall-clock time of `instant`, as microseconds since 1970-01-01 00:00 of this zone.
    pub fn local_micros(&self, instant: i64) -> Option<i64> {
        if self.utc {
            return Some(instant);
        }
        let offset = self.date_time(instant)?.offset().fix().local_minus_utc();
        instant.checked_add(i64::from(offset) * MICROS_PER_SECOND)
    }

    /// The instant whose wall-clock time is `local` (microseconds since 1970-01-01 00:00 of
    /// this zone), as Spark resolves it: in a daylight-saving overlap the earlier instant; in
    /// a gap the wall-clock time moved forward by the gap's length (02:30 in a gap from 02:00
    /// to 03:00 is 03:30).
    pub fn instant(&self, local: i64) -> Option<i64> {
        if self.utc {
            return Some(local);
        }
        let naive = DateTime::from_timestamp_micros(local)?.naive_utc();
        let offset = match self.tz.offset_from_local_datetime(&naive) {
            LocalResult::Single(offset) | LocalResult::Ambiguous(offset, _) => offset,
            // The offset in force before the gap: that of a day earlier.
            LocalResult::None => self
                .tz
                .offset_from_utc_datetime(&naive.checked_sub_days(Days::new(1))?),
        };
        local.checked_sub(i64::from(offset.fix().local_minus_utc()) * MICROS_PER_SECOND)
    }

    /// The instant whose wall-clock time is `local`, keeping the offset the instant `near` has
    /// when that offset fits (as Java's `ZonedDateTime.truncatedTo`, which Spark's `date_trunc`
    /// uses: 02:30 in the second pass through a daylight-saving overlap truncates to the
    /// second 02:00); otherwise as [`TimeZone::instant`].
    pub fn instant_near(&self, local: i64, near: i64) -> Option<i64> {
        let offset = self.local_micros(near)? - near;
        let same_offset = local.checked_sub(offset)?;
        if self.local_micros(same_offset) == Some(local) {
            Some(same_offset)
        } else {
            self.instant(local)
        }
    }

    /// `instant` as a date and time in this zone, for formatting.
    pub fn date_time(&self, instant: i64) -> Option<DateTime<Tz>> {
        let utc = DateTime::from_timestamp_micros(instant)?.naive_utc();
        Some(self.tz.from_utc_datetime(&utc))
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::utc()
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.name)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        TimeZone::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;

    const HOUR: i64 = 3_600 * MICROS_PER_SECOND;

    /// Microseconds since the epoch of a UTC date and time.
    fn micros(text: &str) -> i64 {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn offsets_and_regions_parse_and_unknown_names_are_refused() {
        let plus2 = TimeZone::parse("+02:00").unwrap();
        assert_eq!(plus2.local_micros(0), Some(2 * HOUR));
        assert_eq!(plus2.instant(2 * HOUR), Some(0));
        assert_eq!(TimeZone::utc().local_micros(5), Some(5));
        assert_eq!(
            TimeZone::parse("Europe/Paris").unwrap().name(),
            "Europe/Paris"
        );
        let err = TimeZone::parse("Mars/Olympus").unwrap_err().to_string();
        assert!(err.contains("unknown time zone 'Mars/Olympus'"), "{err}");
    }

    // Europe/Paris: CET (+01) until 2024-03-31 01:00 UTC, when 02:00 local became 03:00 CEST
    // (+02); back to CET at 2024-10-27 01:00 UTC, when 03:00 local became 02:00 again.
    #[test]
    fn daylight_saving_gaps_move_forward_and_overlaps_take_the_earlier_instant() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        assert_eq!(
            paris.local_micros(micros("2024-03-31 00:30")),
            Some(micros("2024-03-31 01:30"))
        );
        assert_eq!(
            paris.local_micros(micros("2024-03-31 01:30")),
            Some(micros("2024-03-31 03:30"))
        );
        // 02:30 does not exist: it is read as 03:30 CEST.
        assert_eq!(
            paris.instant(micros("2024-03-31 02:30")),
            Some(micros("2024-03-31 01:30"))
        );
        // 02:30 happens twice: the first one is 00:30 UTC (CEST).
        assert_eq!(
            paris.instant(micros("2024-10-27 02:30")),
            Some(micros("2024-10-27 00:30"))
        );
        assert_eq!(
            paris.instant(micros("2024-07-01 12:00")),
            Some(micros("2024-07-01 10:00"))
        );
        // 02:00 near 01:30 UTC (02:30 CET, the second pass) is the CET one.
        let second_pass = micros("2024-10-27 01:30");
        assert_eq!(
            paris.instant_near(micros("2024-10-27 02:00"), second_pass),
            Some(micros("2024-10-27 01:00"))
        );
        // 01:00 local on March 31st had offset +1, which 03:00 (CEST) does not.
        assert_eq!(
            paris.instant_near(micros("2024-03-31 03:00"), micros("2024-03-31 00:00")),
            Some(micros("2024-03-31 01:00"))
        );
    }

    #[test]
    fn zones_serialize_as_their_names() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let json = serde_json::to_string(&paris).unwrap();
        assert_eq!(json, "\"Europe/Paris\"");
        assert_eq!(serde_json::from_str::<TimeZone>(&json).unwrap(), paris);
        assert!(serde_json::from_str::<TimeZone>("\"Nowhere\"").is_err());
    }
}
