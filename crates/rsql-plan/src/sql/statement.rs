//! Binding statements: queries, `EXPLAIN [ANALYZE]`, `CREATE [OR REPLACE] TEMP VIEW`,
//! `COPY (query) TO 'dir' (FORMAT ..)`, settings (`SET`, `RESET`, `SHOW name`) and catalog
//! inspection (`SHOW TABLES`, `SHOW FUNCTIONS`, `SHOW COLUMNS`, `DESCRIBE`).

use std::sync::Arc;

use sqlparser::ast;

use super::SqlBinder;
use super::expr::sql_text;
use super::settings::{bind_reset, bind_set, bind_show_variable};
use crate::error::{PlanError, Result};
use crate::plan::{Explain, LogicalPlan, Statement};

impl SqlBinder<'_> {
    /// Binds one parsed statement.
    pub fn bind_statement(&self, statement: &ast::Statement) -> Result<Statement> {
        match statement {
            ast::Statement::Query(query) => Ok(Statement::Query(self.bind_query(query)?)),
            ast::Statement::Explain {
                describe_alias: ast::DescribeAlias::Describe | ast::DescribeAlias::Desc,
                statement,
                ..
            } => match statement.as_ref() {
                ast::Statement::Query(query) => self.bind_describe_query(query),
                other => Err(PlanError::not_supported(format!(
                    "DESCRIBE of {}",
                    sql_text(other)
                ))),
            },
            ast::Statement::Explain {
                analyze,
                statement,
                format: None,
                options: None,
                ..
            } => match statement.as_ref() {
                ast::Statement::Query(query) => {
                    let plan = self.bind_query(query)?;
                    Ok(Statement::Query(LogicalPlan::Explain(Explain::new(
                        Arc::new(plan),
                        *analyze,
                    ))))
                }
                other => Err(PlanError::not_supported(format!(
                    "EXPLAIN of {}",
                    sql_text(other)
                ))),
            },
            ast::Statement::CreateView(view) => {
                if view.materialized || !view.columns.is_empty() || view.or_alter {
                    return Err(PlanError::not_supported(format!(
                        "the view definition {}",
                        sql_text(statement)
                    )));
                }
                Ok(Statement::CreateView {
                    name: super::ddl::object_name(&view.name),
                    plan: self.bind_query(&view.query)?,
                    query: view.query.to_string(),
                    or_replace: view.or_replace,
                    temporary: view.temporary,
                })
            }
            ast::Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => self.bind_drop(object_type, names, *if_exists),
            ast::Statement::AlterTable(alter) => self.bind_alter_table(alter),
            ast::Statement::Insert(insert) => self.bind_insert(insert),
            ast::Statement::Set(set) => bind_set(set),
            ast::Statement::Reset(reset) => Ok(bind_reset(reset)),
            ast::Statement::ShowVariable { variable } => Ok(bind_show_variable(variable)),
            ast::Statement::ShowTables { show_options, .. } => self.bind_show_tables(show_options),
            ast::Statement::ShowFunctions { filter } => self.bind_show_functions(filter.as_ref()),
            ast::Statement::ShowColumns { show_options, .. } => {
                self.bind_show_columns(show_options)
            }
            ast::Statement::ExplainTable {
                describe_alias: ast::DescribeAlias::Describe | ast::DescribeAlias::Desc,
                hive_format,
                table_name,
                ..
            } => self.bind_describe_table(table_name, hive_format.as_ref()),
            other => Err(PlanError::not_supported(format!(
                "the statement {}",
                sql_text(other)
            ))),
        }
    }
}
