//! A table over an `rsql-io` dataset, as the planner sees it.

use std::any::Any;

use arrow::datatypes::SchemaRef;
use datafusion_common::Statistics;
use datafusion_common::stats::Precision;
use rsql_io::Dataset;
use rsql_plan::TableSource;

/// The bytes of one row of a JSON or CSV file, for guessing row counts from file sizes.
const GUESSED_TEXT_ROW_BYTES: usize = 100;

/// A directory (or file, or glob) of Parquet / NDJSON / CSV files, with its hive partitions.
#[derive(Debug, Clone)]
pub struct ListingTable {
    dataset: Dataset,
}

impl ListingTable {
    /// A table over an opened dataset.
    pub fn new(dataset: Dataset) -> Self {
        ListingTable { dataset }
    }

    /// The dataset read by scans of this table.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }
}

impl TableSource for ListingTable {
    fn schema(&self) -> SchemaRef {
        self.dataset.schema().clone()
    }

    fn partition_columns(&self) -> Vec<String> {
        self.dataset.partition_columns()
    }

    /// Exact rows from Parquet footers; for text formats, rows guessed from the file size.
    fn statistics(&self) -> Statistics {
        let bytes: u64 = self.dataset.files().iter().map(|f| f.size).sum();
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        let num_rows = match self.dataset.row_count() {
            Some(rows) => Precision::Exact(usize::try_from(rows).unwrap_or(usize::MAX)),
            None => Precision::Inexact(bytes / GUESSED_TEXT_ROW_BYTES),
        };
        Statistics {
            num_rows,
            total_byte_size: Precision::Inexact(bytes),
            column_statistics: Statistics::unknown_column(&self.schema()),
        }
    }

    fn details(&self) -> Vec<(String, String)> {
        let partition_columns = self.dataset.partition_columns();
        let files = self.dataset.files();
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        let rows = self.dataset.row_count().map_or_else(
            || "unknown (not in the files' metadata)".to_string(),
            |n| n.to_string(),
        );
        vec![
            ("Location".into(), self.dataset.location()),
            ("Format".into(), self.dataset.format_name().into()),
            (
                "Partition columns".into(),
                if partition_columns.is_empty() {
                    "none".into()
                } else {
                    partition_columns.join(", ")
                },
            ),
            ("Files".into(), files.len().to_string()),
            ("Bytes".into(), bytes.to_string()),
            ("Rows".into(), rows),
        ]
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
