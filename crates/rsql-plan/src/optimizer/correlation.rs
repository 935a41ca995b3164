//! Shared by the subquery rules: pulls the correlated conditions of a subquery (conjuncts that
//! read columns of the enclosing query) up to its root, so the subquery becomes a plain plan
//! and the conditions become the condition of a join with the enclosing query, as Spark's
//! `PullupCorrelatedPredicates` and DataFusion's `PullUpCorrelatedExpr` do.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, JoinType};

use crate::error::{PlanError, Position, Result};
use crate::expr::{Expr, Operator, Subquery, column_refs, conjunction, split_conjunction};
use crate::function::FunctionRegistry;
use crate::plan::{Aggregate, Filter, Join, LogicalPlan, Projection, SubqueryAlias};

/// A subquery whose correlated conditions were pulled up to its root.
pub(super) struct Decorrelated {
    /// The subquery without correlated conditions; its output starts with the subquery's own
    /// columns, followed by any columns the conditions need.
    pub plan: LogicalPlan,
    /// The conditions, over `plan`'s output and the enclosing query's columns (still
    /// [`Expr::OuterColumn`]s).
    pub conditions: Vec<Expr>,
    /// Whether an aggregate without `GROUP BY` was grouped by correlated columns to pull the
    /// conditions through it (its groups then exist only for matching outer rows).
    pub grouped_scalar_aggregate: bool,
}

/// What may stand between the root of a subquery and its correlated conditions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    /// `EXISTS` / `IN`: duplicates and row counts do not matter.
    Predicate,
    /// A scalar subquery: its value per outer row.
    Scalar,
}

/// Pulls every correlated condition of `subquery` up to its root.
pub(super) fn decorrelate(
    subquery: &Subquery,
    context: Context,
    registry: &FunctionRegistry,
) -> Result<Decorrelated> {
    let mut puller = PullUp {
        subquery,
        context,
        registry,
        grouped_scalar_aggregate: false,
    };
    let (plan, conditions) = puller.pull(&subquery.plan)?;
    if let Some(outer) = first_outer_reference(&plan) {
        return Err(PlanError::NotSupported {
            construct: format!(
                "the correlated reference to {} in the subquery ({}): only conditions in its \
                 WHERE clause may read the enclosing query",
                outer.flat_name(),
                subquery.sql
            ),
            position: outer.spans().first().map(|span| Position {
                line: span.start.line,
                column: span.start.column,
            }),
        });
    }
    Ok(Decorrelated {
        plan,
        conditions,
        grouped_scalar_aggregate: puller.grouped_scalar_aggregate,
    })
}

/// The first outer reference left anywhere in `plan`.
fn first_outer_reference(plan: &LogicalPlan) -> Option<Column> {
    let mut found = None;
    let _ = plan.apply(|node| {
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                if let Expr::OuterColumn { column, .. } = e {
                    found.get_or_insert_with(|| column.clone());
                }
                Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
            });
        }
        Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
    });
    found
}

