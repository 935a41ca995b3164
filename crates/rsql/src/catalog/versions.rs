//! Versions of a managed table's files.
//!
//! A managed table lives in its own folder under the catalog (`tables/NAME-ID/`); each write
//! makes a new version folder (`v-ID/`) holding the rows written plus hard links to the files
//! of the previous version that the write keeps, and the write commits by pointing the catalog
//! at the new folder (one atomic rename of `catalog.json`). A reader opens one version or the
//! other, never a mix; a write that fails or is killed leaves the catalog pointing at the
//! previous version, and its folder is removed by a later write.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use arrow::array::Array;
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;
use rsql_plan::OverwriteScope;

use super::store::{io_error, unique_suffix};
use crate::error::{Error, Result};

/// Unfinished version folders older than this are left-overs of killed writes.
const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// A data file of a version: its path below the version folder and the `key=value` folders
/// it sits in.
struct VersionFile {
    relative: PathBuf,
    partition: Vec<String>,
}

/// The folder of a new version of the table in `table_folder` (absolute).
pub(crate) fn new_version_folder(table_folder: &Path) -> PathBuf {
    table_folder.join(format!("v-{}", unique_suffix()))
}

/// Every data file below `dir` (hidden and `_`-prefixed names skipped, as readers do).
fn data_files(dir: &Path) -> Result<Vec<VersionFile>> {
    fn walk(
        dir: &Path,
        relative: &Path,
        partition: &[String],
        out: &mut Vec<VersionFile>,
    ) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(dir, &e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error(dir, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(|e| io_error(&entry.path(), &e))?;
            if kind.is_dir() {
                let mut inner = partition.to_vec();
                inner.push(name.clone());
                walk(&entry.path(), &relative.join(&name), &inner, out)?;
            } else {
                out.push(VersionFile {
                    relative: relative.join(&name),
                    partition: partition.to_vec(),
                });
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, Path::new(""), &[], &mut files)?;
    Ok(files)
}

/// `column=value` as the writer names the folder of rows whose `column` is `value`.
fn partition_folder(column: &str, value: &ScalarValue) -> Result<String> {
    let text = value
        .to_array()
        .and_then(|array| Ok(cast(&array, &DataType::Utf8)?))
        .map_err(|e| Error::Invalid(format!("partition value {value}: {e}")))?;
    let text = text
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .filter(|a| a.is_valid(0))
        .map_or_else(
            || rsql_io::HIVE_DEFAULT_PARTITION.to_string(),
            |a| rsql_io::escape_value(a.value(0)),
        );
    Ok(format!("{column}={text}"))
}

/// Links the files of the version in `base` that survive a write with `overwrite` into the
/// new version in `target`, which already holds the rows written.
pub(crate) fn carry_over(
    base: &Path,
    target: &Path,
    overwrite: Option<&OverwriteScope>,
) -> Result<()> {
    let replaced: Box<dyn Fn(&VersionFile) -> bool> = match overwrite {
        None => Box::new(|_| false),
        Some(OverwriteScope::Table) => Box::new(|_| true),
        Some(OverwriteScope::Partitions(values)) => {
            let folders = values
                .iter()
                .map(|(column, value)| partition_folder(column, value))
                .collect::<Result<Vec<_>>>()?;
            Box::new(move |file| folders.iter().all(|f| file.partition.contains(f)))
        }
        Some(OverwriteScope::Written(_)) => {
            let written: HashSet<Vec<String>> = data_files(target)?
                .into_iter()
                .map(|f| f.partition)
                .collect();
            Box::new(move |file| written.contains(&file.partition))
        }
    };
    for file in data_files(base)? {
        if replaced(&file) {
            continue;
        }
        let from = base.join(&file.relative);
        let to = target.join(&file.relative);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
        }
        // A hard link shares the bytes; a copy where the file system has none.
        if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to).map_err(|e| io_error(&from, &e))?;
        }
    }
    Ok(())
}

/// Removes the version folders of `table_folder` other than `keep` (the current and the
/// previous version, which a reader may still be scanning), and left-overs of killed writes.
pub(crate) fn remove_old_versions(table_folder: &Path, keep: &[&Path]) {
    let Ok(entries) = fs::read_dir(table_folder) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path = entry.path();
        if keep.iter().any(|k| *k == path) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| {
                now.duration_since(modified).unwrap_or_default() > ABANDONED_AFTER
            });
        if name.starts_with("v-") || (name.starts_with('.') && abandoned) {
            // Best effort: a folder left behind is removed by a later write.
            let _ = fs::remove_dir_all(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x").unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = data_files(dir)
            .unwrap()
            .into_iter()
            .map(|f| f.relative.display().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn overwrite_scopes_keep_the_right_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("v-1");
        for file in [
            "k=1/a.parquet",
            "k=2/b.parquet",
            "k=3/c.parquet",
            "_SUCCESS",
        ] {
            touch(&base.join(file));
        }
        let run = |scope: Option<OverwriteScope>, written: &[&str]| {
            let target = new_version_folder(dir.path());
            for file in written {
                touch(&target.join(file));
            }
            carry_over(&base, &target, scope.as_ref()).unwrap();
            names(&target)
        };
        assert_eq!(
            run(None, &["k=2/new.parquet"]),
            [
                "k=1/a.parquet",
                "k=2/b.parquet",
                "k=2/new.parquet",
                "k=3/c.parquet"
            ]
        );
        assert_eq!(
            run(Some(OverwriteScope::Table), &["k=9/new.parquet"]),
            ["k=9/new.parquet"]
        );
        let two = vec![("k".to_string(), ScalarValue::Int64(Some(2)))];
        assert_eq!(
            run(Some(OverwriteScope::Partitions(two)), &[]),
            ["k=1/a.parquet", "k=3/c.parquet"]
        );
        assert_eq!(
            run(
                Some(OverwriteScope::Written(Vec::new())),
                &["k=3/new.parquet", "k=4/new.parquet"]
            ),
            [
                "k=1/a.parquet",
                "k=2/b.parquet",
                "k=3/new.parquet",
                "k=4/new.parquet"
            ]
        );
    }

    #[test]
    fn null_partition_values_name_the_default_folder() {
        assert_eq!(
            partition_folder("k", &ScalarValue::Utf8(None)).unwrap(),
            "k=__HIVE_DEFAULT_PARTITION__"
        );
        assert_eq!(
            partition_folder("k", &ScalarValue::Utf8(Some("a/b".into()))).unwrap(),
            "k=a%2Fb"
        );
    }

    #[test]
    fn old_versions_go_and_the_kept_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        for version in ["v-1", "v-2", "v-3"] {
            touch(&dir.path().join(version).join("a.parquet"));
        }
        let (v2, v3) = (dir.path().join("v-2"), dir.path().join("v-3"));
        remove_old_versions(dir.path(), &[&v2, &v3]);
        assert!(!dir.path().join("v-1").exists());
        assert!(v2.exists() && v3.exists());
    }
}
