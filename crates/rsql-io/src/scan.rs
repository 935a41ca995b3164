//! A planned scan: pruned files and row groups cut into read units, and the readers that
//! decode a unit into batches of the projected schema.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatchOptions, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::dataset::{Dataset, DatasetInner, OpenFormat};
use crate::error::{IoError, Result};
use crate::metrics::{MetricCounters, ReadMetrics};
use crate::predicate::Predicate;
use crate::{csv_read, json_read};

mod spec;

pub use spec::{FileSpec, ScanSpec};

/// What to read and how to cut it.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Indices into the dataset schema of the columns to produce; `None` for all.
    pub projection: Option<Vec<usize>>,
    /// A predicate used to skip partitions and row groups (rows are not filtered).
    pub predicate: Option<Predicate>,
    /// The maximum number of rows per batch.
    pub batch_size: usize,
    /// The most compressed bytes a read unit aims at: larger files are split by row groups,
    /// smaller ones grouped.
    pub target_split_bytes: u64,
    /// How many units the caller would like at least (e.g. its thread count): the target
    /// shrinks to `total bytes / parallelism` when that is smaller, but not below 1 MiB.
    pub parallelism: usize,
    /// Partition columns whose values a read unit never mixes: every unit reads files of one
    /// combination of their values, so a planner can place whole partition-value groups.
    pub cluster_by: Vec<String>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            projection: None,
            predicate: None,
            batch_size: 8192,
            target_split_bytes: 128 * 1024 * 1024,
            parallelism: 1,
            cluster_by: Vec::new(),
        }
    }
}

/// A part of one file: some of its row groups (Parquet) or all of it (text formats).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilePart {
    /// Index of the file in [`Dataset::files`].
    pub file: usize,
    /// The row groups to decode; empty for text formats, which are read whole.
    pub row_groups: Vec<usize>,
}

/// One task's worth of input: parts of one or more files.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadUnit {
    /// The file parts, read in order.
    pub parts: Vec<FilePart>,
}

/// A planned scan; cheap to clone and shareable across threads.
#[derive(Debug, Clone)]
pub struct Scan {
    dataset: Dataset,
    projection: Vec<usize>,
    schema: SchemaRef,
    units: Arc<Vec<ReadUnit>>,
    batch_size: usize,
    metrics: Arc<MetricCounters>,
}

impl Scan {
    pub(crate) fn plan(dataset: Dataset, options: ScanOptions) -> Result<Self> {
        let inner = &dataset.inner;
        let full = &inner.schema;
        let projection = options
            .projection
            .unwrap_or_else(|| (0..full.fields().len()).collect());
        if let Some(bad) = projection.iter().find(|&&i| i >= full.fields().len()) {
            return Err(IoError::Invalid(format!(
                "projection index {bad} out of range for {} columns",
                full.fields().len()
            )));
        }
        let schema = Arc::new(
            full.project(&projection)
                .map_err(|e| IoError::Invalid(format!("bad projection: {e}")))?,
        );
        let metrics = Arc::new(MetricCounters::default());
        let files_total = inner.files.len();
        MetricCounters::add(&metrics.files_total, files_total as u64);
        let keep_files = match &options.predicate {
            Some(predicate) => {
                check_columns(predicate, full)?;
                predicate
                    .may_match(files_total, &|column| inner.partitioning.ranges(column))
                    .map_err(|e| IoError::Invalid(format!("cannot prune partitions: {e}")))?
            }
            None => vec![true; files_total],
        };
        let cluster_of_file = cluster_ids(inner, &options.cluster_by)?;
        let mut pieces = Vec::new();
        for (file, _) in keep_files.iter().enumerate().filter(|(_, keep)| **keep) {
            let cluster = cluster_of_file[file];
            MetricCounters::add(&metrics.files_matched, 1);
            match &inner.format {
                OpenFormat::Parquet(parquet) => {
                    let meta = &parquet[file];
                    let groups = meta.row_group_count();
                    MetricCounters::add(&metrics.row_groups_total, groups as u64);
                    let keep = match &options.predicate {
                        Some(predicate) => meta.prune_row_groups(predicate),
                        None => vec![true; groups],
                    };
                    for group in (0..groups).filter(|&g| keep[g]) {
                        MetricCounters::add(&metrics.row_groups_matched, 1);
                        pieces.push(Piece {
                            cluster,
                            file,
                            row_group: Some(group),
                            bytes: meta.row_group_bytes(group),
                        });
                    }
                }
                OpenFormat::Json(_) | OpenFormat::Csv(_) => {
                    pieces.push(Piece {
                        cluster,
                        file,
                        row_group: None,
                        bytes: inner.files[file].size,
                    });
                }
            }
        }
        // Files of one cluster become contiguous; the sort is stable, so file order is kept.
        pieces.sort_by_key(|piece| piece.cluster);
        let total: u64 = pieces.iter().map(|piece| piece.bytes).sum();
        let target = options
            .target_split_bytes
            .min((total / options.parallelism.max(1) as u64).max(1024 * 1024));
        Ok(Scan {
            units: Arc::new(cut_units(pieces, target)),
            dataset: dataset.clone(),
            projection,
            schema,
            batch_size: options.batch_size.max(1),
            metrics,
        })
    }