/// `outer(c)` references replaced by plain columns `c` (once the subquery is joined to the
/// enclosing query, they are columns of the join's other side).
pub(super) fn outer_to_columns(expr: Expr) -> Result<Expr> {
    expr.transform_up(|e| match e {
        Expr::OuterColumn { column, .. } => Ok(Transformed::yes(Expr::Column(column))),
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
    .map_err(PlanError::from_datafusion)
}

/// `inner = outer` with the inner side reading only the subquery and the outer side only
/// outer references: the pair (inner, outer).
pub(super) fn correlated_equality(condition: &Expr) -> Option<(&Expr, &Expr)> {
    let Expr::BinaryExpr {
        left,
        op: Operator::Eq,
        right,
    } = condition
    else {
        return None;
    };
    let inner_only = |e: &Expr| !e.contains_outer_column() && !column_refs(e).is_empty();
    let outer_only = |e: &Expr| e.contains_outer_column() && column_refs(e).is_empty();
    if inner_only(left) && outer_only(right) {
        Some((left, right))
    } else if inner_only(right) && outer_only(left) {
        Some((right, left))
    } else {
        None
    }
}

struct PullUp<'a> {
    subquery: &'a Subquery,
    context: Context,
    registry: &'a FunctionRegistry,
    grouped_scalar_aggregate: bool,
}

impl PullUp<'_> {
    fn unsupported(&self, what: &str) -> PlanError {
        PlanError::not_supported(format!(
            "{what} in the correlated subquery ({})",
            self.subquery.sql
        ))
    }

    /// `plan` without its correlated conditions, and those conditions over its output.
    fn pull(&mut self, plan: &LogicalPlan) -> Result<(LogicalPlan, Vec<Expr>)> {
        if !plan.references_outer_columns() {
            return Ok((plan.clone(), Vec::new()));
        }
        match plan {
            LogicalPlan::Filter(filter) => {
                let (input, mut conditions) = self.pull(&filter.input)?;
                let mut kept = Vec::new();
                for conjunct in split_conjunction(&filter.predicate) {
                    if conjunct.contains_outer_column() {
                        conditions.push(conjunct.clone());
                    } else {
                        kept.push(conjunct.clone());
                    }
                }
                let plan = match conjunction(kept) {
                    Some(predicate) => LogicalPlan::Filter(Filter::try_new(
                        predicate,
                        Arc::new(input),
                        self.registry,
                    )?),
                    None => input,
                };
                Ok((plan, conditions))
            }
            LogicalPlan::Projection(projection) => {
                let (input, conditions) = self.pull(&projection.input)?;
                let mut exprs = projection.exprs.clone();
                let mut renamed = Vec::new();
                for column in conditions.iter().flat_map(column_refs) {
                    let expr = Expr::Column(column.clone());
                    if exprs.contains(&expr) || renamed.iter().any(|(c, _)| *c == column) {
                        continue;
                    }
                    // Beside an unqualified output of the same name (`SELECT 1 AS k FROM t
                    // WHERE t.k = outer.k`) the column would make the schema ambiguous: it
                    // passes under a fresh name.
                    let clashes = projection.schema.iter().any(|(qualifier, field)| {
                        qualifier.is_none() && *field.name() == column.name
                    });
                    if clashes {
                        let alias = format!("__corr_{}", exprs.len());
                        exprs.push(expr.alias(&alias));
                        renamed.push((column, Column::new_unqualified(alias)));
                    } else {
                        exprs.push(expr);
                    }
                }
                let conditions = conditions
                    .into_iter()
                    .map(|c| rename_columns(c, &renamed))
                    .collect::<Result<_>>()?;
                let plan = Projection::try_new(exprs, Arc::new(input), self.registry)?;
                Ok((LogicalPlan::Projection(plan), conditions))
            }
            LogicalPlan::SubqueryAlias(alias) => {
                let (input, conditions) = self.pull(&alias.input)?;
                let plan = SubqueryAlias::try_new(Arc::new(input), alias.alias.clone())?;
                let conditions = conditions
                    .into_iter()
                    .map(|c| requalify(c, plan.input.schema(), &plan.schema))
                    .collect::<Result<_>>()?;
                Ok((LogicalPlan::SubqueryAlias(plan), conditions))
            }
            LogicalPlan::Aggregate(aggregate) => {
                let (input, conditions) = self.pull(&aggregate.input)?;
                if conditions.is_empty() {
                    return Err(self.unsupported("a correlated aggregate argument"));
                }
                if aggregate.group_exprs.is_empty() {
                    if self.context == Context::Predicate {
                        return Err(
                            self.unsupported("an aggregate without GROUP BY under EXISTS or IN")
                        );
                    }
                    self.grouped_scalar_aggregate = true;
                }
                let mut groups = aggregate.group_exprs.clone();
                for condition in &conditions {
                    let Some((inner, _)) = correlated_equality(condition) else {
                        return Err(self.unsupported(&format!(
                            "the condition {condition} (only equalities can pass an aggregate)"
                        )));
                    };
                    for column in column_refs(inner) {
                        let column = Expr::Column(column);
                        if !groups.contains(&column) {
                            groups.push(column);
                        }
                    }
                }
                let plan = Aggregate::try_new(
                    Arc::new(input),
                    groups,
                    aggregate.aggr_exprs.clone(),
                    self.registry,
                )?;
                Ok((LogicalPlan::Aggregate(plan), conditions))
            }
            LogicalPlan::Distinct(_) | LogicalPlan::Sort(_) => {
                let (input, conditions) = self.pull(plan.inputs()[0])?;
                let plan = plan.with_new_inputs(vec![Arc::new(input)], self.registry)?;
                Ok((plan, conditions))
            }
            LogicalPlan::Join(join) if join.join_type == JoinType::Inner => {
                let (left, mut conditions) = self.pull(&join.left)?;
                let (right, right_conditions) = self.pull(&join.right)?;
                conditions.extend(right_conditions);
                let join = Join::try_new(
                    Arc::new(left),
                    Arc::new(right),
                    join.on.clone(),
                    join.filter.clone(),
                    join.join_type,
                )?;
                if join
                    .filter
                    .as_ref()
                    .is_some_and(Expr::contains_outer_column)
                {
                    return Err(self.unsupported("a correlated join condition"));
                }
                Ok((LogicalPlan::Join(join), conditions))
            }
            LogicalPlan::Limit(_) => Err(self.unsupported("LIMIT over a correlated condition")),
            _ => Err(self.unsupported("a correlated reference at this place")),
        }
    }
}

