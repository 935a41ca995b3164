//! Registering `--table NAME=PATH[:FORMAT]` arguments with the session.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};
use rsql::Session;

use crate::args::{FileFormat, TableSpec};

/// How deep [`format_of_directory`] looks for a data file (hive folders nest five deep in the
/// events dataset).
const MAX_SEARCH_DEPTH: usize = 8;

/// Registers every table, in order; the first failure names its argument.
pub fn register_all(session: &Session, specs: &[TableSpec]) -> Result<()> {
    for spec in specs {
        register(session, spec).with_context(|| {
            let format = spec.format.map(|f| format!(":{}", name(f)));
            format!(
                "--table {}={}{}",
                spec.name,
                spec.path,
                format.unwrap_or_default()
            )
        })?;
    }
    Ok(())
}

/// Registers one table under its name, in its given or inferred format.
pub fn register(session: &Session, spec: &TableSpec) -> Result<()> {
    let format = spec.format.unwrap_or_else(|| infer_format(&spec.path));
    match format {
        FileFormat::Parquet => session.register_parquet(&spec.name, &spec.path)?,
        FileFormat::Json => session.register_table(&spec.name, &session.read_json(&spec.path)?),
        FileFormat::Csv => session.register_table(&spec.name, &session.read_csv(&spec.path)?),
    }
    Ok(())
}

/// The format of `path`: by its extension, else by the first data file of a local directory,
/// else Parquet.
pub fn infer_format(path: &str) -> FileFormat {
    if let Some(format) = format_of_name(path) {
        return format;
    }
    let local = Path::new(path);
    if !path.contains("://")
        && local.is_dir()
        && let Some(format) = format_of_directory(local, MAX_SEARCH_DEPTH)
    {
        return format;
    }
    FileFormat::Parquet
}

/// The format a file name's extension names (compression suffixes such as `.gz` are skipped).
fn format_of_name(name: &str) -> Option<FileFormat> {
    let lower = name.trim_end_matches('/').to_ascii_lowercase();
    let mut parts = lower.rsplit('.');
    let last = parts.next()?;
    let extension = match last {
        "gz" | "bz2" | "zst" | "snappy" => parts.next()?,
        other => other,
    };
    if extension.contains('/') {
        return None;
    }
    FileFormat::from_name(extension)
}

/// The format of the first data file found under `dir` (hidden and `_` files skipped).
fn format_of_directory(dir: &Path, depth: usize) -> Option<FileFormat> {
    let mut entries: Vec<_> = fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let visible = entries.iter().filter(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        !name.starts_with('.') && !name.starts_with('_')
    });
    let mut subdirectories = Vec::new();
    for entry in visible {
        let path = entry.path();
        if path.is_dir() {
            subdirectories.push(path);
        } else if let Some(format) = format_of_name(&entry.file_name().to_string_lossy()) {
            return Some(format);
        }
    }
    if depth == 0 {
        return None;
    }
    subdirectories
        .iter()
        .find_map(|sub| format_of_directory(sub, depth - 1))
}

/// The name of a format, as `:FORMAT` spells it.
fn name(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Parquet => "parquet",
        FileFormat::Json => "json",
        FileFormat::Csv => "csv",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(format_of_name("a/b.parquet"), Some(FileFormat::Parquet));
        assert_eq!(format_of_name("a/b.NDJSON"), Some(FileFormat::Json));
        assert_eq!(format_of_name("b.jsonl.gz"), Some(FileFormat::Json));
        assert_eq!(format_of_name("people.csv"), Some(FileFormat::Csv));
        assert_eq!(format_of_name("dir.v2/events"), None);
        assert_eq!(format_of_name("events/"), None);
    }

    #[test]
    fn directories_by_their_first_data_file() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("day=1");
        fs::create_dir_all(&nested).unwrap();
        fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        fs::write(dir.path().join(".hidden.csv"), "").unwrap();
        fs::write(nested.join("part-0.json"), "{}").unwrap();
        let path = dir.path().to_str().unwrap();
        assert_eq!(infer_format(path), FileFormat::Json);
        assert_eq!(infer_format("does/not/exist"), FileFormat::Parquet);
    }
}
