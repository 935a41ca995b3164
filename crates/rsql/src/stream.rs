//! [`RecordBatchStream`]: a result read batch by batch while it is computed
//! ([`DataFrame::execute_stream`](crate::DataFrame::execute_stream)).

use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rsql_rdd::LocalIterator;

use crate::error::{Error, Result};
use crate::session::timed_out;

/// The batches of a result in partition order, as [`DataFrame::collect`](crate::DataFrame::collect)
/// returns them, computed while they are read: the driver holds a couple of batches at a
/// time. An error ends the stream; dropping it cancels what is left of the job.
pub struct RecordBatchStream {
    schema: SchemaRef,
    batches: Batches,
    /// The statement's timeout and deadline, to name the timeout when the job is cancelled
    /// by it.
    timeout: Option<(Duration, Instant)>,
}

/// Where the batches come from.
enum Batches {
    /// A job running while the stream is read.
    Running(LocalIterator<RecordBatch>),
    /// Batches known before anything ran (an `EXPLAIN`).
    Ready(std::vec::IntoIter<RecordBatch>),
}

impl RecordBatchStream {
    /// The batches of a running job.
    pub(crate) fn running(
        schema: SchemaRef,
        batches: LocalIterator<RecordBatch>,
        timeout: Option<(Duration, Instant)>,
    ) -> Self {
        RecordBatchStream {
            schema,
            batches: Batches::Running(batches),
            timeout,
        }
    }

    /// Batches computed already.
    pub(crate) fn ready(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        RecordBatchStream {
            schema,
            batches: Batches::Ready(batches.into_iter()),
            timeout: None,
        }
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }
}

impl Iterator for RecordBatchStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        match &mut self.batches {
            Batches::Ready(batches) => batches.next().map(Ok),
            Batches::Running(batches) => {
                let item = batches.next()?;
                Some(item.map_err(|error| {
                    let error = Error::from(error);
                    match self.timeout {
                        Some((timeout, deadline)) => timed_out(error, timeout, deadline),
                        None => error,
                    }
                }))
            }
        }
    }
}
