//! The writer of one part of an output job, routing rows to `col=value/` folders.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, StringArray, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::WriteOptions;
use super::file_writer::NamedWriter;
use crate::error::{IoError, Result};
use crate::partition::{HIVE_DEFAULT_PARTITION, escape_value};

/// Writes the batches of one part: one file per partition folder it touches.
pub struct PartWriter {
    staging: PathBuf,
    file_stem: String,
    options: WriteOptions,
    /// Indices of the partition columns in the input schema.
    partition_columns: Vec<usize>,
    /// Indices of the columns written into the files.
    data_columns: Vec<usize>,
    file_schema: SchemaRef,
    writers: BTreeMap<String, NamedWriter>,
}

impl PartWriter {
    pub(crate) fn new(
        staging: PathBuf,
        file_stem: String,
        schema: SchemaRef,
        options: WriteOptions,
    ) -> Result<Self> {
        let partition_columns: Vec<usize> = options
            .partition_by
            .iter()
            .filter_map(|name| schema.index_of(name).ok())
            .collect();
        let data_columns: Vec<usize> = (0..schema.fields().len())
            .filter(|i| !partition_columns.contains(i))
            .collect();
        let file_schema = Arc::new(
            schema
                .project(&data_columns)
                .map_err(|e| IoError::arrow(staging.display().to_string(), e))?,
        );
        Ok(PartWriter {
            staging,
            file_stem,
            options,
            partition_columns,
            data_columns,
            file_schema,
            writers: BTreeMap::new(),
        })
    }

    /// Writes `batch`, splitting its rows by partition values.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let name = self.staging.display().to_string();
        let data = batch
            .project(&self.data_columns)
            .map_err(|e| IoError::arrow(name.clone(), e))?;
        if self.partition_columns.is_empty() {
            return self.writer_for(String::new())?.write(&data);
        }
        let keys = self.partition_keys(batch)?;
        let mut rows: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (row, key) in keys.iter().enumerate() {
            rows.entry(key.as_str()).or_default().push(row as u32);
        }
        for (key, indices) in rows {
            let slice = take_record_batch(&data, &UInt32Array::from(indices))
                .map_err(|e| IoError::arrow(name.clone(), e))?;
            self.writer_for(key.to_string())?.write(&slice)?;
        }
        Ok(())
    }

    /// The folder (`a=1/b=x`) of every row.
    fn partition_keys(&self, batch: &RecordBatch) -> Result<Vec<String>> {
        let mut keys = vec![String::new(); batch.num_rows()];
        for &index in &self.partition_columns {
            let column_name = batch.schema().field(index).name().clone();
            let values = cast(batch.column(index), &DataType::Utf8)
                .map_err(|e| IoError::arrow(column_name.clone(), e))?;
            let values = values
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    IoError::Invalid(format!("cannot format `{column_name}` as text"))
                })?;
            for (row, key) in keys.iter_mut().enumerate() {
                if !key.is_empty() {
                    key.push('/');
                }
                let value = if values.is_null(row) {
                    HIVE_DEFAULT_PARTITION.to_string()
                } else {
                    escape_value(values.value(row))
                };
                key.push_str(&format!("{column_name}={value}"));
            }
        }
        Ok(keys)
    }

    fn writer_for(&mut self, folder: String) -> Result<&mut NamedWriter> {
        if !self.writers.contains_key(&folder) {
            let dir = self.staging.join(&folder);
            std::fs::create_dir_all(&dir).map_err(|e| IoError::fs(&dir, e))?;
            let path = dir.join(format!(
                "{}.{}",
                self.file_stem,
                self.options.format.extension()
            ));
            let writer =
                NamedWriter::create(&path, self.file_schema.clone(), &self.options.format)?;
            self.writers.insert(folder.clone(), writer);
        }
        self.writers
            .get_mut(&folder)
            .ok_or_else(|| IoError::Invalid(format!("no writer for {folder}")))
    }

    /// Closes every file of this part.
    pub fn finish(self) -> Result<()> {
        self.writers.into_values().try_for_each(NamedWriter::finish)
    }
}
