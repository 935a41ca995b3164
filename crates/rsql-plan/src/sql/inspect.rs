//! Binding the statements that look at the catalog: `SHOW TABLES`, `SHOW FUNCTIONS`,
//! `SHOW COLUMNS` and `DESCRIBE`. Nothing they describe runs.

use sqlparser::ast;

use super::SqlBinder;
use crate::error::{PlanError, Result};
use crate::plan::Statement;

/// The pattern of `LIKE 'pattern'` (or a bare `'pattern'`, as Spark allows).
fn like_pattern(filter: Option<&ast::ShowStatementFilter>) -> Result<Option<String>> {
    match filter {
        None => Ok(None),
        Some(ast::ShowStatementFilter::Like(pattern))
        | Some(ast::ShowStatementFilter::NoKeyword(pattern)) => Ok(Some(pattern.clone())),
        Some(other) => Err(PlanError::not_supported(format!(
            "the filter {other} (use LIKE 'pattern')"
        ))),
    }
}

fn options_filter(options: &ast::ShowStatementOptions) -> Option<&ast::ShowStatementFilter> {
    match &options.filter_position {
        Some(ast::ShowStatementFilterPosition::Infix(filter))
        | Some(ast::ShowStatementFilterPosition::Suffix(filter)) => Some(filter),
        None => None,
    }
}

impl SqlBinder<'_> {
    /// `SHOW TABLES [LIKE 'pattern']`.
    pub(super) fn bind_show_tables(
        &self,
        options: &ast::ShowStatementOptions,
    ) -> Result<Statement> {
        if options.show_in.is_some() {
            return Err(PlanError::not_supported(
                "SHOW TABLES IN a database (a session has one namespace)",
            ));
        }
        Ok(Statement::ShowTables(like_pattern(options_filter(
            options,
        ))?))
    }

    /// `SHOW FUNCTIONS [LIKE 'pattern']`.
    pub(super) fn bind_show_functions(
        &self,
        filter: Option<&ast::ShowStatementFilter>,
    ) -> Result<Statement> {
        Ok(Statement::ShowFunctions(like_pattern(filter)?))
    }

    /// `SHOW COLUMNS FROM t`.
    pub(super) fn bind_show_columns(
        &self,
        options: &ast::ShowStatementOptions,
    ) -> Result<Statement> {
        let table = options
            .show_in
            .as_ref()
            .and_then(|show_in| show_in.parent_name.as_ref())
            .ok_or_else(|| PlanError::invalid("SHOW COLUMNS needs a table: SHOW COLUMNS FROM t"))?;
        if options_filter(options).is_some() {
            return Err(PlanError::not_supported("SHOW COLUMNS ... LIKE"));
        }
        Ok(Statement::ShowColumns(self.bind_table_name(table)?))
    }

    /// `DESCRIBE [EXTENDED | FORMATTED] t`.
    pub(super) fn bind_describe_table(
        &self,
        table: &ast::ObjectName,
        format: Option<&ast::HiveDescribeFormat>,
    ) -> Result<Statement> {
        let plan = self.bind_table_name(table)?;
        let name = super::ddl::object_name(table);
        let registered = self.catalog.table(&name).is_some();
        Ok(Statement::Describe {
            plan,
            table: registered.then_some(name),
            extended: format.is_some(),
        })
    }

    /// `DESCRIBE SELECT ...`: the result schema of a query.
    pub(super) fn bind_describe_query(&self, query: &ast::Query) -> Result<Statement> {
        Ok(Statement::Describe {
            plan: self.bind_query(query)?,
            table: None,
            extended: false,
        })
    }
}
