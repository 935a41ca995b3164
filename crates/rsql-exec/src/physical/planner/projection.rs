//! Filters and projections: row-wise operators that keep their input's placement (a
//! projection keeps it on the columns it passes through bare).

use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion_common::DFSchemaRef;
use rsql_plan::Expr;

use super::{PlanRef, Planner};
use crate::error::Result;
use crate::physical::{BoundExpr, PhysicalNode, PhysicalPlan, ProjectionSource};

impl Planner<'_, '_> {
    pub(super) fn projection(
        &self,
        projection: &rsql_plan::plan::Projection,
        cluster_hint: &[String],
    ) -> Result<PlanRef> {
        let hint = hint_through(&projection.exprs, cluster_hint);
        let input = self.plan(&projection.input, &hint)?;
        self.project(input, &projection.exprs, projection.input.schema(), None)
    }

    pub(super) fn filter(
        &self,
        filter: &rsql_plan::plan::Filter,
        cluster_hint: &[String],
    ) -> Result<PlanRef> {
        let input = self.plan(&filter.input, cluster_hint)?;
        let source = BoundExpr {
            expr: filter.predicate.clone(),
            schema: Arc::clone(filter.input.schema()),
            time_zone: self.cx.time_zone.clone(),
            mode: self.cx.mode,
        };
        let schema = Arc::clone(&input.schema);
        let node = PhysicalNode::Filter {
            predicate: source.compile(self.cx.registry, self.cx.scalar_functions)?,
            source,
            input,
        };
        Ok(Arc::new(PhysicalPlan::derived(node, schema)?))
    }

    /// A projection of `exprs` over `input`; `names` overrides the output names.
    pub(super) fn project(
        &self,
        input: PlanRef,
        exprs: &[Expr],
        input_schema: &DFSchemaRef,
        names: Option<&[String]>,
    ) -> Result<PlanRef> {
        let source = ProjectionSource::Exprs {
            exprs: exprs.to_vec(),
            schema: Arc::clone(input_schema),
            time_zone: self.cx.time_zone.clone(),
            mode: self.cx.mode,
        };
        let compiled = source.compile(&input.schema, self.cx.registry, self.cx.scalar_functions)?;
        let fields: Vec<Field> = exprs
            .iter()
            .zip(&compiled)
            .enumerate()
            .map(|(i, (expr, physical))| {
                let name = match names {
                    Some(names) => names[i].clone(),
                    None => expr.output_name(),
                };
                Field::new(name, physical.data_type().clone(), true)
            })
            .collect();
        let node = PhysicalNode::Projection {
            input,
            exprs: compiled,
            source,
        };
        Ok(Arc::new(PhysicalPlan::derived(
            node,
            Arc::new(Schema::new(fields)),
        )?))
    }
}

/// Which input columns a projection's bare-column outputs read: hints on output names become
/// hints on the input names they come from.
fn hint_through(exprs: &[Expr], hint: &[String]) -> Vec<String> {
    exprs
        .iter()
        .filter(|e| hint.contains(&e.output_name()))
        .filter_map(|e| match e.unaliased() {
            Expr::Column(c) => Some(c.name.clone()),
            _ => None,
        })
        .collect()
}
