//! Binding one `SELECT`: the select list, `WHERE`, `GROUP BY`, `HAVING`, `DISTINCT` and its
//! `ORDER BY`. Aggregate calls are pulled out into an `Aggregate` node and the expressions above
//! it refer to its output columns by name, as DataFusion does.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{Column, DFSchema};
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use super::grouping_sets::{
    Grouping, GroupingIds, check_no_grouping_in_aggregates, is_grouping_call,
};
use super::query::{order_keys, ordinal, ordinal_index, sort_options};
use crate::error::{PlanError, Position, Result};
use crate::expr::{Expr, SortExpr, column_refs, lookup_column, subqueries};
use crate::plan::{
    Aggregate, Distinct, Expand, Filter, GROUPING_ID_COLUMN, LogicalPlan, Projection, Sort, Window,
    grouping_key_column, is_generator, plan_generator,
};

/// The name of an unaliased select item as Spark and DuckDB name it: the SQL as written, an
/// operation in parentheses (`1`, `sum(x)`, `(a + b)`).
fn written_name(expr: &ast::Expr) -> String {
    match expr {
        ast::Expr::BinaryOp { .. } | ast::Expr::UnaryOp { .. } => format!("({expr})"),
        other => other.to_string(),
    }
}

/// An `ORDER BY` key of a SELECT: an output column, or an expression over the input.
enum OrderKey {
    Output(usize),
    Input(Expr),
}

/// The `ORDER BY` keys of a SELECT with their direction and null placement.
type OrderKeys = Vec<(OrderKey, bool, bool)>;

fn unsupported_select(select: &ast::Select) -> Option<&'static str> {
    Some(if matches!(select.distinct, Some(ast::Distinct::On(_))) {
        "DISTINCT ON"
    } else if select.top.is_some() {
        "TOP"
    } else if select.into.is_some() {
        "SELECT INTO"
    } else if select.prewhere.is_some() {
        "PREWHERE"
    } else if !select.connect_by.is_empty() {
        "CONNECT BY"
    } else if !select.cluster_by.is_empty() {
        "CLUSTER BY"
    } else if !select.distribute_by.is_empty() {
        "DISTRIBUTE BY"
    } else if !select.sort_by.is_empty() {
        "SORT BY"
    } else if select.value_table_mode.is_some() {
        "SELECT AS VALUE/STRUCT"
    } else if select.exclude.is_some() {
        "SELECT * EXCLUDE"
    } else if !matches!(select.flavor, ast::SelectFlavor::Standard) {
        "FROM-first SELECT"
    } else {
        return None;
    })
}

fn plain_wildcard(options: &ast::WildcardAdditionalOptions) -> Result<()> {
    if options.opt_ilike.is_some()
        || options.opt_exclude.is_some()
        || options.opt_except.is_some()
        || options.opt_replace.is_some()
        || options.opt_rename.is_some()
        || options.opt_alias.is_some()
    {
        return Err(PlanError::not_supported(
            "wildcard modifiers (EXCEPT, REPLACE, ...)",
        ));
    }
    Ok(())
}

