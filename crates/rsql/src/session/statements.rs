//! Carrying out bound statements: queries become DataFrames; the others change the session
//! or its catalog at once, or describe them.

use std::sync::Arc;

use rsql_io::WriteOptions;
use rsql_plan::Statement;

use super::{CatalogEntry, Session};
use crate::catalog;
use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::inspect;
use crate::settings::{self, unknown_setting};

impl Session {
    /// Runs one bound statement (see [`Session::sql`]).
    pub(super) fn execute(&self, statement: Statement) -> Result<DataFrame> {
        match statement {
            Statement::Query(plan) => return Ok(DataFrame::new(self.clone(), plan)),
            Statement::CreateView {
                name,
                plan,
                query,
                or_replace,
                temporary,
            } => {
                if temporary {
                    self.create_temporary_view(name, plan, or_replace)?;
                } else {
                    catalog::create_view(self, self.store(), &name, query, or_replace)?;
                }
            }
            Statement::CreateTable(create) => catalog::create_table(self, self.store(), *create)?,
            Statement::Insert(insert) => catalog::insert(self, self.store(), *insert)?,
            Statement::Drop {
                name,
                view,
                if_exists,
            } => {
                let dropped =
                    self.drop_temporary(&name, view)? || catalog::drop(self.store(), &name, view)?;
                if !dropped && !if_exists {
                    let kind = if view { "view" } else { "table" };
                    return Err(Error::Invalid(format!("unknown {kind} '{name}'")));
                }
            }
            Statement::Rename { from, to } => {
                if self.has_temporary(&to) {
                    return Err(Error::Invalid(format!(
                        "a table or view named '{to}' already exists"
                    )));
                }
                if !self.rename_temporary(&from, &to)?
                    && !catalog::rename(self.store(), &from, &to)?
                {
                    return Err(Error::Invalid(format!("unknown table or view '{from}'")));
                }
            }
            Statement::Copy {
                plan,
                path,
                format,
                partition_by,
            } => {
                let columns: Vec<&str> = partition_by.iter().map(String::as_str).collect();
                let options =
                    WriteOptions::new(catalog::write_format(format)).with_partition_by(&columns);
                DataFrame::new(self.clone(), plan).write_with(&path, options)?;
            }
            Statement::Set { name, value } => self.set(&name, &value)?,
            Statement::Reset(name) => self.reset(name.as_deref())?,
            Statement::ShowSettings(None) => {
                return self.rows("settings", inspect::settings_table(&self.config())?);
            }
            Statement::ShowSettings(Some(name)) => {
                let setting = settings::setting(&name)
                    .ok_or_else(|| Error::Invalid(unknown_setting(&name)))?;
                return self.rows("settings", inspect::setting_table(&self.config(), setting)?);
            }
            Statement::ShowTables(pattern) => {
                let mut entries: Vec<(String, &str, bool)> = self
                    .tables_snapshot()
                    .into_iter()
                    .map(|(name, entry)| match entry {
                        CatalogEntry::Table(_) => (name, "table", true),
                        CatalogEntry::View(_) => (name, "view", true),
                    })
                    .collect();
                let stored = self.store().load()?;
                entries.extend(stored.tables.into_keys().map(|name| (name, "table", false)));
                entries.extend(stored.views.into_keys().map(|name| (name, "view", false)));
                entries.sort();
                let batch = inspect::tables_table(&entries)?;
                return self.rows("tables", inspect::matching(batch, 0, pattern.as_deref())?);
            }
            Statement::ShowFunctions(pattern) => {
                let entries = self.functions().registry.entries();
                let batch = inspect::functions_table(&entries)?;
                return self.rows(
                    "functions",
                    inspect::matching(batch, 0, pattern.as_deref())?,
                );
            }
            Statement::ShowColumns(plan) => {
                let names = plan.schema().fields().iter().map(|f| f.name().clone());
                let batch = inspect::text_table(&["column_name"], vec![names.collect()])?;
                return self.rows("columns", batch);
            }
            Statement::Describe {
                plan,
                table,
                extended,
            } => {
                let details = match (&table, extended) {
                    (Some(name), true) => {
                        let functions = self.functions();
                        let catalog = self.catalog(&functions.registry)?;
                        rsql_plan::Catalog::open_table(&catalog, name)?
                            .map(|source| source.details())
                            .unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                let schema = Arc::new(plan.schema().as_arrow().clone());
                return self.rows("describe", inspect::describe_table(&schema, &details)?);
            }
        }
        self.empty()
    }

    fn create_temporary_view(
        &self,
        name: String,
        plan: rsql_plan::LogicalPlan,
        or_replace: bool,
    ) -> Result<()> {
        let mut tables = self.tables_mut();
        if !or_replace && tables.contains_key(&name) {
            return Err(Error::Invalid(format!(
                "a table or view named '{name}' already exists (use CREATE OR REPLACE)"
            )));
        }
        tables.insert(name, CatalogEntry::View(plan));
        Ok(())
    }

    /// Drops a temporary table or view; `Ok(false)` when none has the name.
    fn drop_temporary(&self, name: &str, view: bool) -> Result<bool> {
        let mut tables = self.tables_mut();
        match tables.get(name) {
            None => Ok(false),
            Some(CatalogEntry::View(_)) if !view => Err(Error::Invalid(format!(
                "'{name}' is a view, not a table: use DROP VIEW"
            ))),
            Some(CatalogEntry::Table(_)) if view => Err(Error::Invalid(format!(
                "'{name}' is a table, not a view: use DROP TABLE"
            ))),
            Some(_) => {
                tables.remove(name);
                Ok(true)
            }
        }
    }

    /// Renames a temporary table or view; `Ok(false)` when none is called `from`.
    fn rename_temporary(&self, from: &str, to: &str) -> Result<bool> {
        let mut tables = self.tables_mut();
        if !tables.contains_key(from) {
            return Ok(false);
        }
        if self.store().load()?.contains(to) {
            return Err(Error::Invalid(format!(
                "a table or view named '{to}' already exists"
            )));
        }
        if let Some(entry) = tables.remove(from) {
            tables.insert(to.to_string(), entry);
        }
        Ok(true)
    }
}
