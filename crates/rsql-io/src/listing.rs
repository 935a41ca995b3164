//! Listing the data files of a dataset: one file, a directory tree, or a glob.
//!
//! Hidden and marker entries (names starting with `_` or `.`, and `*.crc` files) below the
//! dataset root are skipped, as Spark does. Every listed file carries the `key=value` directory
//! segments between the root and the file, from which partition columns are discovered.

use std::path::{Component, Path, PathBuf};

use glob::{MatchOptions, Pattern};

use crate::error::{IoError, Result};
use crate::location::Location;
use crate::s3::S3Bucket;
use crate::source::FileSource;

/// A data file found by listing.
#[derive(Debug, Clone)]
pub struct ListedFile {
    /// Where the file lives.
    pub source: FileSource,
    /// Its size in bytes.
    pub size: u64,
    /// The hive-style `key=value` directory segments between the dataset root and the file.
    pub partition_segments: Vec<(String, String)>,
}

/// Lists the data files at `location`, sorted by name.
///
/// Errors with [`IoError::NoMatch`] when a glob matches nothing, [`IoError::NotFound`] when a
/// plain path names nothing (or an empty directory).
pub fn list_files(location: &Location) -> Result<Vec<ListedFile>> {
    let mut files = match location {
        Location::Local(path) => list_local(path)?,
        Location::S3 { bucket, key } => list_s3(&S3Bucket::from_env(bucket)?, key)?,
    };
    if files.is_empty() {
        let pattern = match location {
            Location::Local(path) => has_glob(&path.to_string_lossy()),
            Location::S3 { key, .. } => has_glob(key),
        };
        return Err(if pattern {
            IoError::NoMatch(location.to_string())
        } else {
            IoError::NotFound(location.to_string())
        });
    }
    files.sort_by_key(|file| file.source.name());
    Ok(files)
}

/// Whether a file or directory name marks something that is not data.
fn is_hidden(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.') || name.ends_with(".crc")
}

fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// The hive `key=value` pairs among relative directory names, in path order.
fn partition_segments<'a>(dirs: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    dirs.into_iter()
        .filter_map(|segment| segment.split_once('='))
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn list_local(path: &Path) -> Result<Vec<ListedFile>> {
    let text = path.to_string_lossy();
    if !has_glob(&text) {
        let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => IoError::NotFound(text.to_string()),
            _ => IoError::fs(path, source),
        })?;
        if meta.is_file() {
            return Ok(vec![ListedFile {
                source: FileSource::Local(path.to_path_buf()),
                size: meta.len(),
                partition_segments: Vec::new(),
            }]);
        }
        let mut files = Vec::new();
        walk_local(path, path, &mut files)?;
        return Ok(files);
    }
    let root: PathBuf = path
        .components()
        .take_while(|component| !has_glob(&component.as_os_str().to_string_lossy()))
        .collect();
    let entries = glob::glob(&text).map_err(|error| IoError::Glob {
        pattern: text.to_string(),
        message: error.to_string(),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| {
            let path = error.path().to_path_buf();
            IoError::fs(path, error.into())
        })?;
        if relative_names(&root, &entry)
            .iter()
            .any(|name| is_hidden(name))
        {
            continue;
        }
        let meta = std::fs::metadata(&entry).map_err(|source| IoError::fs(&entry, source))?;
        if meta.is_dir() {
            walk_local(&root, &entry, &mut files)?;
        } else {
            files.push(local_file(&root, entry, meta.len()));
        }
    }
    Ok(files)
}

/// The names of the path components of `path` below `root`.
fn relative_names(root: &Path, path: &Path) -> Vec<String> {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

fn local_file(root: &Path, path: PathBuf, size: u64) -> ListedFile {
    let names = relative_names(root, &path);
    let dirs = names.iter().take(names.len().saturating_sub(1));
    ListedFile {
        partition_segments: partition_segments(dirs.map(String::as_str)),
        source: FileSource::Local(path),
        size,
    }
}

fn walk_local(root: &Path, dir: &Path, files: &mut Vec<ListedFile>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| IoError::fs(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| IoError::fs(dir, source))?;
        if is_hidden(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|source| IoError::fs(&path, source))?;
        if meta.is_dir() {
            walk_local(root, &path, files)?;
        } else {
            files.push(local_file(root, path, meta.len()));
        }
    }
    Ok(())
}

fn list_s3(bucket: &S3Bucket, key: &str) -> Result<Vec<ListedFile>> {
    let s3_file = |key: &str, size: u64, root: &str| {
        let relative = key
            .strip_prefix(root)
            .unwrap_or(key)
            .trim_start_matches('/');
        let names: Vec<&str> = relative.split('/').collect();
        ListedFile {
            partition_segments: partition_segments(names[..names.len() - 1].iter().copied()),
            source: FileSource::S3 {
                bucket: bucket.clone(),
                key: key.to_string(),
            },
            size,
        }
    };
    let visible = |key: &str, root: &str| {
        let relative = key.strip_prefix(root).unwrap_or(key);
        !relative.split('/').any(is_hidden)
    };
    if !has_glob(key) {
        if !key.is_empty()
            && let Some(size) = bucket.head(key)?
        {
            return Ok(vec![s3_file(key, size, key)]);
        }
        return Ok(bucket
            .list(key)?
            .into_iter()
            .filter(|object| visible(&object.key, key))
            .map(|object| s3_file(&object.key, object.size, key))
            .collect());
    }
    let root = key
        .split('/')
        .take_while(|segment| !has_glob(segment))
        .collect::<Vec<_>>()
        .join("/");
    let pattern = Pattern::new(key).map_err(|error| IoError::Glob {
        pattern: key.to_string(),
        message: error.to_string(),
    })?;
    let options = MatchOptions {
        require_literal_separator: true,
        ..MatchOptions::new()
    };
    Ok(bucket
        .list(&root)?
        .into_iter()
        .filter(|object| visible(&object.key, &root))
        .filter(|object| {
            // A pattern may name a directory: keep every object below a matching prefix.
            let segments: Vec<&str> = object.key.split('/').collect();
            (1..=segments.len()).any(|n| pattern.matches_with(&segments[..n].join("/"), options))
        })
        .map(|object| s3_file(&object.key, object.size, &root))
        .collect())
}
