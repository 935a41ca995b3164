//! A table of batches held in memory: what `DataFrame::persist` and registered batches scan.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion_common::Statistics;
use datafusion_common::stats::Precision;
use rsql_plan::TableSource;

/// Batches in memory, kept in their partitions so a scan keeps the parallelism they had.
#[derive(Debug, Clone)]
pub struct MemoryTable {
    schema: SchemaRef,
    partitions: Arc<Vec<Vec<RecordBatch>>>,
}

impl MemoryTable {
    /// A table of `partitions` (each a list of batches of `schema`).
    pub fn new(schema: SchemaRef, partitions: Vec<Vec<RecordBatch>>) -> Self {
        MemoryTable {
            schema,
            partitions: Arc::new(partitions),
        }
    }

    /// The batches, per partition.
    pub fn partitions(&self) -> &Arc<Vec<Vec<RecordBatch>>> {
        &self.partitions
    }
}

impl TableSource for MemoryTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn statistics(&self) -> Statistics {
        let batches = self.partitions.iter().flatten();
        let rows = batches.clone().map(RecordBatch::num_rows).sum();
        let bytes = batches.map(RecordBatch::get_array_memory_size).sum();
        Statistics {
            num_rows: Precision::Exact(rows),
            total_byte_size: Precision::Exact(bytes),
            column_statistics: Statistics::unknown_column(&self.schema),
        }
    }

    fn details(&self) -> Vec<(String, String)> {
        let batches = self.partitions.iter().flatten();
        let rows: usize = batches.clone().map(RecordBatch::num_rows).sum();
        let bytes: usize = batches.map(RecordBatch::get_array_memory_size).sum();
        vec![
            ("Location".into(), "memory".into()),
            ("Partitions".into(), self.partitions.len().to_string()),
            ("Bytes".into(), bytes.to_string()),
            ("Rows".into(), rows.to_string()),
        ]
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
