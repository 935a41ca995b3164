//! The session's catalog of tables and views that outlive a statement: kept in a directory
//! (`--catalog DIR`, [`SessionConfig::catalog`](crate::SessionConfig)) or, without one, in a
//! temporary directory removed with the session. `CREATE TABLE`, `INSERT`, `DROP`,
//! `ALTER ... RENAME` and non-temporary `CREATE VIEW` change it.
//!
//! Tables are Spark-style: *external* ones (`LOCATION 'dir'`) are files the user owns, which
//! the catalog only points at; *managed* ones (no `LOCATION`) are Parquet, JSON or CSV folders
//! the catalog owns, written atomically through [`versions`].

mod store;
mod table;
mod versions;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use rsql_io::{SaveMode, WriteFormat, WriteOptions};
use rsql_plan::{CopyFormat, CreateTable, Insert, LogicalPlan, OverwriteScope};

pub(crate) use store::{CatalogFile, CatalogStore, StoredView};
pub(crate) use table::open_table;

use store::{StoredSchema, StoredTable};

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::Session;

/// The writer format of a table format.
pub(crate) fn write_format(format: CopyFormat) -> WriteFormat {
    match format {
        CopyFormat::Parquet => WriteFormat::parquet(),
        CopyFormat::Json => WriteFormat::json(),
        CopyFormat::Csv => WriteFormat::csv(),
    }
}

/// `schema` with the partition columns moved last, in `partition_by` order: the order a
/// dataset of hive folders reads back.
fn table_schema(schema: &Schema, partition_by: &[String]) -> SchemaRef {
    let data = schema
        .fields()
        .iter()
        .filter(|f| !partition_by.contains(f.name()));
    let partitions = partition_by
        .iter()
        .filter_map(|name| schema.fields().iter().find(|f| f.name() == name));
    Arc::new(Schema::new(
        data.chain(partitions).cloned().collect::<Vec<_>>(),
    ))
}

fn already_exists(name: &str) -> Error {
    Error::Invalid(format!(
        "a table or view named '{name}' already exists (use CREATE OR REPLACE, or IF NOT EXISTS)"
    ))
}

/// The folder of a managed table: its current version folder's parent.
fn table_folder(store: &CatalogStore, table: &StoredTable) -> std::path::PathBuf {
    let version = store.resolve(&table.location);
    version.parent().map_or(version.clone(), Path::to_path_buf)
}

/// The location relative to the catalog directory of a path inside it.
fn relative(store: &CatalogStore, path: &Path) -> Result<String> {
    path.strip_prefix(store.dir())
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|_| Error::Invalid(format!("{} is outside the catalog", path.display())))
}

/// Removes a managed table's files once the catalog no longer names them.
fn remove_managed(store: &CatalogStore, table: &StoredTable) {
    if table.managed {
        // Best effort: the catalog is already committed; a folder left behind holds no table.
        let _ = fs::remove_dir_all(table_folder(store, table));
    }
}

