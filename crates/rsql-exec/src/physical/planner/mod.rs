//! From an optimized logical plan to a physical plan, in the shape of DataFusion's planner: one
//! module per operator family chooses operators, each stating what it requires of the
//! placement of its inputs' rows ([`PhysicalPlan::required_input_distribution`]) instead of
//! placing exchanges itself; then passes over the whole plan:
//!
//! 1. [`enforce_distribution`] inserts an `Exchange` only where an input's partitioning does
//!    not meet the requirement (hive folders clustered on a group key, co-partitioned join
//!    sides and the like need none);
//! 2. [`combine_phases`] folds a partial and a final phase with no exchange between them into
//!    one operator;
//! 3. [`plan_runtime_filters`] marks the partitioned joins whose probe exchange is filtered by
//!    the build side's keys at run time (when the session allows it).

mod aggregate;
mod combine_phases;
mod enforce_distribution;
mod expand;
mod join;
mod projection;
mod scan;
mod sort;
mod values;
mod window;

use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion_common::{DFSchema, DFSchemaRef};
use rsql_plan::compute::EvalMode;
use rsql_plan::{Expr, FunctionRegistry, LogicalPlan, TimeZone};
use rsql_rdd::Context;

use super::{PhysicalNode, PhysicalPlan, ProjectionSource};
use crate::aggregate::AggregateFunctions;
use crate::error::{Result, exec_err};
use crate::expr::{PhysicalExpr, ScalarFunctions, create_physical_expr};
use combine_phases::combine_phases;
use enforce_distribution::enforce_distribution;

/// What planning needs: the runtime, every registered function and the planner's settings.
pub struct PlannerContext<'a> {
    /// The RDD runtime jobs run on.
    pub context: &'a Context,
    /// Function signatures, for expression types.
    pub registry: &'a FunctionRegistry,
    /// Scalar function implementations by name.
    pub scalar_functions: &'a ScalarFunctions,
    /// Aggregate function implementations by name (`count_distinct` for `count(DISTINCT ..)`).
    pub aggregate_functions: &'a AggregateFunctions,
    /// Partitions after an exchange.
    pub shuffle_partitions: usize,
    /// A join side whose files are at most this many bytes is broadcast.
    pub broadcast_threshold: u64,
    /// The most compressed bytes one scan partition reads (Spark's `maxPartitionBytes`).
    pub max_partition_bytes: u64,
    /// Whether partitioned joins may filter their probe side by the build side's keys at run
    /// time (see [`PhysicalPlan::can_filter_probe_at_runtime`]).
    pub runtime_filters: bool,
    /// The session time zone, in which expressions cast and date and time functions run.
    pub time_zone: TimeZone,
    /// Whether overflow, division by zero and failed casts are NULL or errors (`ansi_mode`).
    pub mode: EvalMode,
}

/// Plans `plan` (optimized, without `EXPLAIN`) into physical operators: operators are
/// chosen, each stating the distribution it requires of its inputs; then
/// [`enforce_distribution`] inserts the exchanges that make them hold,
/// [`combine_phases`] folds two-phase operators whose phases ended up without an exchange
/// between them, and [`plan_runtime_filters`] marks the joins that filter their probe side.
pub fn create_physical_plan(
    plan: &LogicalPlan,
    cx: &PlannerContext<'_>,
) -> Result<Arc<PhysicalPlan>> {
    let chosen = Planner { cx }.plan(plan, &[])?;
    let placed = enforce_distribution(&chosen, cx.shuffle_partitions)?;
    let combined = combine_phases(&placed)?;
    if cx.runtime_filters {
        plan_runtime_filters(&combined)
    } else {
        Ok(combined)
    }
}

/// `plan` with every join that can filter its probe side at run time doing so.
fn plan_runtime_filters(plan: &PlanRef) -> Result<PlanRef> {
    plan.transform_up(&mut |node| {
        if !node.can_filter_probe_at_runtime() {
            return Ok(node);
        }
        // The same join over the same inputs (with fresh metrics), marked.
        let mut filtered = node.with_inputs(node.inputs().into_iter().cloned().collect())?;
        if let PhysicalNode::HashJoin { runtime_filter, .. } = &mut filtered.node {
            *runtime_filter = true;
        }
        Ok(Arc::new(filtered))
    })
}

struct Planner<'a, 'c> {
    cx: &'a PlannerContext<'c>,
}

type PlanRef = Arc<PhysicalPlan>;

