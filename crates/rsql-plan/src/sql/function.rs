//! Binding function calls: scalar and aggregate calls (with `DISTINCT` and `count(*)`),
//! coerced to their signatures by [`TypeCoercion`](crate::coercion::TypeCoercion).

use datafusion_common::ScalarValue;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use super::query::sort_options;
use crate::error::{PlanError, Result};
use crate::expr::Expr;
use crate::expr::SortExpr;
use crate::function::{
    Arity, BuiltinWindowFunction, ORDERED_STRING_AGG, clock_value, default_separator,
    is_grouping_function, ordered_string_agg_args,
};

/// The last part of a function name, lower-cased (`ns.Lower` calls `lower`).
fn function_name(name: &ast::ObjectName) -> Result<String> {
    match name.0.last() {
        Some(ast::ObjectNamePart::Identifier(ident)) => Ok(ident.value.to_lowercase()),
        _ => Err(PlanError::not_supported(format!(
            "the function name {name}"
        ))),
    }
}

/// The order of a string concatenation: `ORDER BY` inside the parentheses or
/// `WITHIN GROUP (ORDER BY ..)`.
fn string_agg_order(function: &ast::Function) -> Option<&[ast::OrderByExpr]> {
    if !function.within_group.is_empty() {
        return Some(&function.within_group);
    }
    let ast::FunctionArguments::List(list) = &function.args else {
        return None;
    };
    list.clauses.iter().find_map(|clause| match clause {
        ast::FunctionArgumentClause::OrderBy(keys) => Some(keys.as_slice()),
        _ => None,
    })
}

