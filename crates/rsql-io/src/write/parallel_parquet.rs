//! One Parquet file whose columns are encoded in parallel: each row group's leaf columns are
//! spread over encoder threads fed through bounded queues, and the finished column chunks are
//! appended to the file in schema order by the thread writing batches. A single-threaded
//! [`ArrowWriter`] makes the end of a query that returns millions of rows wait for one core to
//! encode every column; here the columns share the cores while the query still runs.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
    compute_leaves,
};
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// The most encoder threads one row group uses (leaf columns beyond it share threads).
const MAX_ENCODER_THREADS: usize = 16;

/// Batches each encoder may have queued before the writing thread waits for it.
const QUEUED_BATCHES: usize = 2;

/// Writes record batches to one Parquet file, encoding the columns of each row group on their
/// own threads.
///
/// The file is what [`ArrowWriter`] writes with the same properties (the Arrow schema in its
/// metadata, row groups cut at [`WriterProperties::max_row_group_row_count`]); a byte limit on
/// row groups is not applied.
pub struct ParquetFileWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    max_row_group_rows: usize,
    row_group: Option<RowGroupEncoders>,
    row_groups_written: usize,
}

impl<W: Write + Send> ParquetFileWriter<W> {
    /// Starts a Parquet file of `schema` in `sink`, with `properties` (the defaults when
    /// `None`).
    pub fn try_new(
        sink: W,
        schema: SchemaRef,
        properties: Option<WriterProperties>,
    ) -> Result<Self> {
        let max_row_group_rows = properties
            .as_ref()
            .map_or_else(
                || WriterProperties::default().max_row_group_row_count(),
                WriterProperties::max_row_group_row_count,
            )
            .unwrap_or(usize::MAX);
        let (file, factory) =
            ArrowWriter::try_new(sink, schema.clone(), properties)?.into_serialized_writer()?;
        Ok(ParquetFileWriter {
            file,
            factory,
            schema,
            max_row_group_rows,
            row_group: None,
            row_groups_written: 0,
        })
    }

    /// Queues `batch` for encoding, ending the row group (and starting the next) whenever it
    /// reaches the row limit.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let row_group = match &mut self.row_group {
                Some(row_group) => row_group,
                None => self.row_group.insert(RowGroupEncoders::start(
                    self.factory
                        .create_column_writers(self.row_groups_written)?,
                )?),
            };
            let rows = (self.max_row_group_rows - row_group.rows).min(batch.num_rows() - offset);
            if let Err(error) = row_group.send(&self.schema, &batch.slice(offset, rows)) {
                self.row_group = None;
                return Err(error);
            }
            offset += rows;
            if row_group.rows == self.max_row_group_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Waits for the row group in progress to be encoded and appends it to the file.
    pub fn flush(&mut self) -> Result<()> {
        let Some(mut row_group) = self.row_group.take() else {
            return Ok(());
        };
        let chunks = row_group.finish()?;
        let mut writer = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut writer)?;
        }
        writer.close()?;
        self.row_groups_written += 1;
        Ok(())
    }

    /// Writes what is still in progress and the footer, and returns the sink.
    pub fn into_inner(mut self) -> Result<W> {
        self.flush()?;
        self.file.into_inner()
    }
}

/// The encoder threads of the row group in progress.
struct RowGroupEncoders {
    /// Encoder `t` owns the leaf columns `t`, `t + threads`, `t + 2 * threads`, ...
    encoders: Vec<Encoder>,
    leaves: usize,
    rows: usize,
}

/// One encoder thread: the queue it reads leaf columns from, and the chunks it returns.
struct Encoder {
    queue: SyncSender<Vec<ArrowLeafColumn>>,
    done: JoinHandle<Result<Vec<ArrowColumnChunk>>>,
}

impl RowGroupEncoders {
    fn start(writers: Vec<ArrowColumnWriter>) -> Result<Self> {
        let leaves = writers.len();
        let threads = leaves.clamp(1, MAX_ENCODER_THREADS);
        let mut owned: Vec<Vec<ArrowColumnWriter>> = (0..threads).map(|_| Vec::new()).collect();
        for (leaf, writer) in writers.into_iter().enumerate() {
            owned[leaf % threads].push(writer);
        }
        let encoders = owned
            .into_iter()
            .map(|writers| {
                let (queue, received) = sync_channel(QUEUED_BATCHES);
                let done = std::thread::Builder::new()
                    .name("rsql-parquet-encoder".into())
                    .spawn(move || encode(writers, received))
                    .map_err(|e| ParquetError::External(Box::new(e)))?;
                Ok(Encoder { queue, done })
            })
            .collect::<Result<_>>()?;
        Ok(RowGroupEncoders {
            encoders,
            leaves,
            rows: 0,
        })
    }

