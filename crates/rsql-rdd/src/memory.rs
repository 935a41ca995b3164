//! The memory pool: operators that buffer data reserve bytes from one pool per context and
//! spill to disk when it refuses, so a job over the limit slows down instead of dying of OOM.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{RddError, Result};

/// The stored limit of an unbounded pool.
const NO_LIMIT: usize = usize::MAX;

/// Bytes that buffering operators may hold at once, shared by every task of a context.
#[derive(Debug)]
pub struct MemoryPool {
    /// The limit in bytes; [`NO_LIMIT`] when unbounded. Atomic so a session can change it
    /// between queries (`SET memory_limit`).
    limit: AtomicUsize,
    used: AtomicUsize,
    peak: AtomicUsize,
    spilled_bytes: AtomicUsize,
    spill_dir: tempfile::TempDir,
}

impl MemoryPool {
    /// A pool of at most `limit` bytes (`None`: unbounded), spilling into a fresh temporary
    /// directory that is removed with the pool.
    pub fn new(limit: Option<usize>) -> Result<Self> {
        let spill_dir = tempfile::Builder::new()
            .prefix("rsql-spill-")
            .tempdir()
            .map_err(|e| RddError::io(std::env::temp_dir(), e))?;
        Ok(MemoryPool {
            limit: AtomicUsize::new(limit.unwrap_or(NO_LIMIT)),
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            spilled_bytes: AtomicUsize::new(0),
            spill_dir,
        })
    }

    /// The limit in bytes, if any.
    pub fn limit(&self) -> Option<usize> {
        Some(self.limit.load(Ordering::Relaxed)).filter(|&limit| limit != NO_LIMIT)
    }

    /// Changes the limit (`None`: unbounded). Reservations already held are kept even when
    /// they exceed a lower limit; new ones must fit under it.
    pub fn set_limit(&self, limit: Option<usize>) {
        self.limit
            .store(limit.unwrap_or(NO_LIMIT), Ordering::Relaxed);
    }

    /// Bytes reserved right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most bytes ever reserved at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Bytes written to spill files so far.
    pub fn spilled_bytes(&self) -> usize {
        self.spilled_bytes.load(Ordering::Relaxed)
    }

