//! Logical plans: a tree of relational operators, each node carrying its output schema.

mod display;
mod estimate;
mod generate;
mod nodes;
mod path_request;
mod range_source;
mod source;
mod statement;
mod tree;

use std::sync::Arc;

use datafusion_common::DFSchemaRef;

pub use estimate::{broadcast_bytes, estimated_row_bytes, selectivity};
pub use generate::{Generate, generate, generator_flags, is_generator, plan_generator};
pub use nodes::{
    Aggregate, Distinct, EmptyRelation, Expand, Explain, Filter, GROUPING_ID_COLUMN, Join, Limit,
    Projection, RankingFunction, ReplicateRows, Sort, SubqueryAlias, TableScan, Union, Values,
    Window, WindowGroupLimit, grouping_key_column,
};
pub use path_request::{CsvDialect, FileFormatName, PathRequest, ReadModeName};
pub use range_source::{IntegerRange, RangeSource};
pub use source::{Catalog, SchemaSource, TableSource, TableSourceRef};
pub use statement::{CopyFormat, CreateTable, Insert, OverwriteScope, Statement};

use crate::error::Result;
use crate::function::FunctionRegistry;

/// A logical plan node.
#[derive(Debug, Clone)]
pub enum LogicalPlan {
    /// Read a table.
    TableScan(TableScan),
    /// Compute expressions.
    Projection(Projection),
    /// Keep rows matching a predicate.
    Filter(Filter),
    /// Group and aggregate.
    Aggregate(Aggregate),
    /// Repeat each row once per grouping set, with the keys outside the set nulled.
    Expand(Expand),
    /// Compute window functions.
    Window(Window),
    /// Keep per window partition only the rows a ranking bound above may pass.
    WindowGroupLimit(WindowGroupLimit),
    /// Order rows.
    Sort(Sort),
    /// Skip / fetch rows.
    Limit(Limit),
    /// Join two inputs (a cross join when it has no condition).
    Join(Join),
    /// `UNION ALL`.
    Union(Union),
    /// Remove duplicate rows.
    Distinct(Distinct),
    /// Repeat each row as often as its last column says.
    ReplicateRows(ReplicateRows),
    /// One row per element of an array (or entry of a map) column.
    Generate(Generate),
    /// Requalify the input's columns.
    SubqueryAlias(SubqueryAlias),
    /// No rows (or one empty row).
    EmptyRelation(EmptyRelation),
    /// Literal rows.
    Values(Values),
    /// `EXPLAIN [ANALYZE]`.
    Explain(Explain),
}

impl LogicalPlan {
    /// The output schema.
    pub fn schema(&self) -> &DFSchemaRef {
        match self {
            LogicalPlan::TableScan(scan) => &scan.projected_schema,
            LogicalPlan::Projection(p) => &p.schema,
            LogicalPlan::Filter(Filter { input, .. })
            | LogicalPlan::Sort(Sort { input, .. })
            | LogicalPlan::Limit(Limit { input, .. })
            | LogicalPlan::WindowGroupLimit(WindowGroupLimit { input, .. })
            | LogicalPlan::Distinct(Distinct { input }) => input.schema(),
            LogicalPlan::Aggregate(a) => &a.schema,
            LogicalPlan::Expand(e) => &e.schema,
            LogicalPlan::Window(w) => &w.schema,
            LogicalPlan::Join(j) => &j.schema,
            LogicalPlan::Union(u) => &u.schema,
            LogicalPlan::ReplicateRows(r) => &r.schema,
            LogicalPlan::Generate(g) => &g.schema,
            LogicalPlan::SubqueryAlias(s) => &s.schema,
            LogicalPlan::EmptyRelation(e) => &e.schema,
            LogicalPlan::Values(v) => &v.schema,
            LogicalPlan::Explain(e) => &e.schema,
        }
    }

    /// The direct inputs, left to right.
    pub fn inputs(&self) -> Vec<&Arc<LogicalPlan>> {
        match self {
            LogicalPlan::Projection(Projection { input, .. })
            | LogicalPlan::Filter(Filter { input, .. })
            | LogicalPlan::Aggregate(Aggregate { input, .. })
            | LogicalPlan::Expand(Expand { input, .. })
            | LogicalPlan::Window(Window { input, .. })
            | LogicalPlan::WindowGroupLimit(WindowGroupLimit { input, .. })
            | LogicalPlan::Sort(Sort { input, .. })
            | LogicalPlan::Limit(Limit { input, .. })
            | LogicalPlan::Distinct(Distinct { input })
            | LogicalPlan::ReplicateRows(ReplicateRows { input, .. })
            | LogicalPlan::Generate(Generate { input, .. })
            | LogicalPlan::SubqueryAlias(SubqueryAlias { input, .. })
            | LogicalPlan::Explain(Explain { plan: input, .. }) => vec![input],
            LogicalPlan::Join(j) => vec![&j.left, &j.right],
            LogicalPlan::Union(u) => u.inputs.iter().collect(),
            LogicalPlan::TableScan(_) | LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => {
                vec![]
            }
        }
    }

