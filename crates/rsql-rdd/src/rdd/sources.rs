//! Source RDDs: driver collections, integer ranges, text files and sources computed by user
//! code.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Data;
use crate::context::Context;
use crate::error::{RddError, Result};
use crate::rdd::{BoxIter, Dependency, RddBase, RddMeta, RddNode};
use crate::scheduler::TaskContext;

/// Bounds of slice `index` when `len` items are cut into `parts` nearly equal slices.
fn slice_bounds(len: usize, parts: usize, index: usize) -> (usize, usize) {
    (index * len / parts, (index + 1) * len / parts)
}

/// A driver-side collection cut into contiguous slices.
pub(crate) struct ParallelCollectionRdd<T> {
    meta: RddMeta,
    items: Arc<Vec<T>>,
    partitions: usize,
}

impl<T: Data> ParallelCollectionRdd<T> {
    #[track_caller]
    pub(crate) fn new(context: &Context, items: Vec<T>, partitions: usize) -> Self {
        ParallelCollectionRdd {
            meta: RddMeta::new(context, "parallelize"),
            items: Arc::new(items),
            partitions,
        }
    }
}

impl<T: Data> RddBase for ParallelCollectionRdd<T> {
    fn node_name(&self) -> &'static str {
        "ParallelCollectionRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for ParallelCollectionRdd<T> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, T>> {
        let (start, end) = slice_bounds(self.items.len(), self.partitions, partition);
        tc.record_read((end - start) as u64, 0);
        Ok(Box::new(self.items[start..end].iter().cloned()))
    }
}

/// An arithmetic progression of `i64`, computed per partition without materializing it.
pub(crate) struct RangeRdd {
    meta: RddMeta,
    start: i64,
    step: i64,
    len: u64,
    partitions: usize,
}

impl RangeRdd {
    #[track_caller]
    pub(crate) fn new(
        context: &Context,
        start: i64,
        end: i64,
        step: i64,
        partitions: usize,
    ) -> Self {
        let span = i128::from(end) - i128::from(start);
        let step_wide = i128::from(step);
        let len = if span == 0 || (span > 0) != (step_wide > 0) {
            0
        } else {
            // Ceiling division of |span| by |step|.
            ((span.abs() + step_wide.abs() - 1) / step_wide.abs()) as u64
        };
        RangeRdd {
            meta: RddMeta::new(context, "range"),
            start,
            step,
            len,
            partitions,
        }
    }
}

impl RddBase for RangeRdd {
    fn node_name(&self) -> &'static str {
        "RangeRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<i64> for RangeRdd {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, i64>> {
        let parts = self.partitions as u128;
        let first = (partition as u128 * u128::from(self.len) / parts) as u64;
        let last = ((partition as u128 + 1) * u128::from(self.len) / parts) as u64;
        tc.record_read(last - first, 0);
        let (start, step) = (i128::from(self.start), i128::from(self.step));
        // Every value lies between start and end, so it fits in i64.
        Ok(Box::new(
            (first..last).map(move |i| (start + i128::from(i) * step) as i64),
        ))
    }
}

/// Computes partition `p` of a [`SourceRdd`].
pub(crate) type SourceFn<T> =
    Arc<dyn for<'a> Fn(usize, &'a TaskContext) -> BoxIter<'a, T> + Send + Sync>;

/// A source whose partitions user code computes, e.g. by reading files; the code reports what
/// it read with [`TaskContext::record_read`].
pub(crate) struct SourceRdd<T> {
    meta: RddMeta,
    partitions: usize,
    compute: SourceFn<T>,
}

impl<T: Data> SourceRdd<T> {
    #[track_caller]
    pub(crate) fn new(context: &Context, partitions: usize, compute: SourceFn<T>) -> Self {
        SourceRdd {
            meta: RddMeta::new(context, "source"),
            partitions,
            compute,
        }
    }
}

impl<T: Data> RddBase for SourceRdd<T> {
    fn node_name(&self) -> &'static str {
        "SourceRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for SourceRdd<T> {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, T>> {
        Ok((self.compute)(partition, tc))
    }
}

/// A byte range of one file; it holds the lines that start inside it.
#[derive(Debug, Clone)]
struct FileSplit {
    path: PathBuf,
    start: u64,
    end: u64,
}

/// Lines of text files, split by byte ranges on line boundaries.
pub(crate) struct TextFileRdd {
    meta: RddMeta,
    splits: Vec<FileSplit>,
}

impl TextFileRdd {
    #[track_caller]
    pub(crate) fn new(context: &Context, path: &Path, min_partitions: usize) -> Result<Self> {
        let meta = RddMeta::new(context, "text_file");
        let mut files = Vec::new();
        list_visible_files(path, &mut files)?;
        files.sort();
        let mut sized = Vec::with_capacity(files.len());
        for file in files {
            let len = std::fs::metadata(&file)
                .map_err(|e| RddError::io(&file, e))?
                .len();
            sized.push((file, len));
        }
        let total: u64 = sized.iter().map(|(_, len)| len).sum();
        let goal = total.div_ceil(min_partitions as u64).max(1);
        let mut splits = Vec::new();
        for (path, len) in sized {
            let mut start = 0;
            while start < len {
                let end = (start + goal).min(len);
                splits.push(FileSplit {
                    path: path.clone(),
                    start,
                    end,
                });
                start = end;
            }
        }
        Ok(TextFileRdd { meta, splits })
    }
}

/// Files under `path` (or `path` itself), skipping names that start with `_` or `.`.
fn list_visible_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let metadata = std::fs::metadata(path).map_err(|e| RddError::io(path, e))?;
    if !metadata.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(|e| RddError::io(path, e))? {
        let entry = entry.map_err(|e| RddError::io(path, e))?;
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with(['_', '.']);
        if !hidden {
            list_visible_files(&entry.path(), out)?;
        }
    }
    Ok(())
}

impl RddBase for TextFileRdd {
    fn node_name(&self) -> &'static str {
        "TextFileRDD"
    }
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<String> for TextFileRdd {
    fn compute<'a>(&'a self, partition: usize, tc: &'a TaskContext) -> Result<BoxIter<'a, String>> {
        let split = &self.splits[partition];
        let io = |e| RddError::io(&split.path, e);
        let file = File::open(&split.path).map_err(io)?;
        let mut reader = BufReader::new(file);
        let mut position = split.start;
        if split.start > 0 {
            // Skip the line that began in the previous split: it belongs there.
            reader.seek(SeekFrom::Start(split.start - 1)).map_err(io)?;
            let mut partial = Vec::new();
            position = split.start - 1 + reader.read_until(b'\n', &mut partial).map_err(io)? as u64;
        }
        Ok(Box::new(LineReader {
            reader,
            position,
            end: split.end,
            path: &split.path,
            tc,
        }))
    }
}

/// Reads the lines that start before `end`; reports read errors through the task context.
struct LineReader<'a> {
    reader: BufReader<File>,
    position: u64,
    end: u64,
    path: &'a Path,
    tc: &'a TaskContext,
}

impl Iterator for LineReader<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.position >= self.end || self.tc.has_failed() {
            return None;
        }
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => None,
            Ok(n) => {
                self.position += n as u64;
                self.tc.record_read(1, n as u64);
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                }
                Some(
                    String::from_utf8(line)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                )
            }
            Err(e) => {
                self.tc.fail(RddError::io(self.path, e));
                None
            }
        }
    }
}
