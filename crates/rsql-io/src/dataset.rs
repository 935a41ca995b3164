//! A dataset: the listed files of one location, their merged schema and partition columns.

use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};

use crate::csv_read::{self, CsvOptions};
use crate::error::{IoError, Result};
use crate::json_read::{self, JsonOptions};
use crate::listing::{ListedFile, list_files};
use crate::location::Location;
use crate::parquet_read::{self, ParquetFile};
use crate::partition::Partitioning;
use crate::scan::{Scan, ScanOptions};

/// The format of a dataset's files and its format-specific options.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON.
    Json(JsonOptions),
    /// Comma- (or otherwise) separated values.
    Csv(CsvOptions),
}

/// How to open a dataset.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// The file format.
    pub format: FileFormat,
    /// An explicit schema. Fields named like partition columns set those columns' value types;
    /// the other fields, when present, replace the data schema otherwise inferred or merged.
    pub schema: Option<SchemaRef>,
    /// Whether `key=value` directories become partition columns (the default).
    pub hive_partitioning: bool,
}

impl DatasetOptions {
    /// Parquet files with their merged schema.
    pub fn parquet() -> Self {
        Self::new(FileFormat::Parquet)
    }

    /// NDJSON files with default options.
    pub fn json() -> Self {
        Self::new(FileFormat::Json(JsonOptions::default()))
    }

    /// CSV files with default options.
    pub fn csv() -> Self {
        Self::new(FileFormat::Csv(CsvOptions::default()))
    }

    /// Files of `format` with an inferred schema.
    pub fn new(format: FileFormat) -> Self {
        DatasetOptions {
            format,
            schema: None,
            hive_partitioning: true,
        }
    }

    /// Sets an explicit schema (see [`DatasetOptions::schema`]).
    pub fn with_schema(mut self, schema: SchemaRef) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Sets whether `key=value` directories become partition columns.
    pub fn with_hive_partitioning(mut self, enabled: bool) -> Self {
        self.hive_partitioning = enabled;
        self
    }
}

/// The per-format state a dataset keeps after opening.
#[derive(Debug)]
pub(crate) enum OpenFormat {
    Parquet(Vec<ParquetFile>),
    Json(JsonOptions),
    Csv(CsvOptions),
}

#[derive(Debug)]
pub(crate) struct DatasetInner {
    pub locations: Vec<Location>,
    pub files: Vec<ListedFile>,
    pub partitioning: Partitioning,
    pub data_schema: SchemaRef,
    pub schema: SchemaRef,
    pub format: OpenFormat,
}

/// `locations` as one line.
fn display_locations(locations: &[Location]) -> String {
    locations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An opened dataset; cheap to clone and shareable across threads.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub(crate) inner: Arc<DatasetInner>,
}

impl Dataset {
    /// Lists `location`, discovers partition columns and settles the schema.
    pub fn open(location: impl Into<Location>, options: DatasetOptions) -> Result<Self> {
        Self::open_all(&[location.into()], options)
    }

    /// Lists every one of `locations` and opens their files as one dataset, in the order
    /// given (each location's files sorted by name).
    pub fn open_all(locations: &[Location], options: DatasetOptions) -> Result<Self> {
        let mut files = Vec::new();
        for location in locations {
            files.extend(list_files(location)?);
        }
        let location = display_locations(locations);
        if !options.hive_partitioning {
            // Without partition segments the directories are plain path components, here
            // and wherever a serialized scan of these files is rebuilt.
            files.iter_mut().for_each(|f| f.partition_segments.clear());
        }
        let explicit = options.schema.unwrap_or_else(|| Arc::new(Schema::empty()));
        let partitioning = Partitioning::discover(&files, &explicit)?;
        let is_partition = |name: &str| partitioning.fields().iter().any(|f| f.name() == name);
        let explicit_data: Vec<_> = explicit
            .fields()
            .iter()
            .filter(|f| !is_partition(f.name()))
            .cloned()
            .collect();
        let explicit_data =
            (!explicit_data.is_empty()).then(|| Arc::new(Schema::new(explicit_data)));
        let (format, inferred) = match options.format {
            FileFormat::Parquet => {
                let (parquet, merged) = parquet_read::load_files(&files)?;
                (OpenFormat::Parquet(parquet), merged)
            }
            FileFormat::Json(json) => {
                let schema = match &explicit_data {
                    Some(schema) => schema.clone(),
                    None => json_read::infer_schema(&files, &json)?,
                };
                (OpenFormat::Json(json), schema)
            }
            FileFormat::Csv(csv) => {
                let schema = match &explicit_data {
                    Some(schema) => schema.clone(),
                    None => csv_read::infer_schema(&files, &csv)?,
                };
                (OpenFormat::Csv(csv), schema)
            }
        };
        let data_schema = explicit_data.unwrap_or(inferred);
        if let Some(clash) = data_schema.fields().iter().find(|f| is_partition(f.name())) {
            return Err(IoError::Invalid(format!(
                "column `{}` of {location} is both a data column and a partition directory",
                clash.name()
            )));
        }
        let fields: Vec<_> = data_schema
            .fields()
            .iter()
            .chain(partitioning.fields())
            .cloned()
            .collect();
        Ok(Dataset {
            inner: Arc::new(DatasetInner {
                locations: locations.to_vec(),
                files,
                partitioning,
                schema: Arc::new(Schema::new(fields)),
                data_schema,
                format,
            }),
        })
    }

    /// Where the dataset was opened, as a comma-separated list when there are several.
    pub fn location(&self) -> String {
        display_locations(&self.inner.locations)
    }

    /// The name of its file format: `parquet`, `json` or `csv`.
    pub fn format_name(&self) -> &'static str {
        match &self.inner.format {
            OpenFormat::Parquet(_) => "parquet",
            OpenFormat::Json(_) => "json",
            OpenFormat::Csv(_) => "csv",
        }
    }

    /// The full schema: data columns, then partition columns.
    pub fn schema(&self) -> &SchemaRef {
        &self.inner.schema
    }

    /// Names of the hive partition columns (the last fields of [`Dataset::schema`]).
    pub fn partition_columns(&self) -> Vec<String> {
        let data_columns = self.inner.data_schema.fields().len();
        self.inner.schema.fields()[data_columns..]
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The listed data files.
    pub fn files(&self) -> &[ListedFile] {
        &self.inner.files
    }

    /// The number of rows, when the files record it without being read (Parquet footers).
    pub fn row_count(&self) -> Option<u64> {
        match &self.inner.format {
            OpenFormat::Parquet(files) => Some(files.iter().map(ParquetFile::num_rows).sum()),
            OpenFormat::Json(_) | OpenFormat::Csv(_) => None,
        }
    }

    /// Plans a scan: prunes partitions and row groups and cuts the rest into read units.
    pub fn scan(&self, options: ScanOptions) -> Result<Scan> {
        Scan::plan(self.clone(), options)
    }
}
