//! The listener bus: job, stage and task events for progress bars, metrics and tests.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::scheduler::{StageId, TaskMetrics};
use crate::shuffle::ShuffleId;

/// What a stage produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageKind {
    /// Writes the map outputs of a shuffle.
    ShuffleMap {
        /// The shuffle it writes.
        shuffle_id: ShuffleId,
    },
    /// Computes the partitions an action asked for.
    Result,
}

/// Description of a submitted stage.
#[derive(Debug, Clone)]
pub struct StageInfo {
    /// Identifier, unique within the context.
    pub id: StageId,
    /// Map or result stage.
    pub kind: StageKind,
    /// The last RDD of the stage.
    pub rdd_id: usize,
    /// `operation at file:line` of that RDD.
    pub name: String,
    /// Number of tasks the stage runs (its missing partitions).
    pub num_tasks: usize,
}

/// Totals of the tasks of one stage.
#[derive(Debug, Clone, Default)]
pub struct StageMetrics {
    /// Sum of the successful tasks' metrics (durations added up).
    pub tasks: TaskMetrics,
    /// Successful tasks.
    pub tasks_succeeded: usize,
    /// Failed attempts, retried or not.
    pub tasks_failed: usize,
    /// Wall time of the stage.
    pub elapsed: Duration,
}

/// An event of the DAG scheduler.
#[derive(Debug, Clone)]
pub enum SchedulerEvent {
    /// A job started; `stages` is how many stages it plans to run (skipped ones excluded).
    JobStarted {
        /// The job.
        job_id: usize,
        /// Stages to run.
        stages: usize,
    },
    /// A stage was submitted.
    StageSubmitted(StageInfo),
    /// A task attempt ended.
    TaskEnded {
        /// The stage of the task.
        stage_id: StageId,
        /// The partition it computed.
        partition: usize,
        /// Its attempt number.
        attempt: usize,
        /// What it did.
        metrics: TaskMetrics,
        /// `None` on success, else the error message.
        error: Option<String>,
    },
    /// A stage finished (successfully or not).
    StageCompleted {
        /// The stage.
        stage: StageInfo,
        /// Its totals.
        metrics: StageMetrics,
    },
    /// A job ended.
    JobEnded {
        /// The job.
        job_id: usize,
        /// Whether it succeeded.
        succeeded: bool,
        /// Wall time.
        elapsed: Duration,
    },
}

/// Receives scheduler events, from worker threads; keep handlers quick.
pub trait SchedulerListener: Send + Sync {
    /// Called for every event.
    fn on_event(&self, event: &SchedulerEvent);
}

/// The registered listeners of one context.
#[derive(Default)]
pub(crate) struct ListenerBus {
    listeners: RwLock<Vec<Arc<dyn SchedulerListener>>>,
}

impl ListenerBus {
    pub(crate) fn add(&self, listener: Arc<dyn SchedulerListener>) {
        self.listeners
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(listener);
    }

    /// Unregisters `listener` (the same `Arc`); `false` if it was not registered.
    pub(crate) fn remove(&self, listener: &Arc<dyn SchedulerListener>) -> bool {
        let mut listeners = self
            .listeners
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = listeners.len();
        listeners.retain(|l| !Arc::ptr_eq(l, listener));
        listeners.len() < before
    }

    pub(crate) fn post(&self, event: SchedulerEvent) {
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for listener in listeners.iter() {
            listener.on_event(&event);
        }
    }
}

/// Totals of what the scheduler ran, accumulated from events; reset it between measurements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunTotals {
    /// Shuffle map stages submitted.
    pub shuffle_map_stages: usize,
    /// Result stages submitted.
    pub result_stages: usize,
    /// Task attempts that failed.
    pub failed_tasks: usize,
    /// Metrics summed over every successful task.
    pub tasks: TaskMetrics,
}

/// A listener that keeps [`RunTotals`], e.g. to count the shuffles a job ran.
#[derive(Debug, Default)]
pub struct TotalsListener {
    totals: Mutex<RunTotals>,
}

impl TotalsListener {
    fn lock(&self) -> std::sync::MutexGuard<'_, RunTotals> {
        self.totals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The totals so far.
    pub fn totals(&self) -> RunTotals {
        self.lock().clone()
    }

    /// Returns the totals so far and starts again from zero.
    pub fn take(&self) -> RunTotals {
        std::mem::take(&mut *self.lock())
    }
}

impl SchedulerListener for TotalsListener {
    fn on_event(&self, event: &SchedulerEvent) {
        let mut totals = self.lock();
        match event {
            SchedulerEvent::StageSubmitted(stage) => match stage.kind {
                StageKind::ShuffleMap { .. } => totals.shuffle_map_stages += 1,
                StageKind::Result => totals.result_stages += 1,
            },
            SchedulerEvent::TaskEnded { error: Some(_), .. } => totals.failed_tasks += 1,
            SchedulerEvent::TaskEnded {
                metrics,
                error: None,
                ..
            } => totals.tasks.add(metrics),
            _ => {}
        }
    }
}