/// The distinct calls in `exprs` that `is_call` picks, in first-seen order (not looking inside
/// them).
pub(super) fn collect_calls<'e>(
    exprs: impl IntoIterator<Item = &'e Expr>,
    is_call: impl Fn(&Expr) -> bool,
) -> Vec<Expr> {
    let mut found: Vec<Expr> = Vec::new();
    for expr in exprs {
        // The closure never fails.
        let _ = expr.apply(|e| {
            if is_call(e) {
                if !found.contains(e) {
                    found.push(e.clone());
                }
                return Ok(TreeNodeRecursion::Jump);
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
    found
}

/// The distinct aggregate calls in `exprs` (those inside window calls too).
fn collect_aggregates<'e>(exprs: impl IntoIterator<Item = &'e Expr>) -> Vec<Expr> {
    collect_calls(exprs, |e| matches!(e, Expr::AggregateFunction { .. }))
}

/// The distinct window calls in `exprs`.
fn collect_windows<'e>(exprs: impl IntoIterator<Item = &'e Expr>) -> Vec<Expr> {
    collect_calls(exprs, |e| matches!(e, Expr::WindowFunction(_)))
}

/// Replaces the `calls` in `expr` by the columns `schema` computes them in (`offset` is the
/// position of the first call's column).
fn replace_calls(expr: Expr, calls: &[Expr], schema: &DFSchema, offset: usize) -> Result<Expr> {
    expr.transform_down(|e| {
        Ok(match calls.iter().position(|c| c == &e) {
            Some(i) => {
                let (qualifier, field) = schema.qualified_field(offset + i);
                let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
                Transformed::new(column, true, TreeNodeRecursion::Jump)
            }
            None => Transformed::no(e),
        })
    })
    .map(|t| t.data)
    .map_err(PlanError::from_datafusion)
}

/// `exprs` aliased where two would produce the same output name (the later ones take their
/// qualified text, e.g. `count(u.a)`).
fn distinct_names(exprs: &[Expr], taken: &mut Vec<String>) -> Vec<Expr> {
    exprs
        .iter()
        .map(|e| {
            let name = e.output_name();
            if taken.contains(&name) {
                let qualified = e.to_string();
                taken.push(qualified.clone());
                e.clone().alias(qualified)
            } else {
                taken.push(name);
                e.clone()
            }
        })
        .collect()
}

/// What the expressions above an aggregation read of it.
struct AggregateOutput<'a> {
    /// The group keys, over the aggregation's input (the SELECT's).
    groups: &'a [Expr],
    /// The aggregate calls.
    aggregates: &'a [Expr],
    /// Resolves `grouping()` calls.
    grouping: GroupingIds<'a>,
    /// The aggregation's output: a field per group key, the grouping set number with grouping
    /// sets, then a field per aggregate call.
    schema: &'a DFSchema,
}

impl AggregateOutput<'_> {
    /// `expr` with group keys and aggregate calls replaced by references to the aggregate's
    /// fields, and `grouping()` calls by their values.
    fn rewrite(&self, expr: Expr) -> Result<Expr> {
        let field_ref = |index: usize| {
            let (qualifier, field) = self.schema.qualified_field(index);
            Expr::Column(Column::new(qualifier.cloned(), field.name()))
        };
        let aggregate_offset = self.schema.fields().len() - self.aggregates.len();
        let rewritten = expr.transform_down(|e| {
            if let Expr::ScalarFunction { name, args } = &e
                && is_grouping_call(&e)
            {
                let value = self
                    .grouping
                    .resolve(name, args)
                    .map_err(|err| datafusion_common::DataFusionError::External(Box::new(err)))?;
                return Ok(Transformed::new(value, true, TreeNodeRecursion::Jump));
            }
            if let Some(i) = self.groups.iter().position(|g| g == &e) {
                return Ok(Transformed::new(
                    field_ref(i),
                    true,
                    TreeNodeRecursion::Jump,
                ));
            }
            if let Some(j) = self.aggregates.iter().position(|a| a == &e) {
                let reference = field_ref(aggregate_offset + j);
                return Ok(Transformed::new(reference, true, TreeNodeRecursion::Jump));
            }
            Ok(Transformed::no(e))
        });
        let rewritten = rewritten
            .map(|t| t.data)
            .map_err(PlanError::from_datafusion)?;
        check_grouped(&rewritten, self.schema)?;
        Ok(rewritten)
    }
}

/// Fails if `expr` (already rewritten over the aggregate) still reads an input column, itself
/// or from a subquery it correlates with.
fn check_grouped(expr: &Expr, schema: &DFSchema) -> Result<()> {
    let correlated = subqueries(expr)
        .into_iter()
        .flat_map(|subquery| outer_columns(&subquery.plan));
    for column in column_refs(expr).into_iter().chain(correlated) {
        if lookup_column(schema, &column).is_err() {
            let position = column.spans().first().map(|s| Position {
                line: s.start.line,
                column: s.start.column,
            });
            return Err(PlanError::Invalid {
                message: format!(
                    "column '{}' must appear in GROUP BY or be used in an aggregate function",
                    column.flat_name()
                ),
                position,
            });
        }
    }
    Ok(())
}

