//! The command line: flags, their parsers, and the order in which `-c` and `-f` scripts run.

use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use rsql::settings::{self, Setting};

/// Examples shown at the end of `--help`.
const EXAMPLES: &str = "\
Examples:
  rsql -c \"SELECT customer, count(*) FROM 'events/' GROUP BY customer\"
  rsql --table events=data/events -f benches/events/job.sql --format ndjson --output out/
  rsql --table people=people.csv -c \"SELECT * FROM people ORDER BY age DESC\" --format csv
  rsql --table logs=logs/:json --threads 4 --memory-limit 2GB -c \"SELECT count(*) FROM logs\"
  echo \"SELECT 1 AS one;\" | rsql --format json
  rsql --table events=data/events          (no query: interactive; type .help)

Tables: NAME=PATH registers a Parquet file, a directory of Parquet files (hive folders such
as year=2017/ become columns), NDJSON (.json, .ndjson, .jsonl) or CSV (.csv, with a header);
append :parquet, :json or :csv to say which. Paths can also be queried directly:
SELECT * FROM 'events/'. CREATE [OR REPLACE] TEMP VIEW and COPY work as SQL statements.

Output: --output PATH ending in / (or an existing directory) writes a directory of part files
with _SUCCESS (csv, json, ndjson, parquet; json writes NDJSON parts); any other PATH is one
file, written to a temporary name and renamed when every statement succeeded.

Scripts given with -c or -f stop at the first error; SQL piped on stdin goes on after an
error, as the interactive shell does. The exit code is 0 on success, 1 when a query failed,
2 when the command line is wrong.";

/// rsql: SQL over Parquet, NDJSON and CSV files, run as partitioned stages on all cores.
#[derive(Debug, Parser)]
#[command(name = "rsql", version, about, after_help = EXAMPLES)]
pub struct Args {
    /// SQL to run; repeatable, and each may hold several statements separated by `;`.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// A file of SQL statements (and dot-commands) to run; repeatable.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Registers a table: NAME=PATH or NAME=PATH:FORMAT (FORMAT: parquet, json, csv);
    /// repeatable.
    #[arg(short = 't', long = "table", value_name = "NAME=PATH[:FORMAT]", value_parser = parse_table_spec)]
    pub tables: Vec<TableSpec>,

    /// How results are written.
    #[arg(long, value_enum, default_value_t = Format::Table, value_name = "FORMAT")]
    pub format: Format,

    /// Writes results to this file, or to this directory when PATH ends with `/`, instead of
    /// stdout.
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// The most rows `--format table` shows (the first and last ones); 0 shows all.
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub max_rows: usize,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Partitions after a shuffle (default: four per thread).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub partitions: Option<u32>,

    /// Memory that aggregations, sorts, join tables and shuffle outputs may hold at once
    /// before they spill to disk, e.g. 2GB, 512MiB, 1.5G (a plain number is bytes), or `none`;
    /// the default is a share of the machine's memory (`--help` says how much).
    #[arg(long, value_name = "SIZE|none", value_parser = parse_memory_limit, help = memory_limit_help())]
    pub memory_limit: Option<MemoryLimit>,

    /// The session time zone: an IANA name (Europe/Paris), an offset (+02:00) or LOCAL (the
    /// TZ environment variable's zone); timestamps are shown as text, split into fields and
    /// read from text in it [default: UTC].
    #[arg(long, value_name = "ZONE", value_parser = settings::parse_time_zone)]
    pub time_zone: Option<String>,

    /// Keeps tables and views created with CREATE TABLE / CREATE VIEW in this directory, so
    /// later runs see them (default: they last for this run only).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,

    /// Sets a session setting as `SET NAME = VALUE` does, before any statement runs (also
    /// the ones fixed at startup, such as threads); repeatable. `SET` in the shell lists them.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_setting)]
    pub settings: Vec<SettingArg>,

    /// Prints the run time of every statement on stderr (as `.timer on`).
    #[arg(long)]
    pub timer: bool,

    /// Writes the reference pages generated from the registries (functions.md, settings.md)
    /// into DIR and exits.
    #[arg(long, value_name = "DIR")]
    pub dump_docs: Option<PathBuf>,

