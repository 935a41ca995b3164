//! Parquet files: footers and schemas, row-group pruning from statistics, and decoding.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::parquet_column;
use parquet::basic::Encoding;
use parquet::file::metadata::ColumnChunkMetaData;

use crate::error::{IoError, Result};
use crate::listing::ListedFile;
use crate::predicate::{Predicate, ValueRanges};

/// The decoded footer of one Parquet file, ready to build readers from.
#[derive(Debug, Clone)]
pub struct ParquetFile {
    metadata: ArrowReaderMetadata,
}

impl ParquetFile {
    /// Reads and parses the footer of `file`. Columns the file's Arrow schema types as
    /// `Utf8View` or `BinaryView` (as files written by recent Arrow writers, such as
    /// tpchgen's, do) are read as `Utf8` and `Binary`: every string path of rsql, from `LIKE` to
    /// join keys, works on those, and the values are the same.
    pub fn load(file: &ListedFile) -> Result<Self> {
        let chunks = file.source.open_chunks(file.size)?;
        let name = file.source.name();
        let metadata = ArrowReaderMetadata::load(&chunks, ArrowReaderOptions::new())
            .map_err(|source| IoError::parquet(name.clone(), source))?;
        let schema = metadata.schema();
        if !schema.fields().iter().any(|f| is_view(f.data_type())) {
            return Ok(ParquetFile { metadata });
        }
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|field| match field.data_type() {
                DataType::Utf8View => field.as_ref().clone().with_data_type(DataType::Utf8),
                DataType::BinaryView => field.as_ref().clone().with_data_type(DataType::Binary),
                _ => field.as_ref().clone(),
            })
            .collect();
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
        let metadata = ArrowReaderMetadata::try_new(metadata.metadata().clone(), options)
            .map_err(|source| IoError::parquet(name, source))?;
        Ok(ParquetFile { metadata })
    }

    /// The file's Arrow schema, with `Utf8` columns that are dictionary-encoded in the file
    /// typed as `Dictionary(Int32, Utf8)` so they decode without materialising every string.
    pub fn schema(&self) -> Schema {
        let schema = self.metadata.schema();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|field| {
                let field = field.as_ref().clone();
                if field.data_type() == &DataType::Utf8 && self.is_dictionary_encoded(field.name())
                {
                    field.with_data_type(dictionary_utf8())
                } else {
                    field
                }
            })
            .collect();
        Schema::new(fields)
    }

    /// Whether every data page of `column` is dictionary-encoded (when the file says;
    /// otherwise whether its chunks have dictionary pages).
    fn is_dictionary_encoded(&self, column: &str) -> bool {
        let metadata = self.metadata.metadata();
        let Some((leaf, _)) = parquet_column(
            self.metadata.parquet_schema(),
            self.metadata.schema(),
            column,
        ) else {
            return false;
        };
        let all_dictionary = |chunk: &ColumnChunkMetaData| {
            chunk.dictionary_page_offset().is_some()
                && chunk.page_encoding_stats_mask().is_none_or(|mask| {
                    mask.is_only(Encoding::RLE_DICTIONARY)
                        || mask.is_only(Encoding::PLAIN_DICTIONARY)
                })
        };
        metadata.num_row_groups() > 0
            && metadata
                .row_groups()
                .iter()
                .all(|group| all_dictionary(group.column(leaf)))
    }

    /// Makes the reader decode every `Utf8` column that `merged` types as a dictionary into a
    /// dictionary, so batches need no conversion.
    pub fn align_to(&mut self, merged: &Schema, name: &str) -> Result<()> {
        let own = self.metadata.schema();
        let mut changed = false;
        let fields: Vec<Field> = own
            .fields()
            .iter()
            .map(|field| {
                let wanted = merged
                    .field_with_name(field.name())
                    .map(|f| f.data_type().clone());
                match wanted {
                    Ok(wanted)
                        if wanted == dictionary_utf8() && field.data_type() == &DataType::Utf8 =>
                    {
                        changed = true;
                        field.as_ref().clone().with_data_type(wanted)
                    }
                    _ => field.as_ref().clone(),
                }
            })
            .collect();
        if changed {
            let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
            self.metadata = ArrowReaderMetadata::try_new(self.metadata.metadata().clone(), options)
                .map_err(|source| IoError::parquet(name, source))?;
        }
        Ok(())
    }

    /// The number of rows, from the footer.
    pub fn num_rows(&self) -> u64 {
        u64::try_from(self.metadata.metadata().file_metadata().num_rows()).unwrap_or(0)
    }

    /// The number of row groups.
    pub fn row_group_count(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    /// The compressed size of row group `index` in bytes.
    pub fn row_group_bytes(&self, index: usize) -> u64 {
        let size = self.metadata.metadata().row_group(index).compressed_size();
        u64::try_from(size).unwrap_or(0)
    }

    /// Which row groups may hold rows matching `predicate`, judged by their min/max statistics.
    pub fn prune_row_groups(&self, predicate: &Predicate) -> Vec<bool> {
        let count = self.row_group_count();
        let ranges = |column: &str| self.ranges(column);
        predicate
            .may_match(count, &ranges)
            .unwrap_or_else(|_| vec![true; count])
    }

    fn ranges(&self, column: &str) -> Option<ValueRanges> {
        let schema = self.metadata.schema();
        let converter =
            StatisticsConverter::try_new(column, schema, self.metadata.parquet_schema()).ok()?;
        let converter = converter.with_missing_null_counts_as_zero(false);
        let groups = self.metadata.metadata().row_groups();
        Some(ValueRanges {
            mins: converter.row_group_mins(groups.iter()).ok()?,
            maxes: converter.row_group_maxes(groups.iter()).ok()?,
            null_counts: converter.row_group_null_counts(groups.iter()).ok(),
            row_counts: converter.row_group_row_counts(groups.iter()).ok().flatten(),
        })
    }

    /// A reader decoding only the top-level `columns` (by name; absent ones are ignored)
    /// of `row_group`.
    fn reader(
        &self,
        file: &ListedFile,
        columns: &[String],
        row_group: usize,
        batch_size: usize,
    ) -> Result<ParquetRecordBatchReader> {
        let roots: Vec<usize> = self
            .metadata
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| columns.contains(field.name()))
            .map(|(index, _)| index)
            .collect();
        let mask = ProjectionMask::roots(self.metadata.parquet_schema(), roots);
        let chunks = file.source.open_chunks(file.size)?;
        ParquetRecordBatchReaderBuilder::new_with_metadata(chunks, self.metadata.clone())
            .with_projection(mask)
            .with_row_groups(vec![row_group])
            .with_batch_size(batch_size)
            .build()
            .map_err(|source| IoError::parquet(file.source.name(), source))
    }

    /// The batches of the top-level `columns` (by name; absent ones are ignored) of
    /// `row_groups`, one row group after another; an error names the row group it is in.
    pub fn batches(
        &self,
        file: &ListedFile,
        columns: Vec<String>,
        row_groups: Vec<usize>,
        batch_size: usize,
    ) -> impl Iterator<Item = Result<RecordBatch>> + Send + use<> {
        let footer = self.clone();
        let file = file.clone();
        row_groups.into_iter().flat_map(move |row_group| {
            let name = file.source.name();
            let batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send> =
                match footer.reader(&file, &columns, row_group, batch_size) {
                    Ok(reader) => Box::new(reader.map(move |batch| {
                        batch.map_err(|source| IoError::ParquetRowGroup {
                            file: name.clone(),
                            row_group,
                            source,
                        })
                    })),
                    Err(error) => Box::new(std::iter::once(Err(error))),
                };
            batches
        })
    }
}

