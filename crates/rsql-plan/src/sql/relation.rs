//! Binding `FROM`: tables, views, CTEs, paths, subqueries and joins.

use std::sync::Arc;

use datafusion_common::{Column, JoinType};
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use super::ident::{find_column, unknown_column};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, split_conjunction};
use crate::optimizer::split_join_conditions;
use crate::plan::{
    EmptyRelation, FileFormatName, Join, LogicalPlan, PathRequest, Projection, SubqueryAlias,
    TableScan,
};
use crate::suggest;

impl SqlBinder<'_> {
    /// The cross product of the `FROM` items, or one empty row without `FROM`.
    pub(super) fn bind_from(&self, from: &[ast::TableWithJoins]) -> Result<LogicalPlan> {
        let mut plan: Option<LogicalPlan> = None;
        for item in from {
            // `FROM t, UNNEST(t.a)`: the arrays of the items to its left.
            if let ast::TableFactor::UNNEST { .. } = &item.relation
                && item.joins.is_empty()
            {
                let left =
                    plan.unwrap_or_else(|| LogicalPlan::EmptyRelation(EmptyRelation::new(true)));
                plan = Some(self.bind_unnest(left, &item.relation)?);
                continue;
            }
            let next = self.bind_table_with_joins(item)?;
            plan = Some(match plan {
                None => next,
                Some(left) => LogicalPlan::Join(Join::try_new(
                    Arc::new(left),
                    Arc::new(next),
                    vec![],
                    None,
                    JoinType::Inner,
                )?),
            });
        }
        Ok(plan.unwrap_or_else(|| LogicalPlan::EmptyRelation(EmptyRelation::new(true))))
    }

    fn bind_table_with_joins(&self, item: &ast::TableWithJoins) -> Result<LogicalPlan> {
        let mut plan = self.bind_table_factor(&item.relation)?;
        for join in &item.joins {
            if let ast::TableFactor::UNNEST { .. } = &join.relation
                && matches!(join.join_operator, ast::JoinOperator::CrossJoin(_))
            {
                plan = self.bind_unnest(plan, &join.relation)?;
                continue;
            }
            let right = self.bind_table_factor(&join.relation)?;
            plan = self
                .bind_join(plan, right, &join.join_operator)
                .map_err(|e| e.or_at(join.relation.span()))?;
        }
        Ok(plan)
    }

    fn alias(&self, plan: LogicalPlan, alias: Option<&ast::TableAlias>) -> Result<LogicalPlan> {
        match alias {
            None => Ok(plan),
            Some(alias) => self.aliased(plan, alias),
        }
    }

    /// `plan AS name` or `plan AS name(a, b, ..)`: the column list renames the columns in order.
    pub(super) fn aliased(
        &self,
        plan: LogicalPlan,
        alias: &ast::TableAlias,
    ) -> Result<LogicalPlan> {
        let plan = if alias.columns.is_empty() {
            plan
        } else {
            let columns = plan.schema().columns();
            if alias.columns.len() != columns.len() {
                return Err(PlanError::invalid(format!(
                    "the alias {} names {} columns but the relation has {}",
                    alias.name.value,
                    alias.columns.len(),
                    columns.len()
                ))
                .or_at(alias.name.span));
            }
            if let Some(typed) = alias.columns.iter().find(|c| c.data_type.is_some()) {
                return Err(PlanError::not_supported("typed column aliases").or_at(typed.name.span));
            }
            let exprs = columns
                .into_iter()
                .zip(&alias.columns)
                .map(|(column, name)| Expr::Column(column).alias(name.name.value.clone()))
                .collect();
            LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(plan), self.registry)?)
        };
        Ok(LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(
            Arc::new(plan),
            alias.name.value.as_str(),
        )?))
    }

    fn bind_table_factor(&self, factor: &ast::TableFactor) -> Result<LogicalPlan> {
        match factor {
            ast::TableFactor::Table {
                name,
                alias,
                args: None,
                with_hints,
                version: None,
                partitions,
                ..
            } if with_hints.is_empty() && partitions.is_empty() => {
                let plan = self.bind_table_name(name)?;
                self.alias(plan, alias.as_ref())
            }
            ast::TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_hints,
                version: None,
                partitions,
                ..
            } if with_hints.is_empty() && partitions.is_empty() => {
                let plan = self.bind_table_function(name, args)?;
                self.alias(plan, alias.as_ref())
            }
            ast::TableFactor::Derived {
                lateral: false,
                subquery,
                alias,
                ..
            } => {
                let plan = self.bind_query(subquery)?;
                self.alias(plan, alias.as_ref())
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let plan = self.bind_table_with_joins(table_with_joins)?;
                self.alias(plan, alias.as_ref())
            }
            other => Err(
                PlanError::not_supported(format!("the FROM item {}", sql_text(other)))
                    .or_at(other.span()),
            ),
        }
    }

    fn cte(&self, name: &str) -> Option<LogicalPlan> {
        let key = name.to_lowercase();
        self.ctes
            .borrow()
            .iter()
            .rev()
            .find_map(|frame| frame.get(&key).cloned())
    }

    /// The name a path-backed scan is qualified by: its last segment (`s3://b/events/` is
    /// `events`).
    fn path_name(path: &str) -> &str {
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(path)
    }

    pub(super) fn scan(
        &self,
        name: &str,
        source: crate::plan::TableSourceRef,
    ) -> Result<LogicalPlan> {
        Ok(LogicalPlan::TableScan(TableScan::try_new(
            name,
            source,
            None,
            vec![],
            None,
        )?))
    }

    /// A scan of the files `request` names, qualified by the last segment of its path.
    fn path_scan(
        &self,
        request: &PathRequest,
        span: sqlparser::tokenizer::Span,
    ) -> Result<LogicalPlan> {
        let source = self
            .catalog
            .resolve_path(request)
            .map_err(|e| e.or_at(span))?;
        self.scan(Self::path_name(request.first_path()), source)
    }

    /// A CTE, a view, a registered table, `'path'`, or `format.\`path\``.
    pub(super) fn bind_table_name(&self, name: &ast::ObjectName) -> Result<LogicalPlan> {
        let idents: Vec<&ast::Ident> = name
            .0
            .iter()
            .map(|part| match part {
                ast::ObjectNamePart::Identifier(ident) => Ok(ident),
                _ => Err(PlanError::not_supported(format!("the table name {name}"))),
            })
            .collect::<Result<_>>()?;
        let span = name.span();
        match idents.as_slice() {
            [path] if path.quote_style == Some('\'') => {
                let request = PathRequest::new(path.value.as_str(), None);
                self.path_scan(&request, span)
            }
            [format, path]
                if path.quote_style.is_some()
                    && FileFormatName::from_name(&format.value).is_some() =>
            {
                let format = FileFormatName::from_name(&format.value);
                let request = PathRequest::new(path.value.as_str(), format);
                self.path_scan(&request, span)
            }
            _ => {
                let parts: Vec<&str> = idents.iter().map(|i| i.value.as_str()).collect();
                let table = parts.join(".");
                if let Some(plan) = self.cte(&table) {
                    return Ok(plan);
                }
                if let Some(plan) = self.catalog.view(&table).map_err(|e| e.or_at(span))? {
                    return Ok(LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(
                        Arc::new(plan),
                        table.as_str(),
                    )?));
                }
                match self.catalog.open_table(&table).map_err(|e| e.or_at(span))? {
                    Some(source) => self.scan(&table, source),
                    None => {
                        let mut names = self.catalog.table_names();
                        names.extend(self.ctes.borrow().iter().flat_map(|f| f.keys().cloned()));
                        Err(PlanError::UnknownTable {
                            suggestions: suggest::closest(&table, names.iter().map(String::as_str)),
                            name: table,
                            position: None,
                        }
                        .or_at(span))
                    }
                }
            }
        }
    }

    fn bind_join(
        &self,
        left: LogicalPlan,
        right: LogicalPlan,
        operator: &ast::JoinOperator,
    ) -> Result<LogicalPlan> {
        use ast::JoinOperator as J;
        let (join_type, constraint) = match operator {
            J::Join(c) | J::Inner(c) => (JoinType::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinType::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinType::Right, c),
            J::FullOuter(c) => (JoinType::Full, c),
            J::CrossJoin(c @ ast::JoinConstraint::None) => (JoinType::Inner, c),
            J::Semi(c) | J::LeftSemi(c) => (JoinType::LeftSemi, c),
            J::Anti(c) | J::LeftAnti(c) => (JoinType::LeftAnti, c),
            _ => {
                return Err(PlanError::not_supported(
                    "this kind of join (the joins are [INNER], LEFT, RIGHT and FULL [OUTER], \
                     CROSS, LEFT SEMI and LEFT ANTI)",
                ));
            }
        };
        let (left, right) = (Arc::new(left), Arc::new(right));
        match constraint {
            ast::JoinConstraint::None => Ok(LogicalPlan::Join(Join::try_new(
                left,
                right,
                vec![],
                None,
                join_type,
            )?)),
            ast::JoinConstraint::On(on) => self.bind_join_on(left, right, on, join_type),
            ast::JoinConstraint::Using(names) => {
                let idents = names
                    .iter()
                    .map(|name| match name.0.as_slice() {
                        [ast::ObjectNamePart::Identifier(ident)] => Ok(ident.clone()),
                        _ => Err(PlanError::not_supported(format!("USING ({name})"))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                self.bind_join_using(left, right, &idents, join_type)
            }
            ast::JoinConstraint::Natural => {
                let idents = natural_keys(&left, &right);
                self.bind_join_using(left, right, &idents, join_type)
            }
        }
    }

    /// `ON a = b AND ...`: equalities between one side and the other become join keys, the rest
    /// the join filter.
    fn bind_join_on(
        &self,
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        on: &ast::Expr,
        join_type: JoinType,
    ) -> Result<LogicalPlan> {
        // The condition sees both sides, also for semi and anti joins, which output the left.
        let both = Join::try_new(
            Arc::clone(&left),
            Arc::clone(&right),
            vec![],
            None,
            JoinType::Inner,
        )?;
        let scope = Scope::plain(&both.schema);
        let condition = self.bind_expr(on, &scope)?;
        let condition = self
            .coercion(&scope)
            .boolean(condition)
            .map_err(|e| e.or_at(on.span()))?;
        let conjuncts = split_conjunction(&condition).into_iter().cloned();
        let (keys, rest) = split_join_conditions(conjuncts, &left, &right);
        Ok(LogicalPlan::Join(Join::try_new(
            left, right, keys, rest, join_type,
        )?))
    }

    /// `USING (k, ..)` (and `NATURAL`, over the shared names): join on `left.k = right.k`, then
    /// project each `k` once (first; the coalesce of both sides for a full join, the right
    /// side's for a right join) followed by the other columns of both sides, as Spark does.
    fn bind_join_using(
        &self,
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        names: &[ast::Ident],
        join_type: JoinType,
    ) -> Result<LogicalPlan> {
        let mut keys: Vec<(Column, Column)> = Vec::new();
        for ident in names {
            let side = |plan: &LogicalPlan| -> Result<Column> {
                find_column(plan.schema(), None, &ident.value, ident.span)?.ok_or_else(|| {
                    unknown_column(plan.schema(), None, &ident.value, &[], ident.span)
                })
            };
            keys.push((side(&left)?, side(&right)?));
        }
        let on = keys
            .iter()
            .map(|(l, r)| (Expr::Column(l.clone()), Expr::Column(r.clone())))
            .collect();
        let join = LogicalPlan::Join(Join::try_new(
            Arc::clone(&left),
            Arc::clone(&right),
            on,
            None,
            join_type,
        )?);
        let scope = Scope::plain(join.schema());
        let mut exprs = Vec::new();
        for (l, r) in &keys {
            exprs.push(match join_type {
                JoinType::Right => Expr::Column(r.clone()),
                JoinType::Full => self
                    .coercion(&scope)
                    .scalar_call(
                        "coalesce",
                        vec![Expr::Column(l.clone()), Expr::Column(r.clone())],
                    )?
                    .alias(l.name.clone()),
                _ => Expr::Column(l.clone()),
            });
        }
        let is_key = |c: &Column| keys.iter().any(|(l, r)| c == l || c == r);
        exprs.extend(
            join.schema()
                .columns()
                .into_iter()
                .filter(|c| !is_key(c))
                .map(Expr::Column),
        );
        Ok(LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(join),
            self.registry,
        )?))
    }
}

/// The column names of a `NATURAL` join: those of the left input, in its order, that the right
/// input has too (compared case-insensitively, as Spark's default resolver does); none makes it
/// a cross join.
fn natural_keys(left: &LogicalPlan, right: &LogicalPlan) -> Vec<ast::Ident> {
    let right_fields = right.schema().fields();
    let mut names: Vec<ast::Ident> = Vec::new();
    for field in left.schema().fields() {
        let name = field.name();
        let shared = right_fields
            .iter()
            .any(|f| f.name().eq_ignore_ascii_case(name));
        if shared && !names.iter().any(|n| n.value.eq_ignore_ascii_case(name)) {
            names.push(ast::Ident::new(name.as_str()));
        }
    }
    names
}
