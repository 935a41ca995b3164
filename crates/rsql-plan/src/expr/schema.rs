//! The type and nullability of an expression over an input schema.

use arrow_schema::{DataType, Field, FieldRef};
use datafusion_common::{Column, DFSchema, ScalarValue, TableReference};

use super::{Expr, Operator, Subquery, WindowFunctionKind};
use crate::coercion::{binary_types, common_type};
use crate::error::{PlanError, Result};
use crate::function::{FunctionRegistry, counts_rows};
use crate::suggest;

/// The field `column` names in `schema`, with errors that list the closest names.
pub fn lookup_column<'a>(
    schema: &'a DFSchema,
    column: &Column,
) -> Result<(Option<&'a TableReference>, &'a FieldRef)> {
    let matches: Vec<(Option<&TableReference>, &FieldRef)> = schema
        .iter()
        .filter(|(qualifier, field)| {
            field.name() == &column.name
                && match (&column.relation, qualifier) {
                    (Some(wanted), Some(q)) => wanted.resolved_eq(q),
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(PlanError::UnknownColumn {
            name: column.flat_name(),
            position: None,
            suggestions: suggest::closest(
                &column.name,
                schema.fields().iter().map(|f| f.name().as_str()),
            ),
        }),
        many => Err(PlanError::AmbiguousColumn {
            name: column.flat_name(),
            position: None,
            candidates: many
                .iter()
                .map(|(q, f)| Column::new(q.cloned(), f.name()).flat_name())
                .collect(),
        }),
    }
}

fn literal_args(args: &[Expr]) -> Vec<Option<&ScalarValue>> {
    args.iter()
        .map(|a| match a {
            Expr::Literal(v) => Some(v),
            _ => None,
        })
        .collect()
}

/// The field of a struct type called `name` (exact match first, then case-insensitive).
pub fn struct_field<'a>(data_type: &'a DataType, name: &str) -> Result<&'a FieldRef> {
    let DataType::Struct(fields) = data_type else {
        return Err(PlanError::type_mismatch(format!(
            "cannot access field '{name}' of a value of type {data_type}"
        )));
    };
    fields
        .iter()
        .find(|f| f.name() == name)
        .or_else(|| fields.iter().find(|f| f.name().eq_ignore_ascii_case(name)))
        .ok_or_else(|| {
            let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
            PlanError::invalid(format!(
                "no field '{name}' in struct; its fields are {}",
                names.join(", ")
            ))
        })
}

/// The key and value types of a map type.
pub fn map_entry_types(data_type: &DataType) -> Result<(&DataType, &DataType)> {
    match data_type {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                Ok((fields[0].data_type(), fields[1].data_type()))
            }
            other => Err(PlanError::Internal(format!(
                "malformed map entries {other}"
            ))),
        },
        other => Err(PlanError::type_mismatch(format!(
            "cannot subscript a value of type {other}"
        ))),
    }
}

/// The one column a scalar subquery returns.
fn subquery_column(subquery: &Subquery) -> Result<&FieldRef> {
    let fields = subquery.plan.schema().fields();
    match fields.len() {
        1 => Ok(&fields[0]),
        n => Err(PlanError::invalid(format!(
            "a scalar subquery must return one column, ({}) returns {n}",
            subquery.sql
        ))),
    }
}

impl Expr {
    /// The type this expression evaluates to over rows of `schema`.
    pub fn get_type(&self, schema: &DFSchema, registry: &FunctionRegistry) -> Result<DataType> {
        let ty = |e: &Expr| e.get_type(schema, registry);
        Ok(match self {
            Expr::Column(column) => lookup_column(schema, column)?.1.data_type().clone(),
            Expr::Literal(value) => value.data_type(),
            Expr::Alias { expr, .. } | Expr::Negative(expr) => ty(expr)?,
            Expr::Cast { data_type, .. } | Expr::TryCast { data_type, .. } => data_type.clone(),
            Expr::BinaryExpr { left, op, right } => {
                binary_types(&ty(left)?, *op, &ty(right)?)?.result
            }
            Expr::Not(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. } => DataType::Boolean,
            Expr::Case {
                when_then,
                else_expr,
                ..
            } => {
                let mut result = DataType::Null;
                let branches = when_then
                    .iter()
                    .map(|(_, then)| then)
                    .chain(else_expr.as_deref());
                for branch in branches {
                    let branch_type = ty(branch)?;
                    result = common_type(&result, &branch_type).ok_or_else(|| {
                        PlanError::type_mismatch(format!(
                            "CASE branches of types {result} and {branch_type} do not match"
                        ))
                    })?;
                }
                result
            }
            Expr::ScalarFunction { name, args } => {
                let types = args.iter().map(ty).collect::<Result<Vec<_>>>()?;
                registry.scalar_return_type(name, &types, &literal_args(args))?
            }
            Expr::AggregateFunction { name, args, .. } => {
                let types = args.iter().map(ty).collect::<Result<Vec<_>>>()?;
                registry.aggregate_return_type(name, &types)?
            }
            Expr::WindowFunction(window) => {
                let types = window.args.iter().map(ty).collect::<Result<Vec<_>>>()?;
                match &window.kind {
                    WindowFunctionKind::Builtin(function) => function.return_type(&types)?,
                    WindowFunctionKind::Aggregate { name, .. } => {
                        registry.aggregate_return_type(name, &types)?
                    }
                }
            }
            Expr::GetField { expr, name } => struct_field(&ty(expr)?, name)?.data_type().clone(),
            Expr::MapGet { expr, .. } => map_entry_types(&ty(expr)?)?.1.clone(),
            Expr::ScalarSubquery(subquery) => subquery_column(subquery)?.data_type().clone(),
            Expr::InSubquery { .. } | Expr::Exists { .. } => DataType::Boolean,
            Expr::OuterColumn { data_type, .. } => data_type.clone(),
        })
    }

