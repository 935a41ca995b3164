//! Binding statements: queries, `EXPLAIN [ANALYZE]`, `CREATE [OR REPLACE] TEMP VIEW`,
//! `COPY (query) TO 'dir' (FORMAT ..)`, settings (`SET`, `RESET`, `SHOW name`) and catalog
//! inspection (`SHOW TABLES`, `SHOW FUNCTIONS`, `SHOW COLUMNS`, `DESCRIBE`).

use std::sync::Arc;

use sqlparser::ast;

use super::SqlBinder;
use super::expr::sql_text;
use super::settings::{bind_reset, bind_set, bind_show_variable};
use crate::error::{PlanError, Result};
use crate::plan::{CopyFormat, Explain, LogicalPlan, Statement};

fn copy_format(options: &[ast::CopyOption], path: &str) -> Result<CopyFormat> {
    let from_name = |name: &str| match name.to_lowercase().as_str() {
        "json" | "ndjson" => Some(CopyFormat::Json),
        "parquet" => Some(CopyFormat::Parquet),
        "csv" => Some(CopyFormat::Csv),
        _ => None,
    };
    let mut format = None;
    for option in options {
        match option {
            ast::CopyOption::Format(ident) => {
                format = Some(from_name(&ident.value).ok_or_else(|| {
                    PlanError::not_supported(format!(
                        "COPY format '{}' (use json, parquet or csv)",
                        ident.value
                    ))
                    .or_at(ident.span)
                })?);
            }
            other => {
                return Err(PlanError::not_supported(format!("the COPY option {other}")));
            }
        }
    }
    let extension = path.rsplit_once('.').and_then(|(_, ext)| from_name(ext));
    format.or(extension).ok_or_else(|| {
        PlanError::invalid(format!(
            "COPY to '{path}' needs a format: add (FORMAT json|parquet|csv)"
        ))
    })
}

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
            // A session has no persistent catalog: every view lives as long as the session,
            // as in an in-memory DuckDB database.
            ast::Statement::CreateView(view) => {
                if view.materialized || !view.columns.is_empty() || view.or_alter {
                    return Err(PlanError::not_supported(format!(
                        "the view definition {}",
                        sql_text(statement)
                    )));
                }
                Ok(Statement::CreateView {
                    name: view.name.to_string().replace('`', ""),
                    plan: self.bind_query(&view.query)?,
                    or_replace: view.or_replace,
                })
            }
            ast::Statement::Copy {
                source: ast::CopySource::Query(query),
                to: true,
                target: ast::CopyTarget::File { filename },
                options,
                legacy_options,
                ..
            } if legacy_options.is_empty() => Ok(Statement::Copy {
                format: copy_format(options, filename)?,
                plan: self.bind_query(query)?,
                path: filename.clone(),
            }),
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
