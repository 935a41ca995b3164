//! Where results go: stdout, one file (written under a temporary name and renamed into place
//! when the run succeeds), or a directory of part files written by the library's atomic
//! writers.

pub mod format;
pub mod table;

use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use rsql::{DataFrame, ParquetFileWriter, RecordBatchStream};
use tempfile::NamedTempFile;

use crate::args::Format;
use crate::errors::usage;
use format::write_text;

/// How one result is to be written.
#[derive(Debug, Clone, Copy)]
pub struct ResultStyle {
    /// The format.
    pub format: Format,
    /// The most rows `table` shows (0: all).
    pub max_rows: usize,
    /// Print a one-column text result (an `EXPLAIN`) as plain lines in `table` format.
    pub plain_lines: bool,
}

/// Where results go.
pub enum Sink {
    /// Standard output.
    Stdout,
    /// One file, staged under a temporary name next to it.
    File(Box<FileSink>),
    /// A directory of part files with `_SUCCESS`; takes one result.
    Directory {
        /// The directory to create.
        path: PathBuf,
        /// Whether a result went there already.
        written: bool,
    },
}

/// A file being written under a temporary name.
pub struct FileSink {
    path: PathBuf,
    staged: Staged,
}

/// What the temporary file holds so far.
enum Staged {
    /// Text results (possibly none yet).
    Text {
        /// The temporary file.
        out: BufWriter<NamedTempFile>,
        /// How many results it holds.
        results: usize,
    },
    /// One Parquet result.
    Parquet(Box<ParquetFileWriter<NamedTempFile>>),
    /// A write failed half-way; the file is abandoned.
    Failed,
}

impl Sink {
    /// The sink `--output` asks for: a directory when the path ends with `/` or is an existing
    /// directory, else a file.
    pub fn open(output: Option<&Path>) -> Result<Sink> {
        let Some(path) = output else {
            return Ok(Sink::Stdout);
        };
        let text = path.to_string_lossy();
        if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) || path.is_dir() {
            return Ok(Sink::Directory {
                path: PathBuf::from(text.trim_end_matches(['/', std::path::MAIN_SEPARATOR])),
                written: false,
            });
        }
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create the directory {}", parent.display()))?;
        let prefix = format!(".{name}.tmp-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            // What `File::create` gives (the umask applies), not the 0600 of temporary files.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder
            .tempfile_in(&parent)
            .with_context(|| format!("cannot create a file in {}", parent.display()))?;
        Ok(Sink::File(Box::new(FileSink {
            path: path.to_path_buf(),
            staged: Staged::Text {
                out: BufWriter::new(temp),
                results: 0,
            },
        })))
    }

    /// Errors (as a usage error) unless results can be written here in `format`.
    pub fn check_format(&self, format: Format) -> Result<()> {
        match (self, format) {
            (Sink::Stdout, Format::Parquet) => Err(usage(
                "Parquet cannot be written to stdout; give --output FILE or --output DIR/",
            )),
            (Sink::Directory { path, .. }, Format::Table | Format::Tsv) => Err(usage(format!(
                "--format {} cannot write the directory {}/; use csv, json, ndjson or parquet, or a file path",
                format.name(),
                path.display()
            ))),
            _ => Ok(()),
        }
    }

    /// Runs `df` and writes its result. Failures of the query come back as the
    /// [`rsql::Error`] itself (so the caller can point at the SQL); failures of the output
    /// name the file.
    pub fn write_result(&mut self, df: &DataFrame, style: ResultStyle) -> Result<()> {
        self.check_format(style.format)?;
        match self {
            Sink::Stdout => {
                let stream = df.execute_stream()?;
                let schema = stream.schema();
                // Nothing is written before the first batch comes: a statement that fails or
                // is cancelled before any row leaves no header behind.
                let mut batches = batches(stream).peekable();
                if let Some(Err(error)) = batches.next_if(Result::is_err) {
                    return Err(error);
                }
                let mut out = std::io::stdout().lock();
                write_styled(style, &schema, batches, &mut out)
                    .and_then(|()| Ok(out.flush()?))
                    .map_err(|e| output_error(e, "to stdout"))
            }
            Sink::File(file) => file.write_result(df, style),
            Sink::Directory { path, written } => {
                if df.schema().fields().is_empty() {
                    return Ok(()); // CREATE VIEW, COPY: nothing to write
                }
                if *written {
                    return Err(usage(format!(
                        "--output {}/ takes the result of one query, and this is the second",
                        path.display()
                    )));
                }
                *written = true;
                let target = path.to_string_lossy();
                match style.format {
                    Format::Json | Format::Ndjson => df.write_json(&target)?,
                    Format::Csv => df.write_csv(&target)?,
                    Format::Parquet => df.write_parquet(&target)?,
                    Format::Table | Format::Tsv => unreachable!("checked above"),
                }
                Ok(())
            }
        }
    }