    /// Whether this expression can evaluate to NULL over rows of `schema`.
    pub fn nullable(&self, schema: &DFSchema) -> Result<bool> {
        let any = |exprs: &[&Expr]| -> Result<bool> {
            for e in exprs {
                if e.nullable(schema)? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        match self {
            Expr::Column(column) => Ok(lookup_column(schema, column)?.1.is_nullable()),
            Expr::Literal(value) => Ok(value.is_null()),
            Expr::Alias { expr, .. }
            | Expr::Negative(expr)
            | Expr::Cast { expr, .. }
            | Expr::Not(expr) => expr.nullable(schema),
            Expr::IsNull(_) | Expr::IsNotNull(_) | Expr::Exists { .. } => Ok(false),
            Expr::TryCast { .. } => Ok(true),
            Expr::BinaryExpr {
                op: Operator::IsDistinctFrom | Operator::IsNotDistinctFrom,
                ..
            } => Ok(false),
            Expr::BinaryExpr { left, right, .. } => any(&[left, right]),
            Expr::Like { expr, pattern, .. } => any(&[expr, pattern]),
            Expr::Between {
                expr, low, high, ..
            } => any(&[expr, low, high]),
            Expr::InList { expr, list, .. } => {
                let mut all: Vec<&Expr> = vec![expr];
                all.extend(list.iter());
                any(&all)
            }
            Expr::AggregateFunction { name, .. } => Ok(!counts_rows(name)),
            Expr::WindowFunction(window) => Ok(match &window.kind {
                WindowFunctionKind::Builtin(function) => function.nullable(),
                WindowFunctionKind::Aggregate { name, .. } => !counts_rows(name),
            }),
            Expr::Case { .. }
            | Expr::ScalarFunction { .. }
            | Expr::GetField { .. }
            | Expr::MapGet { .. }
            | Expr::ScalarSubquery(_)
            | Expr::InSubquery { .. }
            | Expr::OuterColumn { .. } => Ok(true),
        }
    }

    /// The output field of this expression over `schema`: a plain column keeps its qualifier
    /// and name; anything else is unqualified and named by [`Expr::output_name`].
    pub fn to_field(
        &self,
        schema: &DFSchema,
        registry: &FunctionRegistry,
    ) -> Result<(Option<TableReference>, FieldRef)> {
        if let Expr::Column(column) = self {
            let (qualifier, field) = lookup_column(schema, column)?;
            return Ok((qualifier.cloned(), FieldRef::clone(field)));
        }
        let field = Field::new(
            self.output_name(),
            self.get_type(schema, registry)?,
            self.nullable(schema)?,
        );
        Ok((None, field.into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::{Schema, TimeUnit};

    use super::super::{col, lit};
    use super::*;

    fn schema() -> DFSchema {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let arrow = Schema::new(vec![
            Field::new("a", DataType::Int32, false),
            Field::new("s", DataType::Utf8, true),
            Field::new("ts", ts, true),
        ]);
        DFSchema::try_from_qualified_schema("t", &arrow).unwrap()
    }

    #[test]
    fn types_follow_operators_functions_and_fields() {
        let (schema, registry) = (schema(), FunctionRegistry::new());
        let t = |e: Expr| e.get_type(&schema, &registry).unwrap();
        assert_eq!(t(col("a") + lit(1i32)), DataType::Int32);
        assert_eq!(t(col("a").gt(lit(1i32))), DataType::Boolean);
        assert_eq!(t(col("t.a") / col("a")), DataType::Float64);
        let window = Expr::ScalarFunction {
            name: "window".into(),
            args: vec![col("ts"), lit("1 hour")],
        };
        assert_eq!(
            t(window.clone().field("start")),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        let count_values = Expr::AggregateFunction {
            name: "count_values".into(),
            args: vec![col("s")],
            distinct: false,
        };
        assert_eq!(t(count_values.map_get(lit("x"))), DataType::Int64);
        let err = window
            .field("middle")
            .get_type(&schema, &registry)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no field 'middle' in struct; its fields are start, end"
        );
    }

    #[test]
    fn unknown_columns_suggest_close_names() {
        let (schema, registry) = (schema(), FunctionRegistry::new());
        let err = col("b").get_type(&schema, &registry).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown column 'b'; did you mean one of 'a', 's', 'ts'?"
        );
        let err = col("u.a").get_type(&schema, &registry).unwrap_err();
        assert!(matches!(err, PlanError::UnknownColumn { .. }), "{err}");
    }

    #[test]
    fn nullability_and_fields() {
        let (schema, registry) = (schema(), FunctionRegistry::new());
        assert!(!col("a").nullable(&schema).unwrap());
        assert!(col("s").nullable(&schema).unwrap());
        assert!(!col("s").is_null().nullable(&schema).unwrap());
        let (qualifier, field) = col("a").to_field(&schema, &registry).unwrap();
        assert_eq!(qualifier, Some(TableReference::bare("t")));
        assert_eq!(field.name(), "a");
        let (qualifier, field) = (col("a") + lit(1i32))
            .alias("b")
            .to_field(&schema, &registry)
            .unwrap();
        assert_eq!((qualifier, field.name().as_str()), (None, "b"));
        assert_eq!(field, Arc::new(Field::new("b", DataType::Int32, false)));
    }
}
