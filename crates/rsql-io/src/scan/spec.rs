//! A planned scan as plain data ([`ScanSpec`]): what another process needs to read exactly the
//! same files, row groups and columns, without listing the dataset or pruning it again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::{FilePart, ReadUnit, Scan};
use crate::dataset::{Dataset, DatasetInner, FileFormat, OpenFormat};
use crate::error::{IoError, Result};
use crate::listing::ListedFile;
use crate::location::Location;
use crate::metrics::MetricCounters;
use crate::parquet_read::ParquetFile;
use crate::partition::Partitioning;
use crate::s3::S3Bucket;
use crate::source::FileSource;

/// A [`Scan`] as serializable data: the format, the dataset's schema, the files its read units
/// read (and only those) and the units themselves. Partition pruning and row-group pruning are
/// already applied: they shaped the units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanSpec {
    /// Where the dataset was opened.
    pub locations: Vec<Location>,
    /// The files' format and its options.
    pub format: FileFormat,
    /// The dataset's data columns (what the files hold; missing ones read as nulls).
    #[serde(with = "crate::schema::ipc_schema")]
    pub data_schema: SchemaRef,
    /// The dataset's full schema: the data columns, then the hive partition columns.
    #[serde(with = "crate::schema::ipc_schema")]
    pub schema: SchemaRef,
    /// The files read, in listing order; [`FilePart::file`] indexes this list.
    pub files: Vec<FileSpec>,
    /// Indices into [`ScanSpec::schema`] of the columns produced.
    pub projection: Vec<usize>,
    /// The read units, one per task.
    pub units: Vec<ReadUnit>,
    /// The most rows per batch.
    pub batch_size: usize,
}

/// One data file of a [`ScanSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSpec {
    /// Where the file lives (an S3 object is reached with credentials from the environment).
    pub location: Location,
    /// Its size in bytes.
    pub size: u64,
    /// Its hive `key=value` directory segments, from which its partition values are read.
    pub partition_segments: Vec<(String, String)>,
}

impl Scan {
    /// The scan as plain data, with the files its units read renumbered in listing order.
    pub fn to_spec(&self) -> ScanSpec {
        let inner = self.inner();
        let used: BTreeSet<usize> = self
            .units
            .iter()
            .flat_map(|unit| unit.parts.iter().map(|part| part.file))
            .collect();
        let renumbered: HashMap<usize, usize> = used
            .iter()
            .enumerate()
            .map(|(new, &old)| (old, new))
            .collect();
        let files = used
            .iter()
            .map(|&file| FileSpec::from(&inner.files[file]))
            .collect();
        let units = self
            .units
            .iter()
            .map(|unit| ReadUnit {
                parts: unit
                    .parts
                    .iter()
                    .map(|part| FilePart {
                        file: renumbered[&part.file],
                        row_groups: part.row_groups.clone(),
                    })
                    .collect(),
            })
            .collect();
        ScanSpec {
            locations: inner.locations.clone(),
            format: match &inner.format {
                OpenFormat::Parquet(_) => FileFormat::Parquet,
                OpenFormat::Json(options) => FileFormat::Json(options.clone()),
                OpenFormat::Csv(options) => FileFormat::Csv(options.clone()),
            },
            data_schema: Arc::clone(&inner.data_schema),
            schema: Arc::clone(&inner.schema),
            files,
            projection: self.projection.clone(),
            units,
            batch_size: self.batch_size,
        }
    }