    /// No progress bar (it is shown only when stderr is a terminal anyway).
    #[arg(short, long)]
    pub quiet: bool,
}

/// A `--table` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The name SQL refers to it by.
    pub name: String,
    /// The file, directory, glob or `s3://` URL.
    pub path: String,
    /// The format, when given with `:FORMAT`.
    pub format: Option<FileFormat>,
}

/// The format of a table's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON.
    Json,
    /// CSV with a header line.
    Csv,
}

impl FileFormat {
    /// The format a `:FORMAT` suffix or a file extension names.
    pub fn from_name(name: &str) -> Option<FileFormat> {
        match name.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Some(FileFormat::Parquet),
            "json" | "ndjson" | "jsonl" => Some(FileFormat::Json),
            "csv" => Some(FileFormat::Csv),
            _ => None,
        }
    }
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns with their types under the header and a row count.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// One JSON array of objects per result.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (needs --output).
    Parquet,
}

impl Format {
    /// The name used on the command line and by `.mode`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }

    /// The format called `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::from_str(name, true).ok()
    }
}

/// Parses `NAME=PATH` or `NAME=PATH:FORMAT`.
pub fn parse_table_spec(value: &str) -> Result<TableSpec, String> {
    let Some((name, rest)) = value.split_once('=') else {
        return Err("expected NAME=PATH or NAME=PATH:FORMAT".into());
    };
    let name = name.trim();
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!(
            "'{name}' is not a table name (letters, digits and _, not starting with a digit)"
        ));
    }
    let (path, format) = match rest.rsplit_once(':') {
        Some((path, suffix)) if !path.is_empty() => match FileFormat::from_name(suffix) {
            Some(format) => (path, Some(format)),
            // `s3://...` and other colons belong to the path.
            None if suffix.contains('/') => (rest, None),
            None => {
                return Err(format!(
                    "unknown format '{suffix}' (expected parquet, json or csv)"
                ));
            }
        },
        _ => (rest, None),
    };
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    Ok(TableSpec {
        name: name.to_string(),
        path: path.to_string(),
        format,
    })
}

/// A `--memory-limit` argument: at most this many bytes, or `None` for `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit(pub Option<usize>);

/// A `--set NAME=VALUE` argument: a session setting and its value, checked when parsed.
#[derive(Debug, Clone)]
pub struct SettingArg {
    /// The setting.
    pub setting: &'static Setting,
    /// Its value, as `SET` takes it.
    pub value: String,
}

/// Parses `NAME=VALUE` for a setting of the registry, checking the value too.
pub fn parse_setting(text: &str) -> Result<SettingArg, String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got '{text}'"))?;
    let setting = settings::setting(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = settings::SETTINGS.iter().map(|s| s.name).collect();
        format!(
            "unknown setting '{}'; the settings are {}",
            name.trim(),
            names.join(", ")
        )
    })?;
    setting.apply(&mut rsql::SessionConfig::default(), value)?;
    Ok(SettingArg {
        setting,
        value: value.to_string(),
    })
}

/// The `--help` line of `--memory-limit`, with the default this machine gets.
fn memory_limit_help() -> String {
    format!(
        "Memory that aggregations, sorts, join tables and shuffle outputs may hold at once before \
         they spill to disk, e.g. 2GB, 512MiB, 1.5G (a plain number is bytes), or `none` \
         [default: {:.0}% of the memory this machine or its cgroup allows: {}]",
        rsql_rdd::DEFAULT_MEMORY_FRACTION * 100.0,
        rsql::format_memory_limit(rsql_rdd::default_memory_limit())
    )
}

/// Parses `none` or a size such as `2GB` (10^9 bytes), `512MiB` (2^20 bytes), `1.5G` or
/// `1048576`.
pub fn parse_memory_limit(value: &str) -> Result<MemoryLimit, String> {
    settings::parse_memory_limit(value).map(MemoryLimit)
}

/// Where a script comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptSource {
    /// The text of a `-c`.
    Command(String),
    /// The path of a `-f`.
    File(PathBuf),
}

/// The parsed command line.
#[derive(Debug)]
pub struct Invocation {
    /// The flags.
    pub args: Args,
    /// The `-c` and `-f` scripts in the order they were given.
    pub scripts: Vec<ScriptSource>,
}

