//! The DAG scheduler: cuts lineage into stages at shuffle dependencies and runs their tasks.

mod in_order;
pub(crate) mod listener;
pub(crate) mod task;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

pub(crate) use in_order::InOrderSink;
pub use listener::{
    RunTotals, SchedulerEvent, SchedulerListener, StageInfo, StageKind, StageMetrics,
    TotalsListener,
};
pub(crate) use task::CancelToken;
pub use task::{TaskContext, TaskMetrics, in_task, with_deadline};

use crate::Data;
use crate::context::Context;
use crate::error::{RddError, Result};
use crate::rdd::{BoxIter, Rdd, RddBase, lineage};
use crate::shared::TaskUpdates;
use crate::shuffle::ShuffleDependencyBase;

/// Identifier of a stage within its context.
pub type StageId = usize;

/// The parent stages of a stage ending at `rdd`; fully cached RDDs are not looked through.
fn parent_shuffles(
    context: &Context,
    rdd: &Arc<dyn RddBase>,
) -> Vec<Arc<dyn ShuffleDependencyBase>> {
    lineage::stage_shuffles(rdd, |rdd| {
        let meta = rdd.meta();
        meta.persistence().is_some()
            && context
                .inner
                .blocks
                .contains_all(meta.id, rdd.num_partitions())
    })
}

/// Shuffle map stages that must run before a stage ending at `rdd`, parents first.
fn missing_map_stages(
    context: &Context,
    rdd: &Arc<dyn RddBase>,
) -> Vec<Arc<dyn ShuffleDependencyBase>> {
    fn visit(
        context: &Context,
        shuffle: Arc<dyn ShuffleDependencyBase>,
        planned: &mut HashSet<usize>,
        order: &mut Vec<Arc<dyn ShuffleDependencyBase>>,
    ) {
        let id = shuffle.shuffle_id();
        if planned.contains(&id) || context.inner.shuffles.missing(id).is_empty() {
            return;
        }
        for parent in parent_shuffles(context, &shuffle.parent()) {
            visit(context, parent, planned, order);
        }
        if planned.insert(id) {
            order.push(shuffle);
        }
    }
    let mut planned = HashSet::new();
    let mut order = Vec::new();
    for shuffle in parent_shuffles(context, rdd) {
        visit(context, shuffle, &mut planned, &mut order);
    }
    order
}

/// The stages an action on `rdd` would run now, counting the jobs it starts on the way: a map
/// stage for every shuffle whose output is missing, one more for each of their preparations
/// (a sampling job of one stage, since the shuffle's parents have run by then), and the result
/// stage.
pub(crate) fn planned_stages(context: &Context, rdd: &Arc<dyn RddBase>) -> usize {
    let planned = missing_map_stages(context, rdd);
    let preparations = planned
        .iter()
        .filter(|shuffle| shuffle.preparation().is_some())
        .count();
    planned.len() + preparations + 1
}

impl Context {
    /// Runs `func` over each of `partitions` of `rdd` and returns the results in that order.
    pub(crate) fn run_job<T: Data, R: Send>(
        &self,
        rdd: &Rdd<T>,
        partitions: &[usize],
        func: impl for<'a> Fn(BoxIter<'a, T>, &'a TaskContext) -> R + Sync,
    ) -> Result<Vec<R>> {
        let job_id = self.inner.next_job_id();
        let token = CancelToken::new(&self.inner.cancellations);
        let started = Instant::now();
        let base = rdd.base();
        let planned = missing_map_stages(self, &base);
        self.inner.listeners.post(SchedulerEvent::JobStarted {
            job_id,
            // Its own stages: a preparation's sampling job reports its stage itself.
            stages: planned.len() + 1,
        });
        let result = self.run_planned_job(&base, planned, rdd, partitions, &func, &token);
        self.inner.listeners.post(SchedulerEvent::JobEnded {
            job_id,
            succeeded: result.is_ok(),
            elapsed: started.elapsed(),
        });
        result
    }

