//! Sorting record batches: a partition sorted into one batch, optionally only its first rows
//! (top-k), and range partitioning for a distributed sort.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{
    SortColumn, SortOptions, cast, concat_batches, lexsort_to_indices, take_record_batch,
};
use arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use arrow::row::{OwnedRow, RowConverter, SortField};

use super::top_k::top_k;
use crate::error::{Result, exec_err};
use crate::rows::normalize_zeros;

/// One key of a sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SortKey {
    /// The column sorted by.
    pub column: usize,
    /// Largest values first.
    pub descending: bool,
    /// Nulls before all values (otherwise after), whatever the direction.
    pub nulls_first: bool,
}

impl SortKey {
    /// The arrow sort options of this key.
    pub fn options(&self) -> SortOptions {
        SortOptions {
            descending: self.descending,
            nulls_first: self.nulls_first,
        }
    }
}

/// Sorts all `batches` of a partition (of `schema`) by `keys` into one batch, `None` if there
/// are no rows. With `fetch`, keeps only the first `fetch` rows, holding O(`fetch`) rows and one
/// input batch at a time. Rows with equal keys come in no particular order.
pub fn sort_batches(
    schema: &SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    keys: &[SortKey],
    fetch: Option<usize>,
) -> Result<Option<RecordBatch>> {
    let sorted = match fetch {
        Some(0) => return Ok(None),
        Some(fetch) => top_k(schema, batches, keys, fetch)?,
        None => {
            let batches: Vec<RecordBatch> = batches.collect();
            let all = concat_batches(schema, &batches)?;
            drop(batches);
            sort_batch(&all, keys, None)?
        }
    };
    Ok((sorted.num_rows() > 0).then_some(sorted))
}

/// The first `fetch` rows of `batches` in sort order, holding none of the other rows' values.
pub(super) fn top_rows(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    keys: &[SortKey],
    fetch: usize,
) -> Result<RecordBatch> {
    let all = concat_batches(schema, batches)?;
    compact(sort_batch(&all, keys, Some(fetch))?)
}