    /// The same read units producing only `columns` (indices into [`Scan::schema`], in the
    /// order given): a narrower pass over the same data, as a sample of some columns needs.
    pub fn with_columns(&self, columns: &[usize]) -> Result<Scan> {
        let projection = columns
            .iter()
            .map(|&c| {
                self.projection.get(c).copied().ok_or_else(|| {
                    IoError::Invalid(format!(
                        "column {c} out of range for a scan of {} columns",
                        self.projection.len()
                    ))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let schema = Arc::new(
            self.schema
                .project(columns)
                .map_err(|e| IoError::Invalid(format!("bad projection: {e}")))?,
        );
        Ok(Scan {
            projection,
            schema,
            ..self.clone()
        })
    }

    /// The schema of the batches this scan produces.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The read units, one per task.
    pub fn units(&self) -> &[ReadUnit] {
        &self.units
    }

    /// The scan's counters so far.
    pub fn metrics(&self) -> ReadMetrics {
        self.metrics.snapshot()
    }

    /// The value (a one-row array of the column's value type) of partition column `column` for
    /// the files of read unit `unit`; `None` if `column` is not a partition column. Meaningful
    /// for every file of the unit when `column` is in [`ScanOptions::cluster_by`].
    pub fn partition_value(&self, unit: usize, column: &str) -> Option<ArrayRef> {
        let file = self.units.get(unit)?.parts.first()?.file;
        self.inner().partitioning.value(column, file)
    }

    /// Compressed bytes of the file data read unit `unit` covers: its Parquet row groups (all
    /// columns, so an upper bound for a projection) or its whole text files.
    pub fn unit_bytes(&self, unit: usize) -> u64 {
        let inner = self.inner();
        let Some(unit) = self.units.get(unit) else {
            return 0;
        };
        unit.parts
            .iter()
            .map(|part| match &inner.format {
                OpenFormat::Parquet(parquet) => part
                    .row_groups
                    .iter()
                    .map(|&group| parquet[part.file].row_group_bytes(group))
                    .sum(),
                OpenFormat::Json(_) | OpenFormat::Csv(_) => inner.files[part.file].size,
            })
            .sum()
    }

    /// A reader of read unit `unit`.
    pub fn read(&self, unit: usize) -> Result<UnitReader> {
        let parts = self
            .units
            .get(unit)
            .ok_or_else(|| IoError::Invalid(format!("no read unit {unit}")))?
            .parts
            .clone();
        Ok(UnitReader {
            scan: self.clone(),
            parts: parts.into(),
            current: None,
        })
    }

    /// Reads every unit in order and collects the batches.
    pub fn collect(&self) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        for unit in 0..self.units.len() {
            for batch in self.read(unit)? {
                batches.push(batch?);
            }
        }
        Ok(batches)
    }

    fn inner(&self) -> &DatasetInner {
        &self.dataset.inner
    }

    /// Indices of the projected data (non-partition) columns.
    fn data_columns(&self) -> Vec<usize> {
        let data = self.inner().data_schema.fields().len();
        self.projection
            .iter()
            .copied()
            .filter(|&i| i < data)
            .collect()
    }

    fn open_part(&self, part: &FilePart) -> Result<BatchIter> {
        let inner = self.inner();
        let file = &inner.files[part.file];
        let data = self.data_columns();
        match &inner.format {
            OpenFormat::Parquet(parquet) => {
                let names: Vec<String> = data
                    .iter()
                    .map(|&i| inner.data_schema.field(i).name().clone())
                    .collect();
                MetricCounters::add(&self.metrics.row_groups_read, part.row_groups.len() as u64);
                Ok(Box::new(parquet[part.file].batches(
                    file,
                    names,
                    part.row_groups.clone(),
                    self.batch_size,
                )))
            }
            OpenFormat::Json(options) => Ok(Box::new(json_read::open(
                file,
                &inner.data_schema,
                &data,
                self.batch_size,
                options,
                self.metrics.bad_records.clone(),
            )?)),
            OpenFormat::Csv(options) => Ok(Box::new(csv_read::open(
                file,
                &inner.data_schema,
                &data,
                self.batch_size,
                options,
                self.metrics.bad_records.clone(),
            )?)),
        }
    }

    /// Turns a batch decoded from file `file` into a batch of the scan's schema: columns in
    /// projection order, cast to the dataset types, missing ones null, partition values appended.
    fn adapt(&self, file: usize, batch: RecordBatch) -> Result<RecordBatch> {
        let inner = self.inner();
        let rows = batch.num_rows();
        let data = inner.data_schema.fields().len();
        let name = || inner.files[file].source.name();
        let columns =
            self.projection
                .iter()
                .map(|&index| {
                    if index >= data {
                        return Ok(inner.partitioning.constant_column(index - data, file, rows));
                    }
                    let field = inner.data_schema.field(index);
                    Ok(match batch.column_by_name(field.name()) {
                        Some(column) if column.data_type() == field.data_type() => column.clone(),
                        Some(column) => cast(column, field.data_type())
                            .map_err(|e| IoError::arrow(name(), e))?,
                        None => new_null_array(field.data_type(), rows),
                    })
                })
                .collect::<Result<Vec<ArrayRef>>>()?;
        MetricCounters::add(&self.metrics.rows_read, rows as u64);
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| IoError::arrow(name(), e))
    }
}

type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Decodes the parts of one read unit, in order, into batches of the scan's schema.
pub struct UnitReader {
    scan: Scan,
    parts: VecDeque<FilePart>,
    current: Option<(usize, BatchIter)>,
}

impl Iterator for UnitReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((file, reader)) = &mut self.current {
                match reader.next() {
                    Some(Ok(batch)) => return Some(self.scan.adapt(*file, batch)),
                    Some(Err(error)) => {
                        self.current = None;
                        self.parts.clear();
                        return Some(Err(error));
                    }
                    None => self.current = None,
                }
            }
            let part = self.parts.pop_front()?;
            match self.scan.open_part(&part) {
                Ok(reader) => self.current = Some((part.file, reader)),
                Err(error) => {
                    self.parts.clear();
                    return Some(Err(error));
                }
            }
        }
    }
}

