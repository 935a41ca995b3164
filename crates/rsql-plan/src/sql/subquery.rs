//! Binding subqueries inside expressions: `(SELECT ..)`, `x [NOT] IN (SELECT ..)` and
//! `[NOT] EXISTS (SELECT ..)`. A subquery sees the columns of the queries around it: a name it
//! cannot resolve itself binds to the innermost enclosing query that has it, as an
//! [`Expr::OuterColumn`].

use std::sync::Arc;

use sqlparser::ast;
use sqlparser::tokenizer::Span;

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use super::ident::{find_column, has_relation};
use crate::coercion::{cast_for_comparison, common_type, value_type};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, Subquery, lookup_column};
use crate::plan::{LogicalPlan, Projection};

impl SqlBinder<'_> {
    /// Binds `query` as a subquery of an expression over `scope`.
    pub(super) fn bind_subquery(&self, query: &ast::Query, scope: &Scope) -> Result<Subquery> {
        self.outer.borrow_mut().push(Arc::new(scope.schema.clone()));
        let plan = self.bind_query(query);
        self.outer.borrow_mut().pop();
        Ok(Subquery {
            plan: Arc::new(plan?),
            sql: sql_text(query),
        })
    }

    /// `(SELECT ..)` as a value; it must return one column.
    pub(super) fn bind_scalar_subquery(&self, query: &ast::Query, scope: &Scope) -> Result<Expr> {
        let subquery = self.bind_subquery(query, scope)?;
        one_column(&subquery)?;
        Ok(Expr::ScalarSubquery(subquery))
    }

    /// `expr [NOT] IN (SELECT ..)`: the value and the subquery's one column are compared at
    /// the type both meet at.
    pub(super) fn bind_in_subquery(
        &self,
        expr: &ast::Expr,
        query: &ast::Query,
        negated: bool,
        scope: &Scope,
    ) -> Result<Expr> {
        let value = self.bind_expr(expr, scope)?;
        let mut subquery = self.bind_subquery(query, scope)?;
        let column_type = one_column(&subquery)?;
        let value_type_ = self.type_of(&value, scope)?;
        let common =
            common_type(value_type(&value_type_), value_type(&column_type)).ok_or_else(|| {
                PlanError::type_mismatch(format!(
                    "cannot compare {value} ({value_type_}) with the subquery ({}) of type \
                     {column_type}",
                    subquery.sql
                ))
            })?;
        let value = cast_for_comparison(value, &value_type_, &common);
        if value_type(&column_type) != &common {
            let plan = Arc::clone(&subquery.plan);
            let column = Expr::Column(plan.schema().columns().remove(0));
            let name = column.output_name();
            let cast = cast_for_comparison(column, &column_type, &common).alias(name);
            subquery.plan = Arc::new(LogicalPlan::Projection(Projection::try_new(
                vec![cast],
                plan,
                self.registry,
            )?));
        }
        Ok(Expr::InSubquery {
            expr: Box::new(value),
            subquery,
            negated,
        })
    }

    /// `[NOT] EXISTS (SELECT ..)`.
    pub(super) fn bind_exists(
        &self,
        query: &ast::Query,
        negated: bool,
        scope: &Scope,
    ) -> Result<Expr> {
        Ok(Expr::Exists {
            subquery: self.bind_subquery(query, scope)?,
            negated,
        })
    }

    /// The column `qualifier.name` of the innermost enclosing query that has it, as an outer
    /// reference; `None` outside subqueries or when no enclosing query has it.
    pub(super) fn outer_column(
        &self,
        qualifier: Option<&str>,
        name: &str,
        span: Span,
    ) -> Result<Option<Expr>> {
        for schema in self.outer.borrow().iter().rev() {
            if qualifier.is_some_and(|q| !has_relation(schema, q)) {
                continue;
            }
            if let Some(column) = find_column(schema, qualifier, name, span)? {
                let data_type = lookup_column(schema, &column)?.1.data_type().clone();
                return Ok(Some(Expr::OuterColumn { column, data_type }));
            }
        }
        Ok(None)
    }
}

/// The type of the one column `subquery` returns, or an error naming it.
fn one_column(subquery: &Subquery) -> Result<arrow_schema::DataType> {
    let fields = subquery.plan.schema().fields();
    match fields.len() {
        1 => Ok(fields[0].data_type().clone()),
        n => Err(PlanError::invalid(format!(
            "the subquery ({}) must return one column, not {n}",
            subquery.sql
        ))),
    }
}
