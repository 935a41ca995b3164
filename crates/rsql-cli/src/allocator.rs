//! Tuning of glibc's allocator for a query's allocation pattern.
//!
//! Operators allocate and free batch-sized buffers (hundreds of kilobytes to a few megabytes)
//! at a high rate. By default glibc gives the top of a heap back to the kernel as soon as more
//! than 128 KiB of it is free, so the next batch's buffers fault their pages in afresh and the
//! kernel zeroes them: on TPC-H SF1 a quarter of some queries' time went to page faults
//! (`exc_page_fault` and `clear_page_erms` under `memset`). Keeping a few megabytes free at the
//! top of each heap lets those buffers reuse resident pages; peak RSS is unchanged, since the
//! pages kept are ones the query touched already.

/// How much free memory each heap keeps at its top (glibc's `M_TOP_PAD`, default 128 KiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TOP_PAD: libc::c_int = 8 << 20;

/// Sets glibc's `M_TOP_PAD` so that freed memory at the top of a heap is kept for the next
/// allocations instead of returned to the kernel; nothing on other platforms.
pub(crate) fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets an allocator parameter; it is called at the start of `main`,
    // before any other thread exists. Its result (0 on failure) only says the default stays.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, TOP_PAD);
    }
}
