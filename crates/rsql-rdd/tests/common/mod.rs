//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use rsql_rdd::{Context, SchedulerEvent, SchedulerListener, StageKind};

/// A two-worker context, the size of the CI machine.
pub fn context() -> Context {
    Context::builder().threads(2).build().expect("context")
}

/// Records every scheduler event for assertions.
#[derive(Default)]
pub struct EventLog {
    events: Mutex<Vec<SchedulerEvent>>,
}

impl SchedulerListener for EventLog {
    fn on_event(&self, event: &SchedulerEvent) {
        self.events.lock().unwrap().push(event.clone());
    }
}

impl EventLog {
    /// A log registered on `ctx`.
    pub fn attach(ctx: &Context) -> Arc<EventLog> {
        let log = Arc::new(EventLog::default());
        ctx.add_listener(log.clone());
        log
    }

    /// Forgets the events seen so far.
    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
    }

    pub fn events(&self) -> Vec<SchedulerEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Shuffle map stages submitted since the last clear.
    pub fn map_stages(&self) -> usize {
        self.submitted(|k| matches!(k, StageKind::ShuffleMap { .. }))
    }

    /// Result stages submitted since the last clear.
    pub fn result_stages(&self) -> usize {
        self.submitted(|k| *k == StageKind::Result)
    }

    /// Map tasks that succeeded since the last clear.
    pub fn successful_tasks(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| matches!(e, SchedulerEvent::TaskEnded { error: None, .. }))
            .count()
    }

    fn submitted(&self, kind: impl Fn(&StageKind) -> bool) -> usize {
        self.events()
            .iter()
            .filter(|e| matches!(e, SchedulerEvent::StageSubmitted(info) if kind(&info.kind)))
            .count()
    }
}

/// Sorts a vector, for comparing multisets.
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}
