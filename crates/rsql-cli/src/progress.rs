//! Live progress on stderr for statements that run longer than half a second: the stage of
//! the total, tasks done of the total, rows and bytes read (when the runtime reports them),
//! and the elapsed time.
//!
//! One [`SchedulerListener`] is attached to the session's runtime for the whole process; it
//! records events only while a statement is being [tracked](Progress::track). A ticker thread
//! draws the bar from what it recorded.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rsql::format_bytes;
use rsql_rdd::{Context, SchedulerEvent, SchedulerListener, StageId};

/// How long a statement runs before its progress is shown.
pub const SHOW_AFTER: Duration = Duration::from_millis(500);
/// How often the bar is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// What the running statement has done so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Stages its jobs planned to run.
    pub stages_total: usize,
    /// Stages finished.
    pub stages_done: usize,
    /// Tasks of the running stages: (done, total) per stage.
    running: HashMap<StageId, (usize, usize)>,
    /// Tasks of the running stages that finished.
    pub tasks_done: usize,
    /// Tasks of the running stages.
    pub tasks_total: usize,
    /// Records read by sources, over finished tasks.
    pub rows_read: u64,
    /// Bytes read from files by sources, over finished tasks.
    pub bytes_read: u64,
}

impl Snapshot {
    /// Updates the counts with one scheduler event.
    pub fn apply(&mut self, event: &SchedulerEvent) {
        match event {
            SchedulerEvent::JobStarted { stages, .. } => self.stages_total += stages,
            SchedulerEvent::StageSubmitted(stage) => {
                self.running.insert(stage.id, (0, stage.num_tasks));
            }
            SchedulerEvent::TaskEnded {
                stage_id,
                metrics,
                error: None,
                ..
            } => {
                if let Some((done, _)) = self.running.get_mut(stage_id) {
                    *done += 1;
                }
                self.rows_read += metrics.records_read;
                self.bytes_read += metrics.bytes_read;
            }
            SchedulerEvent::StageCompleted { stage, .. } => {
                self.running.remove(&stage.id);
                self.stages_done += 1;
            }
            // Failed attempts, job ends, and whatever else the runtime may report.
            _ => {}
        }
        self.tasks_done = self.running.values().map(|(done, _)| done).sum();
        self.tasks_total = self.running.values().map(|(_, total)| total).sum();
    }

    /// The bar's text, e.g. `stage 2/3 · tasks 5/8 · 1.2M rows · 24.0 MB read · 3.4s`.
    ///
    /// Rows and bytes appear once sources report bytes: SQL scans do not report what they read
    /// to the scheduler yet, and their task count alone would be shown as rows.
    pub fn render(&self, elapsed: Duration) -> String {
        let mut parts = Vec::new();
        if self.stages_total > 0 {
            let current = (self.stages_done + 1).min(self.stages_total);
            parts.push(format!("stage {current}/{}", self.stages_total));
        }
        if self.tasks_total > 0 {
            parts.push(format!("tasks {}/{}", self.tasks_done, self.tasks_total));
        }
        if self.bytes_read > 0 {
            parts.push(format!("{} rows", compact(self.rows_read)));
            parts.push(format!("{} read", format_bytes(self.bytes_read)));
        }
        parts.push(format!("{:.1}s", elapsed.as_secs_f64()));
        parts.join(" · ")
    }
}

