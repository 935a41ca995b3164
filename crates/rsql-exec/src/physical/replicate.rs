//! Planning [`ReplicateRows`](rsql_plan::plan::ReplicateRows): a narrow operator that keeps
//! its input's partitioning on the columns it keeps (every column but the count).

use std::sync::Arc;

use datafusion_common::DFSchema;

use super::{PhysicalNode, PhysicalPlan};
use crate::error::Result;

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
