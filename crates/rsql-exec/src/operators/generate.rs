//! Generating rows from array and map columns: the physical side of `explode`, `posexplode`,
//! their `_outer` forms, `LATERAL VIEW` and `UNNEST`.
//!
//! Each input row is repeated once per element of its array (or entry of its map): the other
//! columns and the elements are gathered with Arrow's `take` kernel, by row and element indices
//! computed from the array column's offsets.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, RecordBatchOptions, UInt32Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::take;
use arrow::datatypes::{DataType, SchemaRef};

use crate::error::{Result, exec_err};

/// Rows emitted per output batch, at least (a batch ends after the row that fills it).
const OUTPUT_ROWS: usize = 8192;

/// What to generate from a batch's array or map column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Generator {
    /// The index of the array or map column (not part of the output).
    pub column: usize,
    /// Whether a 0-based `pos` column precedes the elements.
    pub position: bool,
    /// Whether a row with a NULL or empty array is kept once, with NULL elements.
    pub outer: bool,
}

/// The element arrays of a list or map column, with its offsets and nulls.
struct Elements {
    offsets: OffsetBuffer<i32>,
    nulls: Option<NullBuffer>,
    /// The items of a list, or the keys and values of a map.
    columns: Vec<ArrayRef>,
}

fn elements(array: &ArrayRef) -> Result<Elements> {
    match array.data_type() {
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            Ok(Elements {
                offsets: list.offsets().clone(),
                nulls: list.nulls().cloned(),
                columns: vec![Arc::clone(list.values())],
            })
        }
        DataType::Map(..) => {
            let map = array.as_map();
            Ok(Elements {
                offsets: map.offsets().clone(),
                nulls: map.nulls().cloned(),
                columns: vec![Arc::clone(map.keys()), Arc::clone(map.values())],
            })
        }
        other => exec_err(format!(
            "cannot generate rows from a column of type {other}"
        )),
    }
}

impl Generator {
    /// The rows generated from `batch`, as batches of `schema` (the input's columns but the
    /// array column, then `pos` if asked, then the element columns).
    pub fn generate(&self, batch: &RecordBatch, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
        let Some(source) = batch.columns().get(self.column) else {
            return exec_err(format!(
                "generator column {} of a batch with {} columns",
                self.column,
                batch.num_columns()
            ));
        };
        let elements = elements(source)?;
        let mut out = Gathered::default();
        let mut batches = Vec::new();
        for (row, w) in elements.offsets.windows(2).enumerate() {
            let valid = elements.nulls.as_ref().is_none_or(|n| n.is_valid(row));
            let (start, end) = if valid { (w[0], w[1]) } else { (0, 0) };
            let row = u32::try_from(row).or_else(|_| exec_err("a batch is too long"))?;
            if start == end {
                if self.outer {
                    out.push(row, None, None);
                }
            } else {
                for (position, element) in (start..end).enumerate() {
                    let element = u32::try_from(element)
                        .or_else(|_| exec_err("an array column is too long"))?;
                    let position = i32::try_from(position).ok();
                    out.push(row, Some(element), position);
                }
            }
            if out.rows.len() >= OUTPUT_ROWS {
                batches.push(self.gather(batch, &elements, &std::mem::take(&mut out), schema)?);
            }
        }
        if !out.rows.is_empty() {
            batches.push(self.gather(batch, &elements, &out, schema)?);
        }
        Ok(batches)
    }

    /// One output batch from gathered indices.
    fn gather(
        &self,
        batch: &RecordBatch,
        elements: &Elements,
        gathered: &Gathered,
        schema: &SchemaRef,
    ) -> Result<RecordBatch> {
        let rows = UInt32Array::from(gathered.rows.clone());
        let picks = UInt32Array::from(gathered.elements.clone());
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (i, column) in batch.columns().iter().enumerate() {
            if i != self.column {
                columns.push(take(column.as_ref(), &rows, None)?);
            }
        }
        if self.position {
            columns.push(Arc::new(Int32Array::from(gathered.positions.clone())) as ArrayRef);
        }
        for column in &elements.columns {
            columns.push(take(column.as_ref(), &picks, None)?);
        }
        Ok(RecordBatch::try_new_with_options(
            SchemaRef::clone(schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )?)
    }
}

/// The indices one output batch is gathered from.
#[derive(Default)]
struct Gathered {
    /// The input row of each output row.
    rows: Vec<u32>,
    /// The element of each output row (NULL for an outer row without elements).
    elements: Vec<Option<u32>>,
    /// The element's 0-based position in its array.
    positions: Vec<Option<i32>>,
}

impl Gathered {
    fn push(&mut self, row: u32, element: Option<u32>, position: Option<i32>) {
        self.rows.push(row);
        self.elements.push(element);
        self.positions.push(position);
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, ListArray};
    use arrow::datatypes::{Field, Int64Type, Schema};

    use super::*;

    /// ids 1..=4 with arrays [10, 11], NULL, [], [12].
    fn input() -> RecordBatch {
        let ids = Int64Array::from(vec![1, 2, 3, 4]);
        let arrays = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(10), Some(11)]),
            None,
            Some(vec![]),
            Some(vec![Some(12)]),
        ]);
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("a", arrays.data_type().clone(), true),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(ids), Arc::new(arrays)]).unwrap()
    }

    fn output(position: bool) -> SchemaRef {
        let mut fields = vec![Field::new("id", DataType::Int64, false)];
        if position {
            fields.push(Field::new("pos", DataType::Int32, true));
        }
        fields.push(Field::new("col", DataType::Int64, true));
        Arc::new(Schema::new(fields))
    }

    fn column(batch: &RecordBatch, index: usize) -> Vec<Option<i64>> {
        let column = arrow::compute::cast(batch.column(index), &DataType::Int64).unwrap();
        column.as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn explode_repeats_rows_per_element() {
        let generator = Generator {
            column: 1,
            position: false,
            outer: false,
        };
        let batches = generator.generate(&input(), &output(false)).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(column(&batches[0], 0), [Some(1), Some(1), Some(4)]);
        assert_eq!(column(&batches[0], 1), [Some(10), Some(11), Some(12)]);
    }

    #[test]
    fn outer_posexplode_keeps_rows_without_elements() {
        let generator = Generator {
            column: 1,
            position: true,
            outer: true,
        };
        let batches = generator.generate(&input(), &output(true)).unwrap();
        let batch = &batches[0];
        assert_eq!(
            column(batch, 0),
            [Some(1), Some(1), Some(2), Some(3), Some(4)]
        );
        assert_eq!(column(batch, 1), [Some(0), Some(1), None, None, Some(0)]);
        assert_eq!(column(batch, 2), [Some(10), Some(11), None, None, Some(12)]);
    }
}
