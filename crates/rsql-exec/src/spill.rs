//! Spill files: batches written to local disk as an Arrow IPC stream when the memory pool
//! refuses, and read back one batch at a time. A file is deleted when its last handle drops.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use rsql_rdd::MemoryPool;
use tempfile::TempPath;

use crate::error::{ExecError, Result};

/// Writes batches of one schema into a new spill file.
pub struct SpillWriter {
    writer: StreamWriter<BufWriter<File>>,
    path: TempPath,
    rows: usize,
    pool: Arc<MemoryPool>,
}

impl SpillWriter {
    /// A new, empty spill file in `pool`'s spill directory; its size is counted in the pool's
    /// spilled bytes when it is finished.
    pub fn create(pool: &Arc<MemoryPool>, schema: &SchemaRef) -> Result<Self> {
        let dir = pool.spill_dir();
        let (file, path) = tempfile::Builder::new()
            .prefix("spill-")
            .suffix(".arrow")
            .tempfile_in(dir)
            .map_err(|e| spill_io(dir, e))?
            .into_parts();
        let writer = StreamWriter::try_new(BufWriter::new(file), schema)?;
        Ok(SpillWriter {
            writer,
            path,
            rows: 0,
            pool: Arc::clone(pool),
        })
    }

    /// Appends `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows();
        Ok(self.writer.write(batch)?)
    }

    /// Closes the stream; the file can then be read any number of times.
    pub fn finish(mut self) -> Result<SpillFile> {
        self.writer.finish()?;
        self.writer
            .into_inner()?
            .into_inner()
            .map_err(|e| spill_io(&self.path, e.into_error()))?;
        let bytes = std::fs::metadata(&self.path).map_or(0, |m| m.len() as usize);
        self.pool.record_spill(bytes);
        Ok(SpillFile {
            path: Arc::new(self.path),
            rows: self.rows,
            bytes,
        })
    }
}

/// A finished spill file; clones share it, and the last one deletes it.
#[derive(Debug, Clone)]
pub struct SpillFile {
    path: Arc<TempPath>,
    rows: usize,
    bytes: usize,
}

impl SpillFile {
    /// Rows written.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The batches, read back in order.
    pub fn read(&self) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
        let path: &Path = self.path.as_ref();
        let file = File::open(path).map_err(|e| spill_io(path, e))?;
        let reader = StreamReader::try_new(BufReader::new(file), None)?;
        // The reader keeps the file open; holding the handle keeps it from being deleted.
        let keep = Arc::clone(&self.path);
        Ok(reader.map(move |batch| {
            let _ = &keep;
            batch.map_err(ExecError::from)
        }))
    }
}

fn spill_io(path: &Path, error: std::io::Error) -> ExecError {
    ExecError::Execution(format!("spill file {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn batches_come_back_in_order_and_the_file_goes_with_its_last_handle() {
        let pool = Arc::new(MemoryPool::new(None).unwrap());
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = |from: i64| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(vec![Some(from), None])),
                    Arc::new(StringArray::from(vec![None, Some("x")])),
                ],
            )
            .unwrap()
        };
        let mut writer = SpillWriter::create(&pool, &schema).unwrap();
        writer.write(&batch(1)).unwrap();
        writer.write(&batch(2)).unwrap();
        let file = writer.finish().unwrap();
        assert_eq!(file.rows(), 4);
        assert!(pool.spilled_bytes() > 0);
        for _ in 0..2 {
            let read: Vec<RecordBatch> = file.read().unwrap().map(Result::unwrap).collect();
            assert_eq!(read, vec![batch(1), batch(2)]);
        }
        let path = file.path.to_path_buf();
        let copy = file.clone();
        drop(file);
        assert!(path.exists());
        drop(copy);
        assert!(!path.exists());
    }
}
