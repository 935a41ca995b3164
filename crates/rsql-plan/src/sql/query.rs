//! Binding queries: `WITH`, set operations, `VALUES`, `ORDER BY` over a set operation, `LIMIT`.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_common::DFSchema;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use super::set_operation::SetOperation;
use crate::coercion::{cast_if_needed, common_type};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, SortExpr};
use crate::plan::{Distinct, Limit, LogicalPlan, Projection, Sort, Union, Values};

/// `ORDER BY 2`: the 1-based position, if the key is an integer literal.
pub(super) fn ordinal(expr: &ast::Expr) -> Option<i64> {
    match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(text, _) => text.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The 0-based column an ordinal names, or an error naming the valid range.
pub(super) fn ordinal_index(position: i64, columns: usize, clause: &str) -> Result<usize> {
    usize::try_from(position)
        .ok()
        .filter(|p| (1..=columns).contains(p))
        .map(|p| p - 1)
        .ok_or_else(|| {
            PlanError::invalid(format!(
                "{clause} position {position} is not in the select list (1..={columns})"
            ))
        })
}

/// Direction and null placement of an `ORDER BY` key, with Spark's defaults.
pub(super) fn sort_options(key: &ast::OrderByExpr) -> Result<(bool, bool)> {
    if key.with_fill.is_some() {
        return Err(PlanError::not_supported("ORDER BY ... WITH FILL"));
    }
    let asc = key.options.asc.unwrap_or(true);
    Ok((asc, key.options.nulls_first.unwrap_or(asc)))
}

/// The keys of an `ORDER BY` clause.
pub(super) fn order_keys(order_by: &ast::OrderBy) -> Result<&[ast::OrderByExpr]> {
    if order_by.interpolate.is_some() {
        return Err(PlanError::not_supported("ORDER BY ... INTERPOLATE"));
    }
    match &order_by.kind {
        ast::OrderByKind::Expressions(keys) => Ok(keys),
        ast::OrderByKind::All(_) => Err(PlanError::not_supported("ORDER BY ALL")),
    }
}

fn count(expr: &ast::Expr, clause: &str) -> Result<usize> {
    match ordinal(expr).and_then(|n| usize::try_from(n).ok()) {
        Some(n) => Ok(n),
        None => Err(PlanError::invalid(format!(
            "{clause} must be a non-negative integer literal, got {}",
            sql_text(expr)
        ))
        .or_at(expr.span())),
    }
}

impl SqlBinder<'_> {
    /// Binds a query with its own `WITH` scope.
    pub(super) fn bind_query(&self, query: &ast::Query) -> Result<LogicalPlan> {
        if query.fetch.is_some()
            || !query.locks.is_empty()
            || query.for_clause.is_some()
            || query.settings.is_some()
            || query.format_clause.is_some()
            || !query.pipe_operators.is_empty()
        {
            return Err(PlanError::not_supported(format!(
                "the query clauses of {}",
                sql_text(query)
            )));
        }
        self.ctes.borrow_mut().push(HashMap::new());
        let result = self.bind_query_in_scope(query);
        self.ctes.borrow_mut().pop();
        result
    }

    fn bind_query_in_scope(&self, query: &ast::Query) -> Result<LogicalPlan> {
        if let Some(with) = &query.with {
            if with.recursive {
                return Err(PlanError::not_supported("WITH RECURSIVE"));
            }
            for cte in &with.cte_tables {
                let plan = self.bind_query(&cte.query)?;
                let aliased = self.aliased(plan, &cte.alias)?;
                if let Some(frame) = self.ctes.borrow_mut().last_mut() {
                    frame.insert(cte.alias.name.value.to_lowercase(), aliased);
                }
            }
        }
        let plan = match query.body.as_ref() {
            ast::SetExpr::Select(select) => self.bind_select(select, query.order_by.as_ref())?,
            other => {
                let plan = self.bind_set_expr(other)?;
                match &query.order_by {
                    Some(order_by) => self.bind_output_order(plan, order_by)?,
                    None => plan,
                }
            }
        };
        match &query.limit_clause {
            Some(limit) => self.bind_limit(plan, limit),
            None => Ok(plan),
        }
    }

    fn bind_limit(&self, plan: LogicalPlan, clause: &ast::LimitClause) -> Result<LogicalPlan> {
        let (fetch, skip) = match clause {
            ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            } => {
                if !limit_by.is_empty() {
                    return Err(PlanError::not_supported("LIMIT ... BY"));
                }
                let fetch = limit.as_ref().map(|l| count(l, "LIMIT")).transpose()?;
                let skip = offset
                    .as_ref()
                    .map(|o| count(&o.value, "OFFSET"))
                    .transpose()?;
                (fetch, skip.unwrap_or(0))
            }
            ast::LimitClause::OffsetCommaLimit { offset, limit } => {
                (Some(count(limit, "LIMIT")?), count(offset, "OFFSET")?)
            }
        };
        if fetch.is_none() && skip == 0 {
            return Ok(plan);
        }
        Ok(LogicalPlan::Limit(Limit {
            skip,
            fetch,
            input: Arc::new(plan),
        }))
    }

    /// `ORDER BY` over a set operation or `VALUES`: keys are output columns or ordinals.
    fn bind_output_order(&self, plan: LogicalPlan, order_by: &ast::OrderBy) -> Result<LogicalPlan> {
        let scope = Scope::plain(plan.schema());
        let columns = plan.schema().columns();
        let mut exprs = Vec::new();
        for key in order_keys(order_by)? {
            let (asc, nulls_first) = sort_options(key)?;
            let expr = match ordinal(&key.expr) {
                Some(position) => {
                    let index = ordinal_index(position, columns.len(), "ORDER BY")
                        .map_err(|e| e.or_at(key.expr.span()))?;
                    Expr::Column(columns[index].clone())
                }
                None => self.bind_expr(&key.expr, &scope)?,
            };
            exprs.push(SortExpr::new(expr, asc, nulls_first));
        }
        Ok(LogicalPlan::Sort(Sort {
            exprs,
            input: Arc::new(plan),
            fetch: None,
        }))
    }

    fn bind_set_expr(&self, body: &ast::SetExpr) -> Result<LogicalPlan> {
        match body {
            ast::SetExpr::Select(select) => self.bind_select(select, None),
            ast::SetExpr::Query(query) => self.bind_query(query),
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let all = match set_quantifier {
                    ast::SetQuantifier::All => true,
                    ast::SetQuantifier::None | ast::SetQuantifier::Distinct => false,
                    other => return Err(PlanError::not_supported(format!("{op} {other}"))),
                };
                let (left, right) = self.coerce_set_inputs(
                    self.bind_set_expr(left)?,
                    self.bind_set_expr(right)?,
                    op,
                )?;
                match op {
                    ast::SetOperator::Union => {
                        let union = union(left, right)?;
                        Ok(if all {
                            union
                        } else {
                            LogicalPlan::Distinct(Distinct {
                                input: Arc::new(union),
                            })
                        })
                    }
                    ast::SetOperator::Intersect => {
                        self.intersect_or_except(left, right, SetOperation::Intersect, all)
                    }
                    ast::SetOperator::Except | ast::SetOperator::Minus => {
                        self.intersect_or_except(left, right, SetOperation::Except, all)
                    }
                }
            }
            ast::SetExpr::Values(values) => self.bind_values(values),
            other => Err(PlanError::not_supported(format!(
                "the query {}",
                sql_text(other)
            ))),
        }
    }

    /// The inputs of a set operation with their columns cast to the types both sides meet at.
    fn coerce_set_inputs(
        &self,
        left: LogicalPlan,
        right: LogicalPlan,
        op: &ast::SetOperator,
    ) -> Result<(LogicalPlan, LogicalPlan)> {
        let (lf, rf) = (left.schema().fields(), right.schema().fields());
        if lf.len() != rf.len() {
            return Err(PlanError::invalid(format!(
                "{op} inputs have {} and {} columns",
                lf.len(),
                rf.len()
            )));
        }
        let mut targets = Vec::with_capacity(lf.len());
        for (l, r) in lf.iter().zip(rf.iter()) {
            targets.push(common_type(l.data_type(), r.data_type()).ok_or_else(|| {
                PlanError::type_mismatch(format!(
                    "{op} column '{}' is {} on one side and {} on the other",
                    l.name(),
                    l.data_type(),
                    r.data_type()
                ))
            })?);
        }
        Ok((
            self.cast_columns(left, &targets)?,
            self.cast_columns(right, &targets)?,
        ))
    }

    /// `plan` with its columns cast to `targets` (a projection only if some type differs).
    fn cast_columns(
        &self,
        plan: LogicalPlan,
        targets: &[arrow_schema::DataType],
    ) -> Result<LogicalPlan> {
        let schema = plan.schema();
        let differs = schema
            .fields()
            .iter()
            .zip(targets)
            .any(|(f, t)| f.data_type() != t);
        if !differs {
            return Ok(plan);
        }
        let exprs = schema
            .columns()
            .into_iter()
            .zip(schema.fields().iter())
            .zip(targets)
            .map(|((column, field), target)| {
                let name = column.name.clone();
                match cast_if_needed(Expr::Column(column), field.data_type(), target) {
                    Expr::Column(c) => Expr::Column(c),
                    cast => cast.alias(name),
                }
            })
            .collect();
        Ok(LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(plan),
            self.registry,
        )?))
    }

    fn bind_values(&self, values: &ast::Values) -> Result<LogicalPlan> {
        let empty = DFSchema::empty();
        let scope = Scope::plain(&empty);
        let rows = values
            .rows
            .iter()
            .map(|row| {
                row.content
                    .iter()
                    .map(|e| self.bind_expr(e, &scope))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let width = rows.first().map_or(0, Vec::len);
        let mut columns: Vec<Vec<Expr>> = vec![Vec::with_capacity(rows.len()); width];
        for row in rows {
            if row.len() != width {
                return Err(PlanError::invalid(format!(
                    "VALUES rows have {width} and {} columns",
                    row.len()
                )));
            }
            for (column, value) in columns.iter_mut().zip(row) {
                column.push(value);
            }
        }
        let columns = columns
            .into_iter()
            .map(|column| self.coercion(&scope).common(column, false))
            .collect::<Result<Vec<_>>>()?;
        let height = columns.first().map_or(0, Vec::len);
        let mut rows: Vec<Vec<Expr>> = vec![Vec::with_capacity(width); height];
        for column in columns {
            for (row, value) in rows.iter_mut().zip(column) {
                row.push(value);
            }
        }
        Ok(LogicalPlan::Values(Values::try_new(rows, self.registry)?))
    }
}

/// `left UNION ALL right` over inputs of equal column types; nested unions are flattened.
fn union(left: LogicalPlan, right: LogicalPlan) -> Result<LogicalPlan> {
    let mut inputs = Vec::new();
    for side in [left, right] {
        match side {
            LogicalPlan::Union(inner) => inputs.extend(inner.inputs),
            other => inputs.push(Arc::new(other)),
        }
    }
    Ok(LogicalPlan::Union(Union::try_new(inputs)?))
}