    /// Rebuilds a scan from its spec: reads the Parquet footers of its files (no listing, no
    /// pruning) and the partition values from their directory segments. Its counters start at
    /// zero.
    pub fn from_spec(spec: &ScanSpec) -> Result<Scan> {
        let invalid = |message: String| Err(IoError::Invalid(message));
        let fields = spec.schema.fields().len();
        if let Some(bad) = spec.projection.iter().find(|&&i| i >= fields) {
            return invalid(format!(
                "projection index {bad} out of range for {fields} columns"
            ));
        }
        let parts = spec.units.iter().flat_map(|unit| &unit.parts);
        if let Some(bad) = parts.clone().find(|part| part.file >= spec.files.len()) {
            return invalid(format!(
                "a read unit reads file {} of {}",
                bad.file,
                spec.files.len()
            ));
        }
        let files = listed_files(&spec.files)?;
        let data_columns = spec.data_schema.fields().len();
        let partition_fields = spec.schema.fields().get(data_columns..).unwrap_or_default();
        let partitioning =
            Partitioning::discover(&files, &partition_value_types(partition_fields))?;
        if !files.is_empty() && partitioning.fields() != partition_fields {
            return invalid(format!(
                "the files' partition directories do not match the partition columns [{}]",
                partition_fields
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let format = match &spec.format {
            FileFormat::Parquet => OpenFormat::Parquet(
                files
                    .iter()
                    .map(|file| {
                        let mut footer = ParquetFile::load(file)?;
                        footer.align_to(&spec.data_schema, &file.source.name())?;
                        Ok(footer)
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            FileFormat::Json(options) => OpenFormat::Json(options.clone()),
            FileFormat::Csv(options) => OpenFormat::Csv(options.clone()),
        };
        let schema = spec
            .schema
            .project(&spec.projection)
            .map_err(|e| IoError::Invalid(format!("bad projection: {e}")))?;
        Ok(Scan {
            dataset: Dataset {
                inner: Arc::new(DatasetInner {
                    locations: spec.locations.clone(),
                    files,
                    partitioning,
                    data_schema: Arc::clone(&spec.data_schema),
                    schema: Arc::clone(&spec.schema),
                    format,
                }),
            },
            projection: spec.projection.clone(),
            schema: Arc::new(schema),
            units: Arc::new(spec.units.clone()),
            batch_size: spec.batch_size.max(1),
            metrics: Arc::new(MetricCounters::default()),
        })
    }
}

impl From<&ListedFile> for FileSpec {
    fn from(file: &ListedFile) -> Self {
        FileSpec {
            location: match &file.source {
                FileSource::Local(path) => Location::Local(path.clone()),
                FileSource::S3 { bucket, key } => Location::S3 {
                    bucket: bucket.name().to_string(),
                    key: key.clone(),
                },
            },
            size: file.size,
            partition_segments: file.partition_segments.clone(),
        }
    }
}

/// The files of `specs`, with one S3 client per bucket.
fn listed_files(specs: &[FileSpec]) -> Result<Vec<ListedFile>> {
    let mut buckets: HashMap<&str, S3Bucket> = HashMap::new();
    specs
        .iter()
        .map(|spec| {
            let source = match &spec.location {
                Location::Local(path) => FileSource::Local(path.clone()),
                Location::S3 { bucket, key } => {
                    let client = match buckets.get(bucket.as_str()) {
                        Some(client) => client.clone(),
                        None => {
                            let client = S3Bucket::from_env(bucket)?;
                            buckets.insert(bucket, client.clone());
                            client
                        }
                    };
                    FileSource::S3 {
                        bucket: client,
                        key: key.clone(),
                    }
                }
            };
            Ok(ListedFile {
                source,
                size: spec.size,
                partition_segments: spec.partition_segments.clone(),
            })
        })
        .collect()
}

/// The value types of partition fields (typed `Dictionary(Int32, value type)`), as the
/// overrides [`Partitioning::discover`] takes.
fn partition_value_types(fields: &[FieldRef]) -> Schema {
    Schema::new(
        fields
            .iter()
            .map(|field| {
                let value_type = match field.data_type() {
                    DataType::Dictionary(_, value) => value.as_ref().clone(),
                    other => other.clone(),
                };
                Field::new(field.name(), value_type, true)
            })
            .collect::<Vec<_>>(),
    )
}