/// Errors when the predicate names a column that is not in `schema`.
fn check_columns(predicate: &Predicate, schema: &Schema) -> Result<()> {
    for column in predicate.columns() {
        if schema.field_with_name(column).is_err() {
            return Err(IoError::UnknownColumn {
                column: column.to_string(),
                valid: schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

/// Numbers the distinct combinations of the `cluster_by` partition values, per file (all 0
/// when `cluster_by` is empty).
fn cluster_ids(inner: &DatasetInner, cluster_by: &[String]) -> Result<Vec<usize>> {
    let fields = inner.partitioning.fields();
    if let Some(bad) = cluster_by
        .iter()
        .find(|c| !fields.iter().any(|f| f.name() == *c))
    {
        return Err(IoError::UnknownColumn {
            column: bad.clone(),
            valid: fields
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut ids: std::collections::HashMap<Vec<&str>, usize> = Default::default();
    Ok(inner
        .files
        .iter()
        .map(|file| {
            let key: Vec<&str> = cluster_by
                .iter()
                .map(|column| {
                    file.partition_segments
                        .iter()
                        .find(|(name, _)| name == column)
                        .map_or("", |(_, value)| value.as_str())
                })
                .collect();
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect())
}

/// A piece of input: one row group of a Parquet file, or a whole text file.
struct Piece {
    /// Which `cluster_by` value group the file belongs to.
    cluster: usize,
    file: usize,
    row_group: Option<usize>,
    bytes: u64,
}

/// Greedily cuts pieces, in order, into units of about `target` bytes: consecutive row groups
/// of a file share a part, and small files of one cluster share a unit.
fn cut_units(pieces: Vec<Piece>, target: u64) -> Vec<ReadUnit> {
    let mut units = Vec::new();
    let mut unit = ReadUnit::default();
    let mut bytes = 0u64;
    let mut cluster = pieces.first().map_or(0, |piece| piece.cluster);
    for piece in pieces {
        if piece.cluster != cluster && !unit.parts.is_empty() {
            units.push(std::mem::take(&mut unit));
            bytes = 0;
        }
        cluster = piece.cluster;
        match unit.parts.last_mut() {
            Some(part) if part.file == piece.file => part.row_groups.extend(piece.row_group),
            _ => unit.parts.push(FilePart {
                file: piece.file,
                row_groups: piece.row_group.into_iter().collect(),
            }),
        }
        bytes += piece.bytes;
        if bytes >= target {
            units.push(std::mem::take(&mut unit));
            bytes = 0;
        }
    }
    if !unit.parts.is_empty() {
        units.push(unit);
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_files_split_and_small_files_group() {
        let piece = |cluster, file, group, bytes| Piece {
            cluster,
            file,
            row_group: Some(group),
            bytes,
        };
        let pieces = vec![
            piece(0, 0, 0, 60),
            piece(0, 0, 1, 60),
            piece(0, 0, 2, 60),
            piece(0, 1, 0, 10),
            piece(0, 2, 0, 10),
        ];
        let units = cut_units(pieces, 100);
        let part = |file, groups: &[usize]| FilePart {
            file,
            row_groups: groups.to_vec(),
        };
        assert_eq!(
            units,
            vec![
                ReadUnit {
                    parts: vec![part(0, &[0, 1])]
                },
                ReadUnit {
                    parts: vec![part(0, &[2]), part(1, &[0]), part(2, &[0])]
                },
            ]
        );
    }
}
