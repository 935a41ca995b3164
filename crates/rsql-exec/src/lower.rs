//! Lowering operators onto `Rdd<RecordBatch>` lineage: narrow operators become per-partition
//! transformations pipelined in one task, an exchange becomes a shuffle dependency.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use rsql_rdd::{BoxIter, MemoryPool, Rdd, RddError, TaskContext};

use crate::error::{ExecError, Result};
use crate::operators::HashAggregate;

/// An operator error as the runtime reports it: runtime errors as themselves, the others
/// boxed as external errors (which keep their type for downcasting).
pub(crate) fn into_rdd_error(error: ExecError) -> RddError {
    match error {
        ExecError::Rdd(inner) => inner,
        other => RddError::External(Box::new(other)),
    }
}

/// Reports an operator error as the failure of the running task.
pub(crate) fn fail_task(tc: &TaskContext, error: ExecError) {
    tc.fail(into_rdd_error(error));
}

/// The batches of `batches` up to its first error, which fails the task; an operator that
/// could not start (`Err`) fails the task at once.
pub(crate) fn until_error<'a, I>(
    batches: Result<I>,
    tc: &'a TaskContext,
) -> BoxIter<'a, RecordBatch>
where
    I: Iterator<Item = Result<RecordBatch>> + 'a,
{
    match batches {
        Ok(batches) => Box::new(batches.map_while(move |batch| match batch {
            Ok(batch) => Some(batch),
            Err(error) => {
                fail_task(tc, error);
                None
            }
        })),
        Err(error) => {
            fail_task(tc, error);
            Box::new(std::iter::empty())
        }
    }
}

/// Applies a fallible batch function to every batch; `Ok(None)` drops the batch. The first
/// error fails the task, naming the operator's stage and partition.
#[track_caller]
pub fn map_batches(
    input: &Rdd<RecordBatch>,
    f: impl Fn(RecordBatch) -> Result<Option<RecordBatch>> + Send + Sync + 'static,
) -> Rdd<RecordBatch> {
    let f = Arc::new(f);
    input.map_partitions_with_context(move |batches: BoxIter<'_, RecordBatch>, tc| {
        let f = Arc::clone(&f);
        Box::new(
            batches
                .map_while(move |batch| match f(batch) {
                    Ok(out) => Some(out),
                    Err(error) => {
                        fail_task(tc, error);
                        None
                    }
                })
                .flatten(),
        )
    })
}

/// Aggregates every partition (partial, final or single-phase per `plan`) within the
/// memory `pool`, spilling past it.
#[track_caller]
pub fn aggregate_partitions(
    input: &Rdd<RecordBatch>,
    plan: Arc<HashAggregate>,
    pool: Arc<MemoryPool>,
) -> Rdd<RecordBatch> {
    input.map_partitions_with_context(move |batches, tc| {
        match plan.aggregate_bounded(batches.map(Ok), &pool) {
            Ok(batches) => Box::new(batches.into_iter().filter(|b| b.num_rows() > 0)),
            Err(error) => {
                fail_task(tc, error);
                Box::new(std::iter::empty())
            }
        }
    })
}
