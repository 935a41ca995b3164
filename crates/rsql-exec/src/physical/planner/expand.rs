//! Planning [`Expand`](rsql_plan::plan::Expand): a projection appending the group keys to the
//! input's columns, then the narrow operator emitting each row once per grouping set.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use rsql_plan::Expr;
use rsql_plan::plan::{Expand, GROUPING_ID_COLUMN, grouping_key_column};

use super::{PlanRef, Planner};
use crate::error::Result;
use crate::operators::GroupingSets;
use crate::physical::{PhysicalNode, PhysicalPlan};

impl Planner<'_, '_> {
    pub(super) fn expand(&self, expand: &Expand) -> Result<PlanRef> {
        let input_schema = expand.input.schema();
        let input = self.plan(&expand.input, &[])?;
        let width = input_schema.fields().len();
        let mut exprs: Vec<Expr> = input_schema
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        exprs.extend(expand.keys.iter().cloned());
        let mut names: Vec<String> = input_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        names.extend((0..expand.keys.len()).map(grouping_key_column));
        let keyed = self.project(input, &exprs, input_schema, Some(&names))?;
        let sets = GroupingSets::try_new(
            (width..width + expand.keys.len()).collect(),
            expand.sets.clone(),
        )?;
        let mut fields: Vec<Field> = keyed
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(GROUPING_ID_COLUMN, DataType::Int64, false));
        let node = PhysicalNode::Expand {
            input: keyed,
            sets: Arc::new(sets),
        };
        Ok(Arc::new(PhysicalPlan::derived(
            node,
            Arc::new(Schema::new(fields)),
        )?))
    }
}