impl Planner<'_, '_> {
    /// Plans `plan`; `cluster_hint` names columns whose equal values the parent would like in
    /// one partition (a scan of hive folders on such a column can then place folders whole).
    /// The operator on top expects the rows `plan` is estimated to return, unless its family
    /// set an estimate already.
    fn plan(&self, plan: &LogicalPlan, cluster_hint: &[String]) -> Result<PlanRef> {
        let planned = match plan {
            LogicalPlan::TableScan(scan) => self.scan(scan, cluster_hint),
            LogicalPlan::Filter(filter) => self.filter(filter, cluster_hint),
            LogicalPlan::Projection(projection) => self.projection(projection, cluster_hint),
            LogicalPlan::SubqueryAlias(alias) => self.plan(&alias.input, cluster_hint),
            LogicalPlan::Aggregate(aggregate) => self.aggregate(aggregate),
            LogicalPlan::Window(window) => self.window(window),
            LogicalPlan::WindowGroupLimit(limit) => self.window_group_limit(limit, cluster_hint),
            LogicalPlan::Distinct(distinct) => self.distinct(distinct),
            LogicalPlan::Sort(sort) => self.sort(sort),
            LogicalPlan::Limit(limit) => self.limit(limit),
            LogicalPlan::Join(join) => self.join(join),
            LogicalPlan::Expand(expand) => self.expand(expand),
            LogicalPlan::ReplicateRows(replicate) => {
                let input = self.plan(&replicate.input, &[])?;
                super::replicate::replicate_node(input, &replicate.schema)
            }
            LogicalPlan::Generate(generate) => {
                let input = self.plan(&generate.input, &[])?;
                super::replicate::generate_node(input, generate)
            }
            LogicalPlan::Union(union) => self.union(union),
            LogicalPlan::EmptyRelation(empty) => self.empty_relation(empty),
            LogicalPlan::Values(values) => self.values(&values.values, &values.schema),
            LogicalPlan::Explain(_) => {
                exec_err("EXPLAIN is answered by the session, not executed as a plan")
            }
        }?;
        if planned.estimated_rows.is_some() {
            return Ok(planned);
        }
        let inputs = planned.inputs().into_iter().cloned().collect();
        let estimated = planned
            .with_inputs(inputs)?
            .with_estimated_rows(estimated_rows(plan));
        Ok(Arc::new(estimated))
    }

    pub(super) fn compile(&self, expr: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>> {
        create_physical_expr(
            expr,
            schema,
            self.cx.registry,
            self.cx.scalar_functions,
            &self.cx.time_zone,
            self.cx.mode,
        )
    }

    /// `input` with a column per expression: a bare column is used in place, others are
    /// computed into columns appended after the input's `width` columns (which the caller
    /// trims afterwards with [`trim`]).
    pub(super) fn with_key_columns(
        &self,
        input: PlanRef,
        exprs: &[Expr],
        schema: &DFSchemaRef,
    ) -> Result<(PlanRef, Vec<usize>, usize)> {
        let width = input.schema.fields().len();
        let mut extra: Vec<Expr> = Vec::new();
        let columns = exprs
            .iter()
            .map(|e| match e.unaliased() {
                Expr::Column(c) => Ok(schema.index_of_column(c)?),
                _ => {
                    extra.push(e.clone());
                    Ok(width + extra.len() - 1)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        if extra.is_empty() {
            return Ok((input, columns, width));
        }
        let mut all: Vec<Expr> = schema.columns().into_iter().map(Expr::Column).collect();
        all.extend(extra);
        let names: Vec<String> = (0..all.len())
            .map(|i| match input.schema.fields().get(i) {
                Some(field) => field.name().clone(),
                None => format!("__key{i}"),
            })
            .collect();
        Ok((
            self.project(input, &all, schema, Some(&names))?,
            columns,
            width,
        ))
    }
}

/// The rows `plan` is estimated to return, rounded.
pub(super) fn estimated_rows(plan: &LogicalPlan) -> Option<u64> {
    Some(plan.estimated_rows().round() as u64)
}

/// Only the first `width` columns of `input` (drops computed key columns).
pub(super) fn trim(input: PlanRef, width: usize) -> Result<PlanRef> {
    if input.schema.fields().len() == width {
        return Ok(input);
    }
    select_columns(input, &(0..width).collect::<Vec<_>>())
}

/// The columns `keep` of `input`, in that order.
pub(super) fn select_columns(input: PlanRef, keep: &[usize]) -> Result<PlanRef> {
    let fields: Vec<Field> = keep
        .iter()
        .map(|&c| input.schema.field(c).clone())
        .collect();
    let exprs: Vec<Arc<dyn PhysicalExpr>> = keep
        .iter()
        .map(|&c| crate::expr::column(c, input.schema.field(c).data_type().clone()))
        .collect();
    let node = PhysicalNode::Projection {
        input,
        exprs,
        source: ProjectionSource::Columns(keep.to_vec()),
    };
    Ok(Arc::new(PhysicalPlan::derived(
        node,
        Arc::new(Schema::new(fields)),
    )?))
}