    fn run_planned_job<T: Data, R: Send>(
        &self,
        base: &Arc<dyn RddBase>,
        planned: Vec<Arc<dyn ShuffleDependencyBase>>,
        rdd: &Rdd<T>,
        partitions: &[usize],
        func: &(dyn for<'a> Fn(BoxIter<'a, T>, &'a TaskContext) -> R + Sync),
        token: &CancelToken,
    ) -> Result<Vec<R>> {
        for shuffle in planned {
            self.run_map_stage(&shuffle, 1, token)?;
        }
        let mut results: Vec<Option<R>> = partitions.iter().map(|_| None).collect();
        let mut pending: Vec<usize> = (0..partitions.len()).collect();
        let result_task =
            |index: usize, tc: &TaskContext| run_result_task(rdd, partitions[index], func, tc);
        for stage_attempt in 1..=self.inner.config.max_stage_attempts {
            let stage = self.stage_info(StageKind::Result, base, pending.len());
            let outcomes = self.run_stage(&stage, &pending, |i| partitions[i], &result_task, token);
            let mut lost = Vec::new();
            for (index, outcome) in pending.iter().zip(outcomes) {
                match outcome {
                    Ok(value) => results[*index] = Some(value),
                    Err(RddError::FetchFailed { .. }) => lost.push(*index),
                    Err(error) => return Err(error),
                }
            }
            if lost.is_empty() {
                return results
                    .into_iter()
                    .map(|r| {
                        r.ok_or_else(|| RddError::Internal("result task produced nothing".into()))
                    })
                    .collect();
            }
            self.recover_lost_shuffles(base, stage_attempt, token)?;
            pending = lost;
        }
        Err(self.too_many_stage_attempts(base))
    }

    /// Runs the missing map tasks of a shuffle; recomputes lost parent outputs when needed.
    fn run_map_stage(
        &self,
        shuffle: &Arc<dyn ShuffleDependencyBase>,
        first_attempt: usize,
        token: &CancelToken,
    ) -> Result<()> {
        let parent = shuffle.parent();
        for stage_attempt in first_attempt..=self.inner.config.max_stage_attempts {
            let missing = self.inner.shuffles.missing(shuffle.shuffle_id());
            if missing.is_empty() {
                return Ok(());
            }
            if let Some(prepare) = shuffle.preparation() {
                prepare()?;
            }
            let kind = StageKind::ShuffleMap {
                shuffle_id: shuffle.shuffle_id(),
            };
            let stage = self.stage_info(kind, &parent, missing.len());
            let map_task =
                |map_partition: usize, tc: &TaskContext| shuffle.run_map_task(map_partition, tc);
            let outcomes = self.run_stage(&stage, &missing, |p| p, &map_task, token);
            let mut fetch_failed = false;
            for outcome in outcomes {
                match outcome {
                    Ok(()) => {}
                    Err(RddError::FetchFailed { .. }) => fetch_failed = true,
                    Err(error) => return Err(error),
                }
            }
            if fetch_failed {
                self.recover_lost_shuffles(&parent, stage_attempt, token)?;
            }
        }
        if self.inner.shuffles.missing(shuffle.shuffle_id()).is_empty() {
            Ok(())
        } else {
            Err(self.too_many_stage_attempts(&parent))
        }
    }

    /// Recomputes, from lineage, the missing outputs of every shuffle a stage reads.
    fn recover_lost_shuffles(
        &self,
        rdd: &Arc<dyn RddBase>,
        stage_attempt: usize,
        token: &CancelToken,
    ) -> Result<()> {
        if stage_attempt >= self.inner.config.max_stage_attempts {
            return Err(self.too_many_stage_attempts(rdd));
        }
        for shuffle in missing_map_stages(self, rdd) {
            self.run_map_stage(&shuffle, stage_attempt + 1, token)?;
        }
        Ok(())
    }

    fn too_many_stage_attempts(&self, rdd: &Arc<dyn RddBase>) -> RddError {
        RddError::Internal(format!(
            "stage ending at {} lost shuffle outputs on {} attempts",
            rdd.meta().describe(),
            self.inner.config.max_stage_attempts
        ))
    }

    fn stage_info(&self, kind: StageKind, rdd: &Arc<dyn RddBase>, num_tasks: usize) -> StageInfo {
        StageInfo {
            id: self.inner.next_stage_id(),
            kind,
            rdd_id: rdd.meta().id,
            name: rdd.meta().describe(),
            num_tasks,
        }
    }

    /// Runs one task per entry of `tasks` on the worker pool, each with retries.
    fn run_stage<R: Send>(
        &self,
        stage: &StageInfo,
        tasks: &[usize],
        partition_of: impl Fn(usize) -> usize + Sync,
        task: &(dyn Fn(usize, &TaskContext) -> Result<R> + Sync),
        token: &CancelToken,
    ) -> Vec<Result<R>> {
        let started = Instant::now();
        self.inner
            .listeners
            .post(SchedulerEvent::StageSubmitted(stage.clone()));
        let outcomes: Vec<(Result<R>, Vec<Option<TaskMetrics>>)> = self.inner.pool.install(|| {
            tasks
                .par_iter()
                .map(|&t| self.run_task(stage, t, partition_of(t), task, token))
                .collect()
        });
        let mut metrics = StageMetrics::default();
        let mut results = Vec::with_capacity(outcomes.len());
        for (result, attempts) in outcomes {
            add_attempts(&mut metrics, attempts);
            results.push(result);
        }
        metrics.elapsed = started.elapsed();
        self.inner.listeners.post(SchedulerEvent::StageCompleted {
            stage: stage.clone(),
            metrics,
        });
        results
    }

    /// Runs one task with retries. Returns the result and, per attempt, the metrics of a
    /// successful attempt or `None` for a failed one.
    fn run_task<R>(
        &self,
        stage: &StageInfo,
        index: usize,
        partition: usize,
        task: &(dyn Fn(usize, &TaskContext) -> Result<R> + Sync),
        token: &CancelToken,
    ) -> (Result<R>, Vec<Option<TaskMetrics>>) {
        let max_attempts = self.inner.config.max_task_attempts;
        let mut attempts = Vec::new();
        let mut last_error = RddError::Internal("task never ran".into());
        for attempt in 0..max_attempts {
            if token.is_cancelled() {
                return (Err(RddError::Cancelled), attempts);
            }
            let tc = TaskContext::new(stage.id, partition, attempt, token.clone());
            let updates = TaskUpdates::open();
            let started = Instant::now();
            let outcome = if self.inner.faults.take_task_failure(
                stage.rdd_id,
                partition,
                attempt,
                max_attempts,
            ) {
                Err(RddError::InjectedFault { partition, attempt })
            } else {
                task::run_as_task(|| catch_unwind(AssertUnwindSafe(|| task(index, &tc))))
                    .unwrap_or_else(|panic| Err(RddError::Panicked(panic_message(panic.as_ref()))))
            };
            updates.close(outcome.is_ok());
            let metrics = tc.finish(started.elapsed());
            self.inner.listeners.post(SchedulerEvent::TaskEnded {
                stage_id: stage.id,
                partition,
                attempt,
                metrics: metrics.clone(),
                error: outcome.as_ref().err().map(ToString::to_string),
            });
            match outcome {
                Ok(value) => {
                    attempts.push(Some(metrics));
                    return (Ok(value), attempts);
                }
                // Whatever a cancelled task failed with, the job was cancelled.
                Err(_) if token.is_cancelled() => {
                    attempts.push(None);
                    return (Err(RddError::Cancelled), attempts);
                }
                Err(fetch @ RddError::FetchFailed { .. }) => {
                    // Not the task's fault: the scheduler recomputes the lost map output.
                    attempts.push(None);
                    return (Err(fetch), attempts);
                }
                Err(error) => {
                    attempts.push(None);
                    let retryable = error.is_retryable();
                    last_error = error;
                    if !retryable {
                        break;
                    }
                }
            }
        }
        let failure = RddError::TaskFailed {
            stage_id: stage.id,
            stage: stage.name.clone(),
            partition,
            attempts: attempts.len(),
            cause: Box::new(last_error),
        };
        (Err(failure), attempts)
    }
}

/// Computes `partition` of `rdd` and hands its items to the action's `func`; fails with what
/// the computation recorded in `tc` while iterating.
fn run_result_task<T: Data, R>(
    rdd: &Rdd<T>,
    partition: usize,
    func: &(dyn for<'a> Fn(BoxIter<'a, T>, &'a TaskContext) -> R + Sync),
    tc: &TaskContext,
) -> Result<R> {
    let mut records = 0u64;
    let items = rdd.iterator(partition, tc)?.inspect(|_| records += 1);
    let value = func(Box::new(items), tc);
    tc.check_failure()?;
    tc.record_written(records);
    Ok(value)
}

/// Counts one task's attempts (the metrics of a successful one, `None` for a failed one) in
/// its stage's metrics.
fn add_attempts(metrics: &mut StageMetrics, attempts: Vec<Option<TaskMetrics>>) {
    for attempt in attempts {
        match attempt {
            Some(m) => {
                metrics.tasks_succeeded += 1;
                metrics.tasks.add(&m);
            }
            None => metrics.tasks_failed += 1,
        }
    }
}

/// The text of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
