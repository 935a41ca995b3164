//! The first rows of a partition in sort order (a top-k), holding O(k) rows.
//!
//! Once `k` rows are known, the last of them is a threshold: each later batch's first sort key
//! is encoded in arrow's row format and compared with the threshold's, then the other keys of
//! just the rows tied with it on the first, and only the rows that sort before the threshold
//! are copied out of the batch (at the end of a large input, hardly any). The rows that pass
//! are cut to their own first `k`, collected, and merged back to `k` rows whenever `k` more
//! came, which lowers the threshold.

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::SchemaRef;
use std::cmp::Ordering;

use arrow::row::{OwnedRow, RowConverter, Rows};

use super::sort::{SortKey, key_column, sort_fields, top_rows};
use crate::error::Result;
use crate::rows::normalize_zeros;

/// The first `fetch` rows of `batches` (of `schema`) by `keys`: one batch of at most `fetch`
/// rows, rows with equal keys in no particular order.
pub(super) fn top_k(
    schema: &SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    keys: &[SortKey],
    fetch: usize,
) -> Result<RecordBatch> {
    let mut top = TopK::try_new(schema, keys, fetch)?;
    for batch in batches {
        top.push(batch)?;
    }
    top.finish()
}

/// A top-k in progress.
struct TopK<'a> {
    schema: &'a SchemaRef,
    keys: &'a [SortKey],
    fetch: usize,
    /// Encodes the first sort key, so that comparing bytes compares it in sort order.
    first_key: RowConverter,
    /// Encodes all the sort keys alike.
    all_keys: RowConverter,
    /// The last of `fetch` rows found so far: a row must sort before it to count.
    threshold: Option<Threshold>,
    /// The top rows so far (the first batch, once merged) and the cut batches since.
    kept: Vec<RecordBatch>,
    kept_rows: usize,
}

/// The sort keys of the threshold row, encoded by [`TopK::first_key`] and [`TopK::all_keys`].
struct Threshold {
    first_key: OwnedRow,
    all_keys: OwnedRow,
}

