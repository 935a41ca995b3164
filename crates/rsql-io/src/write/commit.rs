//! Atomic output: parts are written into a staging directory next to the target and moved
//! into place only when the whole job commits.

use std::fs;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use tempfile::TempDir;

use super::{PartWriter, SaveMode, WriteOptions};
use crate::error::{IoError, Result};

/// The marker file written into a committed output directory.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// One write job. Dropping it without [`OutputJob::commit`] removes everything it staged and
/// leaves the target untouched.
#[derive(Debug)]
pub struct OutputJob {
    target: PathBuf,
    staging: TempDir,
    job_id: String,
    schema: SchemaRef,
    options: WriteOptions,
}

impl OutputJob {
    /// Starts a job writing batches of `schema` to the directory `target`.
    ///
    /// Fails at once when `target` exists and the mode is [`SaveMode::ErrorIfExists`], or when
    /// a partition column is not in `schema`.
    pub fn begin(
        target: impl AsRef<Path>,
        schema: SchemaRef,
        options: WriteOptions,
    ) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        if let Some((scheme, _)) = target.to_str().and_then(|t| t.split_once("://")) {
            return Err(IoError::Invalid(format!(
                "cannot write to {}: writing to {scheme}:// locations is not supported yet \
                 (write to a local directory)",
                target.display()
            )));
        }
        if options.mode == SaveMode::ErrorIfExists && target.exists() {
            return Err(IoError::AlreadyExists(target));
        }
        for column in &options.partition_by {
            if schema.field_with_name(column).is_err() {
                return Err(IoError::UnknownColumn {
                    column: column.clone(),
                    valid: schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let parent = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // A regular file where a folder must go would surface as a puzzling "file exists".
        if let Some(file) = parent
            .ancestors()
            .find(|p| p.exists())
            .filter(|p| !p.is_dir())
        {
            let not_a_directory = std::io::Error::from(std::io::ErrorKind::NotADirectory);
            return Err(IoError::fs(file, not_a_directory));
        }
        fs::create_dir_all(&parent).map_err(|e| IoError::fs(&parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}.staging-"))
            .tempdir_in(&parent)
            .map_err(|e| IoError::fs(&parent, e))?;
        let job_id = staging
            .path()
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .rsplit('-')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default();
        Ok(OutputJob {
            target,
            staging,
            job_id,
            schema,
            options,
        })
    }

    /// A writer for part number `part`; parts may be written concurrently from many threads.
    pub fn part_writer(&self, part: usize) -> Result<PartWriter> {
        PartWriter::new(
            self.staging.path().to_path_buf(),
            format!("part-{part:05}-{}", self.job_id),
            self.schema.clone(),
            self.options.clone(),
        )
    }

    /// Moves the staged output into place and writes `_SUCCESS`. Call only after every part
    /// writer finished successfully.
    pub fn commit(self) -> Result<()> {
        let staging = self.staging.path().to_path_buf();
        let exists = self.target.exists();
        match (self.options.mode, exists) {
            (SaveMode::ErrorIfExists, true) => return Err(IoError::AlreadyExists(self.target)),
            (SaveMode::Append, true) => {
                move_tree(&staging, &self.target)?;
                write_marker(&self.target)?;
                // The emptied staging folders are removed when `self.staging` drops.
                return Ok(());
            }
            (SaveMode::Overwrite, true) => {
                write_marker(&staging)?;
                let old = self.sibling("old");
                rename(&self.target, &old)?;
                if let Err(error) = rename(&staging, &self.target) {
                    // Put the previous output back; the staged one is dropped with the job.
                    rename(&old, &self.target)?;
                    return Err(error);
                }
                fs::remove_dir_all(&old).map_err(|e| IoError::fs(&old, e))?;
            }
            (_, false) => {
                write_marker(&staging)?;
                rename(&staging, &self.target)?;
            }
        }
        // The staging directory has been renamed into place: it must not be deleted.
        let _ = self.staging.keep();
        Ok(())
    }

    /// A hidden path next to the target, unique to this job.
    fn sibling(&self, tag: &str) -> PathBuf {
        let name = self
            .target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.target
            .with_file_name(format!(".{name}.{tag}-{}", self.job_id))
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| IoError::fs(to, e))
}

fn write_marker(dir: &Path) -> Result<()> {
    let marker = dir.join(SUCCESS_MARKER);
    fs::write(&marker, b"").map_err(|e| IoError::fs(marker, e))
}

/// Moves every file below `from` to the same relative path below `to`, creating folders.
fn move_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| IoError::fs(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| IoError::fs(from, e))? {
        let entry = entry.map_err(|e| IoError::fs(from, e))?;
        let destination = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|e| IoError::fs(entry.path(), e))?;
        if kind.is_dir() {
            move_tree(&entry.path(), &destination)?;
        } else {
            rename(&entry.path(), &destination)?;
        }
    }
    Ok(())
}
