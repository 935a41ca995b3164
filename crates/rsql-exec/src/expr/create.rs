//! Compiling logical expressions into physical ones for an input schema.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_common::DFSchema;
use rsql_plan::compute::EvalMode;
use rsql_plan::plan::is_generator;
use rsql_plan::{Expr, FunctionRegistry, Operator, TimeZone};

use crate::error::{ExecError, Result, exec_err};
use crate::expr::binary::BinaryExpr;
use crate::expr::case::CaseExpr;
use crate::expr::like::{GetFieldExpr, LikeExpr};
use crate::expr::scalar_function::ScalarFunctionExpr;
use crate::expr::unary::{CastExpr, ColumnExpr, LiteralExpr, UnaryExpr, UnaryOp};
use crate::expr::{PhysicalExpr, ScalarUdf};

/// Scalar function implementations by lower-case name.
pub type ScalarFunctions = HashMap<String, Arc<dyn ScalarUdf>>;

/// Compiles `expr`, bound against `schema`, into an expression over batches of that schema,
/// casting and calling date and time functions in the session time zone `time_zone`, and
/// failing where arithmetic overflows, divides by zero or a cast does not convert when `mode`
/// is [`EvalMode::Ansi`].
pub fn create_physical_expr(
    expr: &Expr,
    schema: &DFSchema,
    registry: &FunctionRegistry,
    functions: &ScalarFunctions,
    time_zone: &TimeZone,
    mode: EvalMode,
) -> Result<Arc<dyn PhysicalExpr>> {
    let compile = |e: &Expr| create_physical_expr(e, schema, registry, functions, time_zone, mode);
    let data_type = || {
        expr.get_type(schema, registry)
            .map_err(|e| ExecError::Execution(e.to_string()))
    };
    let unary = |op: UnaryOp, input: &Expr| -> Result<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(UnaryExpr {
            op,
            input: compile(input)?,
            data_type: data_type()?,
            mode,
        }))
    };
    Ok(match expr {
        Expr::Column(column) => Arc::new(ColumnExpr {
            index: schema.index_of_column(column)?,
            data_type: data_type()?,
        }),
        Expr::Literal(value) => Arc::new(LiteralExpr {
            value: value.clone(),
            data_type: value.data_type(),
        }),
        Expr::Alias { expr, .. } => compile(expr)?,
        Expr::BinaryExpr { left, op, right } => Arc::new(BinaryExpr {
            left: compile(left)?,
            op: *op,
            right: compile(right)?,
            data_type: data_type()?,
            mode,
            time_zone: time_zone.clone(),
        }),
        Expr::Not(input) => unary(UnaryOp::Not, input)?,
        Expr::Negative(input) => unary(UnaryOp::Negative, input)?,
        Expr::IsNull(input) => unary(UnaryOp::IsNull, input)?,
        Expr::IsNotNull(input) => unary(UnaryOp::IsNotNull, input)?,
        Expr::Cast { expr: input, .. } => Arc::new(CastExpr {
            input: compile(input)?,
            data_type: data_type()?,
            time_zone: time_zone.clone(),
            mode,
        }),
        Expr::TryCast { expr: input, .. } => Arc::new(CastExpr {
            input: compile(input)?,
            data_type: data_type()?,
            time_zone: time_zone.clone(),
            mode: EvalMode::Lenient,
        }),
        Expr::InList {
            expr: tested,
            list,
            negated,
        } => {
            let any = list
                .iter()
                .map(|candidate| (**tested).clone().eq(candidate.clone()))
                .reduce(Expr::or)
                .ok_or_else(|| ExecError::Execution("IN needs at least one value".into()))?;
            compile(&if *negated {
                Expr::Not(Box::new(any))
            } else {
                any
            })?
        }
        Expr::Between {
            expr: tested,
            negated,
            low,
            high,
        } => {
            let inside = (**tested)
                .clone()
                .gt_eq((**low).clone())
                .and((**tested).clone().lt_eq((**high).clone()));
            compile(&if *negated {
                Expr::Not(Box::new(inside))
            } else {
                inside
            })?
        }
        Expr::Like {
            negated,
            expr: tested,
            pattern,
            case_insensitive,
        } => Arc::new(LikeExpr {
            expr: compile(tested)?,
            pattern: compile(pattern)?,
            negated: *negated,
            case_insensitive: *case_insensitive,
        }),
        Expr::Case {
            operand,
            when_then,
            else_expr,
        } => {
            let when_then = when_then
                .iter()
                .map(|(when, then)| {
                    let condition = match operand {
                        Some(operand) => Expr::BinaryExpr {
                            left: operand.clone(),
                            op: Operator::Eq,
                            right: Box::new(when.clone()),
                        },
                        None => when.clone(),
                    };
                    Ok((compile(&condition)?, compile(then)?))
                })
                .collect::<Result<Vec<_>>>()?;
            let else_expr = else_expr.as_deref().map(compile).transpose()?;
            Arc::new(CaseExpr {
                when_then,
                else_expr,
                data_type: data_type()?,
                mode,
            })
        }
        Expr::ScalarFunction { name, args } => {
            let Some(function) = functions.get(name) else {
                if is_generator(name) {
                    return exec_err(format!(
                        "{name} makes rows, so it can only be a whole select item, a LATERAL \
                         VIEW or an UNNEST in FROM: {expr}"
                    ));
                }
                return exec_err(format!("no implementation of function '{name}'"));
            };
            Arc::new(ScalarFunctionExpr {
                function: function
                    .in_time_zone(time_zone)
                    .unwrap_or_else(|| Arc::clone(function)),
                args: args.iter().map(compile).collect::<Result<Vec<_>>>()?,
                data_type: data_type()?,
            })
        }
        Expr::GetField { expr: input, name } => Arc::new(GetFieldExpr {
            expr: compile(input)?,
            name: name.clone(),
            data_type: data_type()?,
        }),
        Expr::AggregateFunction { name, .. } => {
            return exec_err(format!("aggregate function {name} outside an aggregation"));
        }
        Expr::WindowFunction(window) => {
            return exec_err(format!(
                "window function {} outside a window",
                window.kind.name()
            ));
        }
        // `m[k]` is `element_at(m, k)`.
        Expr::MapGet { expr: map, key } => {
            let Some(function) = functions.get("element_at") else {
                return exec_err("no implementation of function 'element_at'");
            };
            Arc::new(ScalarFunctionExpr {
                function: Arc::clone(function),
                args: vec![compile(map)?, compile(key)?],
                data_type: data_type()?,
            })
        }
        Expr::ScalarSubquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
            return exec_err(format!(
                "not supported yet: the subquery in {expr}, which the optimizer could not \
                 rewrite into a join"
            ));
        }
        Expr::OuterColumn { column, .. } => {
            return exec_err(format!(
                "not supported yet: the correlated reference to {} in {expr}",
                column.flat_name()
            ));
        }
    })
}
