//! Jobs whose result tasks run one at a time, in partition order, on the calling thread: what
//! streams a result to the driver ([`Rdd::to_local_iterator`]) without holding it whole.

use std::sync::Arc;
use std::time::Instant;

use super::{
    CancelToken, SchedulerEvent, StageKind, StageMetrics, add_attempts, missing_map_stages,
    run_result_task,
};
use crate::Data;
use crate::context::Context;
use crate::error::{RddError, Result};
use crate::rdd::{BoxIter, Rdd, RddBase};
use crate::scheduler::TaskContext;

impl Context {
    /// Runs the missing shuffle map stages of `rdd` on the worker pool, then its result stage
    /// one partition after the other, in order, on this thread: `func` gets each partition's
    /// items and returns whether to go on. Listeners see one job with one result stage, as for
    /// [`Context::run_job`].
    ///
    /// A result task that fails is retried as in any job, and a lost shuffle output is
    /// recomputed before its partition runs again; `func` decides what a retry means for the
    /// items it already handed on.
    pub(crate) fn run_job_in_order<T: Data>(
        &self,
        rdd: &Rdd<T>,
        token: &CancelToken,
        func: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext) -> bool + Sync,
    ) -> Result<()> {
        let job_id = self.inner.next_job_id();
        let started = Instant::now();
        let base = rdd.base();
        let planned = missing_map_stages(self, &base);
        self.inner.listeners.post(SchedulerEvent::JobStarted {
            job_id,
            stages: planned.len() + 1,
        });
        let result = (|| {
            for shuffle in planned {
                self.run_map_stage(&shuffle, 1, token)?;
            }
            self.run_result_stage_in_order(&base, rdd, &func, token)
        })();
        self.inner.listeners.post(SchedulerEvent::JobEnded {
            job_id,
            succeeded: result.is_ok(),
            elapsed: started.elapsed(),
        });
        result
    }

    fn run_result_stage_in_order<T: Data>(
        &self,
        base: &Arc<dyn RddBase>,
        rdd: &Rdd<T>,
        func: &(dyn for<'a> Fn(BoxIter<'a, T>, &'a TaskContext) -> bool + Sync),
        token: &CancelToken,
    ) -> Result<()> {
        let partitions = rdd.num_partitions();
        let stage = self.stage_info(StageKind::Result, base, partitions);
        let started = Instant::now();
        self.inner
            .listeners
            .post(SchedulerEvent::StageSubmitted(stage.clone()));
        let mut metrics = StageMetrics::default();
        let task = |partition: usize, tc: &TaskContext| run_result_task(rdd, partition, func, tc);
        let outcome = (|| {
            for partition in 0..partitions {
                let mut stage_attempt = 1;
                loop {
                    let (result, attempts) =
                        self.run_task(&stage, partition, partition, &task, token);
                    add_attempts(&mut metrics, attempts);
                    match result {
                        Ok(true) => break,
                        Ok(false) => return Ok(()),
                        Err(RddError::FetchFailed { .. }) => {
                            self.recover_lost_shuffles(base, stage_attempt, token)?;
                            stage_attempt += 1;
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
            Ok(())
        })();
        metrics.elapsed = started.elapsed();
        self.inner
            .listeners
            .post(SchedulerEvent::StageCompleted { stage, metrics });
        outcome
    }
}
