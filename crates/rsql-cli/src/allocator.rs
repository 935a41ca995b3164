//! Tuning of glibc's allocator for a query's allocation pattern.
//!
//! Operators allocate and free batch-sized buffers (hundreds of kilobytes to a few megabytes)
//! at a high rate. By default glibc returns the top of a heap to the kernel as soon as more
//! than 128 KiB of it is free, and serves large requests with fresh mappings whose size
//! threshold drifts as buffers are freed; either way the next batch's buffers fault their pages
//! in afresh and the kernel zeroes them. On TPC-H SF1 that was a fifth to a quarter of some
//! queries' time (`exc_page_fault` and `clear_page_erms` under `memset`). Keeping a few
//! megabytes free at the top of each heap, and mapping only requests of several megabytes on
//! their own, lets those buffers reuse resident pages.

/// How much free memory each heap keeps at its top (glibc's `M_TOP_PAD`, default 128 KiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TOP_PAD: libc::c_int = 4 << 20;

/// Requests from this size up get a mapping of their own, returned to the kernel when freed
/// (glibc's `M_MMAP_THRESHOLD`; by default 128 KiB, rising up to 32 MiB as mapped chunks are
/// freed, which left large hash tables' memory in the heaps).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 << 20;

/// Sets glibc's `M_TOP_PAD` and `M_MMAP_THRESHOLD` (see the module documentation); nothing on
/// other platforms.
pub(crate) fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters; it is called at the start of `main`,
    // before any other thread exists. A failure (a 0 result) leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, TOP_PAD);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
