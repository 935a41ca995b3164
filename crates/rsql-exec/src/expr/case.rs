//! `CASE WHEN .. THEN .. ELSE .. END` (searched form; the simple form is rewritten to it).

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, new_null_array};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{cast, prep_null_mask_filter};
use arrow::datatypes::DataType;

use crate::error::Result;
use crate::expr::{ColumnarValue, PhysicalExpr};

/// The value of the first `WHEN` that holds, else `ELSE` (NULL when absent).
#[derive(Debug)]
pub(crate) struct CaseExpr {
    pub(crate) when_then: Vec<(Arc<dyn PhysicalExpr>, Arc<dyn PhysicalExpr>)>,
    pub(crate) else_expr: Option<Arc<dyn PhysicalExpr>>,
    pub(crate) data_type: DataType,
}

impl PhysicalExpr for CaseExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let mut result = match &self.else_expr {
            Some(e) => cast(&e.evaluate(batch)?.into_array(rows)?, &self.data_type)?,
            None => new_null_array(&self.data_type, rows),
        };
        // Later branches first, so that earlier ones win.
        for (when, then) in self.when_then.iter().rev() {
            let condition = when.evaluate(batch)?.into_array(rows)?;
            // A NULL condition does not hold.
            let condition = match condition.as_boolean() {
                c if c.null_count() > 0 => prep_null_mask_filter(c),
                c => c.clone(),
            };
            let value = cast(&then.evaluate(batch)?.into_array(rows)?, &self.data_type)?;
            result = zip(&condition, &value, &result)?;
        }
        Ok(ColumnarValue::Array(result))
    }
}