/// `batch` sorted by `keys`, only the first `limit` rows if given.
fn sort_batch(batch: &RecordBatch, keys: &[SortKey], limit: Option<usize>) -> Result<RecordBatch> {
    if keys.is_empty() {
        let rows = limit.map_or(batch.num_rows(), |limit| limit.min(batch.num_rows()));
        return Ok(batch.slice(0, rows));
    }
    let columns = keys
        .iter()
        .map(|key| {
            Ok(SortColumn {
                values: normalize_zeros(&key_column(batch, key)?),
                options: Some(key.options()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let indices = lexsort_to_indices(&columns, limit)?;
    Ok(take_record_batch(batch, &indices)?)
}

/// `batch` with its columns no longer holding values of rows it dropped: `take` keeps the whole
/// dictionary of a dictionary column and every buffer of a string or binary view column, so a
/// top-k would otherwise keep the values of every batch merged into it.
fn compact(batch: RecordBatch) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .map(|column| {
            Ok(match column.data_type() {
                DataType::Dictionary(_, value_type)
                    if column.as_any_dictionary().values().len() > column.len() =>
                {
                    cast(&cast(column, value_type)?, column.data_type())?
                }
                DataType::Utf8View => Arc::new(column.as_string_view().gc()),
                DataType::BinaryView => Arc::new(column.as_binary_view().gc()),
                _ => Arc::clone(column),
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// The row-format fields of `keys` over `schema`: each key column's type with its direction
/// and NULL placement.
pub(super) fn sort_fields(schema: &Schema, keys: &[SortKey]) -> Vec<SortField> {
    keys.iter()
        .map(|key| {
            let data_type = schema.field(key.column).data_type().clone();
            SortField::new_with_options(data_type, key.options())
        })
        .collect()
}

/// The column of `batch` `key` sorts by.
pub(super) fn key_column(batch: &RecordBatch, key: &SortKey) -> Result<ArrayRef> {
    match batch.columns().get(key.column) {
        Some(column) => Ok(Arc::clone(column)),
        None => exec_err(format!(
            "sort key column {} is out of range for a batch of {} columns",
            key.column,
            batch.num_columns()
        )),
    }
}

/// A sample of the sort key columns of `batch`: at most `max_rows` rows taken at an even stride,
/// the columns in key order. `None` if that is no rows.
pub fn sample_keys(
    batch: &RecordBatch,
    keys: &[SortKey],
    max_rows: usize,
) -> Result<Option<RecordBatch>> {
    let rows = batch.num_rows();
    if rows == 0 || max_rows == 0 || keys.is_empty() {
        return Ok(None);
    }
    let schema = batch.schema();
    let (fields, columns): (Vec<FieldRef>, Vec<ArrayRef>) = keys
        .iter()
        .map(|key| {
            let column = key_column(batch, key)?;
            Ok((Arc::clone(&schema.fields()[key.column]), column))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let keys_only = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    if rows <= max_rows {
        return Ok(Some(keys_only));
    }
    let stride = rows.div_ceil(max_rows);
    let sampled: UInt32Array = (0..rows).step_by(stride).map(|row| row as u32).collect();
    Ok(Some(take_record_batch(&keys_only, &sampled)?))
}

/// Split points of a range partitioning by a sort order, on sort keys encoded in arrow's row
/// format so that comparing bytes compares keys.
#[derive(Debug)]
pub struct RangeBounds {
    partitions: usize,
    /// `None` when there was nothing to sample: every row goes to the first partition.
    bounds: Option<Bounds>,
}

/// The split points and the encoding they are in.
#[derive(Debug)]
struct Bounds {
    converter: RowConverter,
    /// Ascending; partition `i` holds the rows with exactly `i` split points at or below them.
    split_points: Vec<OwnedRow>,
}

impl RangeBounds {
    /// Chooses `partitions - 1` split points, evenly spaced in the sorted sample, so that
    /// partitions get about equal rows. `sample_key_columns` hold just the sort key columns,
    /// in key order (as [`sample_keys`] makes them).
    pub fn from_samples(
        sample_key_columns: &[RecordBatch],
        keys: &[SortKey],
        partitions: usize,
    ) -> Result<Self> {
        if partitions == 0 {
            return exec_err("a range partitioning needs at least one partition");
        }
        let Some(first) = sample_key_columns.first() else {
            return Ok(RangeBounds {
                partitions,
                bounds: None,
            });
        };
        if first.num_columns() != keys.len() {
            return exec_err(format!(
                "sort key sample has {} columns for {} keys",
                first.num_columns(),
                keys.len()
            ));
        }
        let fields = first
            .columns()
            .iter()
            .zip(keys)
            .map(|(column, key)| {
                SortField::new_with_options(column.data_type().clone(), key.options())
            })
            .collect();
        let converter = RowConverter::new(fields)?;
        let mut rows = converter.empty_rows(0, 0);
        for sample in sample_key_columns {
            converter.append(&mut rows, sample.columns())?;
        }
        let mut sorted: Vec<_> = rows.iter().collect();
        sorted.sort_unstable();
        let split_points = (1..partitions)
            .filter_map(|i| sorted.get(i * sorted.len() / partitions))
            .map(|row| row.owned())
            .collect();
        Ok(RangeBounds {
            partitions,
            bounds: Some(Bounds {
                converter,
                split_points,
            }),
        })
    }

    /// The number of partitions.
    pub fn partitions(&self) -> usize {
        self.partitions
    }

    /// Splits `batch` (whole rows, the key columns at `keys[i].column`) into a batch per
    /// partition, `None` for a partition that gets no rows, so that every row of partition `i`
    /// sorts before or equal to every row of partition `i + 1`.
    pub fn split(&self, batch: &RecordBatch, keys: &[SortKey]) -> Result<Vec<Option<RecordBatch>>> {
        let mut parts = vec![None; self.partitions];
        if batch.num_rows() == 0 {
            return Ok(parts);
        }
        let Some(bounds) = &self.bounds else {
            parts[0] = Some(batch.clone());
            return Ok(parts);
        };
        let columns = keys
            .iter()
            .map(|key| key_column(batch, key))
            .collect::<Result<Vec<_>>>()?;
        let rows = bounds.converter.convert_columns(&columns)?;
        let mut rows_of_part: Vec<Vec<u32>> = vec![Vec::new(); self.partitions];
        for (index, row) in rows.iter().enumerate() {
            let part = bounds
                .split_points
                .partition_point(|point| point.row() <= row);
            rows_of_part[part].push(index as u32);
        }
        for (part, rows) in parts.iter_mut().zip(rows_of_part) {
            *part = match rows.len() {
                0 => None,
                n if n == batch.num_rows() => Some(batch.clone()),
                _ => Some(take_record_batch(batch, &UInt32Array::from(rows))?),
            };
        }
        Ok(parts)
    }
}