    /// The same node over `inputs` (as many as [`LogicalPlan::inputs`] returned), with its
    /// schema computed afresh, so inputs whose schemas changed are accounted for.
    pub fn with_new_inputs(
        &self,
        mut inputs: Vec<Arc<LogicalPlan>>,
        registry: &FunctionRegistry,
    ) -> Result<LogicalPlan> {
        let expected = self.inputs().len();
        if inputs.len() != expected {
            return Err(crate::PlanError::Internal(format!(
                "{} inputs given to a node with {expected}",
                inputs.len()
            )));
        }
        let mut next = || inputs.remove(0);
        Ok(match self {
            LogicalPlan::TableScan(_) | LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => {
                self.clone()
            }
            LogicalPlan::Projection(p) => {
                LogicalPlan::Projection(Projection::try_new(p.exprs.clone(), next(), registry)?)
            }
            LogicalPlan::Filter(f) => {
                LogicalPlan::Filter(Filter::try_new(f.predicate.clone(), next(), registry)?)
            }
            LogicalPlan::Aggregate(a) => LogicalPlan::Aggregate(Aggregate::try_new(
                next(),
                a.group_exprs.clone(),
                a.aggr_exprs.clone(),
                registry,
            )?),
            LogicalPlan::Expand(e) => LogicalPlan::Expand(Expand::try_new(
                next(),
                e.keys.clone(),
                e.sets.clone(),
                registry,
            )?),
            LogicalPlan::Window(w) => {
                LogicalPlan::Window(Window::try_new(next(), w.window_exprs.clone(), registry)?)
            }
            LogicalPlan::WindowGroupLimit(l) => LogicalPlan::WindowGroupLimit(WindowGroupLimit {
                input: next(),
                ..l.clone()
            }),
            LogicalPlan::Sort(s) => LogicalPlan::Sort(Sort {
                exprs: s.exprs.clone(),
                input: next(),
                fetch: s.fetch,
            }),
            LogicalPlan::Limit(l) => LogicalPlan::Limit(Limit {
                skip: l.skip,
                fetch: l.fetch,
                input: next(),
            }),
            LogicalPlan::Distinct(_) => LogicalPlan::Distinct(Distinct { input: next() }),
            LogicalPlan::ReplicateRows(_) => {
                LogicalPlan::ReplicateRows(ReplicateRows::try_new(next())?)
            }
            LogicalPlan::Generate(g) => LogicalPlan::Generate(Generate::try_new(
                next(),
                g.column,
                g.position,
                g.outer,
                g.names.clone(),
            )?),
            LogicalPlan::SubqueryAlias(s) => {
                LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(next(), s.alias.clone())?)
            }
            LogicalPlan::Explain(e) => LogicalPlan::Explain(Explain::new(next(), e.analyze)),
            LogicalPlan::Join(j) => {
                let left = next();
                let right = next();
                LogicalPlan::Join(Join {
                    null_aware: j.null_aware,
                    ..Join::try_new(left, right, j.on.clone(), j.filter.clone(), j.join_type)?
                })
            }
            LogicalPlan::Union(_) => LogicalPlan::Union(Union::try_new(inputs)?),
        })
    }

    /// Whether some expression of this plan or of its inputs, subqueries included, reads a
    /// column of an enclosing query ([`Expr::OuterColumn`](crate::Expr::OuterColumn)).
    pub fn references_outer_columns(&self) -> bool {
        self.expressions().into_iter().any(|e| {
            e.contains_outer_column()
                || crate::expr::subqueries(e)
                    .iter()
                    .any(|s| s.plan.references_outer_columns())
        }) || self.inputs().iter().any(|i| i.references_outer_columns())
    }

    /// The expressions this node evaluates (not those of its inputs).
    pub fn expressions(&self) -> Vec<&crate::Expr> {
        match self {
            LogicalPlan::TableScan(scan) => scan.filters.iter().collect(),
            LogicalPlan::Projection(p) => p.exprs.iter().collect(),
            LogicalPlan::Filter(f) => vec![&f.predicate],
            LogicalPlan::Aggregate(a) => a.group_exprs.iter().chain(&a.aggr_exprs).collect(),
            LogicalPlan::Expand(e) => e.keys.iter().collect(),
            LogicalPlan::Window(w) => w.window_exprs.iter().collect(),
            LogicalPlan::WindowGroupLimit(l) => l
                .partition_by
                .iter()
                .chain(l.order_by.iter().map(|s| &s.expr))
                .collect(),
            LogicalPlan::Sort(s) => s.exprs.iter().map(|s| &s.expr).collect(),
            LogicalPlan::Join(j) => {
                j.on.iter()
                    .flat_map(|(l, r)| [l, r])
                    .chain(j.filter.as_ref())
                    .collect()
            }
            LogicalPlan::Values(v) => v.values.iter().flatten().collect(),
            LogicalPlan::Limit(_)
            | LogicalPlan::Union(_)
            | LogicalPlan::Distinct(_)
            | LogicalPlan::ReplicateRows(_)
            | LogicalPlan::Generate(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::EmptyRelation(_)
            | LogicalPlan::Explain(_) => vec![],
        }
    }
}
