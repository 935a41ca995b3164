//! Planning the narrow operators that repeat rows, [`ReplicateRows`](rsql_plan::plan::ReplicateRows)
//! and [`Generate`]: they keep their input's partitioning on the columns they pass through.

use std::sync::Arc;

use datafusion_common::DFSchema;
use rsql_plan::plan::Generate;

use super::{PhysicalNode, PhysicalPlan};
use crate::error::Result;
use crate::operators::Generator;

/// The physical node repeating `input`'s rows, with `schema` (the input's columns but the
/// last) as its output.
pub(super) fn replicate_node(
    input: Arc<PhysicalPlan>,
    schema: &DFSchema,
) -> Result<Arc<PhysicalPlan>> {
    let node = PhysicalNode::ReplicateRows { input };
    Ok(Arc::new(PhysicalPlan::derived(
        node,
        Arc::new(schema.as_arrow().clone()),
    )?))
}

/// The physical node generating rows from `generate`'s array column.
pub(super) fn generate_node(
    input: Arc<PhysicalPlan>,
    generate: &Generate,
) -> Result<Arc<PhysicalPlan>> {
    let generator = Generator {
        column: generate.column,
        position: generate.position,
        outer: generate.outer,
    };
    let node = PhysicalNode::Generate { input, generator };
    Ok(Arc::new(PhysicalPlan::derived(
        node,
        Arc::new(generate.schema.as_arrow().clone()),
    )?))
}
