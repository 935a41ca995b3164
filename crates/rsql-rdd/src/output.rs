//! Atomic output directories: write into a staging directory, rename into place on success.

use std::path::{Path, PathBuf};

use crate::error::{RddError, Result};

/// Marker file written into a committed output directory, as Hadoop's committers do.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// An output directory being written; nothing appears at the target until [`AtomicDir::commit`].
pub(crate) struct AtomicDir {
    target: PathBuf,
    staging: PathBuf,
}

impl AtomicDir {
    /// Creates a hidden staging directory next to `target`; fails if `target` already exists.
    pub(crate) fn create(target: &Path) -> Result<Self> {
        if target.exists() {
            return Err(RddError::OutputExists(target.to_path_buf()));
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| RddError::io(&parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                RddError::InvalidArgument(format!("{} is not a directory name", target.display()))
            })?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}.staging-"))
            .tempdir_in(&parent)
            .map_err(|e| RddError::io(&parent, e))?
            .keep();
        Ok(AtomicDir {
            target: target.to_path_buf(),
            staging,
        })
    }

    /// Where the parts are written until commit.
    pub(crate) fn staging_path(&self) -> &Path {
        &self.staging
    }

    /// Writes the `_SUCCESS` marker and renames the staging directory onto the target.
    pub(crate) fn commit(self) -> Result<()> {
        let marker = self.staging.join(SUCCESS_MARKER);
        std::fs::write(&marker, b"").map_err(|e| RddError::io(&marker, e))?;
        std::fs::rename(&self.staging, &self.target).map_err(|e| {
            let _ = std::fs::remove_dir_all(&self.staging);
            RddError::io(&self.target, e)
        })
    }

    /// Removes the staging directory; the target is left as it was.
    pub(crate) fn abort(self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}