impl<'a> TopK<'a> {
    fn try_new(schema: &'a SchemaRef, keys: &'a [SortKey], fetch: usize) -> Result<Self> {
        let fields = sort_fields(schema, keys);
        Ok(TopK {
            schema,
            keys,
            fetch,
            first_key: RowConverter::new(fields.iter().take(1).cloned().collect())?,
            all_keys: RowConverter::new(fields)?,
            threshold: None,
            kept: Vec::new(),
            kept_rows: 0,
        })
    }

    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        let Some(batch) = self.before_threshold(batch)? else {
            return Ok(());
        };
        let batch = if batch.num_rows() > self.fetch {
            top_rows(self.schema, &[batch], self.keys, self.fetch)?
        } else {
            batch
        };
        self.kept_rows += batch.num_rows();
        self.kept.push(batch);
        if self.kept_rows >= self.fetch.saturating_mul(2) {
            let top = top_rows(self.schema, &self.kept, self.keys, self.fetch)?;
            // Without keys every row ties, and any `fetch` rows will do: no threshold.
            if top.num_rows() == self.fetch && !self.keys.is_empty() {
                let last = top.slice(self.fetch - 1, 1);
                self.threshold = Some(Threshold {
                    first_key: self.encode(&self.first_key, 1, &last)?.row(0).owned(),
                    all_keys: self
                        .encode(&self.all_keys, self.keys.len(), &last)?
                        .row(0)
                        .owned(),
                });
            }
            self.kept_rows = top.num_rows();
            self.kept = vec![top];
        }
        Ok(())
    }

    /// The rows of `batch` that sort before the threshold (all of them before there is one),
    /// `None` if none does.
    fn before_threshold(&self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        let Some(threshold) = &self.threshold else {
            return Ok(Some(batch));
        };
        let mut before: Vec<u32> = Vec::new();
        let mut tied: Vec<u32> = Vec::new();
        for (index, first) in self.encode(&self.first_key, 1, &batch)?.iter().enumerate() {
            match first.cmp(&threshold.first_key.row()) {
                Ordering::Less => before.push(index as u32),
                Ordering::Equal => tied.push(index as u32),
                Ordering::Greater => {}
            }
        }
        if self.keys.len() > 1 && !tied.is_empty() {
            let tied_rows = take_record_batch(&batch, &UInt32Array::from(tied.clone()))?;
            let all_keys = self.encode(&self.all_keys, self.keys.len(), &tied_rows)?;
            before.extend(
                tied.iter()
                    .zip(all_keys.iter())
                    .filter(|(_, keys)| *keys < threshold.all_keys.row())
                    .map(|(&index, _)| index),
            );
        }
        Ok(match before.len() {
            0 => None,
            n if n == batch.num_rows() => Some(batch),
            _ => Some(take_record_batch(&batch, &UInt32Array::from(before))?),
        })
    }

    /// The first `keys` sort keys of `batch` in the row format of `converter`: columns cast to
    /// the schema's types, should a batch differ, and `-0.0` made `0.0`, as the sort holds
    /// them equal.
    fn encode(&self, converter: &RowConverter, keys: usize, batch: &RecordBatch) -> Result<Rows> {
        let columns = self
            .keys
            .iter()
            .take(keys)
            .map(|key| {
                let column = key_column(batch, key)?;
                let data_type = self.schema.field(key.column).data_type();
                let column = if column.data_type() == data_type {
                    column
                } else {
                    cast(&column, data_type)?
                };
                Ok(normalize_zeros(&column))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(converter.convert_columns(&columns)?)
    }

    fn finish(self) -> Result<RecordBatch> {
        top_rows(self.schema, &self.kept, self.keys, self.fetch)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use proptest::prelude::*;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("id", DataType::Int64, false),
        ]))
    }

    fn batches(values: &[Option<f64>], batch_rows: usize) -> Vec<RecordBatch> {
        values
            .chunks(batch_rows)
            .enumerate()
            .map(|(chunk, values)| {
                let ids = (0..values.len()).map(|i| (chunk * batch_rows + i) as i64);
                let columns: Vec<arrow::array::ArrayRef> = vec![
                    Arc::new(Float64Array::from(values.to_vec())),
                    Arc::new(Int64Array::from_iter_values(ids)),
                ];
                RecordBatch::try_new(schema(), columns).unwrap()
            })
            .collect()
    }

    /// A double as SQL orders it: `-0.0` equal to `0.0`, NaN above every number.
    fn order_key(value: f64) -> (bool, f64) {
        (
            value.is_nan(),
            if value.is_nan() { 0.0 } else { value + 0.0 },
        )
    }

    fn compare(x: &Option<f64>, y: &Option<f64>, key: &SortKey) -> Ordering {
        match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) if key.nulls_first => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => compare(y, x, key).reverse(),
            (Some(x), Some(y)) => {
                let ordering = order_key(*x).partial_cmp(&order_key(*y)).unwrap();
                if key.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
        }
    }

    proptest! {
        /// Doubles with both zeros, NaN and NULLs, in any direction, then the row number
        /// descending: the top-k is the first `fetch` rows of a row-at-a-time sort, however
        /// the input is batched (later rows win ties, so a `0.0` after a `-0.0` in the top
        /// must tie with it on the first key, not sort after it).
        #[test]
        fn top_k_of_doubles_matches_a_row_at_a_time_sort(
            values in prop::collection::vec(
                prop::option::weighted(
                    0.85,
                    prop_oneof![Just(0.0), Just(-0.0), Just(f64::NAN), -3.0f64..3.0],
                ),
                0..400,
            ),
            descending in any::<bool>(),
            nulls_first in any::<bool>(),
            fetch in 1usize..30,
            batch_rows in 1usize..100,
        ) {
            let key = SortKey { column: 0, descending, nulls_first };
            let then_row = SortKey { column: 1, descending: true, nulls_first: false };
            let input = batches(&values, batch_rows);
            let top = top_k(&schema(), input.into_iter(), &[key, then_row], fetch).unwrap();
            let mut expected: Vec<usize> = (0..values.len()).collect();
            expected.sort_by(|&x, &y| compare(&values[x], &values[y], &key).then(y.cmp(&x)));
            expected.truncate(fetch);
            let ids = top.column(1).as_primitive::<Int64Type>();
            let got: Vec<usize> = ids.values().iter().map(|&id| id as usize).collect();
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_top_k_without_keys_keeps_any_fetch_rows() {
        let values: Vec<Option<f64>> = (0..50).map(|i| Some(f64::from(i))).collect();
        let top = top_k(&schema(), batches(&values, 7).into_iter(), &[], 10).unwrap();
        assert_eq!(top.num_rows(), 10);
        assert!(top.column(0).null_count() == 0);
    }
}