/// `expr` over `from`'s columns rewritten over `to`'s (a schema with the same fields in the
/// same order, qualified differently).
fn requalify(
    expr: Expr,
    from: &datafusion_common::DFSchema,
    to: &datafusion_common::DFSchema,
) -> Result<Expr> {
    expr.transform_up(|e| match &e {
        Expr::Column(column) => {
            match from.index_of_column_by_name(column.relation.as_ref(), &column.name) {
                Some(i) => {
                    let (qualifier, field) = to.qualified_field(i);
                    Ok(Transformed::yes(Expr::Column(Column::new(
                        qualifier.cloned(),
                        field.name(),
                    ))))
                }
                None => Ok(Transformed::no(e)),
            }
        }
        _ => Ok(Transformed::no(e)),
    })
    .map(|t| t.data)
    .map_err(PlanError::from_datafusion)
}

/// `expr` with every column of `renamed` replaced by its new name.
fn rename_columns(expr: Expr, renamed: &[(Column, Column)]) -> Result<Expr> {
    expr.transform_up(|e| match &e {
        Expr::Column(column) => match renamed.iter().find(|(old, _)| old == column) {
            Some((_, new)) => Ok(Transformed::yes(Expr::Column(new.clone()))),
            None => Ok(Transformed::no(e)),
        },
        _ => Ok(Transformed::no(e)),
    })
    .map(|t| t.data)
    .map_err(PlanError::from_datafusion)
}

/// The name of a fresh alias for a subquery joined into `outer`: `__sq_N`, with `N` above
/// every such alias already in `outer`.
pub(super) fn fresh_alias(outer: &LogicalPlan) -> String {
    let mut highest = 0;
    let _ = outer.apply(|node| {
        if let LogicalPlan::SubqueryAlias(alias) = node
            && let Some(n) = alias.alias.table().strip_prefix("__sq_")
            && let Ok(n) = n.parse::<usize>()
        {
            highest = highest.max(n);
        }
        Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
    });
    format!("__sq_{}", highest + 1)
}

/// `plan` aliased as `alias`, with `conditions` over its columns requalified to match.
pub(super) fn alias_with_conditions(
    plan: LogicalPlan,
    conditions: Vec<Expr>,
    alias: &str,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let aliased = SubqueryAlias::try_new(Arc::new(plan), alias)?;
    let conditions = conditions
        .into_iter()
        .map(|c| requalify(c, aliased.input.schema(), &aliased.schema))
        .collect::<Result<_>>()?;
    Ok((LogicalPlan::SubqueryAlias(aliased), conditions))
}
