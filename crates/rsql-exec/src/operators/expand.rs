//! Expanding rows over grouping sets: the physical side of `GROUPING SETS`, `ROLLUP` and
//! `CUBE` (Spark's `Expand`). Each input batch becomes one output batch per grouping set: the
//! same columns, with the key columns the set leaves out replaced by NULL arrays, and a
//! constant column numbering the set. Columns are shared, not copied.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::datatypes::SchemaRef;

use crate::error::{Result, exec_err};

/// Which columns are group keys and which of them each grouping set keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupingSets {
    /// The input columns holding the group keys.
    pub key_columns: Vec<usize>,
    /// Each set's keys, as positions in `key_columns`.
    pub sets: Vec<Vec<usize>>,
}

impl GroupingSets {
    /// Grouping sets over `key_columns`; fails if a set names a key that does not exist.
    pub fn try_new(key_columns: Vec<usize>, sets: Vec<Vec<usize>>) -> Result<Self> {
        if sets.iter().flatten().any(|&k| k >= key_columns.len()) {
            return exec_err(format!(
                "grouping sets {sets:?} name keys beyond the {} key columns",
                key_columns.len()
            ));
        }
        Ok(GroupingSets { key_columns, sets })
    }

    /// Whether the column `column` of the input is nulled in some set.
    pub fn is_nulled(&self, column: usize) -> bool {
        self.key_columns
            .iter()
            .enumerate()
            .any(|(k, &c)| c == column && self.sets.iter().any(|set| !set.contains(&k)))
    }

    /// `batch` once per grouping set, in `schema` (the input's columns, then the `Int64` set
    /// number); an empty batch expands to nothing.
    pub fn expand(&self, batch: &RecordBatch, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(Vec::new());
        }
        if schema.fields().len() != batch.num_columns() + 1 {
            return exec_err(format!(
                "expanding a batch of {} columns into {} columns",
                batch.num_columns(),
                schema.fields().len()
            ));
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let mut nulls: Vec<Option<ArrayRef>> = vec![None; self.key_columns.len()];
        self.sets
            .iter()
            .enumerate()
            .map(|(number, set)| {
                let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                for (k, &column) in self.key_columns.iter().enumerate() {
                    if !set.contains(&k) {
                        let null = nulls[k].get_or_insert_with(|| {
                            new_null_array(batch.column(column).data_type(), rows)
                        });
                        columns[column] = Arc::clone(null);
                    }
                }
                columns.push(Arc::new(Int64Array::from_value(number as i64, rows)));
                Ok(RecordBatch::try_new_with_options(
                    SchemaRef::clone(schema),
                    columns,
                    &options,
                )?)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema};

    use super::*;

    fn input() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Utf8, true),
            Field::new("x", DataType::Int32, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
                Arc::new(StringArray::from(vec![Some("p"), Some("q"), None])),
                Arc::new(Int32Array::from(vec![10, 20, 30])),
            ],
        )
        .unwrap()
    }

    fn output_schema() -> SchemaRef {
        let mut fields: Vec<Field> = input()
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("__grouping_id", DataType::Int64, false));
        Arc::new(Schema::new(fields))
    }

    #[test]
    fn each_set_nulls_the_keys_it_leaves_out_and_keeps_the_rest() {
        // ROLLUP(a, b) over key columns 0 and 1: (a, b), (a), ().
        let sets = GroupingSets::try_new(vec![0, 1], vec![vec![0, 1], vec![0], vec![]]).unwrap();
        let out = sets.expand(&input(), &output_schema()).unwrap();
        assert_eq!(out.len(), 3);
        let a = |b: &RecordBatch| -> Vec<Option<i32>> {
            b.column(0).as_primitive::<Int32Type>().iter().collect()
        };
        let b_nulls = |b: &RecordBatch| b.column(1).null_count();
        assert_eq!(a(&out[0]), vec![Some(1), None, Some(3)]);
        assert_eq!(b_nulls(&out[0]), 1);
        assert_eq!(a(&out[1]), vec![Some(1), None, Some(3)]);
        assert_eq!(b_nulls(&out[1]), 3);
        assert_eq!(a(&out[2]), vec![None, None, None]);
        assert_eq!(b_nulls(&out[2]), 3);
        for (number, batch) in out.iter().enumerate() {
            // The aggregate input column is never nulled.
            assert_eq!(batch.column(2).as_ref(), input().column(2).as_ref());
            let ids: Vec<i64> = batch
                .column(3)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec();
            assert_eq!(ids, vec![number as i64; 3]);
        }
    }

    #[test]
    fn empty_batches_expand_to_nothing_and_bad_sets_are_refused() {
        let sets = GroupingSets::try_new(vec![0], vec![vec![0], vec![]]).unwrap();
        let empty = input().slice(0, 0);
        assert!(sets.expand(&empty, &output_schema()).unwrap().is_empty());
        assert!(GroupingSets::try_new(vec![0], vec![vec![1]]).is_err());
        assert!(sets.is_nulled(0));
        assert!(!sets.is_nulled(2));
    }
}
