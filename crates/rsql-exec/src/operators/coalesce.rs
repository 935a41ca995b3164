//! Small batches merged into batches of a target size, as DataFusion's `CoalesceBatchesExec`:
//! an exchange cuts every batch into a piece per partition and a selective join probe keeps a
//! few rows of each probe batch, while the operators downstream pay a cost per batch. Batches
//! already large, in rows or in bytes (an aggregation's partial states of `median`, say), pass
//! through without a copy.

use arrow::compute::BatchCoalescer;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;

/// The rows of a coalesced batch (all but the last of a stream).
pub const TARGET_BATCH_ROWS: usize = 8192;

/// A batch holding at least this many bytes passes as it is, however few its rows: copying it
/// into a larger one would cost more memory than the batch saves downstream.
const LARGE_BATCH_BYTES: usize = 4 << 20;

/// A batch of at least [`WIDE_BATCH_BYTES`] whose rows hold this many bytes each on average
/// passes as it is too (partial states of a `median`, each a list of many values): copying
/// its rows costs far more than the batch does downstream.
const WIDE_ROW_BYTES: usize = 1 << 10;

/// See [`WIDE_ROW_BYTES`].
const WIDE_BATCH_BYTES: usize = 256 << 10;

/// Whether `batch` passes without being merged into a larger one.
fn is_large(batch: &RecordBatch) -> bool {
    let bytes = batch.get_array_memory_size();
    bytes >= LARGE_BATCH_BYTES
        || (bytes >= WIDE_BATCH_BYTES && bytes >= WIDE_ROW_BYTES * batch.num_rows())
}

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
        large: None,
        done: false,
    }
}

struct Coalesced<I> {
    batches: I,
    coalescer: BatchCoalescer,
    /// A large batch to pass on once the rows buffered before it are out.
    large: Option<RecordBatch>,
    done: bool,
}

impl<I: Iterator<Item = Result<RecordBatch>>> Iterator for Coalesced<I> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(batch) = self.coalescer.next_completed_batch() {
                return Some(Ok(batch));
            }
            if let Some(batch) = self.large.take() {
                return Some(Ok(batch));
            }
            if self.done {
                return None;
            }
            match self.batches.next() {
                Some(Ok(batch)) if is_large(&batch) => {
                    if let Err(error) = self.coalescer.finish_buffered_batch() {
                        self.done = true;
                        return Some(Err(error.into()));
                    }
                    self.large = Some(batch);
                }
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

    use arrow::array::{AsArray, Int64Array, StringArray};
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

    /// A batch of few rows over large buffers (a slice of a big batch here) passes without a
    /// copy, after the rows buffered before it, and before those that follow.
    #[test]
    fn batches_large_in_bytes_pass_in_order_without_a_copy() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let big = batch(&schema, 0..1_000_000).slice(10, 3);
        let input = vec![
            Ok(batch(&schema, 100..105)),
            Ok(big.clone()),
            Ok(batch(&schema, 200..204)),
        ];
        let output: Vec<RecordBatch> = coalesce_batches(Arc::clone(&schema), input.into_iter())
            .map(Result::unwrap)
            .collect();
        let values: Vec<Vec<i64>> = output
            .iter()
            .map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(
            values,
            vec![(100..105).collect(), vec![10, 11, 12], (200..204).collect()]
        );
        let buffer = |b: &RecordBatch| b.column(0).as_primitive::<Int64Type>().values().as_ptr();
        assert_eq!(buffer(&output[1]), buffer(&big));
    }

    /// A batch of a few wide rows (4 KiB strings) passes as it is between narrow ones, which
    /// still merge.
    #[test]
    fn batches_of_wide_rows_pass_without_a_copy() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
        let strings = |rows: usize, width: usize| {
            let column = StringArray::from_iter_values((0..rows).map(|_| "x".repeat(width)));
            RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(column)]).unwrap()
        };
        let wide = strings(100, 4096);
        let input = vec![Ok(strings(3, 8)), Ok(strings(4, 8)), Ok(wide.clone())];
        let output: Vec<RecordBatch> = coalesce_batches(Arc::clone(&schema), input.into_iter())
            .map(Result::unwrap)
            .collect();
        let rows: Vec<usize> = output.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(rows, vec![7, 100]);
        let buffer = |b: &RecordBatch| b.column(0).as_string::<i32>().values().as_ptr();
        assert_eq!(buffer(&output[1]), buffer(&wide));
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
