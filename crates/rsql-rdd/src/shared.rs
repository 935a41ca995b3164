//! Shared variables: broadcast values and accumulators.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Data;

/// A read-only value shared by every task without a copy per task.
pub struct Broadcast<T> {
    value: Arc<T>,
}

impl<T> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Broadcast {
            value: Arc::clone(&self.value),
        }
    }
}

impl<T> Broadcast<T> {
    pub(crate) fn new(value: T) -> Self {
        Broadcast {
            value: Arc::new(value),
        }
    }

    /// The shared value.
    pub fn value(&self) -> &T {
        &self.value
    }
}

impl<T> Deref for Broadcast<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Broadcast").field(&self.value).finish()
    }
}

type MergeFn<T> = dyn Fn(&mut T, T) + Send + Sync;

struct AccumulatorInner<T> {
    name: String,
    zero: T,
    total: Mutex<T>,
    merge: Box<MergeFn<T>>,
}

impl<T> AccumulatorInner<T> {
    fn total(&self) -> MutexGuard<'_, T> {
        self.total
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A value tasks add to and the driver reads, merged with an associative, commutative function.
///
/// Inside a task, additions go to a task-local buffer that is merged into the total only when the
/// task succeeds, so a retried task counts once.
pub struct Accumulator<T> {
    inner: Arc<AccumulatorInner<T>>,
}

impl<T> Clone for Accumulator<T> {
    fn clone(&self) -> Self {
        Accumulator {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Data> Accumulator<T> {
    pub(crate) fn new(
        name: &str,
        zero: T,
        merge: impl Fn(&mut T, T) + Send + Sync + 'static,
    ) -> Self {
        Accumulator {
            inner: Arc::new(AccumulatorInner {
                name: name.to_string(),
                total: Mutex::new(zero.clone()),
                zero,
                merge: Box::new(merge),
            }),
        }
    }

    /// The accumulator's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Adds `value`: to the running task's buffer inside a task, to the total on the driver.
    pub fn add(&self, value: T) {
        let pending = TASK_UPDATES.with(|updates| {
            let mut updates = updates.borrow_mut();
            let buffer = updates.last_mut()?;
            let slot = buffer
                .iter_mut()
                .filter_map(|u| u.as_any_mut().downcast_mut::<PendingUpdate<T>>())
                .find(|u| Arc::ptr_eq(&u.accumulator, &self.inner));
            match slot {
                Some(slot) => (self.inner.merge)(&mut slot.value, value.clone()),
                None => buffer.push(Box::new(PendingUpdate {
                    accumulator: Arc::clone(&self.inner),
                    value: value.clone(),
                })),
            }
            Some(())
        });
        if pending.is_none() {
            (self.inner.merge)(&mut self.inner.total(), value);
        }
    }

    /// The merged total of every successful task's additions so far.
    pub fn value(&self) -> T {
        self.inner.total().clone()
    }

    /// Sets the total back to zero.
    pub fn reset(&self) {
        *self.inner.total() = self.inner.zero.clone();
    }
}

/// Additions to one accumulator buffered by a running task.
struct PendingUpdate<T> {
    accumulator: Arc<AccumulatorInner<T>>,
    value: T,
}

trait Update {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn apply(self: Box<Self>);
}

impl<T: Data> Update for PendingUpdate<T> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn apply(self: Box<Self>) {
        let this = *self;
        (this.accumulator.merge)(&mut this.accumulator.total(), this.value);
    }
}

thread_local! {
    /// A stack of per-task buffers: a worker may start another task while one waits (rayon).
    static TASK_UPDATES: RefCell<Vec<Vec<Box<dyn Update>>>> = const { RefCell::new(Vec::new()) };
}

/// The accumulator additions of one task attempt, opened on the worker running it.
pub(crate) struct TaskUpdates {
    depth: usize,
}

impl TaskUpdates {
    /// Starts buffering this thread's accumulator additions.
    pub(crate) fn open() -> Self {
        let depth = TASK_UPDATES.with(|u| {
            let mut u = u.borrow_mut();
            u.push(Vec::new());
            u.len()
        });
        TaskUpdates { depth }
    }

    /// Stops buffering; merges the additions into the totals if the attempt succeeded.
    pub(crate) fn close(self, succeeded: bool) {
        let updates = TASK_UPDATES.with(|u| {
            let mut u = u.borrow_mut();
            u.truncate(self.depth);
            u.pop().unwrap_or_default()
        });
        if succeeded {
            updates.into_iter().for_each(|update| update.apply());
        }
    }
}
