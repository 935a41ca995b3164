//! Binding function calls: scalar calls coerced to their signatures, aggregate calls (with
//! `DISTINCT` and `count(*)`), and Spark's `struct(a, b)` naming its fields after columns.

use datafusion_common::ScalarValue;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use crate::coercion::cast_if_needed;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, lit};

/// The last part of a function name, lower-cased (`ns.Lower` calls `lower`).
fn function_name(name: &ast::ObjectName) -> Result<String> {
    match name.0.last() {
        Some(ast::ObjectNamePart::Identifier(ident)) => Ok(ident.value.to_lowercase()),
        _ => Err(PlanError::not_supported(format!(
            "the function name {name}"
        ))),
    }
}

impl SqlBinder<'_> {
    /// A scalar call with arguments cast to the signature's types; literal-dependent checks
    /// (`window` durations, `named_struct` names) run here, at bind time.
    pub(super) fn scalar_call(&self, name: &str, args: Vec<Expr>, scope: &Scope) -> Result<Expr> {
        let (name, args) = match name {
            "struct" => ("named_struct", struct_to_named(args)),
            other => (other, args),
        };
        let types = args
            .iter()
            .map(|a| self.type_of(a, scope))
            .collect::<Result<Vec<_>>>()?;
        let targets = self.registry.coerce_scalar_args(name, &types)?;
        let args = args
            .into_iter()
            .zip(types.iter().zip(&targets))
            .map(|(arg, (from, to))| cast_if_needed(arg, from, to))
            .collect();
        let call = Expr::ScalarFunction {
            name: name.to_string(),
            args,
        };
        self.type_of(&call, scope)?;
        Ok(call)
    }

    fn aggregate_call(
        &self,
        name: &str,
        args: Vec<Expr>,
        distinct: bool,
        scope: &Scope,
    ) -> Result<Expr> {
        if !scope.allow_aggregates {
            return Err(PlanError::invalid(format!(
                "aggregate function '{name}' is not allowed here (only in SELECT, HAVING and ORDER BY)"
            )));
        }
        if let Some(nested) = args.iter().find(|a| a.contains_aggregate()) {
            return Err(PlanError::invalid(format!(
                "aggregate calls cannot be nested: {nested}"
            )));
        }
        if distinct && args.is_empty() {
            return Err(PlanError::invalid(format!(
                "{name}(DISTINCT *) is not valid"
            )));
        }
        let types = args
            .iter()
            .map(|a| self.type_of(a, scope))
            .collect::<Result<Vec<_>>>()?;
        let targets = self.registry.coerce_aggregate_args(name, &types)?;
        let args = args
            .into_iter()
            .zip(types.iter().zip(&targets))
            .map(|(arg, (from, to))| cast_if_needed(arg, from, to))
            .collect();
        let call = Expr::AggregateFunction {
            name: name.to_string(),
            args,
            distinct,
        };
        self.type_of(&call, scope)?;
        Ok(call)
    }

    /// Binds `name(args)`: an aggregate if the registry has one by that name, else a scalar.
    pub(super) fn bind_function(&self, function: &ast::Function, scope: &Scope) -> Result<Expr> {
        if function.over.is_some() {
            return Err(PlanError::not_supported("window functions (OVER)"));
        }
        if function.filter.is_some()
            || function.null_treatment.is_some()
            || !function.within_group.is_empty()
        {
            return Err(PlanError::not_supported(format!(
                "the call {}",
                sql_text(function)
            )));
        }
        let name = function_name(&function.name)?;
        let span = function.name.span();
        let is_aggregate = self.registry.aggregate(&name).is_some();
        if !is_aggregate && self.registry.scalar(&name).is_none() {
            return Err(self.registry.unknown_function(&name).or_at(span));
        }
        let (list, distinct) = match &function.args {
            ast::FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    return Err(PlanError::not_supported(format!(
                        "the call {}",
                        sql_text(function)
                    )));
                }
                let distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                (list.args.as_slice(), distinct)
            }
            ast::FunctionArguments::None => (&[][..], false),
            ast::FunctionArguments::Subquery(_) => {
                return Err(PlanError::not_supported("subqueries in expressions"));
            }
        };
        let mut args = Vec::with_capacity(list.len());
        for arg in list {
            match arg {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    args.push(self.bind_expr(e, scope)?)
                }
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) if name == "count" => {}
                other => {
                    return Err(PlanError::not_supported(format!(
                        "the argument {} of {name}",
                        sql_text(other)
                    )));
                }
            }
        }
        if is_aggregate {
            self.aggregate_call(&name, args, distinct, scope)
                .map_err(|e| e.or_at(span))
        } else if distinct {
            Err(PlanError::invalid(format!(
                "DISTINCT is only valid in aggregate calls, not in {name}"
            ))
            .or_at(span))
        } else {
            self.scalar_call(&name, args, scope)
                .map_err(|e| e.or_at(span))
        }
    }
}

/// `struct(a, b + 1)` as `named_struct('a', a, 'col2', b + 1)`: Spark names fields after
/// column arguments and `colN` otherwise.
fn struct_to_named(args: Vec<Expr>) -> Vec<Expr> {
    args.into_iter()
        .enumerate()
        .flat_map(|(i, arg)| {
            let name = match &arg {
                Expr::Column(column) => column.name.clone(),
                Expr::Alias { name, .. } => name.clone(),
                _ => format!("col{}", i + 1),
            };
            [lit(ScalarValue::Utf8(Some(name))), arg.unalias()]
        })
        .collect()
}