    /// Moves a staged file into place; a sink that is dropped without this leaves nothing.
    pub fn commit(self) -> Result<()> {
        match self {
            Sink::File(file) => file.commit(),
            Sink::Stdout | Sink::Directory { .. } => Ok(()),
        }
    }
}

impl FileSink {
    fn write_result(&mut self, df: &DataFrame, style: ResultStyle) -> Result<()> {
        let stream = df.execute_stream()?;
        let schema = stream.schema();
        if schema.fields().is_empty() {
            return Ok(());
        }
        let name = self.path.display().to_string();
        let write_error = |e: anyhow::Error| output_error(e, &name);
        if style.format == Format::Parquet {
            let temp = match std::mem::replace(&mut self.staged, Staged::Failed) {
                Staged::Text { out, results: 0 } => out
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {name}"))?,
                _ => {
                    return Err(usage(format!(
                        "{name} already holds a result; a Parquet file takes one query's result"
                    )));
                }
            };
            let mut writer = ParquetFileWriter::try_new(temp, schema, None)
                .with_context(|| format!("cannot write {name}"))?;
            let written: Result<()> =
                batches(stream).try_for_each(|batch| Ok(writer.write(&batch?)?));
            return match written {
                Ok(()) => {
                    self.staged = Staged::Parquet(Box::new(writer));
                    Ok(())
                }
                Err(error) => {
                    // A failed query leaves the file as it was: empty, ready for a result.
                    if error.is::<rsql::Error>()
                        && let Ok(temp) = writer.into_inner()
                        && temp.as_file().set_len(0).is_ok()
                    {
                        self.staged = Staged::Text {
                            out: BufWriter::new(temp),
                            results: 0,
                        };
                    }
                    Err(write_error(error))
                }
            };
        }
        match &mut self.staged {
            Staged::Text { out, results } => {
                let start = out
                    .stream_position()
                    .with_context(|| format!("cannot write {name}"))?;
                match write_styled(style, &schema, batches(stream), out) {
                    Ok(()) => {
                        *results += 1;
                        Ok(())
                    }
                    Err(error) => {
                        // The rows of a failed query are taken back out of the file.
                        if error.is::<rsql::Error>() {
                            rewind(out, start).with_context(|| format!("cannot write {name}"))?;
                        }
                        Err(write_error(error))
                    }
                }
            }
            Staged::Parquet(_) => Err(usage(format!(
                "{name} already holds a Parquet result; text results cannot follow it"
            ))),
            Staged::Failed => anyhow::bail!("{name} was abandoned after an earlier error"),
        }
    }

    fn commit(self) -> Result<()> {
        let name = self.path.display().to_string();
        let temp = match self.staged {
            Staged::Text { out, .. } => out
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("cannot write {name}"))?,
            Staged::Parquet(writer) => writer
                .into_inner()
                .with_context(|| format!("cannot write {name}"))?,
            Staged::Failed => anyhow::bail!("{name} was not written because of an earlier error"),
        };
        temp.as_file()
            .sync_all()
            .with_context(|| format!("cannot write {name}"))?;
        temp.persist(&self.path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot move the finished output to {name}"))?;
        Ok(())
    }
}

/// The batches of a streamed result, its error as the [`rsql::Error`] itself.
fn batches(stream: RecordBatchStream) -> impl Iterator<Item = Result<RecordBatch>> {
    stream.map(|batch| batch.map_err(anyhow::Error::from))
}

/// A failure while writing a result: the query's own error as it is (the caller points at the
/// SQL), a failure of the output naming `target`.
fn output_error(error: anyhow::Error, target: &str) -> anyhow::Error {
    if error.is::<rsql::Error>() {
        error
    } else {
        error.context(format!("cannot write {target}"))
    }
}

/// Cuts the staged file back to `start` bytes, where the failed result began.
fn rewind(out: &mut BufWriter<NamedTempFile>, start: u64) -> std::io::Result<()> {
    out.flush()?;
    out.get_ref().as_file().set_len(start)?;
    out.seek(SeekFrom::Start(start))?;
    Ok(())
}

/// Writes one result as text, an `EXPLAIN` as plain lines when `style` asks for it.
fn write_styled(
    style: ResultStyle,
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    out: &mut dyn Write,
) -> Result<()> {
    if style.plain_lines && style.format == Format::Table && schema.fields().len() == 1 {
        for batch in batches {
            let batch = batch?;
            if let Some(lines) = batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
            {
                for line in lines.iter().flatten() {
                    writeln!(out, "{line}")?;
                }
            }
        }
        return Ok(());
    }
    write_text(style.format, schema, batches, style.max_rows, out)
}
