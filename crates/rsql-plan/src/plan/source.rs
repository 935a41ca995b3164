//! Where tables come from: the `TableSource` a scan reads and the `Catalog` the binder asks.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion_common::Statistics;

use super::PathRequest;
use crate::error::Result;

/// A table as the planner sees it: a schema, and which of its columns come from hive partition
/// directories. The execution layer downcasts through [`TableSource::as_any`] to its own type.
pub trait TableSource: Send + Sync + Debug {
    /// The full schema; partition columns are its last fields.
    fn schema(&self) -> SchemaRef;

    /// Names of the hive partition columns (`year`, `customer`, ...), in path order. A scan
    /// prunes directories with pushed-down predicates on them.
    fn partition_columns(&self) -> Vec<String> {
        Vec::new()
    }

    /// What the source knows of its size without reading data (row count, bytes); unknown by
    /// default.
    fn statistics(&self) -> Statistics {
        Statistics::new_unknown(&self.schema())
    }

    /// What `DESCRIBE EXTENDED` shows of the source beyond its columns (location, format,
    /// files, ...), as label and value; nothing by default.
    fn details(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The source as `Any`, for downcasting.
    fn as_any(&self) -> &dyn Any;
}

/// Tables and paths the binder can resolve.
pub trait Catalog {
    /// The registered table or view called `name` (a view is a source whose plan the catalog
    /// expands; the binder only needs its schema), or `None`.
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>>;

    /// [`Catalog::table`], with the error when the table is registered but cannot be opened
    /// (its files were removed, say); the binder asks this one.
    fn open_table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>> {
        Ok(self.table(name))
    }

    /// The plan of the view called `name`, which the binder inlines, or `None`; an error when
    /// a stored view's query no longer binds (a table it reads was dropped).
    fn view(&self, name: &str) -> Result<Option<crate::LogicalPlan>> {
        let _ = name;
        Ok(None)
    }

    /// Names of the registered tables and views, for "did you mean" suggestions.
    fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// A source over files: `FROM 'events/'`, `FROM parquet.\`dir\`` or a table function such
    /// as `read_csv('dir/*.csv', delim => '|')`, as `request` describes.
    fn resolve_path(&self, request: &PathRequest) -> Result<Arc<dyn TableSource>>;
}

/// A source that is only a schema (and partition column names): for tests, and for plans made
/// before data exists.
#[derive(Debug, Clone)]
pub struct SchemaSource {
    schema: SchemaRef,
    partition_columns: Vec<String>,
    num_rows: Option<usize>,
    total_bytes: Option<usize>,
}

impl SchemaSource {
    /// A source with `schema` whose last fields named in `partition_columns` are partitions.
    pub fn new(schema: SchemaRef, partition_columns: Vec<String>) -> Self {
        SchemaSource {
            schema,
            partition_columns,
            num_rows: None,
            total_bytes: None,
        }
    }

    /// The source, reporting `rows` rows in its statistics.
    pub fn with_num_rows(mut self, rows: usize) -> Self {
        self.num_rows = Some(rows);
        self
    }

    /// The source, reporting `bytes` bytes (of files) in its statistics.
    pub fn with_total_bytes(mut self, bytes: usize) -> Self {
        self.total_bytes = Some(bytes);
        self
    }
}

impl TableSource for SchemaSource {
    fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    fn partition_columns(&self) -> Vec<String> {
        self.partition_columns.clone()
    }

    fn statistics(&self) -> Statistics {
        let mut statistics = Statistics::new_unknown(&self.schema);
        if let Some(rows) = self.num_rows {
            statistics.num_rows = datafusion_common::stats::Precision::Exact(rows);
        }
        if let Some(bytes) = self.total_bytes {
            statistics.total_byte_size = datafusion_common::stats::Precision::Inexact(bytes);
        }
        statistics
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Shared handle to a source.
pub type TableSourceRef = Arc<dyn TableSource>;