impl SqlBinder<'_> {
    /// An aggregate call, where the scope allows one.
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
        self.coercion(scope).aggregate_call(name, args, distinct)
    }

    /// Whether the aggregate `name` takes `IGNORE NULLS` as an argument.
    pub(super) fn takes_null_treatment(&self, name: &str) -> bool {
        self.registry
            .aggregate(name)
            .is_some_and(|f| f.ignore_nulls_as_argument())
    }

    /// Appends the argument `true` for `IGNORE NULLS` to a call of an aggregate that
    /// [takes it](Self::takes_null_treatment); `RESPECT NULLS` is its default.
    pub(super) fn apply_null_treatment(&self, args: &mut Vec<Expr>, treatment: ast::NullTreatment) {
        if treatment == ast::NullTreatment::IgnoreNulls {
            args.push(Expr::Literal(ScalarValue::Boolean(Some(true))));
        }
    }

    /// The bound arguments of `function` (named `name`), whether they are `DISTINCT`, and an
    /// `IGNORE NULLS` / `RESPECT NULLS` written inside the parentheses.
    pub(super) fn bind_arguments(
        &self,
        function: &ast::Function,
        name: &str,
        scope: &Scope,
    ) -> Result<(Vec<Expr>, bool, Option<ast::NullTreatment>)> {
        let (list, distinct, null_treatment) = match &function.args {
            ast::FunctionArguments::List(list) => {
                let mut null_treatment = None;
                for clause in &list.clauses {
                    match clause {
                        ast::FunctionArgumentClause::IgnoreOrRespectNulls(treatment) => {
                            null_treatment = Some(*treatment)
                        }
                        // Bound by `bind_ordered_string_agg`.
                        ast::FunctionArgumentClause::OrderBy(_)
                            if default_separator(name).is_some() => {}
                        _ => {
                            return Err(PlanError::not_supported(format!(
                                "the call {}",
                                sql_text(function)
                            )));
                        }
                    }
                }
                let distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                (list.args.as_slice(), distinct, null_treatment)
            }
            ast::FunctionArguments::None => (&[][..], false, None),
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
        Ok((args, distinct, null_treatment))
    }

    /// SQL's ordered-set aggregates, `percentile_cont(p) WITHIN GROUP (ORDER BY x)` and
    /// `percentile_disc(..)`, as the calls `quantile_cont(x, p)` and `quantile_disc(x, p)`.
    fn bind_ordered_set_aggregate(
        &self,
        function: &ast::Function,
        name: &str,
        scope: &Scope,
    ) -> Result<Expr> {
        let quantile = match name {
            "percentile_cont" => "quantile_cont",
            "percentile_disc" => "quantile_disc",
            _ => {
                return Err(PlanError::not_supported(format!(
                    "WITHIN GROUP with {name} (percentile_cont and percentile_disc take it)"
                )));
            }
        };
        if function.over.is_some() {
            return Err(PlanError::not_supported(format!(
                "{name} ... WITHIN GROUP with OVER"
            )));
        }
        let [order] = function.within_group.as_slice() else {
            return Err(PlanError::invalid(format!(
                "{name} orders by one expression: WITHIN GROUP (ORDER BY x)"
            )));
        };
        if order.options.asc == Some(false) {
            return Err(PlanError::not_supported(format!(
                "{name} WITHIN GROUP (ORDER BY .. DESC): use 1 - p with ASC"
            )));
        }
        let (fraction, distinct, _) = self.bind_arguments(function, name, scope)?;
        if fraction.len() != 1 {
            return Err(PlanError::invalid(format!(
                "{name} takes one fraction, got {} arguments",
                fraction.len()
            )));
        }
        let value = self.bind_expr(&order.expr, scope)?;
        let args = std::iter::once(value).chain(fraction).collect();
        self.aggregate_call(quantile, args, distinct, scope)
    }

    /// A string concatenation with an order, `string_agg(x, sep ORDER BY k)` or
    /// `listagg(x, sep) WITHIN GROUP (ORDER BY k)`, as the call
    /// [`ORDERED_STRING_AGG`]`(x, sep, order, k..)`.
    fn bind_ordered_string_agg(
        &self,
        function: &ast::Function,
        name: &str,
        order_by: &[ast::OrderByExpr],
        scope: &Scope,
    ) -> Result<Expr> {
        if function.over.is_some() || function.filter.is_some() {
            return Err(PlanError::not_supported(format!(
                "{name} with an order and OVER or FILTER"
            )));
        }
        let (args, distinct, _) = self.bind_arguments(function, name, scope)?;
        if distinct {
            return Err(PlanError::not_supported(format!(
                "{name}(DISTINCT ..) with an order"
            )));
        }
        Arity::Range(1, 2).check(name, args.len())?;
        let mut args = args.into_iter();
        let (Some(value), separator) = (args.next(), args.next()) else {
            return Err(PlanError::invalid(format!("{name} needs a value")));
        };
        let separator = separator.unwrap_or_else(|| {
            let default = default_separator(name).unwrap_or_default();
            Expr::Literal(ScalarValue::Utf8(Some(default.to_string())))
        });
        let keys = order_by
            .iter()
            .map(|key| {
                let (asc, nulls_first) = sort_options(key)?;
                Ok(SortExpr::new(
                    self.bind_expr(&key.expr, scope)?,
                    asc,
                    nulls_first,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let args = ordered_string_agg_args(value, separator, keys);
        self.aggregate_call(ORDERED_STRING_AGG, args, false, scope)
    }

    /// Binds `name(args)`: a window call with `OVER`, else an aggregate if the registry has
    /// one by that name, else a scalar.
    pub(super) fn bind_function(&self, function: &ast::Function, scope: &Scope) -> Result<Expr> {
        let name = function_name(&function.name)?;
        let span = function.name.span();
        if default_separator(&name).is_some()
            && let Some(order_by) = string_agg_order(function)
        {
            return self
                .bind_ordered_string_agg(function, &name, order_by, scope)
                .map_err(|e| e.or_at(span));
        }
        if !function.within_group.is_empty() {
            return self
                .bind_ordered_set_aggregate(function, &name, scope)
                .map_err(|e| e.or_at(span));
        }
        if let Some(over) = &function.over {
            return self
                .bind_window_call(function, &name, over, scope)
                .map_err(|e| e.or_at(span));
        }
        if let Some(window) = BuiltinWindowFunction::from_name(&name) {
            return Err(PlanError::invalid(format!(
                "{}() is a window function and needs an OVER clause",
                window.name()
            ))
            .or_at(span));
        }
        let is_aggregate = self.registry.aggregate(&name).is_some();
        if !is_aggregate && self.registry.scalar(&name).is_none() {
            return Err(self.registry.unknown_function(&name).or_at(span));
        }
        if is_grouping_function(&name) && !scope.allow_aggregates {
            return Err(PlanError::invalid(format!(
                "{name}() is only allowed in SELECT, HAVING and ORDER BY of a grouped query"
            ))
            .or_at(span));
        }
        let (mut args, distinct, null_treatment) = self.bind_arguments(function, &name, scope)?;
        match null_treatment.or(function.null_treatment) {
            Some(treatment) if is_aggregate && self.takes_null_treatment(&name) => {
                self.apply_null_treatment(&mut args, treatment)
            }
            Some(_) => {
                return Err(PlanError::invalid(format!(
                    "IGNORE NULLS and RESPECT NULLS are only valid in window functions, not in {name}"
                ))
                .or_at(span));
            }
            None => {}
        }
        if let Some(filter) = &function.filter {
            if !is_aggregate {
                return Err(PlanError::invalid(format!(
                    "FILTER is only valid in aggregate calls, not in {name}"
                ))
                .or_at(span));
            }
            if scope.allow_aggregates {
                args = self
                    .filtered_aggregate_args(&name, args, filter, scope)
                    .map_err(|e| e.or_at(span))?;
            }
        }
        if args.is_empty()
            && !is_aggregate
            && let Some(value) = clock_value(&name, self.now_micros, &self.time_zone)
        {
            // Clock functions read the instant the statement was bound: one value per query.
            return Ok(Expr::Literal(value));
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
            self.coercion(scope)
                .scalar_call(&name, args)
                .map_err(|e| e.or_at(span))
        }
    }
}
