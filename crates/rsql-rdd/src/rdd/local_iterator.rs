//! [`Rdd::to_local_iterator`]: the items of an RDD handed to the driver as they are computed,
//! partition by partition, instead of collected.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::Data;
use crate::error::{RddError, Result};
use crate::rdd::{BoxIter, Rdd};
use crate::scheduler::{CancelToken, TaskContext, panic_message};

/// Items computed ahead of the driver: what a partition's task may hand on before it waits
/// for the driver to take them.
const ITEMS_AHEAD: usize = 2;

/// The items of an RDD in partition order, computed while they are read
/// ([`Rdd::to_local_iterator`]). An error ends the iteration. Dropping the iterator stops the
/// job (its running task ends at its next item) and waits for it.
pub struct LocalIterator<T> {
    items: Option<Receiver<Result<T>>>,
    job: Option<JoinHandle<()>>,
}

impl<T> Iterator for LocalIterator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        self.items.as_ref()?.recv().ok()
    }
}

impl<T> Drop for LocalIterator<T> {
    fn drop(&mut self) {
        // Closing the channel makes the running task's next hand-over fail, which ends it.
        self.items = None;
        if let Some(job) = self.job.take() {
            let _ = job.join();
        }
    }
}

impl<T: Data> Rdd<T> {
    /// The items, in partition order, as an iterator that runs the job while it is read, as
    /// Spark's `toLocalIterator`: the shuffle stages run first on the worker pool, then the
    /// last stage's tasks one partition at a time on a thread of their own, each handing its
    /// items over as it computes them, so the driver holds a couple of items rather than the
    /// whole result.
    ///
    /// The job is cancelled by [`Context::cancel_running_jobs`](crate::Context::cancel_running_jobs)
    /// (and by the deadline of [`with_deadline`](crate::with_deadline)) as any job started
    /// now. A task that fails before handing anything over is retried; one that fails after
    /// some of its items were read ends the iteration with its error, since a retry would
    /// hand those items over again.
    pub fn to_local_iterator(&self) -> Result<LocalIterator<T>> {
        let token = CancelToken::new(&self.context().inner.cancellations);
        let (sender, items) = sync_channel(ITEMS_AHEAD);
        let rdd = self.clone();
        let job = std::thread::Builder::new()
            .name("rsql-local-iterator".into())
            .spawn(move || {
                let deliver = |items: BoxIter<'_, T>, tc: &TaskContext| deliver(items, tc, &sender);
                if let Err(error) = rdd.context().run_job_in_order(&rdd, &token, deliver) {
                    let _ = sender.send(Err(error));
                }
            })
            .map_err(|e| RddError::ThreadPool(e.to_string()))?;
        Ok(LocalIterator {
            items: Some(items),
            job: Some(job),
        })
    }
}

/// Hands one partition's items to the driver; whether the job goes on (the driver still
/// reads, nothing failed after being handed on).
///
/// A failure (an error recorded in `tc`, or a panic) before the first item was handed on is
/// left to the scheduler, which retries the task; after it, the failure ends the stream,
/// since a retry would hand the first items over twice.
fn deliver<T>(items: BoxIter<'_, T>, tc: &TaskContext, sender: &SyncSender<Result<T>>) -> bool {
    let mut handed_on = false;
    let sent = catch_unwind(AssertUnwindSafe(|| {
        for item in items {
            if sender.send(Ok(item)).is_err() {
                return false;
            }
            handed_on = true;
        }
        true
    }));
    let failure = match sent {
        Ok(false) => return false,
        Ok(true) => tc.check_failure().err(),
        Err(panic) if handed_on => Some(RddError::Panicked(panic_message(panic.as_ref()))),
        Err(panic) => resume_unwind(panic),
    };
    match failure {
        Some(error) if handed_on => {
            let error = if tc.is_cancelled() {
                RddError::Cancelled
            } else {
                error
            };
            let _ = sender.send(Err(error));
            false
        }
        Some(error) => {
            // Nothing handed on yet: the scheduler retries (or reports) the failure.
            tc.fail(error);
            true
        }
        None => true,
    }
}
