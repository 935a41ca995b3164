//! Recording the stages one `EXPLAIN ANALYZE` run executes.

use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};

use rsql_rdd::{Context, SchedulerEvent, SchedulerListener, StageInfo, StageMetrics};

/// Completed stages seen while attached; detaches (stops recording) when dropped.
pub(crate) struct StageLog {
    recorder: Arc<Recorder>,
}

#[derive(Default)]
struct Recorder {
    /// `None` once the log that attached it is gone.
    stages: Mutex<Option<Vec<(StageInfo, StageMetrics)>>>,
}

impl SchedulerListener for Recorder {
    fn on_event(&self, event: &SchedulerEvent) {
        if let SchedulerEvent::StageCompleted { stage, metrics } = event {
            let mut stages = self.stages.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(stages) = stages.as_mut() {
                stages.push((stage.clone(), metrics.clone()));
            }
        }
    }
}

impl StageLog {
    /// Starts recording the stages `context` completes.
    pub(crate) fn attach(context: &Context) -> StageLog {
        let recorder = Arc::new(Recorder {
            stages: Mutex::new(Some(Vec::new())),
        });
        context.add_listener(Arc::clone(&recorder) as Arc<dyn SchedulerListener>);
        StageLog { recorder }
    }

    /// One line per stage: tasks, wall time, rows read and shuffled.
    pub(crate) fn render(&self) -> String {
        let stages = self
            .recorder
            .stages
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for (stage, metrics) in stages.iter().flatten() {
            let m = &metrics.tasks;
            let _ = writeln!(
                out,
                "stage {} ({}): {} tasks, {:.3?}, shuffle write {} rows / {} bytes, shuffle read {} rows / {} bytes",
                stage.id,
                stage.name,
                metrics.tasks_succeeded,
                metrics.elapsed,
                m.records_written,
                m.shuffle_bytes_written,
                m.shuffle_records_read,
                m.shuffle_bytes_read,
            );
        }
        out
    }
}

impl Drop for StageLog {
    fn drop(&mut self) {
        *self
            .recorder
            .stages
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}