    /// Hands each of `batch`'s leaf columns to its encoder.
    fn send(&mut self, schema: &SchemaRef, batch: &RecordBatch) -> Result<()> {
        let threads = self.encoders.len();
        let mut shares: Vec<Vec<ArrowLeafColumn>> = (0..threads).map(|_| Vec::new()).collect();
        let mut leaf = 0;
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            for column_leaf in compute_leaves(field, column)? {
                shares[leaf % threads].push(column_leaf);
                leaf += 1;
            }
        }
        for (encoder, share) in self.encoders.iter().zip(shares) {
            if encoder.queue.send(share).is_err() {
                // The encoder stopped on an error, which `finish` returns.
                self.finish()?;
                return Err(ParquetError::General(
                    "a Parquet column encoder stopped early".into(),
                ));
            }
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Waits for every encoder and returns the column chunks in schema order.
    fn finish(&mut self) -> Result<Vec<ArrowColumnChunk>> {
        let threads = self.encoders.len();
        let mut per_thread = Vec::with_capacity(threads);
        let mut first_error = None;
        for Encoder { queue, done } in std::mem::take(&mut self.encoders) {
            drop(queue);
            let chunks = done.join().unwrap_or_else(|_| {
                Err(ParquetError::General(
                    "a Parquet column encoder thread panicked".into(),
                ))
            });
            match chunks {
                Ok(chunks) => per_thread.push(chunks.into_iter()),
                Err(error) => first_error = first_error.or(Some(error)),
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        (0..self.leaves)
            .map(|leaf| {
                per_thread[leaf % threads].next().ok_or_else(|| {
                    ParquetError::General(format!("no column chunk for leaf column {leaf}"))
                })
            })
            .collect()
    }
}

/// An encoder thread's work: every leaf column it receives to its writer (the `i`-th of a
/// share to the `i`-th writer), then the closed chunks.
fn encode(
    mut writers: Vec<ArrowColumnWriter>,
    received: Receiver<Vec<ArrowLeafColumn>>,
) -> Result<Vec<ArrowColumnChunk>> {
    for share in received {
        for (writer, leaf) in writers.iter_mut().zip(&share) {
            writer.write(leaf)?;
        }
    }
    writers.into_iter().map(ArrowColumnWriter::close).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, Int64Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn batch(start: i64, rows: usize) -> RecordBatch {
        let ids =
            Int64Array::from_iter((0..rows as i64).map(|i| (i % 7 != 3).then_some(start + i)));
        let names = StringArray::from_iter(
            (0..rows as i64).map(|i| (i % 5 != 1).then(|| format!("name-{}", (start + i) % 13))),
        );
        let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(
            (0..rows as i64)
                .map(|i| (i % 4 != 0).then(|| (0..i % 3).map(Some).collect::<Vec<_>>())),
        );
        let pair = StructArray::from(vec![
            (
                Arc::new(Field::new("x", DataType::Int64, true)),
                Arc::new(Int64Array::from_iter_values(
                    (0..rows as i64).map(|i| i * 2),
                )) as ArrayRef,
            ),
            (
                Arc::new(Field::new("y", DataType::Utf8, true)),
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| i.to_string()),
                )) as _,
            ),
        ]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("list", lists.data_type().clone(), true),
            Field::new("pair", pair.data_type().clone(), false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(ids),
                Arc::new(names),
                Arc::new(lists),
                Arc::new(pair),
            ],
        )
        .unwrap()
    }

    fn read(bytes: Vec<u8>) -> (Vec<RecordBatch>, Vec<i64>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
        let row_groups = builder
            .metadata()
            .row_groups()
            .iter()
            .map(|group| group.num_rows())
            .collect();
        (
            builder.build().unwrap().map(Result::unwrap).collect(),
            row_groups,
        )
    }

    fn written(batches: &[RecordBatch], max_rows: usize) -> Vec<u8> {
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(max_rows))
            .build();
        let mut writer =
            ParquetFileWriter::try_new(Vec::new(), batches[0].schema(), Some(properties)).unwrap();
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.into_inner().unwrap()
    }

    #[test]
    fn reads_back_what_was_written_with_row_groups_cut_at_the_limit() {
        let batches = [
            batch(0, 250),
            batch(250, 0),
            batch(250, 1000),
            batch(1250, 7),
        ];
        let (read_back, row_groups) = read(written(&batches, 300));
        assert_eq!(row_groups, [300, 300, 300, 300, 57]);
        let expected = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        let actual = arrow::compute::concat_batches(&expected.schema(), &read_back).unwrap();
        assert_eq!(actual, expected);
    }

    #[test]
    fn matches_the_single_threaded_writer_row_group_by_row_group() {
        let batches = [batch(0, 1000), batch(1000, 500)];
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(400))
            .build();
        let mut single =
            ArrowWriter::try_new(Vec::new(), batches[0].schema(), Some(properties)).unwrap();
        for batch in &batches {
            single.write(batch).unwrap();
        }
        let (expected, expected_groups) = read(single.into_inner().unwrap());
        let (actual, actual_groups) = read(written(&batches, 400));
        assert_eq!(actual_groups, expected_groups);
        assert_eq!(actual, expected);
    }

    #[test]
    fn a_file_of_no_rows_has_the_schema_and_no_row_groups() {
        let empty = batch(0, 0);
        let writer = ParquetFileWriter::try_new(Vec::new(), empty.schema(), None).unwrap();
        let bytes = writer.into_inner().unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
        assert_eq!(builder.metadata().num_row_groups(), 0);
        assert_eq!(builder.schema(), &empty.schema());
    }
}
