//! A table over an `rsql-io` dataset, as the planner sees it.

use std::any::Any;

use arrow::datatypes::SchemaRef;
use rsql_io::Dataset;
use rsql_plan::TableSource;

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

    fn as_any(&self) -> &dyn Any {
        self
    }
}
