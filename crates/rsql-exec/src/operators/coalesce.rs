//! Small batches merged into batches of a target size, as DataFusion's `CoalesceBatchesExec`:
//! an exchange cuts every batch into a piece per partition and a selective join probe keeps a
//! few rows of each probe batch, while the operators downstream pay a cost per batch. Batches
//! already large pass through without a copy.

use arrow::compute::BatchCoalescer;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;

/// The rows of a coalesced batch (all but the last of a stream).
pub const TARGET_BATCH_ROWS: usize = 8192;

/// `batches` merged into batches of about [`TARGET_BATCH_ROWS`] rows, in order. An error ends
/// the stream (rows still buffered are dropped: the task fails with it).
pub fn coalesce_batches<'a>(
    schema: SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch>> + 'a,
) -> impl Iterator<Item = Result<RecordBatch>> + 'a {
    let coalescer = BatchCoalescer::new(schema, TARGET_BATCH_ROWS)
        .with_biggest_coalesce_batch_size(Some(TARGET_BATCH_ROWS / 2));
    Coalesced {
        batches,
        coalescer,
        done: false,
    }
}

struct Coalesced<I> {
    batches: I,
    coalescer: BatchCoalescer,
    done: bool,
}

impl<I: Iterator<Item = Result<RecordBatch>>> Iterator for Coalesced<I> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(batch) = self.coalescer.next_completed_batch() {
                return Some(Ok(batch));
            }
            if self.done {
                return None;
            }
            match self.batches.next() {
                Some(Ok(batch)) => {
                    if let Err(error) = self.coalescer.push_batch(batch) {
                        self.done = true;
                        return Some(Err(error.into()));
                    }
                }
                Some(Err(error)) => {
                    self.done = true;
                    return Some(Err(error));
                }
                None => {
                    self.done = true;
                    if let Err(error) = self.coalescer.finish_buffered_batch() {
                        return Some(Err(error.into()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;
    use crate::error::ExecError;

    fn batch(schema: &SchemaRef, values: std::ops::Range<i64>) -> RecordBatch {
        let column = Arc::new(Int64Array::from_iter_values(values));
        RecordBatch::try_new(Arc::clone(schema), vec![column]).unwrap()
    }

    #[test]
    fn small_batches_merge_in_order_and_large_ones_pass() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let mut input: Vec<Result<RecordBatch>> = (0..3000)
            .map(|i| Ok(batch(&schema, i * 3..i * 3 + 3)))
            .collect();
        input.push(Ok(batch(&schema, 9000..30000)));
        let output: Vec<RecordBatch> = coalesce_batches(Arc::clone(&schema), input.into_iter())
            .map(Result::unwrap)
            .collect();
        let sizes: Vec<usize> = output.iter().map(RecordBatch::num_rows).collect();
        assert!(
            sizes.iter().all(|&n| n > 0) && sizes.len() < 10,
            "{sizes:?}"
        );
        let values: Vec<i64> = output
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(values, (0..30000).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_ends_the_stream() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let input = vec![
            Ok(batch(&schema, 0..5)),
            Err(ExecError::Execution("broken".into())),
            Ok(batch(&schema, 5..9)),
        ];
        let output: Vec<Result<RecordBatch>> =
            coalesce_batches(schema, input.into_iter()).collect();
        assert!(matches!(output.last(), Some(Err(_))), "{output:?}");
        assert!(output.len() <= 2);
    }
}
