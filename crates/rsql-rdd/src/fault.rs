//! Fault injection, so that tests can prove retries and lineage recovery: faults planned one
//! by one, and faults drawn at random (reproducibly, from a seed) over whole workloads.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use crate::rdd::RddId;
use crate::shuffle::ShuffleId;

#[derive(Default)]
struct Faults {
    /// (last RDD of the stage, partition, attempt) of task attempts to fail.
    task_failures: Vec<(RddId, usize, usize)>,
    /// Map outputs to lose when a reduce task first fetches the shuffle.
    fetch_losses: Vec<(ShuffleId, usize)>,
    /// Faults drawn at random, when set.
    random: Option<RandomFaults>,
    /// Shuffles that already lost a map output at random (each loses at most one).
    randomly_lost_shuffles: HashSet<ShuffleId>,
    /// Cached partitions already dropped at random (each is dropped at most once).
    randomly_lost_blocks: HashSet<(RddId, usize)>,
}

/// Faults drawn at random, each with `probability`, as a pure function of `seed` and what
/// they hit, so that a run can be repeated:
/// - a task attempt fails before it runs (never the last attempt a task is allowed, so every
///   task still succeeds);
/// - a shuffle, when a reduce task fetches it, loses one of its map outputs, which the
///   scheduler recomputes from lineage (at most once per shuffle);
/// - a cached partition is dropped when a task reads it, and recomputed (at most once per
///   partition).
///
/// Every fault is one a retry heals: under them a job returns what it returns without them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomFaults {
    /// The chance of each fault, in `[0, 1]`.
    pub probability: f64,
    /// Seeds the draws.
    pub seed: u64,
}

/// What a random draw decides, kept apart so the same key draws independently for each.
#[derive(Clone, Copy)]
enum Draw {
    TaskFailure = 1,
    ShuffleLoss = 2,
    LostMapOutput = 3,
    BlockLoss = 4,
}

impl RandomFaults {
    /// A uniform number in `[0, 1)` for `draw` at `key`.
    fn uniform(&self, draw: Draw, key: [u64; 3]) -> f64 {
        let bits = key
            .iter()
            .fold(mix(self.seed ^ draw as u64), |state, k| mix(state ^ k));
        (bits >> 11) as f64 / (1u64 << 53) as f64
    }

    fn hits(&self, draw: Draw, key: [u64; 3]) -> bool {
        self.uniform(draw, key) < self.probability
    }
}

/// The SplitMix64 finaliser: a well-spread 64-bit hash of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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

    /// Draws faults at random from now on (`None`: no more random faults; planned ones stay).
    pub fn set_random(&self, random: Option<RandomFaults>) {
        self.lock().random = random;
    }

    /// The random faults being drawn, if any.
    pub fn random(&self) -> Option<RandomFaults> {
        self.lock().random
    }

    /// Whether this attempt, out of the `max_attempts` a task gets, is to fail before it runs:
    /// a planned failure (consumed) or a random one.
    pub(crate) fn take_task_failure(
        &self,
        rdd_id: RddId,
        partition: usize,
        attempt: usize,
        max_attempts: usize,
    ) -> bool {
        let mut faults = self.lock();
        let planned = (rdd_id, partition, attempt);
        if let Some(i) = faults.task_failures.iter().position(|f| *f == planned) {
            faults.task_failures.swap_remove(i);
            return true;
        }
        faults.random.is_some_and(|random| {
            attempt + 1 < max_attempts
                && random.hits(
                    Draw::TaskFailure,
                    [rdd_id as u64, partition as u64, attempt as u64],
                )
        })
    }

    /// The map output (of `map_partitions`) this shuffle is to lose as a reduce task fetches
    /// it: a planned loss (consumed) or a random one.
    pub(crate) fn take_fetch_loss(
        &self,
        shuffle_id: ShuffleId,
        map_partitions: usize,
    ) -> Option<usize> {
        let mut faults = self.lock();
        if let Some(i) = faults.fetch_losses.iter().position(|f| f.0 == shuffle_id) {
            return Some(faults.fetch_losses.swap_remove(i).1);
        }
        let random = faults.random?;
        let key = [shuffle_id as u64, 0, 0];
        if map_partitions == 0
            || !random.hits(Draw::ShuffleLoss, key)
            || !faults.randomly_lost_shuffles.insert(shuffle_id)
        {
            return None;
        }
        let pick = random.uniform(Draw::LostMapOutput, key);
        Some(((pick * map_partitions as f64) as usize).min(map_partitions - 1))
    }

    /// Whether the cached `partition` of RDD `rdd_id`, about to be read, is to be dropped (and
    /// recomputed) instead.
    pub(crate) fn take_block_loss(&self, rdd_id: RddId, partition: usize) -> bool {
        let mut faults = self.lock();
        match faults.random {
            Some(random) => {
                random.hits(Draw::BlockLoss, [rdd_id as u64, partition as u64, 0])
                    && faults.randomly_lost_blocks.insert((rdd_id, partition))
            }
            None => false,
        }
    }
}
