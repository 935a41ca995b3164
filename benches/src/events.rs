//! The events dataset of the Spark-vs-Dask talk: page views partitioned by hour and customer.
//!
//! Layout: `<out>/year=2017/month=09/day=17/hour=HH/customer=C/part-NNNNN.<codec>.parquet` with
//! columns `url`, `referrer`, `session_id` (strings, dictionary-encoded) and `ts`
//! (`Timestamp(Microsecond, "UTC")`). Generation is deterministic in the seed and the
//! options, parallel across files, and streams each file in batches, so memory stays bounded
//! whatever the record count.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, DictionaryArray, Int32Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Binomial, Distribution};
use rayon::prelude::*;

/// Microseconds since the epoch of 2017-09-17T00:00:00Z.
const DAY_START_MICROS: i64 = 1_505_606_400_000_000;
/// The referrers of the talk's generator.
const REFERRERS: [&str; 3] = [
    "http://google.com/",
    "http://bing.com/",
    "http://facebook.com/",
];
/// Rows per batch handed to the Parquet writer.
const BATCH_ROWS: usize = 64 * 1024;
/// Rows per row group: small enough that a writer's buffered row group stays a few MB.
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// What to generate.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// Total number of records.
    pub records: u64,
    /// Target records per file; decides how many writer tasks (files per hour) there are.
    pub records_per_file: u64,
    /// Number of customers (`a.com`, `b.com`, ...).
    pub customers: usize,
    /// `None`: the 210 ordered 3-letter permutations of `abcdefg`; `Some(s)`: `s` distinct
    /// 16-hex-digit ids.
    pub sessions: Option<u64>,
    /// The Parquet codec.
    pub compression: Compression,
    /// The random seed.
    pub seed: u64,
    /// The dataset root.
    pub out: PathBuf,
}

impl EventsConfig {
    /// `max(1, records / records_per_file / 24)`.
    pub fn files_per_hour(&self) -> u64 {
        (self.records / self.records_per_file.max(1) / 24).max(1)
    }

    /// `ceil(records^(1/3))`: the number of distinct article urls per customer.
    pub fn articles(&self) -> u64 {
        let mut n = (self.records as f64).cbrt().floor() as u64;
        while n.saturating_pow(3) < self.records {
            n += 1;
        }
        n.max(1)
    }
}