/// `1234567` as `1.2M`.
fn compact(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// Records events into the current statement's snapshot; `None` between statements.
#[derive(Default)]
struct Recorder {
    current: Mutex<Option<Snapshot>>,
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Snapshot>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SchedulerListener for Recorder {
    fn on_event(&self, event: &SchedulerEvent) {
        if let Some(snapshot) = self.lock().as_mut() {
            snapshot.apply(event);
        }
    }
}

/// Shows the progress of tracked statements, or does nothing when disabled.
pub struct Progress {
    recorder: Option<Arc<Recorder>>,
}

impl Progress {
    /// Progress for statements run on `context`, drawn only if `enabled` (stderr is a terminal
    /// and `--quiet` was not given).
    pub fn new(context: &Context, enabled: bool) -> Progress {
        let recorder = enabled.then(|| {
            let recorder = Arc::new(Recorder::default());
            context.add_listener(Arc::clone(&recorder) as Arc<dyn SchedulerListener>);
            recorder
        });
        Progress { recorder }
    }

    /// Runs `work`, showing its progress on stderr from [`SHOW_AFTER`] on until it returns.
    pub fn track<T>(&self, work: impl FnOnce() -> T) -> T {
        let Some(recorder) = &self.recorder else {
            return work();
        };
        *recorder.lock() = Some(Snapshot::default());
        let (stop, stopped) = mpsc::channel::<()>();
        let ticker = {
            let recorder = Arc::clone(recorder);
            thread::spawn(move || draw_until_stopped(&recorder, &stopped))
        };
        let result = work();
        drop(stop);
        let _ = ticker.join();
        *recorder.lock() = None;
        result
    }
}

/// Waits [`SHOW_AFTER`], then redraws the bar until `stopped` says the statement is over.
fn draw_until_stopped(recorder: &Recorder, stopped: &mpsc::Receiver<()>) {
    let start = Instant::now();
    if stopped.recv_timeout(SHOW_AFTER) != Err(RecvTimeoutError::Timeout) {
        return;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    loop {
        let text = recorder
            .lock()
            .as_ref()
            .map(|s| s.render(start.elapsed()))
            .unwrap_or_default();
        bar.set_message(text);
        bar.tick();
        if stopped.recv_timeout(REDRAW_EVERY) != Err(RecvTimeoutError::Timeout) {
            break;
        }
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use rsql_rdd::{StageInfo, StageKind, StageMetrics, TaskMetrics};

    use super::*;

    fn stage(id: StageId, tasks: usize) -> StageInfo {
        StageInfo {
            id,
            kind: StageKind::Result,
            rdd_id: 0,
            name: "collect".into(),
            num_tasks: tasks,
        }
    }

    fn task_end(stage_id: StageId, records: u64, bytes: u64) -> SchedulerEvent {
        SchedulerEvent::TaskEnded {
            stage_id,
            partition: 0,
            attempt: 0,
            metrics: TaskMetrics {
                records_read: records,
                bytes_read: bytes,
                ..TaskMetrics::default()
            },
            error: None,
        }
    }

    #[test]
    fn counts_stages_tasks_and_reads() {
        let mut s = Snapshot::default();
        s.apply(&SchedulerEvent::JobStarted {
            job_id: 0,
            stages: 2,
        });
        s.apply(&SchedulerEvent::StageSubmitted(stage(0, 4)));
        s.apply(&task_end(0, 1, 0));
        assert_eq!(
            s.render(Duration::from_millis(1200)),
            "stage 1/2 · tasks 1/4 · 1.2s"
        );
        s.apply(&task_end(0, 1_500, 3 << 20));
        s.apply(&SchedulerEvent::StageCompleted {
            stage: stage(0, 4),
            metrics: StageMetrics::default(),
        });
        s.apply(&SchedulerEvent::StageSubmitted(stage(1, 3)));
        assert_eq!(
            s.render(Duration::from_secs(2)),
            "stage 2/2 · tasks 0/3 · 1.5k rows · 3.0 MiB read · 2.0s"
        );
        let failed = SchedulerEvent::TaskEnded {
            stage_id: 1,
            partition: 0,
            attempt: 0,
            metrics: TaskMetrics::default(),
            error: Some("boom".into()),
        };
        s.apply(&failed);
        assert_eq!((s.tasks_done, s.tasks_total), (0, 3));
    }

    #[test]
    fn only_tracked_statements_are_recorded() {
        let context = Context::builder().threads(1).build().unwrap();
        let progress = Progress::new(&context, true);
        let recorder = Arc::clone(progress.recorder.as_ref().unwrap());
        context
            .parallelize((0..10).collect::<Vec<i32>>(), 2)
            .count()
            .unwrap();
        assert!(recorder.lock().is_none());
        let seen = progress.track(|| {
            context
                .parallelize((0..10).collect::<Vec<i32>>(), 2)
                .count()
                .unwrap();
            recorder.lock().clone().unwrap()
        });
        assert_eq!((seen.stages_total, seen.stages_done), (1, 1));
        assert_eq!(seen.rows_read, 10);
        assert!(recorder.lock().is_none());
    }

    #[test]
    fn sizes() {
        assert_eq!(compact(999), "999");
        assert_eq!(compact(12_345_678), "12.3M");
    }
}
