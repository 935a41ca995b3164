//! The registry of session settings: one table of names, types, documentation and parsers
//! shared by `SET` / `RESET` / `SHOW`, [`Session::set`](crate::Session::set), the CLI's
//! `--set` flag and the generated `docs/reference/settings.md`.

use std::fmt::Write as _;

use crate::bytes::{format_bytes, format_memory_limit};
use rsql_plan::TimeZone;
use rsql_rdd::RandomFaults;

use crate::session::SessionConfig;

/// When a setting can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingScope {
    /// `SET` changes it for the following statements of the session.
    Session,
    /// Fixed when the session starts (the worker pool is built once): set it with the CLI
    /// flag or [`SessionConfig`].
    Startup,
}

/// One session setting.
#[derive(Debug)]
pub struct Setting {
    /// The name `SET` and `SHOW` use.
    pub name: &'static str,
    /// Other names accepted for it, such as Spark's configuration keys.
    pub aliases: &'static [&'static str],
    /// What values it takes, for the documentation.
    pub value_type: &'static str,
    /// One line of documentation.
    pub description: &'static str,
    /// The default, in words where it depends on the machine.
    pub default: &'static str,
    /// When it can change.
    pub scope: SettingScope,
    read: fn(&SessionConfig) -> String,
    write: fn(&mut SessionConfig, &str) -> Result<(), String>,
}

impl Setting {
    /// The setting's value in `config`, as `SHOW` prints it (and `SET` accepts it back).
    pub fn value(&self, config: &SessionConfig) -> String {
        (self.read)(config)
    }

    /// Parses `value` into `config`; the message says what the setting accepts.
    pub fn apply(&self, config: &mut SessionConfig, value: &str) -> Result<(), String> {
        (self.write)(config, value.trim())
            .map_err(|message| format!("invalid value '{value}' for {}: {message}", self.name))
    }

    fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// Every setting, in the order `SET` lists them.
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "memory_limit",
        aliases: &["max_memory"],
        value_type: "size (`512MB`, `4GiB`) or `none`",
        description: "Bytes that aggregations, sorts, joins and shuffles may hold at once before \
                      they spill to disk.",
        default: "80% of the memory of the machine or of the process's control group",
        scope: SettingScope::Session,
        read: |c| format_memory_limit(c.memory_limit),
        write: |c, v| {
            c.memory_limit = parse_memory_limit(v)?;
            Ok(())
        },
    },
    Setting {
        name: "shuffle_partitions",
        aliases: &["spark.sql.shuffle.partitions"],
        value_type: "integer ≥ 1",
        description: "Partitions after a shuffle (joins, aggregations, windows, sorts).",
        default: "four times `threads`",
        scope: SettingScope::Session,
        read: |c| c.shuffle_partitions.to_string(),
        write: |c, v| {
            c.shuffle_partitions = parse_positive(v)?;
            Ok(())
        },
    },
    Setting {
        name: "broadcast_threshold",
        aliases: &["spark.sql.autoBroadcastJoinThreshold"],
        value_type: "size, or -1 to never broadcast",
        description: "A join side whose input is at most this large is broadcast to every \
                      partition instead of shuffled.",
        default: "10 MiB",
        scope: SettingScope::Session,
        read: |c| format_bytes(c.broadcast_threshold),
        write: |c, v| {
            c.broadcast_threshold = if v == "-1" { 0 } else { parse_size(v)? };
            Ok(())
        },
    },
    Setting {
        name: "runtime_filters",
        aliases: &["spark.sql.optimizer.runtime.bloomFilter.enabled"],
        value_type: "`true` or `false`",
        description: "A shuffled join gathers its build side's keys into a Bloom filter and \
                      drops the probe rows without a match before shuffling them.",
        default: "true",
        scope: SettingScope::Session,
        read: |c| c.runtime_filters.to_string(),
        write: |c, v| {
            c.runtime_filters = parse_bool(v)?;
            Ok(())
        },
    },
    Setting {
        name: "max_partition_bytes",
        aliases: &["spark.sql.files.maxPartitionBytes"],
        value_type: "size ≥ 1 byte",
        description: "The most compressed file bytes one scan partition reads.",
        default: "128 MiB",
        scope: SettingScope::Session,
        read: |c| format_bytes(c.max_partition_bytes),
        write: |c, v| {
            match parse_size(v)? {
                0 => return Err("must be at least 1 byte".into()),
                bytes => c.max_partition_bytes = bytes,
            }
            Ok(())
        },
    },
    Setting {
        name: "excluded_rules",
        aliases: &["spark.sql.optimizer.excludedRules"],
        value_type: "comma-separated rule names",
        description: "Logical optimizer rules to skip, for isolating a rule while debugging a \
                      plan.",
        default: "none",
        scope: SettingScope::Session,
        read: |c| c.excluded_rules.join(","),
        write: |c, v| {
            c.excluded_rules = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            Ok(())
        },
    },
    Setting {
        name: "time_zone",
        aliases: &["spark.sql.session.timeZone", "TimeZone"],
        value_type: "IANA zone (`Europe/Paris`), offset (`+02:00`) or `LOCAL`",
        description: "The session time zone: timestamps are written as text, split into \
                      fields and dates and truncated in it, and text, dates and zone-less \
                      timestamps are read in it. `LOCAL` is the zone of the `TZ` environment \
                      variable, else UTC.",
        default: "UTC",
        scope: SettingScope::Session,
        read: |c| c.time_zone.clone(),
        write: |c, v| {
            c.time_zone = parse_time_zone(v)?;
            Ok(())
        },
    },
    Setting {
        name: "ansi_mode",
        aliases: &["spark.sql.ansi.enabled"],
        value_type: "`true` or `false`",
        description: "Spark's ANSI mode: integer and decimal overflow (in arithmetic, `sum` and \
                      `avg`), division by zero and a `CAST` that does not convert are errors \
                      instead of NULL or a wrapped integer; `TRY_CAST` is NULL either way. Off \
                      by default as in Spark 3, so that Spark 3 jobs keep their answers.",
        default: "false",
        scope: SettingScope::Session,
        read: |c| c.ansi_mode.to_string(),
        write: |c, v| {
            c.ansi_mode = parse_bool(v)?;
            Ok(())
        },
    },
    Setting {
        name: "statement_timeout",
        aliases: &[],
        value_type: "duration (`30s`, `5min`, `250ms`; a bare number is milliseconds) or `0`",
        description: "Cancels a statement still running after this long, with an error naming \
                      the setting; `0` is no timeout.",
        default: "0 (no timeout)",
        scope: SettingScope::Session,
        read: |c| {
            c.statement_timeout
                .map_or_else(|| "0".into(), crate::duration::format_duration)
        },
        write: |c, v| {
            c.statement_timeout = crate::duration::parse_timeout(v)?;
            Ok(())
        },
    },
    Setting {
        name: "fault_injection",
        aliases: &[],
        value_type: "`off`, or a probability in [0, 1] and an optional seed: `0.3` or `0.3,42`",
        description: "For testing recovery: each task attempt fails, each shuffle loses a map \
                      output and each cached partition is dropped with this probability, drawn \
                      reproducibly from the seed; retries and lineage heal them all (a task's \
                      last attempt never fails), so answers stay the same.",
        default: "off",
        scope: SettingScope::Session,
        read: |c| {
            c.fault_injection
                .map_or_else(|| "off".into(), |f| format!("{},{}", f.probability, f.seed))
        },
        write: |c, v| {
            c.fault_injection = parse_fault_injection(v)?;
            Ok(())
        },
    },
    Setting {
        name: "threads",
        aliases: &["worker_threads"],
        value_type: "integer ≥ 1",
        description: "Worker threads running tasks.",
        default: "the number of cores",
        scope: SettingScope::Startup,
        read: |c| c.threads.to_string(),
        write: |c, v| {
            c.threads = parse_positive(v)?;
            Ok(())
        },
    },
    Setting {
        name: "catalog",
        aliases: &["spark.sql.warehouse.dir"],
        value_type: "directory",
        description: "Where tables and views that outlive the session are kept (catalog.json \
                      and the files of managed tables).",
        default: "a temporary directory removed when the session ends",
        scope: SettingScope::Startup,
        read: |c| {
            c.catalog
                .as_ref()
                .map(|dir| dir.display().to_string())
                .unwrap_or_default()
        },
        write: |c, v| {
            if v.is_empty() {
                return Err("expected a directory".into());
            }
            c.catalog = Some(v.into());
            Ok(())
        },
    },
];

/// The setting called `name` (or one of its aliases; any case).
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.answers_to(name))
}

/// The error for a name no setting answers to, listing the settings.
pub(crate) fn unknown_setting(name: &str) -> String {
    let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    format!(
        "unknown setting '{name}'; the settings are {}",
        names.join(", ")
    )
}

/// Parses a byte size: `1048576`, `512MB`, `1.5 GiB` (decimal and binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    parse_size::Config::new()
        .parse_size(text.trim())
        .map_err(|e| format!("{e} (write a size such as 512MB or 2GiB)"))
}

/// Parses a memory limit: a size, or `none` (no limit).
pub fn parse_memory_limit(text: &str) -> Result<Option<usize>, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bytes = parse_size(text)?;
    if bytes == 0 {
        return Err("a memory limit must be above 0 bytes (or none)".into());
    }
    Ok(Some(usize::try_from(bytes).unwrap_or(usize::MAX)))
}

/// Checks a time zone name, resolving `LOCAL` to the zone of the `TZ` environment variable
/// (UTC when it is unset or not a zone name).
pub fn parse_time_zone(text: &str) -> Result<String, String> {
    if text.eq_ignore_ascii_case("local") {
        let local = std::env::var("TZ").unwrap_or_default();
        let local = local.trim_start_matches(':');
        return Ok(match TimeZone::parse(local) {
            Ok(zone) => zone.name().to_string(),
            Err(_) => "UTC".into(),
        });
    }
    let zone = TimeZone::parse(text).map_err(|e| e.to_string())?;
    Ok(zone.name().to_string())
}

