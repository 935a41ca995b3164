//! Opening a catalog table as a [`TableSource`]: its files as a dataset, or no rows at all
//! when it has none yet, with the columns and partitioning the catalog records.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion_common::Statistics;
use rsql_exec::{ListingTable, MemoryTable};
use rsql_io::{CsvOptions, Dataset, DatasetOptions, FileFormat, IoError, JsonOptions};
use rsql_plan::TableSource;

use super::store::{CatalogStore, StoredTable};
use crate::error::{Error, Result};

/// The dataset options a stored table's format and options ask for.
pub(crate) fn dataset_options(table: &StoredTable) -> Result<DatasetOptions> {
    let format = match table.format.as_str() {
        "parquet" => FileFormat::Parquet,
        "json" => FileFormat::Json(JsonOptions::default()),
        "csv" => {
            let mut csv = CsvOptions::default();
            for (key, value) in &table.options {
                csv.set_option(key, value)?;
            }
            FileFormat::Csv(csv)
        }
        other => {
            return Err(Error::Invalid(format!(
                "unknown table format '{other}' (use parquet, json or csv)"
            )));
        }
    };
    if table.format != "csv"
        && let Some((key, _)) = table.options.iter().next()
    {
        return Err(Error::Invalid(format!(
            "unknown {} option '{key}' (only csv tables take options)",
            table.format
        )));
    }
    let mut options = DatasetOptions::new(format);
    if let Some(schema) = &table.schema {
        options = options.with_schema(Arc::clone(&schema.0));
    }
    Ok(options)
}

/// Opens `table` (called `name`) from `store`.
pub(crate) fn open_table(
    store: &CatalogStore,
    name: &str,
    table: &StoredTable,
) -> Result<Arc<dyn TableSource>> {
    let location = if table.managed {
        store
            .resolve(&table.location)
            .to_string_lossy()
            .into_owned()
    } else {
        table.location.clone()
    };
    let inner: Arc<dyn TableSource> = match (
        Dataset::open(location.as_str(), dataset_options(table)?),
        &table.schema,
    ) {
        (Ok(dataset), _) => Arc::new(ListingTable::new(dataset)),
        // A table without files yet (created empty, or every row overwritten away).
        (Err(IoError::NotFound(_)), Some(schema)) => {
            Arc::new(MemoryTable::new(Arc::clone(&schema.0), Vec::new()))
        }
        (Err(error), _) => {
            return Err(Error::Invalid(format!(
                "table '{name}' cannot be read: {error}"
            )));
        }
    };
    Ok(Arc::new(CatalogTable {
        inner,
        partition_by: table.partition_by.clone(),
        managed: table.managed,
        catalog: store.dir().display().to_string(),
    }))
}

/// A catalog table: its data source, with what only the catalog knows.
#[derive(Debug)]
pub(crate) struct CatalogTable {
    inner: Arc<dyn TableSource>,
    partition_by: Vec<String>,
    managed: bool,
    catalog: String,
}

impl TableSource for CatalogTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    /// The declared partition columns, also while no partition folder exists yet; else the
    /// ones the folders show.
    fn partition_columns(&self) -> Vec<String> {
        if self.partition_by.is_empty() {
            self.inner.partition_columns()
        } else {
            self.partition_by.clone()
        }
    }

    fn statistics(&self) -> Statistics {
        self.inner.statistics()
    }

    fn details(&self) -> Vec<(String, String)> {
        let mut details = vec![
            (
                "Type".to_string(),
                if self.managed { "MANAGED" } else { "EXTERNAL" }.to_string(),
            ),
            ("Catalog".to_string(), self.catalog.clone()),
        ];
        details.extend(self.inner.details());
        details
    }

    /// The data source itself, which the physical planner reads.
    fn as_any(&self) -> &dyn Any {
        self.inner.as_any()
    }
}