/// The type dictionary-encoded string columns are read as.
pub fn dictionary_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// How many footers are fetched at once: they are small, so remote reads are latency-bound.
const FOOTER_THREADS: usize = 16;

/// The footers of `files`, in order, read by up to [`FOOTER_THREADS`] threads.
fn load_footers(files: &[ListedFile]) -> Result<Vec<ParquetFile>> {
    let chunk = files.len().div_ceil(FOOTER_THREADS).max(1);
    std::thread::scope(|scope| {
        let readers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(|| {
                    part.iter()
                        .map(ParquetFile::load)
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut footers = Vec::with_capacity(files.len());
        for reader in readers {
            let part = reader
                .join()
                .map_err(|_| IoError::Invalid("a Parquet footer reader panicked".into()))??;
            footers.extend(part);
        }
        Ok(footers)
    })
}

fn is_view(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8View | DataType::BinaryView)
}

/// The schema shared by all of `files` (see [`crate::schema::merge_schemas`]), with their footers.
pub fn load_files(files: &[ListedFile]) -> Result<(Vec<ParquetFile>, SchemaRef)> {
    let mut parquet = load_footers(files)?;
    let schemas: Vec<Schema> = parquet.iter().map(ParquetFile::schema).collect();
    let merged = crate::schema::merge_schemas(
        files
            .iter()
            .zip(&schemas)
            .map(|(file, schema)| (file.source.name(), schema)),
    )?;
    for (file, listed) in parquet.iter_mut().zip(files) {
        file.align_to(&merged, &listed.source.name())?;
    }
    Ok((parquet, merged))
}