/// Parses `off`, `P` or `P,SEED` into random faults of probability `P` (`0` is off).
fn parse_fault_injection(text: &str) -> Result<Option<RandomFaults>, String> {
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("false") {
        return Ok(None);
    }
    let (probability, seed) = text.split_once(',').unwrap_or((text, "0"));
    let probability = probability
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or("expected off, or a probability from 0 to 1 with an optional seed (0.3,42)")?;
    let seed = seed
        .trim()
        .parse::<u64>()
        .map_err(|_| "expected a whole number as the seed (0.3,42)")?;
    Ok((probability > 0.0).then_some(RandomFaults { probability, seed }))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" => Ok(true),
        "false" | "off" | "0" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".into()),
    }
}

/// `docs/reference/settings.md`: every setting with its names, values, default and
/// documentation.
pub fn settings_reference() -> String {
    let mut doc = String::from(
        "# Settings\n\n\
         <!-- Generated from the settings registry (`crates/rsql/src/settings.rs`) by \
         `rsql --dump-docs docs/reference`; a test fails when this file is stale. -->\n\n\
         Change a setting with `SET name = value` (or `rsql --set name=value`), restore it with \
         `RESET name` (`RESET ALL` for every one), and read it with `SHOW name`; `SET` alone \
         lists them all with their current values. Spark's configuration keys are accepted as \
         aliases.\n\n\
         | setting | values | default | changes | description |\n\
         |---|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let names = std::iter::once(s.name)
            .chain(s.aliases.iter().copied())
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join("<br>");
        let scope = match s.scope {
            SettingScope::Session => "`SET`",
            SettingScope::Startup => "at startup",
        };
        let _ = writeln!(
            doc,
            "| {names} | {} | {} | {scope} | {} |",
            s.value_type, s.default, s.description
        );
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve_in_any_case() {
        assert_eq!(
            setting("SHUFFLE_PARTITIONS").unwrap().name,
            "shuffle_partitions"
        );
        assert_eq!(
            setting("spark.sql.shuffle.partitions").unwrap().name,
            "shuffle_partitions"
        );
        assert!(setting("shuffle").is_none());
        assert!(unknown_setting("x").contains("memory_limit, shuffle_partitions"));
    }

    #[test]
    fn values_parse_and_print_back() {
        let mut config = SessionConfig::default();
        let limit = setting("memory_limit").unwrap();
        limit.apply(&mut config, "1GiB").unwrap();
        assert_eq!(config.memory_limit, Some(1 << 30));
        let shown = limit.value(&config);
        limit.apply(&mut config, &shown).unwrap();
        assert_eq!(config.memory_limit, Some(1 << 30));
        limit.apply(&mut config, "NONE").unwrap();
        assert_eq!(config.memory_limit, None);
        assert!(limit.apply(&mut config, "0").is_err());

        let broadcast = setting("spark.sql.autoBroadcastJoinThreshold").unwrap();
        broadcast.apply(&mut config, "-1").unwrap();
        assert_eq!(config.broadcast_threshold, 0);
        broadcast.apply(&mut config, "2MB").unwrap();
        assert_eq!(config.broadcast_threshold, 2_000_000);

        let partitions = setting("shuffle_partitions").unwrap();
        let err = partitions.apply(&mut config, "0").unwrap_err();
        assert_eq!(
            err,
            "invalid value '0' for shuffle_partitions: expected a whole number of at least 1"
        );
        setting("excluded_rules")
            .unwrap()
            .apply(&mut config, "push_down_filter, reorder_joins")
            .unwrap();
        assert_eq!(config.excluded_rules, ["push_down_filter", "reorder_joins"]);

        let zone = setting("spark.sql.session.timeZone").unwrap();
        zone.apply(&mut config, "Europe/Paris").unwrap();
        assert_eq!(config.time_zone, "Europe/Paris");
        zone.apply(&mut config, "+02:00").unwrap();
        assert_eq!(zone.value(&config), "+02:00");
        let err = zone.apply(&mut config, "Mars/Olympus").unwrap_err();
        assert!(
            err.starts_with(
                "invalid value 'Mars/Olympus' for time_zone: unknown time zone 'Mars/Olympus'"
            ),
            "{err}"
        );
        assert_eq!(config.time_zone, "+02:00");
    }

    #[test]
    fn documented_defaults_match_the_defaults() {
        let config = SessionConfig::default();
        for name in ["broadcast_threshold", "max_partition_bytes"] {
            let setting = setting(name).unwrap();
            assert_eq!(
                parse_size(setting.default),
                parse_size(&setting.value(&config)),
                "{name}"
            );
        }
        assert_eq!(setting("excluded_rules").unwrap().value(&config), "");
        assert_eq!(setting("time_zone").unwrap().value(&config), "UTC");
        assert_eq!(setting("fault_injection").unwrap().value(&config), "off");
        assert_eq!(config.shuffle_partitions, 4 * config.threads);
    }
}