    /// Counts `bytes` written to a spill file.
    pub fn record_spill(&self, bytes: usize) {
        self.spilled_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Where operators write their spill files.
    pub fn spill_dir(&self) -> &Path {
        self.spill_dir.path()
    }

    /// An empty reservation for `consumer` (named in errors).
    pub fn reservation(self: &Arc<Self>, consumer: impl Into<String>) -> MemoryReservation {
        MemoryReservation {
            pool: Arc::clone(self),
            consumer: consumer.into(),
            size: 0,
        }
    }

    /// Adds `bytes` if the pool's total stays at most `limit`.
    fn try_add_below(&self, bytes: usize, limit: usize) -> bool {
        let granted = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&wanted| wanted <= limit)
            });
        match granted {
            Ok(before) => {
                self.peak.fetch_max(before + bytes, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    fn add(&self, bytes: usize) {
        let before = self.used.fetch_add(bytes, Ordering::AcqRel);
        self.peak.fetch_max(before + bytes, Ordering::Relaxed);
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Bytes one operator holds from a [`MemoryPool`]; returned to the pool when dropped.
#[derive(Debug)]
pub struct MemoryReservation {
    pool: Arc<MemoryPool>,
    consumer: String,
    size: usize,
}

impl MemoryReservation {
    /// Bytes held.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Holds `bytes` more, or fails with [`RddError::ResourcesExhausted`] when the pool is full
    /// (the caller then spills and frees what it holds).
    pub fn try_grow(&mut self, bytes: usize) -> Result<()> {
        self.try_grow_below(bytes, self.pool.limit.load(Ordering::Relaxed))
    }

    /// Holds `bytes` more only while the pool's total stays within `share` (a fraction) of
    /// its limit, else fails as [`MemoryReservation::try_grow`] does: for data that outlives
    /// its task (shuffle outputs kept in memory), so that it leaves the rest of the pool to the
    /// operators that run after it.
    pub fn try_grow_within_share(&mut self, bytes: usize, share: f64) -> Result<()> {
        let limit = self.pool.limit.load(Ordering::Relaxed);
        let below = if limit == NO_LIMIT {
            limit
        } else {
            (limit as f64 * share) as usize
        };
        self.try_grow_below(bytes, below)
    }

    /// Holds `bytes` more if the pool's total stays at most `limit`.
    fn try_grow_below(&mut self, bytes: usize, limit: usize) -> Result<()> {
        if self.pool.try_add_below(bytes, limit) {
            self.size += bytes;
            Ok(())
        } else {
            Err(RddError::ResourcesExhausted {
                consumer: self.consumer.clone(),
                requested: bytes,
                used: self.pool.used(),
                limit,
            })
        }
    }

    /// Holds `bytes` more even past the limit: for the little memory an operator needs to make
    /// progress after spilling everything it can.
    pub fn grow(&mut self, bytes: usize) {
        self.pool.add(bytes);
        self.size += bytes;
    }

    /// Holds exactly `size` bytes, growing with [`MemoryReservation::try_grow`] or shrinking.
    pub fn try_resize(&mut self, size: usize) -> Result<()> {
        if size > self.size {
            self.try_grow(size - self.size)
        } else {
            self.shrink(self.size - size);
            Ok(())
        }
    }

    /// Returns `bytes` (at most what is held) to the pool.
    pub fn shrink(&mut self, bytes: usize) {
        let bytes = bytes.min(self.size);
        self.pool.release(bytes);
        self.size -= bytes;
    }

    /// Returns everything held to the pool.
    pub fn free(&mut self) {
        self.shrink(self.size);
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        self.free();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_return_bytes_when_dropped() {
        let pool = Arc::new(MemoryPool::new(Some(100)).unwrap());
        let mut a = pool.reservation("a");
        let mut b = pool.reservation("b");
        a.try_grow(60).unwrap();
        let err = b.try_grow(50).unwrap_err();
        assert!(
            err.to_string()
                .contains("b needs 50 more bytes but the pool has 60 of 100 in use"),
            "{err}"
        );
        b.try_grow(40).unwrap();
        assert_eq!(pool.used(), 100);
        a.try_resize(10).unwrap();
        assert_eq!(pool.used(), 50);
        drop(b);
        assert_eq!(pool.used(), 10);
        a.grow(500);
        assert_eq!(pool.used(), 510);
        drop(a);
        assert_eq!(pool.used(), 0);
        assert_eq!(pool.peak(), 510);
    }

    #[test]
    fn a_share_caps_what_the_whole_pool_holds() {
        let pool = Arc::new(MemoryPool::new(Some(100)).unwrap());
        let mut other = pool.reservation("other");
        other.try_grow(20).unwrap();
        let mut shuffle = pool.reservation("shuffle");
        // A quarter of 100 is 25: 20 are used already, so 5 more fit and 6 do not.
        assert!(shuffle.try_grow_within_share(6, 0.25).is_err());
        shuffle.try_grow_within_share(5, 0.25).unwrap();
        assert_eq!(pool.used(), 25);
        // Other consumers still get the rest of the limit.
        other.try_grow(75).unwrap();
        drop(other);
        shuffle.try_grow_within_share(20, 0.25).unwrap();
        assert_eq!(shuffle.size(), 25);
        // Without a limit there is nothing to share.
        let unbounded = Arc::new(MemoryPool::new(None).unwrap());
        let mut r = unbounded.reservation("r");
        r.try_grow_within_share(1 << 40, 0.25).unwrap();
    }

    #[test]
    fn an_unbounded_pool_never_refuses() {
        let pool = Arc::new(MemoryPool::new(None).unwrap());
        let mut r = pool.reservation("r");
        r.try_grow(usize::MAX / 2).unwrap();
        assert!(pool.spill_dir().is_dir());
    }

    #[test]
    fn a_changed_limit_applies_to_new_reservations() {
        let pool = Arc::new(MemoryPool::new(Some(100)).unwrap());
        let mut r = pool.reservation("r");
        r.try_grow(80).unwrap();
        pool.set_limit(Some(50));
        assert_eq!(pool.limit(), Some(50));
        assert!(r.try_grow(1).is_err());
        r.shrink(40);
        r.try_grow(10).unwrap();
        pool.set_limit(None);
        assert_eq!(pool.limit(), None);
        r.try_grow(1 << 40).unwrap();
    }
}
