//! The catalog file: tables and views kept in `catalog.json` under the catalog directory.
//!
//! Every change takes an exclusive lock on `catalog.lock`, reads the file again, applies the
//! change and replaces the file atomically (a temporary file renamed over it), so two processes
//! sharing a catalog never lose each other's changes and a reader never sees half a file.
//! Readers take no lock: they read whichever complete version the last rename left.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const CATALOG_FILE: &str = "catalog.json";
const LOCK_FILE: &str = "catalog.lock";
/// Where managed tables keep their files, one folder per table.
pub(crate) const TABLES_DIR: &str = "tables";

/// A schema stored as Arrow IPC bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSchema(#[serde(with = "rsql_io::ipc_schema")] pub SchemaRef);

/// A table of the catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredTable {
    /// `parquet`, `json` or `csv`.
    pub format: String,
    /// Where the files are: an absolute path or URL for an external table; for a managed one,
    /// the current version folder relative to the catalog directory.
    pub location: String,
    /// Whether the catalog owns the files (created by `CREATE TABLE` without `LOCATION`).
    pub managed: bool,
    /// Hive partition columns, in folder order.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// Format options (`header`, `delimiter`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The full schema (data columns, then partition columns), when declared or managed.
    #[serde(default)]
    pub schema: Option<StoredSchema>,
}

/// A view of the catalog: its query's SQL, bound again at every use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredView {
    /// The `SELECT` text.
    pub query: String,
}

/// The content of `catalog.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct CatalogFile {
    /// Tables by name.
    #[serde(default)]
    pub tables: BTreeMap<String, StoredTable>,
    /// Views by name.
    #[serde(default)]
    pub views: BTreeMap<String, StoredView>,
}

impl CatalogFile {
    /// Whether a table or view is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tables.contains_key(name) || self.views.contains_key(name)
    }
}

/// A catalog directory: `catalog.json`, its lock, and the managed tables' files.
#[derive(Debug)]
pub(crate) struct CatalogStore {
    dir: PathBuf,
    /// Set when the catalog lives only as long as the session.
    _temporary: Option<tempfile::TempDir>,
}

impl CatalogStore {
    /// The catalog in `dir` (created if missing), or in a temporary directory removed with the
    /// store when `dir` is `None`.
    pub fn open(dir: Option<&Path>) -> Result<CatalogStore> {
        let (dir, temporary) = match dir {
            Some(dir) => {
                fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
                // Absolute, so the locations it records mean the same from any directory.
                let dir = fs::canonicalize(dir).map_err(|e| io_error(dir, &e))?;
                (dir, None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("rsql-catalog-")
                    .tempdir()
                    .map_err(|e| io_error(&std::env::temp_dir(), &e))?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let store = CatalogStore {
            dir,
            _temporary: temporary,
        };
        store.load()?;
        Ok(store)
    }

    /// The catalog directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The catalog as last written.
    pub fn load(&self) -> Result<CatalogFile> {
        let path = self.dir.join(CATALOG_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Invalid(format!(
                    "the catalog file {} is damaged: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CatalogFile::default()),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    /// Applies `change` to the current catalog under the lock and writes the result; nothing is
    /// written when `change` fails.
    pub fn update<T>(&self, change: impl FnOnce(&mut CatalogFile) -> Result<T>) -> Result<T> {
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(|e| io_error(&lock_path, &e))?;
        lock.lock().map_err(|e| io_error(&lock_path, &e))?;
        let mut catalog = self.load()?;
        let result = change(&mut catalog)?;
        self.write(&catalog)?;
        // The lock is released when `lock` closes.
        Ok(result)
    }

    fn write(&self, catalog: &CatalogFile) -> Result<()> {
        let path = self.dir.join(CATALOG_FILE);
        let bytes = serde_json::to_vec_pretty(catalog)
            .map_err(|e| Error::Invalid(format!("cannot encode the catalog: {e}")))?;
        let mut temp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io_error(&self.dir, &e))?;
        temp.write_all(&bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| io_error(temp.path(), &e))?;
        temp.persist(&path).map_err(|e| io_error(&path, &e.error))?;
        Ok(())
    }

    /// A fresh folder name for a new managed table called `name`, relative to the catalog.
    pub fn new_table_folder(&self, name: &str) -> String {
        format!("{TABLES_DIR}/{name}-{}", unique_suffix())
    }

    /// The absolute path of a path relative to the catalog directory.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

/// A suffix unlikely to repeat across processes and calls: time, process id and a counter.
pub(crate) fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:x}{:x}{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// An I/O error naming the path.
pub(crate) fn io_error(path: &Path, error: &std::io::Error) -> Error {
    Error::Invalid(format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_written_and_read_back_and_failed_changes_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::open(Some(dir.path())).unwrap();
        store
            .update(|c| {
                c.views.insert(
                    "v".into(),
                    StoredView {
                        query: "SELECT 1".into(),
                    },
                );
                Ok(())
            })
            .unwrap();
        let err = store
            .update(|c| {
                c.views.clear();
                Err::<(), _>(Error::Invalid("no".into()))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "no");
        let reopened = CatalogStore::open(Some(dir.path())).unwrap();
        assert!(reopened.load().unwrap().contains("v"));
        fs::write(dir.path().join(CATALOG_FILE), b"{not json").unwrap();
        let err = reopened.load().unwrap_err().to_string();
        assert!(err.contains("catalog.json is damaged"), "{err}");
    }
}
