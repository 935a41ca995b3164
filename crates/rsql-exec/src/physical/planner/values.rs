//! Unions and literal rows: a union concatenates its inputs' partitions; `VALUES` and empty
//! relations are one batch in one partition.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_empty_array};
use arrow::compute::{cast, concat};
use arrow::datatypes::{Schema, SchemaRef};
use datafusion_common::DFSchema;
use rsql_plan::Expr;

use super::{PlanRef, Planner};
use crate::error::Result;
use crate::expr::evaluate_to_array;
use crate::physical::{Partitioning, PhysicalNode, PhysicalPlan};

impl Planner<'_, '_> {
    pub(super) fn union(&self, union: &rsql_plan::plan::Union) -> Result<PlanRef> {
        let schema = Arc::new(union.schema.as_arrow().clone());
        let inputs = union
            .inputs
            .iter()
            .map(|input| self.plan(input, &[]))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(PhysicalPlan::derived(
            PhysicalNode::Union { inputs },
            schema,
        )?))
    }

    /// No columns or no rows: one empty row, or none.
    pub(super) fn empty_relation(&self, empty: &rsql_plan::plan::EmptyRelation) -> Result<PlanRef> {
        let schema = Arc::new(empty.schema.as_arrow().clone());
        let rows = usize::from(empty.produce_one_row);
        let columns = schema
            .fields()
            .iter()
            .map(|f| new_empty_array(f.data_type()))
            .collect();
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        Ok(values_node(batch))
    }

    pub(super) fn values(&self, rows: &[Vec<Expr>], schema: &DFSchema) -> Result<PlanRef> {
        let arrow_schema: SchemaRef = Arc::new(schema.as_arrow().clone());
        let empty = DFSchema::empty();
        let one_row = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        let columns = arrow_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let cells = rows
                    .iter()
                    .map(|row| {
                        let value =
                            evaluate_to_array(self.compile(&row[i], &empty)?.as_ref(), &one_row)?;
                        Ok(cast(&value, field.data_type())?)
                    })
                    .collect::<Result<Vec<ArrayRef>>>()?;
                let refs: Vec<&dyn arrow::array::Array> =
                    cells.iter().map(|c| c.as_ref()).collect();
                Ok(if refs.is_empty() {
                    new_empty_array(field.data_type())
                } else {
                    concat(&refs)?
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new_with_options(
            arrow_schema,
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )?;
        Ok(values_node(batch))
    }
}

fn values_node(batch: RecordBatch) -> PlanRef {
    let schema = batch.schema();
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Values {
            partitions: Arc::new(vec![vec![batch]]),
        },
        schema,
        Partitioning::SINGLE,
    ))
}
