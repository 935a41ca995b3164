//! Jobs whose result partitions reach the driver in partition order, computed a few at a time:
//! what streams a result to the driver ([`Rdd::to_local_iterator`]) without holding it whole.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use super::{
    CancelToken, SchedulerEvent, StageInfo, StageKind, StageMetrics, add_attempts,
    missing_map_stages, run_result_task,
};
use crate::Data;
use crate::context::Context;
use crate::error::{RddError, Result};
use crate::rdd::{BoxIter, Rdd, RddBase};
use crate::scheduler::TaskContext;

/// Where an in-order job hands its result partitions: each partition's items, then its end.
pub(crate) trait InOrderSink<T>: Sync {
    /// Hands one attempt of `partition`'s task its items; returns whether the job goes on.
    /// Called again for a retried attempt.
    fn deliver(&self, partition: usize, items: BoxIter<'_, T>, tc: &TaskContext) -> bool;

    /// `partition` is done: delivered, or failed for good with the error. `None` stands for
    /// the shuffle stages that run before the first result task.
    fn finish(&self, partition: Option<usize>, outcome: Result<()>);
}

/// What one worker of the result stage shares with the others.
struct ResultStage<'a, T: Data, S> {
    stage: StageInfo,
    base: &'a Arc<dyn RddBase>,
    rdd: &'a Rdd<T>,
    sink: &'a S,
    token: &'a CancelToken,
    /// The next partition to claim: claimed in order, so at most `workers` run at once.
    next: AtomicUsize,
    going: AtomicBool,
    succeeded: AtomicBool,
    metrics: Mutex<StageMetrics>,
    /// Held while lost shuffle outputs are recomputed, so one worker does it at a time.
    recovering: Mutex<()>,
}

impl Context {
    /// Runs the missing shuffle map stages of `rdd` on the worker pool, then its result stage
    /// with `workers` partitions computed at once, claimed in partition order, each handing
    /// its items to `sink` (which keeps them in order for the driver). Listeners see one job
    /// with one result stage, as for [`Context::run_job`].
    ///
    /// A result task that fails is retried as in any job, and a lost shuffle output is
    /// recomputed before its partition runs again; the sink decides what a retry means for
    /// the items it already handed on. After a partition fails, or the sink says stop, no
    /// further partition starts.
    pub(crate) fn run_job_in_order<T: Data, S: InOrderSink<T>>(
        &self,
        rdd: &Rdd<T>,
        token: &CancelToken,
        workers: usize,
        sink: &S,
    ) {
        let job_id = self.inner.next_job_id();
        let started = Instant::now();
        let base = rdd.base();
        let planned = missing_map_stages(self, &base);
        self.inner.listeners.post(SchedulerEvent::JobStarted {
            job_id,
            stages: planned.len() + 1,
        });
        let prepared = planned
            .iter()
            .try_for_each(|shuffle| self.run_map_stage(shuffle, 1, token));
        let succeeded = prepared.is_ok();
        sink.finish(None, prepared);
        let succeeded =
            succeeded && self.run_result_stage_in_order(&base, rdd, sink, workers, token);
        self.inner.listeners.post(SchedulerEvent::JobEnded {
            job_id,
            succeeded,
            elapsed: started.elapsed(),
        });
    }

    /// Runs the result stage on `workers` threads of its own (the pool's threads are idle
    /// meanwhile, and a worker may wait for the driver, which must not hold up the pool);
    /// whether every partition was delivered.
    fn run_result_stage_in_order<T: Data, S: InOrderSink<T>>(
        &self,
        base: &Arc<dyn RddBase>,
        rdd: &Rdd<T>,
        sink: &S,
        workers: usize,
        token: &CancelToken,
    ) -> bool {
        let partitions = rdd.num_partitions();
        let started = Instant::now();
        let shared = ResultStage {
            stage: self.stage_info(StageKind::Result, base, partitions),
            base,
            rdd,
            sink,
            token,
            next: AtomicUsize::new(0),
            going: AtomicBool::new(true),
            succeeded: AtomicBool::new(true),
            metrics: Mutex::new(StageMetrics::default()),
            recovering: Mutex::new(()),
        };
        self.inner
            .listeners
            .post(SchedulerEvent::StageSubmitted(shared.stage.clone()));
        std::thread::scope(|scope| {
            for worker in 1..workers.min(partitions) {
                let spawned = std::thread::Builder::new()
                    .name(format!("rsql-result-{worker}"))
                    .spawn_scoped(scope, || self.run_result_worker(&shared));
                // Without another thread, this one does all the partitions.
                if spawned.is_err() {
                    break;
                }
            }
            self.run_result_worker(&shared);
        });
        let ResultStage {
            stage,
            metrics,
            succeeded,
            ..
        } = shared;
        let mut metrics = metrics.into_inner().unwrap_or_else(|e| e.into_inner());
        metrics.elapsed = started.elapsed();
        self.inner
            .listeners
            .post(SchedulerEvent::StageCompleted { stage, metrics });
        succeeded.into_inner()
    }

    /// Claims partitions in order and runs them until none are left or the job stops.
    fn run_result_worker<T: Data, S: InOrderSink<T>>(&self, shared: &ResultStage<'_, T, S>) {
        while shared.going.load(Ordering::SeqCst) {
            let partition = shared.next.fetch_add(1, Ordering::SeqCst);
            if partition >= shared.rdd.num_partitions() {
                return;
            }
            let outcome = self.run_result_partition(shared, partition);
            if !matches!(outcome, Ok(true)) {
                shared.going.store(false, Ordering::SeqCst);
                shared.succeeded.store(false, Ordering::SeqCst);
            }
            shared.sink.finish(Some(partition), outcome.map(|_| ()));
        }
    }

    /// Runs one partition's task, with retries and recovery of lost shuffle outputs; whether
    /// the job goes on.
    fn run_result_partition<T: Data, S: InOrderSink<T>>(
        &self,
        shared: &ResultStage<'_, T, S>,
        partition: usize,
    ) -> Result<bool> {
        let deliver =
            |items: BoxIter<'_, T>, tc: &TaskContext| shared.sink.deliver(partition, items, tc);
        let task = |partition: usize, tc: &TaskContext| {
            run_result_task(shared.rdd, partition, &deliver, tc)
        };
        let mut stage_attempt = 1;
        loop {
            let (result, attempts) =
                self.run_task(&shared.stage, partition, partition, &task, shared.token);
            add_attempts(
                &mut shared.metrics.lock().unwrap_or_else(|e| e.into_inner()),
                attempts,
            );
            match result {
                Err(RddError::FetchFailed { .. }) => {
                    let _one_at_a_time =
                        shared.recovering.lock().unwrap_or_else(|e| e.into_inner());
                    self.recover_lost_shuffles(shared.base, stage_attempt, shared.token)?;
                    stage_attempt += 1;
                }
                other => return other,
            }
        }
    }
}
