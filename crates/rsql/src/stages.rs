//! Recording the stages one `EXPLAIN ANALYZE` run executes.

use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};

use rsql_rdd::{Context, SchedulerEvent, SchedulerListener, StageInfo, StageMetrics};

/// Completed stages seen while attached; unregisters itself when dropped.
pub(crate) struct StageLog {
    recorder: Arc<Recorder>,
    context: Context,
}

#[derive(Default)]
struct Recorder {
    stages: Mutex<Vec<(StageInfo, StageMetrics)>>,
}

impl SchedulerListener for Recorder {
    fn on_event(&self, event: &SchedulerEvent) {
        if let SchedulerEvent::StageCompleted { stage, metrics } = event {
            let mut stages = self.stages.lock().unwrap_or_else(PoisonError::into_inner);
            stages.push((stage.clone(), metrics.clone()));
        }
    }
}

impl StageLog {
    /// Starts recording the stages `context` completes.
    pub(crate) fn attach(context: &Context) -> StageLog {
        let recorder = Arc::new(Recorder::default());
        context.add_listener(Arc::clone(&recorder) as Arc<dyn SchedulerListener>);
        StageLog {
            recorder,
            context: context.clone(),
        }
    }

    /// One line per stage: tasks (and failed attempts), wall time, rows and bytes read from files and shuffled.
    pub(crate) fn render(&self) -> String {
        let stages = self
            .recorder
            .stages
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for (stage, metrics) in stages.iter() {
            let m = &metrics.tasks;
            let retried = match metrics.tasks_failed {
                0 => String::new(),
                failed => format!(" ({failed} failed attempts retried)"),
            };
            let _ = writeln!(
                out,
                "stage {} ({}): {} tasks{retried}, {:.3?}, input {} rows / {} bytes, shuffle write {} rows / {} bytes, shuffle read {} rows / {} bytes",
                stage.id,
                stage.name,
                metrics.tasks_succeeded,
                metrics.elapsed,
                m.records_read,
                m.bytes_read,
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
        let listener = Arc::clone(&self.recorder) as Arc<dyn SchedulerListener>;
        self.context.remove_listener(&listener);
    }
}