impl Invocation {
    /// Parses the process's arguments; exits (code 2) with clap's message on a usage error.
    pub fn from_env() -> Invocation {
        Invocation::try_parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    /// Parses `argv` (the program name first).
    pub fn try_parse_from<I, T>(argv: I) -> Result<Invocation, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Args::command().try_get_matches_from(argv)?;
        Invocation::from_matches(&matches)
    }

    fn from_matches(matches: &ArgMatches) -> Result<Invocation, clap::Error> {
        let args = Args::from_arg_matches(matches)?;
        let commands = matches
            .indices_of("commands")
            .into_iter()
            .flatten()
            .zip(args.commands.iter().cloned().map(ScriptSource::Command));
        let files = matches
            .indices_of("files")
            .into_iter()
            .flatten()
            .zip(args.files.iter().cloned().map(ScriptSource::File));
        let mut ordered: Vec<(usize, ScriptSource)> = commands.chain(files).collect();
        ordered.sort_by_key(|(index, _)| *index);
        let scripts = ordered.into_iter().map(|(_, script)| script).collect();
        Ok(Invocation { args, scripts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_specs() {
        assert_eq!(
            parse_table_spec("events=data/events/").unwrap(),
            TableSpec {
                name: "events".into(),
                path: "data/events/".into(),
                format: None
            }
        );
        let forced = parse_table_spec("logs=logs/2024:json").unwrap();
        assert_eq!(
            (forced.path.as_str(), forced.format),
            ("logs/2024", Some(FileFormat::Json))
        );
        let s3 = parse_table_spec("t=s3://bucket/prefix/").unwrap();
        assert_eq!((s3.path.as_str(), s3.format), ("s3://bucket/prefix/", None));
        let s3_csv = parse_table_spec("t=s3://bucket/x.txt:csv").unwrap();
        assert_eq!(s3_csv.path, "s3://bucket/x.txt");
        assert!(parse_table_spec("no-equals").is_err());
        assert!(parse_table_spec("1t=x").is_err());
        assert!(parse_table_spec("t=").is_err());
        assert!(
            parse_table_spec("t=x:xml")
                .unwrap_err()
                .contains("unknown format 'xml'")
        );
    }

    #[test]
    fn memory_sizes() {
        let bytes = |text| parse_memory_limit(text).map(|limit| limit.0);
        assert_eq!(bytes("2GB"), Ok(Some(2_000_000_000)));
        assert_eq!(bytes("512MiB"), Ok(Some(512 << 20)));
        assert_eq!(bytes("1.5G"), Ok(Some(1_500_000_000)));
        assert_eq!(bytes("1048576"), Ok(Some(1 << 20)));
        assert_eq!(bytes("none"), Ok(None));
        assert!(bytes("lots").is_err());
        assert!(bytes("0").is_err());
    }

    #[test]
    fn settings_are_checked_when_parsed() {
        let arg = parse_setting("spark.sql.shuffle.partitions=12").unwrap();
        assert_eq!(
            (arg.setting.name, arg.value.as_str()),
            ("shuffle_partitions", "12")
        );
        assert!(
            parse_setting("shuffle_partitions")
                .unwrap_err()
                .contains("NAME=VALUE")
        );
        assert!(
            parse_setting("nope=1")
                .unwrap_err()
                .contains("unknown setting 'nope'")
        );
        assert!(
            parse_setting("memory_limit=lots")
                .unwrap_err()
                .contains("invalid value 'lots' for memory_limit")
        );
    }

    #[test]
    fn scripts_keep_their_command_line_order() {
        let invocation =
            Invocation::try_parse_from(["rsql", "-f", "a.sql", "-c", "SELECT 1", "-f", "b.sql"])
                .unwrap();
        assert_eq!(
            invocation.scripts,
            vec![
                ScriptSource::File("a.sql".into()),
                ScriptSource::Command("SELECT 1".into()),
                ScriptSource::File("b.sql".into()),
            ]
        );
    }

    #[test]
    fn bad_numbers_are_usage_errors() {
        let error = Invocation::try_parse_from(["rsql", "--threads", "0"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        let error = Invocation::try_parse_from(["rsql", "--memory-limit", "x"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }
}