/// Carries out `CREATE TABLE`: writes the rows of `AS query` (a managed table's first
/// version, or an external table's location), then records the table.
pub(crate) fn create_table(
    session: &Session,
    store: &CatalogStore,
    create: CreateTable,
) -> Result<()> {
    let name = create.name.as_str();
    if session.has_temporary(name) {
        return Err(Error::Invalid(format!(
            "'{name}' is a temporary table or view of this session; DROP it first"
        )));
    }
    if store.load()?.contains(name) {
        if create.if_not_exists {
            return Ok(());
        }
        if !create.or_replace {
            return Err(already_exists(name));
        }
    }
    let format = write_format(create.format);
    let options = WriteOptions::new(format.clone()).with_partition_by(
        &create
            .partition_by
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let (location, managed, written) = match &create.location {
        Some(location) => (location.clone(), false, None),
        None => {
            let folder = store.resolve(&store.new_table_folder(name));
            let version = versions::new_version_folder(&folder);
            (relative(store, &version)?, true, Some(folder))
        }
    };
    let target = if managed {
        store.resolve(&location)
    } else {
        location.clone().into()
    };
    let schema = match (&create.query, &create.columns) {
        (Some(plan), _) => {
            let df = DataFrame::new(session.clone(), plan.clone());
            df.write_with(&target, options)?;
            Some(table_schema(&df.schema(), &create.partition_by))
        }
        (None, Some(columns)) => {
            if managed {
                fs::create_dir_all(&target).map_err(|e| store::io_error(&target, &e))?;
            }
            Some(table_schema(columns, &create.partition_by))
        }
        (None, None) => None,
    };
    let stored = StoredTable {
        format: create.format.to_string(),
        location,
        managed,
        partition_by: create.partition_by.clone(),
        options: create.options.iter().cloned().collect(),
        schema: schema.map(StoredSchema),
    };
    let commit = open_table(store, name, &stored).and_then(|_| {
        store.update(|catalog| {
            if catalog.contains(name) && !create.or_replace {
                return Err(already_exists(name));
            }
            catalog.views.remove(name);
            Ok(catalog.tables.insert(name.to_string(), stored.clone()))
        })
    });
    match commit {
        Ok(replaced) => {
            if let Some(old) = replaced {
                remove_managed(store, &old);
            }
            Ok(())
        }
        Err(error) => {
            if let Some(folder) = written {
                let _ = fs::remove_dir_all(folder);
            }
            Err(error)
        }
    }
}

/// Carries out `INSERT`: a managed table gets a new version holding the rows written and the
/// old files the write keeps; an external table gets new files added (or, for a whole-table
/// overwrite, its folder replaced).
pub(crate) fn insert(session: &Session, store: &CatalogStore, insert: Insert) -> Result<()> {
    let name = insert.table.as_str();
    if session.has_temporary(name) {
        return Err(Error::Invalid(format!(
            "'{name}' is a temporary table of this session; INSERT writes into catalog tables \
             (CREATE TABLE {name} ... first)"
        )));
    }
    let table = store
        .load()?
        .tables
        .get(name)
        .cloned()
        .ok_or_else(|| Error::Invalid(format!("unknown table '{name}'")))?;
    let format = CopyFormat::from_name(&table.format)
        .map(write_format)
        .ok_or_else(|| Error::Invalid(format!("unknown table format '{}'", table.format)))?;
    // Declared partitions, or the ones an external table's folders show.
    let partition_columns = open_table(store, name, &table)?.partition_columns();
    let partition_by: Vec<&str> = partition_columns.iter().map(String::as_str).collect();
    let df = DataFrame::new(session.clone(), insert.plan);
    if !table.managed {
        let mode = match insert.overwrite {
            None => SaveMode::Append,
            Some(OverwriteScope::Table) => SaveMode::Overwrite,
            Some(_) => {
                return Err(Error::Invalid(format!(
                    "INSERT OVERWRITE of some partitions of the external table '{name}' is not \
                     supported (its files belong to you); overwrite the whole table, or use a \
                     managed table (CREATE TABLE without LOCATION)"
                )));
            }
        };
        let options = WriteOptions::new(format)
            .with_partition_by(&partition_by)
            .with_mode(mode);
        return df.write_with(&table.location, options);
    }
    let folder = table_folder(store, &table);
    let base = store.resolve(&table.location);
    let version = versions::new_version_folder(&folder);
    let written = df
        .write_with(
            &version,
            WriteOptions::new(format).with_partition_by(&partition_by),
        )
        .and_then(|()| versions::carry_over(&base, &version, insert.overwrite.as_ref()))
        .and_then(|()| relative(store, &version))
        .and_then(|location| {
            store.update(|catalog| {
                let current = catalog.tables.get_mut(name).ok_or_else(|| {
                    Error::Invalid(format!("table '{name}' was dropped while INSERT ran"))
                })?;
                if current.location != table.location {
                    return Err(Error::Invalid(format!(
                        "table '{name}' changed while INSERT ran (another session wrote it); \
                         nothing was written, run the INSERT again"
                    )));
                }
                current.location = location;
                Ok(())
            })
        });
    if let Err(error) = written {
        let _ = fs::remove_dir_all(&version);
        return Err(error);
    }
    versions::remove_old_versions(&folder, &[&version, &base]);
    Ok(())
}

/// Carries out a non-temporary `CREATE VIEW`: records the query's text.
pub(crate) fn create_view(
    session: &Session,
    store: &CatalogStore,
    name: &str,
    query: String,
    or_replace: bool,
) -> Result<()> {
    if session.has_temporary(name) {
        return Err(Error::Invalid(format!(
            "'{name}' is a temporary table or view of this session; DROP it first"
        )));
    }
    store.update(|catalog| {
        if catalog.tables.contains_key(name) || (catalog.views.contains_key(name) && !or_replace) {
            return Err(already_exists(name));
        }
        catalog.views.insert(name.to_string(), StoredView { query });
        Ok(())
    })
}

/// Carries out `DROP TABLE|VIEW` on the catalog; `Ok(false)` when nothing has the name.
pub(crate) fn drop(store: &CatalogStore, name: &str, view: bool) -> Result<bool> {
    let dropped = store.update(|catalog| {
        let (kind, other) = if view {
            ("view", "TABLE")
        } else {
            ("table", "VIEW")
        };
        let is_other = if view {
            catalog.tables.contains_key(name)
        } else {
            catalog.views.contains_key(name)
        };
        if is_other {
            let what = if view { "a table" } else { "a view" };
            return Err(Error::Invalid(format!(
                "'{name}' is {what}, not a {kind}: use DROP {other}"
            )));
        }
        if view {
            Ok(catalog.views.remove(name).map(|_| None))
        } else {
            Ok(catalog.tables.remove(name).map(Some))
        }
    })?;
    match dropped {
        Some(table) => {
            if let Some(table) = table {
                remove_managed(store, &table);
            }
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Carries out `ALTER TABLE|VIEW from RENAME TO to` on the catalog; `Ok(false)` when nothing
/// is called `from`. A managed table's files stay where they are.
pub(crate) fn rename(store: &CatalogStore, from: &str, to: &str) -> Result<bool> {
    store.update(|catalog| {
        if !catalog.contains(from) {
            return Ok(false);
        }
        if catalog.contains(to) {
            return Err(already_exists(to));
        }
        if let Some(table) = catalog.tables.remove(from) {
            catalog.tables.insert(to.to_string(), table);
        }
        if let Some(view) = catalog.views.remove(from) {
            catalog.views.insert(to.to_string(), view);
        }
        Ok(true)
    })
}

/// The plan of a stored view, bound again now.
pub(crate) fn view_plan(
    catalog: &dyn rsql_plan::Catalog,
    registry: &rsql_plan::FunctionRegistry,
    name: &str,
    view: &StoredView,
) -> rsql_plan::Result<LogicalPlan> {
    match rsql_plan::bind_sql(&view.query, catalog, registry) {
        Ok(rsql_plan::Statement::Query(plan)) => Ok(plan),
        Ok(_) => Err(rsql_plan::PlanError::invalid(format!(
            "view '{name}' is not a query"
        ))),
        Err(error) => Err(rsql_plan::PlanError::invalid(format!(
            "view '{name}' no longer binds: {error}"
        ))),
    }
}
