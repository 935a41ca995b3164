//! Repeating rows by a count column: the physical side of `INTERSECT ALL` and `EXCEPT ALL`.

use arrow::array::{Array, AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, Int64Type, SchemaRef};

use crate::error::{Result, exec_err};

/// Rows emitted per output batch at most (a row repeated more often spans several batches).
const OUTPUT_ROWS: usize = 8192;

/// `batch`'s rows, each repeated as often as its last column (`Int64`) says — not at all when
/// the count is zero, negative or null — without that column, in batches of `schema` of at
/// most [`OUTPUT_ROWS`] rows. Columns are copied with Arrow's `take` kernel.
pub fn replicate_rows(batch: &RecordBatch, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
    let Some((counts, columns)) = batch.columns().split_last() else {
        return exec_err("replicating rows needs a count column");
    };
    if counts.data_type() != &DataType::Int64 {
        return exec_err(format!(
            "the copy count of replicated rows must be Int64, got {}",
            counts.data_type()
        ));
    }
    let counts = counts.as_primitive::<Int64Type>();
    let mut batches = Vec::new();
    let mut indices: Vec<u32> = Vec::with_capacity(OUTPUT_ROWS.min(batch.num_rows()));
    for row in 0..counts.len() {
        if counts.is_null(row) {
            continue;
        }
        let index = u32::try_from(row)
            .or_else(|_| exec_err(format!("a batch of {} rows is too long", counts.len())))?;
        let mut remaining = counts.value(row).max(0);
        while remaining > 0 {
            let room = OUTPUT_ROWS - indices.len();
            let now = usize::try_from(remaining).map_or(room, |r| r.min(room));
            indices.extend(std::iter::repeat_n(index, now));
            remaining -= now as i64;
            if indices.len() == OUTPUT_ROWS {
                batches.push(gather(columns, &indices, schema)?);
                indices.clear();
            }
        }
    }
    if !indices.is_empty() {
        batches.push(gather(columns, &indices, schema)?);
    }
    Ok(batches)
}

/// The rows `indices` of `columns`, as a batch of `schema`.
fn gather(
    columns: &[arrow::array::ArrayRef],
    indices: &[u32],
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let indices = UInt32Array::from(indices.to_vec());
    let taken = columns
        .iter()
        .map(|c| take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new_with_options(
        SchemaRef::clone(schema),
        taken,
        &RecordBatchOptions::new().with_row_count(Some(indices.len())),
    )?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn input(values: Vec<Option<&str>>, counts: Vec<Option<i64>>) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("v", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(values)),
                Arc::new(Int64Array::from(counts)),
            ],
        )
        .unwrap()
    }

    fn output_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8, true)]))
    }

    fn values(batches: &[RecordBatch]) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn rows_repeat_by_count_and_zero_negative_or_null_counts_drop_them() {
        let batch = input(
            vec![Some("a"), None, Some("b"), Some("c"), Some("d")],
            vec![Some(2), Some(3), Some(0), Some(-1), None],
        );
        let out = replicate_rows(&batch, &output_schema()).unwrap();
        let a = Some("a".to_string());
        assert_eq!(values(&out), vec![a.clone(), a, None, None, None]);
        assert!(out.iter().all(|b| b.num_columns() == 1));
    }

    #[test]
    fn large_counts_span_several_batches() {
        let batch = input(vec![Some("x"), Some("y")], vec![Some(10_000), Some(1)]);
        let out = replicate_rows(&batch, &output_schema()).unwrap();
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, vec![8192, 1809]);
        let all = values(&out);
        assert_eq!(
            all.iter().filter(|v| v.as_deref() == Some("x")).count(),
            10_000
        );
        assert_eq!(all.last().unwrap().as_deref(), Some("y"));
    }
}
