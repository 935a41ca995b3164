//! How much memory this process may use, as the machine and its control group say: the basis
//! of a session's default memory limit.

use std::path::{Path, PathBuf};

/// The share of [`available_memory`] a session's pool may hold by default (DuckDB's default
/// too): the rest is for Arrow buffers that live outside the pool (scan and shuffle batches in
/// flight), the allocator's slack and the rest of the machine.
pub const DEFAULT_MEMORY_FRACTION: f64 = 0.8;

/// A cgroup limit at or above this many bytes means "no limit" (cgroup v1 writes a number
/// near `i64::MAX`, v2 writes `max`).
const UNLIMITED: u64 = 1 << 60;

/// The default memory limit of a session: [`DEFAULT_MEMORY_FRACTION`] of
/// [`available_memory`], or `None` where the machine's memory cannot be read (outside Linux).
pub fn default_memory_limit() -> Option<usize> {
    let bytes = available_memory()? as f64 * DEFAULT_MEMORY_FRACTION;
    Some(usize::try_from(bytes as u64).unwrap_or(usize::MAX))
}

/// Bytes of memory this process may use: the smallest of the physical memory (`MemTotal` in
/// `/proc/meminfo`) and the memory limits of the control groups it runs in (cgroup v2's
/// `memory.max`, v1's `memory.limit_in_bytes`, at the mount root and at the process's own
/// group). `None` when not even the physical memory can be read.
pub fn available_memory() -> Option<u64> {
    let physical = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_total(&text));
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    cgroup_limit_files(&cgroups)
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| cgroup_limit(&text))
        .chain(physical)
        .min()
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn meminfo_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let amount: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => amount.checked_mul(1024),
        None => Some(amount),
        Some(_) => None,
    }
}

/// A cgroup memory limit file's value in bytes; `None` for no limit.
fn cgroup_limit(text: &str) -> Option<u64> {
    let bytes: u64 = text.trim().parse().ok()?;
    (bytes < UNLIMITED).then_some(bytes)
}

/// The limit files that may apply to this process, given its `/proc/self/cgroup`.
fn cgroup_limit_files(self_cgroup: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut files = vec![
        root.join("memory.max"),
        root.join("memory/memory.limit_in_bytes"),
    ];
    for line in self_cgroup.lines() {
        // `hierarchy-id:controllers:path`; v2 has the id 0 and no controllers.
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if relative.is_empty() {
            continue;
        }
        if id == "0" && controllers.is_empty() {
            files.push(root.join(relative).join("memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            files.push(
                root.join("memory")
                    .join(relative)
                    .join("memory.limit_in_bytes"),
            );
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_total_is_read_in_bytes() {
        let text = "MemTotal:       24683772 kB\nMemFree:         1000 kB\n";
        assert_eq!(meminfo_total(text), Some(24_683_772 * 1024));
        assert_eq!(meminfo_total("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn cgroup_limits_near_i64_max_or_max_mean_none() {
        assert_eq!(cgroup_limit("536870912\n"), Some(512 << 20));
        assert_eq!(cgroup_limit("9223372036854771712\n"), None);
        assert_eq!(cgroup_limit("max\n"), None);
    }

    #[test]
    fn limit_files_follow_the_process_groups_of_both_versions() {
        let v1 = "4:memory:/jobs/42\n3:cpuset:/\n";
        assert!(cgroup_limit_files(v1).contains(&PathBuf::from(
            "/sys/fs/cgroup/memory/jobs/42/memory.limit_in_bytes"
        )));
        let v2 = "0::/user.slice/session-1.scope\n";
        assert!(cgroup_limit_files(v2).contains(&PathBuf::from(
            "/sys/fs/cgroup/user.slice/session-1.scope/memory.max"
        )));
        assert_eq!(cgroup_limit_files("0::/\n").len(), 2);
    }

    #[test]
    fn the_default_limit_is_a_fraction_of_what_is_available() {
        if let (Some(available), Some(limit)) = (available_memory(), default_memory_limit()) {
            let expected = (available as f64 * DEFAULT_MEMORY_FRACTION) as u64;
            assert_eq!(limit as u64, expected);
            assert!(limit > 0);
        }
    }
}
