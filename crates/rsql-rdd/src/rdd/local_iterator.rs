//! [`Rdd::to_local_iterator`]: the items of an RDD handed to the driver as they are computed,
//! partition by partition, instead of collected.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::Data;
use crate::error::{RddError, Result};
use crate::rdd::{BoxIter, Rdd};
use crate::scheduler::{CancelToken, InOrderSink, TaskContext, panic_message};

/// Items a partition's task may compute ahead of the driver before it waits for the driver
/// to take them.
const ITEMS_AHEAD: usize = 2;

/// The items of an RDD in partition order, computed while they are read
/// ([`Rdd::to_local_iterator`]). An error ends the iteration. Dropping the iterator stops the
/// job (its running tasks end at their next item) and waits for it.
pub struct LocalIterator<T> {
    /// One channel for the stages before the result stage (it only ever carries their
    /// error), then one per result partition, in order; a channel is dropped once read to
    /// its end.
    channels: VecDeque<Receiver<Result<T>>>,
    job: Option<JoinHandle<()>>,
}

impl<T> Iterator for LocalIterator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        while let Some(channel) = self.channels.front() {
            match channel.recv() {
                Ok(Err(error)) => {
                    // Closing every channel stops the tasks still running.
                    self.channels.clear();
                    return Some(Err(error));
                }
                Ok(item) => return Some(item),
                Err(_) => {
                    self.channels.pop_front();
                }
            }
        }
        None
    }
}

impl<T> Drop for LocalIterator<T> {
    fn drop(&mut self) {
        // Closing the channels makes the running tasks' next hand-over fail, which ends them.
        self.channels.clear();
        if let Some(job) = self.job.take() {
            let _ = job.join();
        }
    }
}

impl<T: Data> Rdd<T> {
    /// The items, in partition order, as an iterator that runs the job while it is read, as
    /// Spark's `toLocalIterator`: the shuffle stages run first on the worker pool, then the
    /// last stage's tasks, as many at once as the pool has threads, claimed in partition
    /// order. The driver reads one partition's items as they are computed while the next
    /// partitions compute ahead, each holding back at most a couple of items until its turn,
    /// so the driver holds a few items rather than the whole result.
    ///
    /// The job is cancelled by [`Context::cancel_running_jobs`](crate::Context::cancel_running_jobs)
    /// (and by the deadline of [`with_deadline`](crate::with_deadline)) as any job started
    /// now. A task that fails before handing anything over is retried; one that fails after
    /// some of its items were handed over ends the iteration with its error once the driver
    /// reaches it, since a retry would hand those items over again.
    pub fn to_local_iterator(&self) -> Result<LocalIterator<T>> {
        let token = CancelToken::new(&self.context().inner.cancellations);
        let (senders, channels) = (0..=self.num_partitions())
            .map(|_| {
                let (sender, channel) = sync_channel(ITEMS_AHEAD);
                (Mutex::new(Some(sender)), channel)
            })
            .unzip();
        let sink = ChannelSink { senders };
        let rdd = self.clone();
        let workers = self.context().default_parallelism();
        let job = std::thread::Builder::new()
            .name("rsql-local-iterator".into())
            .spawn(move || rdd.context().run_job_in_order(&rdd, &token, workers, &sink))
            .map_err(|e| RddError::ThreadPool(e.to_string()))?;
        Ok(LocalIterator {
            channels,
            job: Some(job),
        })
    }
}

/// The sending ends of a [`LocalIterator`]'s channels, in its order.
struct ChannelSink<T> {
    senders: Vec<Mutex<Option<SyncSender<Result<T>>>>>,
}

impl<T> ChannelSink<T> {
    /// The sender of the channel for `partition` (`None`: the stages before the result
    /// stage), while that channel is open.
    fn sender(&self, partition: Option<usize>) -> Option<SyncSender<Result<T>>> {
        let slot = partition.map_or(0, |p| p + 1);
        let sender = self.senders[slot].lock().unwrap_or_else(|e| e.into_inner());
        sender.clone()
    }
}

impl<T: Send> InOrderSink<T> for ChannelSink<T> {
    fn deliver(&self, partition: usize, items: BoxIter<'_, T>, tc: &TaskContext) -> bool {
        match self.sender(Some(partition)) {
            Some(sender) => deliver(items, tc, &sender),
            None => false,
        }
    }

    fn finish(&self, partition: Option<usize>, outcome: Result<()>) {
        let slot = partition.map_or(0, |p| p + 1);
        let sender = self.senders[slot]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // Dropping the sender closes the channel: the driver goes on to the next one.
        if let (Some(sender), Err(error)) = (sender, outcome) {
            let _ = sender.send(Err(error));
        }
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
