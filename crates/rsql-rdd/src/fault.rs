//! Fault injection, so that tests can prove retries and lineage recovery.

use std::sync::{Mutex, MutexGuard};

use crate::rdd::RddId;
use crate::shuffle::ShuffleId;

#[derive(Default)]
struct Faults {
    /// (last RDD of the stage, partition, attempt) of task attempts to fail.
    task_failures: Vec<(RddId, usize, usize)>,
    /// Map outputs to lose when a reduce task first fetches the shuffle.
    fetch_losses: Vec<(ShuffleId, usize)>,
}

/// Faults to inject into a context's jobs; reach it with [`crate::Context::faults`].
#[derive(Default)]
pub struct FaultInjector {
    faults: Mutex<Faults>,
}

impl FaultInjector {
    fn lock(&self) -> MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes attempt `attempt` (from 0) of the task computing `partition` of any stage that
    /// ends at RDD `rdd_id` fail before it runs, once.
    pub fn fail_task_attempt(&self, rdd_id: RddId, partition: usize, attempt: usize) {
        self.lock().task_failures.push((rdd_id, partition, attempt));
    }

    /// Drops the output of `map_partition` of a shuffle when a reduce task next fetches it,
    /// so that the loss happens in the middle of a job; once.
    pub fn lose_shuffle_output_on_fetch(&self, shuffle_id: ShuffleId, map_partition: usize) {
        self.lock().fetch_losses.push((shuffle_id, map_partition));
    }

    /// Consumes a planned task failure for this attempt, if one matches.
    pub(crate) fn take_task_failure(
        &self,
        rdd_id: RddId,
        partition: usize,
        attempt: usize,
    ) -> bool {
        let mut faults = self.lock();
        let planned = (rdd_id, partition, attempt);
        match faults.task_failures.iter().position(|f| *f == planned) {
            Some(i) => {
                faults.task_failures.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Consumes a planned fetch loss of this shuffle, returning the map partition to lose.
    pub(crate) fn take_fetch_loss(&self, shuffle_id: ShuffleId) -> Option<usize> {
        let mut faults = self.lock();
        let i = faults.fetch_losses.iter().position(|f| f.0 == shuffle_id)?;
        Some(faults.fetch_losses.swap_remove(i).1)
    }
}