/// The columns of the enclosing query that `plan` reads (its own `outer(..)` references, not
/// those of subqueries nested in it, which may refer to `plan` itself).
fn outer_columns(plan: &LogicalPlan) -> Vec<Column> {
    let mut found = Vec::new();
    // The closures never fail.
    let _ = plan.apply(|node| {
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                if let Expr::OuterColumn { column, .. } = e {
                    found.push(column.clone());
                }
                Ok(TreeNodeRecursion::Continue)
            });
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

impl SqlBinder<'_> {
    fn bind_select_items(&self, select: &ast::Select, scope: &Scope) -> Result<Vec<Expr>> {
        let mut items = Vec::with_capacity(select.projection.len());
        for item in &select.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let bound = self.bind_expr(e, scope)?;
                    items.push(match bound {
                        Expr::Column(_) => bound,
                        // Spark names explode's columns `col`, `pos`, `key`, `value`.
                        Expr::ScalarFunction { ref name, .. }
                            if is_generator(name) && !name.eq_ignore_ascii_case("unnest") =>
                        {
                            bound
                        }
                        other => other.with_output_name(&written_name(e)),
                    });
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    items.push(self.bind_expr(expr, scope)?.alias(alias.value.clone()))
                }
                ast::SelectItem::Wildcard(options) => {
                    plain_wildcard(options)?;
                    items.extend(scope.schema.columns().into_iter().map(Expr::Column));
                }
                ast::SelectItem::QualifiedWildcard(kind, options) => {
                    plain_wildcard(options)?;
                    let ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(PlanError::not_supported(sql_text(item)));
                    };
                    let relation = name.to_string().replace('`', "");
                    let columns: Vec<Column> = scope
                        .schema
                        .iter()
                        .filter(|(q, _)| {
                            q.is_some_and(|q| q.to_string().eq_ignore_ascii_case(&relation))
                        })
                        .map(|(q, f)| Column::new(q.cloned(), f.name()))
                        .collect();
                    if columns.is_empty() {
                        return Err(PlanError::UnknownTable {
                            name: relation,
                            position: None,
                            suggestions: vec![],
                        }
                        .or_at(name.span()));
                    }
                    items.extend(columns.into_iter().map(Expr::Column));
                }
                ast::SelectItem::ExprWithAliases { .. } => {
                    return Err(PlanError::not_supported(
                        "multiple aliases for one expression",
                    ));
                }
            }
        }
        Ok(items)
    }

    fn bind_order_keys(
        &self,
        order_by: Option<&ast::OrderBy>,
        items: &[Expr],
        scope: &Scope,
    ) -> Result<Vec<(OrderKey, bool, bool)>> {
        let Some(order_by) = order_by else {
            return Ok(vec![]);
        };
        let mut keys = Vec::new();
        for key in order_keys(order_by)? {
            let (asc, nulls_first) = sort_options(key)?;
            let by_name = |name: &str| {
                items
                    .iter()
                    .position(|i| i.output_name() == name)
                    .or_else(|| {
                        items
                            .iter()
                            .position(|i| i.output_name().eq_ignore_ascii_case(name))
                    })
            };
            let bound = match &key.expr {
                e if ordinal(e).is_some() => {
                    let position = ordinal(e).unwrap_or_default();
                    OrderKey::Output(
                        ordinal_index(position, items.len(), "ORDER BY")
                            .map_err(|err| err.or_at(e.span()))?,
                    )
                }
                ast::Expr::Identifier(ident) if by_name(&ident.value).is_some() => {
                    OrderKey::Output(by_name(&ident.value).unwrap_or_default())
                }
                e => OrderKey::Input(self.bind_expr(e, scope)?),
            };
            keys.push((bound, asc, nulls_first));
        }
        Ok(keys)
    }

    /// `plan` under a `Window` node computing the window calls of `items`, `qualify` and the
    /// `keys`, and those with the calls replaced by its columns.
    fn bind_windows(
        &self,
        plan: LogicalPlan,
        items: Vec<Expr>,
        qualify: Option<Expr>,
        keys: OrderKeys,
    ) -> Result<(LogicalPlan, Vec<Expr>, Option<Expr>, OrderKeys)> {
        let order_inputs = keys.iter().filter_map(|(k, _, _)| match k {
            OrderKey::Input(e) => Some(e),
            OrderKey::Output(_) => None,
        });
        let windows = collect_windows(items.iter().chain(qualify.iter()).chain(order_inputs));
        if windows.is_empty() {
            return Ok((plan, items, qualify, keys));
        }
        let input = Arc::new(plan);
        let offset = input.schema().fields().len();
        let mut taken: Vec<String> = input
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let window_exprs = distinct_names(&windows, &mut taken);
        let window = Window::try_new(input, window_exprs, self.registry)?;
        let schema = Arc::clone(&window.schema);
        let replace = |e: Expr| replace_calls(e, &windows, &schema, offset);
        let items = items.into_iter().map(replace).collect::<Result<Vec<_>>>()?;
        let qualify = qualify.map(replace).transpose()?;
        let keys = keys
            .into_iter()
            .map(|(k, asc, nulls)| {
                Ok(match k {
                    OrderKey::Input(e) => (OrderKey::Input(replace(e)?), asc, nulls),
                    output => (output, asc, nulls),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((LogicalPlan::Window(window), items, qualify, keys))
    }

    /// The aggregation of `input` by `grouping` computing `aggregates`, and, with grouping
    /// sets, the column of its output numbering the set each row belongs to. Grouping sets
    /// aggregate over an [`Expand`] of the input, grouped by its key columns and set number.
    fn aggregate_node(
        &self,
        input: LogicalPlan,
        grouping: &Grouping,
        aggregates: &[Expr],
    ) -> Result<(Aggregate, Option<Expr>)> {
        let mut taken = Vec::new();
        let key_exprs = distinct_names(&grouping.keys, &mut taken);
        let (input, group_exprs, set_number) = match &grouping.sets {
            None => (input, key_exprs, None),
            Some(sets) => {
                let expand = Expand::try_new(
                    Arc::new(input),
                    grouping.keys.clone(),
                    sets.clone(),
                    self.registry,
                )?;
                let mut group_exprs: Vec<Expr> = key_exprs
                    .iter()
                    .enumerate()
                    .map(|(i, key)| {
                        Expr::Column(Column::from_name(grouping_key_column(i)))
                            .alias(key.output_name())
                    })
                    .collect();
                let set_number = Expr::Column(Column::from_name(GROUPING_ID_COLUMN));
                group_exprs.push(set_number.clone());
                taken.push(GROUPING_ID_COLUMN.to_string());
                (LogicalPlan::Expand(expand), group_exprs, Some(set_number))
            }
        };
        let aggr_exprs = distinct_names(aggregates, &mut taken);
        let aggregate =
            Aggregate::try_new(Arc::new(input), group_exprs, aggr_exprs, self.registry)?;
        Ok((aggregate, set_number))
    }

    /// Binds a SELECT and, if given, the ORDER BY of the query around it.
    pub(super) fn bind_select(
        &self,
        select: &ast::Select,
        order_by: Option<&ast::OrderBy>,
    ) -> Result<LogicalPlan> {
        if let Some(construct) = unsupported_select(select) {
            return Err(PlanError::not_supported(construct).or_at(select.span()));
        }
        let mut plan = self.bind_from(&select.from)?;
        plan = self.bind_lateral_views(plan, &select.lateral_views)?;
        if let Some(selection) = &select.selection {
            let scope = Scope::plain(plan.schema());
            let predicate = self.bind_expr(selection, &scope)?;
            let predicate = self
                .coercion(&scope)
                .boolean(predicate)
                .map_err(|e| e.or_at(selection.span()))?;
            plan = LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(plan), self.registry)?);
        }
        let input_schema = Arc::clone(plan.schema());
        let windows = Some(select.named_window.as_slice());
        let scope = Scope {
            schema: &input_schema,
            aliases: &[],
            allow_aggregates: true,
            windows,
        };
        let items = self.bind_select_items(select, &scope)?;
        let (generated, items) =
            plan_generator(plan, items, self.registry).map_err(|e| e.or_at(select.span()))?;
        plan = generated;
        let input_schema = Arc::clone(plan.schema());
        let aliases: Vec<(String, Expr)> = items
            .iter()
            .filter_map(|i| match i {
                Expr::Alias { expr, name } => Some((name.clone(), expr.as_ref().clone())),
                _ => None,
            })
            .collect();
        let alias_scope = Scope {
            schema: &input_schema,
            aliases: &aliases,
            allow_aggregates: true,
            windows,
        };
        let having_scope = Scope {
            windows: None,
            ..alias_scope
        };
        let grouping = self.bind_group_by(&select.group_by, &items, &aliases, &input_schema)?;
        let boolean = |clause: &ast::Expr, scope: &Scope| {
            let bound = self.bind_expr(clause, scope)?;
            self.coercion(scope)
                .boolean(bound)
                .map_err(|e| e.or_at(clause.span()))
        };
        let having = select
            .having
            .as_ref()
            .map(|h| {
                let bound = boolean(h, &having_scope)?;
                if bound.contains_window() {
                    return Err(PlanError::invalid(
                        "window functions are not allowed in HAVING (use QUALIFY)",
                    )
                    .or_at(h.span()));
                }
                Ok(bound)
            })
            .transpose()?;
        let qualify = select
            .qualify
            .as_ref()
            .map(|q| boolean(q, &alias_scope))
            .transpose()?;
        let keys = self.bind_order_keys(order_by, &items, &alias_scope)?;

        let names: Vec<String> = items.iter().map(Expr::output_name).collect();
        let inputs_above = || {
            let order_inputs = keys.iter().filter_map(|(k, _, _)| match k {
                OrderKey::Input(e) => Some(e),
                OrderKey::Output(_) => None,
            });
            items
                .iter()
                .chain(having.iter())
                .chain(qualify.iter())
                .chain(order_inputs)
        };
        let aggregates = collect_aggregates(inputs_above());
        let grouping_calls = !collect_calls(inputs_above(), is_grouping_call).is_empty();
        let aggregated =
            grouping.explicit || !aggregates.is_empty() || having.is_some() || grouping_calls;

        let (items, having, qualify, keys) = if aggregated {
            check_no_grouping_in_aggregates(&aggregates)?;
            let (aggregate, set_number) = self.aggregate_node(plan, &grouping, &aggregates)?;
            let schema = Arc::clone(&aggregate.schema);
            plan = LogicalPlan::Aggregate(aggregate);
            let output = AggregateOutput {
                groups: &grouping.keys,
                aggregates: &aggregates,
                grouping: GroupingIds::new(&grouping, set_number),
                schema: &schema,
            };
            let rewrite = |e: Expr| output.rewrite(e);
            let items = items.into_iter().map(rewrite).collect::<Result<Vec<_>>>()?;
            let having = having.map(rewrite).transpose()?;
            let qualify = qualify.map(rewrite).transpose()?;
            let keys = keys
                .into_iter()
                .map(|(k, asc, nulls)| {
                    Ok(match k {
                        OrderKey::Input(e) => (OrderKey::Input(rewrite(e)?), asc, nulls),
                        output => (output, asc, nulls),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            (items, having, qualify, keys)
        } else {
            (items, having, qualify, keys)
        };
        if let Some(having) = having {
            plan = LogicalPlan::Filter(Filter::try_new(having, Arc::new(plan), self.registry)?);
        }
        let (windowed, items, qualify, keys) = self.bind_windows(plan, items, qualify, keys)?;
        plan = windowed;
        if let Some(qualify) = qualify {
            plan = LogicalPlan::Filter(Filter::try_new(qualify, Arc::new(plan), self.registry)?);
        }

        let mut exprs: Vec<Expr> = items
            .into_iter()
            .zip(&names)
            .map(|(e, name)| e.with_output_name(name))
            .collect();
        let visible = exprs.len();
        let mut sort_exprs = Vec::with_capacity(keys.len());
        for (key, asc, nulls_first) in keys {
            let index = match key {
                OrderKey::Output(i) => i,
                OrderKey::Input(e) => match exprs.iter().position(|x| x.unaliased() == &e) {
                    Some(i) => i,
                    None => {
                        exprs.push(e.alias(format!("__sort_key_{}", exprs.len())));
                        exprs.len() - 1
                    }
                },
            };
            sort_exprs.push((index, asc, nulls_first));
        }
        let distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
        if distinct && exprs.len() > visible {
            return Err(PlanError::invalid(
                "with SELECT DISTINCT, ORDER BY expressions must appear in the select list",
            ));
        }
        let projection = Projection::try_new(exprs, Arc::new(plan), self.registry)?;
        let output = Arc::clone(&projection.schema);
        let column = |i: usize| {
            let (qualifier, field) = output.qualified_field(i);
            Expr::Column(Column::new(qualifier.cloned(), field.name()))
        };
        plan = LogicalPlan::Projection(projection);
        if distinct {
            plan = LogicalPlan::Distinct(Distinct {
                input: Arc::new(plan),
            });
        }
        if !sort_exprs.is_empty() {
            let exprs = sort_exprs
                .iter()
                .map(|(i, asc, nulls_first)| SortExpr::new(column(*i), *asc, *nulls_first))
                .collect();
            plan = LogicalPlan::Sort(Sort {
                exprs,
                input: Arc::new(plan),
                fetch: None,
            });
        }
        if output.fields().len() > visible {
            let exprs = (0..visible).map(column).collect();
            plan =
                LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(plan), self.registry)?);
        }
        Ok(plan)
    }
}
