//! Binding the statements that create, change and fill tables: `CREATE TABLE`, `DROP`,
//! `ALTER ... RENAME`, `INSERT` and `COPY`. The session carries them out; the binder checks
//! names, types and column counts, so nothing is written when the statement is wrong.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use datafusion_common::{DFSchema, ScalarValue};
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::ddl_parse::{CopySyntax, CreateTableSyntax, DdlSyntax};
use super::expr::{Scope, sql_text};
use super::types::arrow_type;
use crate::error::{PlanError, Result};
use crate::expr::Expr;
use crate::plan::{
    CopyFormat, CreateTable, Insert, LogicalPlan, OverwriteScope, Projection, Statement,
};

/// A table or view name as the catalog keys it (backticks removed).
pub(super) fn object_name(name: &ast::ObjectName) -> String {
    name.to_string().replace('`', "")
}

fn format_of(ident: Option<&ast::Ident>) -> Result<CopyFormat> {
    match ident {
        None => Ok(CopyFormat::Parquet),
        Some(ident) => CopyFormat::from_name(&ident.value).ok_or_else(|| {
            PlanError::not_supported(format!(
                "the file format '{}' (use parquet, json or csv)",
                ident.value
            ))
            .or_at(ident.span)
        }),
    }
}

/// Whether a value of `from` may be stored in a column of `to` (Spark's ANSI store
/// assignment: numbers into numbers, anything into strings, dates and timestamps into each
/// other, NULL into anything).
fn store_assignable(from: &DataType, to: &DataType) -> bool {
    let temporal = |t: &DataType| matches!(t, DataType::Date32 | DataType::Timestamp(..));
    match (from, to) {
        (DataType::Dictionary(_, from), to) => store_assignable(from, to),
        (from, DataType::Dictionary(_, to)) => store_assignable(from, to),
        (from, to) => {
            from == to
                || from.is_null()
                || (from.is_numeric() && to.is_numeric())
                || matches!(
                    to,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
                || (temporal(from) && temporal(to))
        }
    }
}

impl SqlBinder<'_> {
    /// Binds a statement parsed by [`super::ddl_parse`].
    pub(super) fn bind_ddl(&self, syntax: DdlSyntax) -> Result<Statement> {
        match syntax {
            DdlSyntax::CreateTable(create) => self.bind_create_table(*create),
            DdlSyntax::Copy(copy) => self.bind_copy(*copy),
        }
    }

    fn bind_copy(&self, copy: CopySyntax) -> Result<Statement> {
        let plan = self.bind_query(&copy.query)?;
        let extension = copy
            .path
            .rsplit_once('.')
            .and_then(|(_, ext)| CopyFormat::from_name(ext));
        let format = match (&copy.format, extension) {
            (Some(ident), _) => format_of(Some(ident))?,
            (None, Some(format)) => format,
            (None, None) => {
                return Err(PlanError::invalid(format!(
                    "COPY to '{}' needs a format: add (FORMAT json|parquet|csv)",
                    copy.path
                )));
            }
        };
        let partition_by = self.partition_columns(&copy.partition_by, &plan)?;
        Ok(Statement::Copy {
            plan,
            path: copy.path,
            format,
            partition_by,
        })
    }

    /// The names of `columns`, each an output column of `plan`.
    fn partition_columns(&self, columns: &[ast::Ident], plan: &LogicalPlan) -> Result<Vec<String>> {
        let schema = plan.schema();
        columns
            .iter()
            .map(|ident| {
                let field = schema
                    .fields()
                    .iter()
                    .find(|f| f.name().eq_ignore_ascii_case(&ident.value))
                    .ok_or_else(|| {
                        PlanError::invalid(format!(
                            "partition column '{}' is not a column of the rows written ({})",
                            ident.value,
                            schema
                                .fields()
                                .iter()
                                .map(|f| f.name().as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                        .or_at(ident.span)
                    })?;
                Ok(field.name().clone())
            })
            .collect()
    }

    fn bind_create_table(&self, create: CreateTableSyntax) -> Result<Statement> {
        let name = object_name(&create.name);
        let format = format_of(create.format.as_ref())?;
        let columns = if create.columns.is_empty() {
            None
        } else {
            let fields = create
                .columns
                .iter()
                .map(|column| {
                    let not_null = column
                        .options
                        .iter()
                        .any(|o| matches!(o.option, ast::ColumnOption::NotNull));
                    Ok(Field::new(
                        &column.name.value,
                        arrow_type(&column.data_type).map_err(|e| e.or_at(column.name.span))?,
                        !not_null,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            Some(Arc::new(Schema::new(fields)))
        };
        let query = create.query.map(|q| self.bind_query(&q)).transpose()?;
        if columns.is_some() && query.is_some() {
            return Err(PlanError::invalid(format!(
                "CREATE TABLE {name} AS SELECT takes its columns from the query: drop the column list"
            )));
        }
        if columns.is_none() && query.is_none() && create.location.is_none() {
            return Err(PlanError::invalid(format!(
                "CREATE TABLE {name} needs columns, a LOCATION or AS SELECT"
            )));
        }
        let partition_by = match (&query, &columns) {
            (Some(plan), _) => self.partition_columns(&create.partition_by, plan)?,
            (None, Some(schema)) => create
                .partition_by
                .iter()
                .map(|ident| {
                    schema
                        .fields()
                        .iter()
                        .find(|f| f.name().eq_ignore_ascii_case(&ident.value))
                        .map(|f| f.name().clone())
                        .ok_or_else(|| {
                            PlanError::invalid(format!(
                                "partition column '{}' is not a declared column",
                                ident.value
                            ))
                            .or_at(ident.span)
                        })
                })
                .collect::<Result<_>>()?,
            (None, None) => create
                .partition_by
                .iter()
                .map(|i| i.value.clone())
                .collect(),
        };
        Ok(Statement::CreateTable(Box::new(CreateTable {
            name,
            or_replace: create.or_replace,
            if_not_exists: create.if_not_exists,
            external: create.external || create.location.is_some(),
            format,
            columns,
            partition_by,
            options: create
                .options
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect(),
            location: create.location,
            query,
        })))
    }

    /// `DROP TABLE|VIEW [IF EXISTS] name`.
    pub(super) fn bind_drop(
        &self,
        object_type: &ast::ObjectType,
        names: &[ast::ObjectName],
        if_exists: bool,
    ) -> Result<Statement> {
        let view = match object_type {
            ast::ObjectType::Table => false,
            ast::ObjectType::View => true,
            other => return Err(PlanError::not_supported(format!("DROP {other}"))),
        };
        match names {
            [name] => Ok(Statement::Drop {
                name: object_name(name),
                view,
                if_exists,
            }),
            _ => Err(PlanError::not_supported("DROP of several names at once")),
        }
    }

    /// `ALTER TABLE|VIEW from RENAME TO to`.
    pub(super) fn bind_alter_table(&self, alter: &ast::AlterTable) -> Result<Statement> {
        match alter.operations.as_slice() {
            [ast::AlterTableOperation::RenameTable { table_name }] => {
                let to = match table_name {
                    ast::RenameTableNameKind::To(name) | ast::RenameTableNameKind::As(name) => name,
                };
                Ok(Statement::Rename {
                    from: object_name(&alter.name),
                    to: object_name(to),
                })
            }
            _ => Err(PlanError::not_supported(format!(
                "ALTER TABLE other than RENAME TO: {}",
                sql_text(alter)
            ))),
        }
    }

    /// `INSERT INTO|OVERWRITE [TABLE] t [(columns)] [PARTITION (...)] query`: the query's
    /// columns fill the table's non-static columns by position (or by the column list), cast
    /// to their types; static partition values fill the rest.
    pub(super) fn bind_insert(&self, insert: &ast::Insert) -> Result<Statement> {
        let ast::TableObject::TableName(table_name) = &insert.table else {
            return Err(PlanError::not_supported("INSERT INTO a table function"));
        };
        let table = object_name(table_name);
        let source = self.catalog.open_table(&table)?.ok_or_else(|| {
            let what = if matches!(self.catalog.view(&table), Ok(Some(_))) {
                format!("'{table}' is a view; INSERT writes only into tables")
            } else {
                format!("unknown table '{table}'")
            };
            PlanError::invalid(what).or_at(table_name.span())
        })?;
        let Some(query) = &insert.source else {
            return Err(PlanError::not_supported("INSERT without a query or VALUES"));
        };
        let schema = source.schema();
        let partition_columns = source.partition_columns();
        let mut statics: Vec<(String, ScalarValue)> = Vec::new();
        let mut dynamic = false;
        for spec in insert.partitioned.iter().flatten() {
            let (ident, value) = match spec {
                ast::Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Eq,
                    right,
                } => match left.as_ref() {
                    ast::Expr::Identifier(ident) => (ident, Some(right.as_ref())),
                    _ => return Err(PlanError::invalid(format!("bad PARTITION entry {spec}"))),
                },
                ast::Expr::Identifier(ident) => (ident, None),
                other => return Err(PlanError::invalid(format!("bad PARTITION entry {other}"))),
            };
            let column = partition_columns
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&ident.value))
                .ok_or_else(|| {
                    PlanError::invalid(format!(
                        "'{}' is not a partition column of {table} (partitioned by: {})",
                        ident.value,
                        if partition_columns.is_empty() {
                            "nothing".to_string()
                        } else {
                            partition_columns.join(", ")
                        }
                    ))
                    .or_at(ident.span)
                })?;
            match value {
                Some(value) => {
                    let data_type = schema
                        .field_with_name(column)
                        .map_err(|e| PlanError::Internal(e.to_string()))?
                        .data_type()
                        .clone();
                    statics.push((column.clone(), self.partition_value(value, &data_type)?));
                }
                None => dynamic = true,
            }
        }
        let plan = self.bind_query(query)?;
        let targets: Vec<&Field> = if insert.columns.is_empty() {
            schema
                .fields()
                .iter()
                .map(|f| f.as_ref())
                .filter(|f| !statics.iter().any(|(c, _)| c == f.name()))
                .collect()
        } else {
            insert
                .columns
                .iter()
                .map(|name| {
                    let name = object_name(name);
                    schema
                        .fields()
                        .iter()
                        .find(|f| f.name().eq_ignore_ascii_case(&name))
                        .map(|f| f.as_ref())
                        .ok_or_else(|| {
                            PlanError::invalid(format!("unknown column '{name}' of {table}"))
                        })
                })
                .collect::<Result<_>>()?
        };
        let produced = plan.schema().fields().len();
        if produced != targets.len() {
            return Err(PlanError::invalid(format!(
                "INSERT into {table} needs {} column(s) ({}) but the query produces {produced}",
                targets.len(),
                targets
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let query_columns: Vec<Expr> = plan
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        let mut exprs = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let expr = if let Some((_, value)) = statics.iter().find(|(c, _)| c == field.name()) {
                Expr::Literal(value.clone())
            } else if let Some(index) = targets.iter().position(|t| t.name() == field.name()) {
                let source_field = plan.schema().field(index);
                if !store_assignable(source_field.data_type(), field.data_type()) {
                    return Err(PlanError::invalid(format!(
                        "cannot write {} values into column '{}' of {table}, which is {}",
                        super::types::sql_type_name(source_field.data_type()),
                        field.name(),
                        super::types::sql_type_name(field.data_type())
                    )));
                }
                query_columns[index].clone()
            } else {
                Expr::Literal(ScalarValue::try_from(field.data_type()).map_err(|e| {
                    PlanError::Internal(format!("a NULL of {}: {e}", field.data_type()))
                })?)
            };
            exprs.push(expr.cast_to(field.data_type().clone()).alias(field.name()));
        }
        let projection = Projection::try_new(exprs, Arc::new(plan), self.registry)?;
        let overwrite = insert.overwrite.then(|| {
            if dynamic {
                OverwriteScope::Written(statics.clone())
            } else if statics.is_empty() {
                OverwriteScope::Table
            } else {
                OverwriteScope::Partitions(statics.clone())
            }
        });
        Ok(Statement::Insert(Box::new(Insert {
            table,
            plan: LogicalPlan::Projection(projection),
            overwrite,
        })))
    }

    /// A static `PARTITION (c = value)` value: a literal, as the partition column's type.
    fn partition_value(&self, value: &ast::Expr, data_type: &DataType) -> Result<ScalarValue> {
        let empty = DFSchema::empty();
        match self.bind_expr(value, &Scope::plain(&empty))? {
            Expr::Literal(scalar) => scalar.cast_to(data_type).map_err(|e| {
                PlanError::invalid(format!(
                    "the partition value {value} is not a {data_type}: {e}"
                ))
                .or_at(value.span())
            }),
            _ => Err(PlanError::invalid(format!(
                "a PARTITION value must be a literal, not {value}"
            ))
            .or_at(value.span())),
        }
    }
}