/// The schema of every generated file.
pub fn events_schema(dictionary_sessions: bool) -> SchemaRef {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let session = if dictionary_sessions {
        dict.clone()
    } else {
        DataType::Utf8
    };
    Arc::new(Schema::new(vec![
        Field::new("url", dict.clone(), false),
        Field::new("referrer", dict, false),
        Field::new("session_id", session, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// The name of customer number `index`: `a.com`, `b.com`, ..., `z.com`, `aa.com`, ...
pub fn customer_name(index: usize) -> String {
    let mut name = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        name.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    name.reverse();
    format!("{}.com", String::from_utf8_lossy(&name))
}

/// The 210 ordered 3-letter permutations of `abcdefg`.
fn letter_sessions() -> Vec<String> {
    let letters = b"abcdefg";
    let mut out = Vec::with_capacity(210);
    for &a in letters {
        for &b in letters {
            for &c in letters {
                if a != b && b != c && a != c {
                    out.push(String::from_utf8_lossy(&[a, b, c]).into_owned());
                }
            }
        }
    }
    out
}

/// One output file: which writer task, hour and customer, and how many rows.
#[derive(Debug, Clone, Copy)]
struct FileJob {
    task: u64,
    hour: u32,
    customer: usize,
    rows: u64,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventsSummary {
    /// Files written.
    pub files: u64,
    /// Records written.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// A seed for one stream of random numbers, mixed from the user's seed and a stream id.
fn stream_seed(seed: u64, stream: &[u64]) -> u64 {
    // SplitMix64 finaliser over the ids: independent-looking seeds for neighbouring ids.
    stream.iter().fold(seed, |acc, &id| {
        let mut z = acc ^ id.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

/// Splits each writer task's records over the (hour, customer) folders, multinomially.
fn plan_files(config: &EventsConfig) -> Result<Vec<FileJob>> {
    let tasks = config.files_per_hour();
    let folders = 24 * config.customers.max(1);
    let mut jobs = Vec::with_capacity(tasks as usize * folders);
    for task in 0..tasks {
        let mut left = config.records / tasks + u64::from(task < config.records % tasks);
        let mut rng = SmallRng::seed_from_u64(stream_seed(config.seed, &[task]));
        for folder in 0..folders {
            let remaining = (folders - folder) as u64;
            let rows = if remaining == 1 {
                left
            } else {
                Binomial::new(left, 1.0 / remaining as f64)
                    .context("binomial split")?
                    .sample(&mut rng)
            };
            left -= rows;
            jobs.push(FileJob {
                task,
                hour: (folder / config.customers.max(1)) as u32,
                customer: folder % config.customers.max(1),
                rows,
            });
        }
    }
    Ok(jobs)
}

/// The file name extension of a codec, as Spark names it.
fn codec_extension(compression: Compression) -> &'static str {
    match compression {
        Compression::GZIP(_) => ".gz",
        Compression::SNAPPY => ".snappy",
        Compression::ZSTD(_) => ".zstd",
        Compression::LZ4 | Compression::LZ4_RAW => ".lz4",
        Compression::BROTLI(_) => ".br",
        _ => "",
    }
}

/// Generates the dataset described by `config`.
pub fn generate(config: &EventsConfig) -> Result<EventsSummary> {
    let jobs = plan_files(config)?;
    let shared = Shared::new(config);
    let results: Vec<Result<u64>> = jobs
        .par_iter()
        .filter(|job| job.rows > 0)
        .map(|job| write_file(config, &shared, job))
        .collect();
    let mut summary = EventsSummary::default();
    for (result, job) in results.into_iter().zip(jobs.iter().filter(|j| j.rows > 0)) {
        summary.bytes += result?;
        summary.files += 1;
        summary.records += job.rows;
    }
    Ok(summary)
}

/// Dictionaries shared by all files.
struct Shared {
    schema: SchemaRef,
    urls: Vec<ArrayRef>,
    referrers: ArrayRef,
    sessions: Option<ArrayRef>,
    articles: u64,
}

impl Shared {
    fn new(config: &EventsConfig) -> Self {
        let articles = config.articles();
        let urls = (0..config.customers.max(1))
            .map(|c| {
                let name = customer_name(c);
                let values: StringArray = (1..=articles)
                    .map(|n| Some(format!("http://{name}/articles/{n}")))
                    .collect();
                Arc::new(values) as ArrayRef
            })
            .collect();
        Shared {
            schema: events_schema(config.sessions.is_none()),
            urls,
            referrers: Arc::new(StringArray::from(REFERRERS.to_vec())),
            sessions: config
                .sessions
                .is_none()
                .then(|| Arc::new(StringArray::from(letter_sessions())) as ArrayRef),
            articles,
        }
    }
}

fn folder(out: &Path, job: &FileJob) -> PathBuf {
    out.join("year=2017")
        .join("month=09")
        .join("day=17")
        .join(format!("hour={:02}", job.hour))
        .join(format!("customer={}", customer_name(job.customer)))
}

/// Writes one file in batches; returns its size in bytes.
fn write_file(config: &EventsConfig, shared: &Shared, job: &FileJob) -> Result<u64> {
    let dir = folder(&config.out, job);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!(
        "part-{:05}{}.parquet",
        job.task,
        codec_extension(config.compression)
    ));
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let properties = WriterProperties::builder()
        .set_compression(config.compression)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(file, shared.schema.clone(), Some(properties))?;
    let mut rng = SmallRng::seed_from_u64(stream_seed(
        config.seed,
        &[job.task, u64::from(job.hour), job.customer as u64, u64::MAX],
    ));
    let hour_start = DAY_START_MICROS + i64::from(job.hour) * 3_600_000_000;
    let mut left = job.rows;
    while left > 0 {
        let rows = left.min(BATCH_ROWS as u64) as usize;
        left -= rows as u64;
        let batch = make_batch(config, shared, job.customer, hour_start, rows, &mut rng)?;
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(std::fs::metadata(&path)?.len())
}

fn make_batch(
    config: &EventsConfig,
    shared: &Shared,
    customer: usize,
    hour_start: i64,
    rows: usize,
    rng: &mut SmallRng,
) -> Result<RecordBatch> {
    let articles = shared.articles as i32;
    let url_keys = Int32Array::from_iter_values((0..rows).map(|_| rng.random_range(0..articles)));
    let referrer_keys = Int32Array::from_iter_values((0..rows).map(|_| rng.random_range(0..3)));
    let session: ArrayRef = match (&shared.sessions, config.sessions) {
        (Some(values), _) => {
            let keys = Int32Array::from_iter_values((0..rows).map(|_| rng.random_range(0..210)));
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values.clone())?)
        }
        (None, sessions) => {
            let count = sessions.unwrap_or(1).max(1);
            let ids: StringArray = (0..rows)
                .map(|_| {
                    let id = rng.random_range(0..count);
                    Some(format!("{:016x}", stream_seed(config.seed, &[id])))
                })
                .collect();
            Arc::new(ids)
        }
    };
    let ts = TimestampMicrosecondArray::from_iter_values(
        (0..rows).map(|_| hour_start + rng.random_range(0..60i64) * 60_000_000),
    )
    .with_timezone("UTC");
    Ok(RecordBatch::try_new(
        shared.schema.clone(),
        vec![
            Arc::new(DictionaryArray::<Int32Type>::try_new(
                url_keys,
                shared.urls[customer].clone(),
            )?),
            Arc::new(DictionaryArray::<Int32Type>::try_new(
                referrer_keys,
                shared.referrers.clone(),
            )?),
            session,
            Arc::new(ts),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_names_follow_spreadsheet_columns() {
        let names: Vec<String> = [0, 1, 25, 26, 27].into_iter().map(customer_name).collect();
        assert_eq!(names, ["a.com", "b.com", "z.com", "aa.com", "ab.com"]);
    }

    #[test]
    fn there_are_210_letter_sessions() {
        let sessions = letter_sessions();
        assert_eq!(sessions.len(), 210);
        assert_eq!(
            sessions
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            210
        );
    }

    #[test]
    fn articles_is_the_ceiling_cube_root() {
        let config = |records| EventsConfig {
            records,
            records_per_file: 2_000_000,
            customers: 1,
            sessions: None,
            compression: Compression::SNAPPY,
            seed: 1,
            out: PathBuf::new(),
        };
        assert_eq!(config(1000).articles(), 10);
        assert_eq!(config(1001).articles(), 11);
        assert_eq!(config(10_000_000).articles(), 216);
        assert_eq!(config(1_000_000_000).files_per_hour(), 20);
    }

    /// Every file below `root` with its bytes, by relative path.
    fn snapshot(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
        rsql_io::list_files(&root.into())
            .expect("list")
            .into_iter()
            .map(|file| {
                let name = file.source.name();
                let bytes = std::fs::read(&name).expect("read");
                (name[root.display().to_string().len()..].to_string(), bytes)
            })
            .collect()
    }

    #[test]
    fn generated_dataset_is_deterministic_and_reads_back_partitioned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = |out: PathBuf| EventsConfig {
            records: 5000,
            records_per_file: 100,
            customers: 2,
            sessions: None,
            compression: Compression::GZIP(Default::default()),
            seed: 3,
            out,
        };
        let first = config(dir.path().join("a"));
        let summary = generate(&first).expect("generate");
        generate(&config(dir.path().join("b"))).expect("generate again");
        assert_eq!(
            snapshot(&dir.path().join("a")),
            snapshot(&dir.path().join("b"))
        );
        assert_eq!((summary.records, summary.files), (5000, 2 * 24 * 2));

        let dataset =
            rsql_io::Dataset::open(first.out.as_path(), rsql_io::DatasetOptions::parquet())
                .expect("open");
        let names: Vec<&str> = dataset
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(
            names,
            [
                "url",
                "referrer",
                "session_id",
                "ts",
                "year",
                "month",
                "day",
                "hour",
                "customer"
            ]
        );
        let batches = dataset
            .scan(rsql_io::ScanOptions::default())
            .expect("scan")
            .collect()
            .expect("read");
        let mut rows = 0;
        for batch in &batches {
            rows += batch.num_rows();
            let text = |name: &str| {
                let column = batch.column_by_name(name).expect("column");
                arrow::compute::cast(column, &DataType::Utf8).expect("cast")
            };
            let (url, customer, month, hour, ts) = (
                text("url"),
                text("customer"),
                text("month"),
                text("hour"),
                text("ts"),
            );
            use arrow::array::AsArray;
            for row in 0..batch.num_rows() {
                let host = customer.as_string::<i32>().value(row);
                assert!(
                    url.as_string::<i32>()
                        .value(row)
                        .starts_with(&format!("http://{host}/articles/"))
                );
                assert_eq!(month.as_string::<i32>().value(row), "9");
                let hour = hour.as_string::<i32>().value(row);
                let stamp = ts.as_string::<i32>().value(row);
                assert!(
                    stamp.starts_with(&format!("2017-09-17T{hour:0>2}:")),
                    "{stamp} in hour {hour}"
                );
            }
        }
        assert_eq!(rows, 5000);
    }

    #[test]
    fn file_plan_covers_every_record_once() {
        let config = EventsConfig {
            records: 100_003,
            records_per_file: 1000,
            customers: 3,
            sessions: None,
            compression: Compression::SNAPPY,
            seed: 7,
            out: PathBuf::new(),
        };
        let jobs = plan_files(&config).expect("plan");
        assert_eq!(jobs.len(), 4 * 24 * 3);
        assert_eq!(jobs.iter().map(|j| j.rows).sum::<u64>(), 100_003);
    }
}
