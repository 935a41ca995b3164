//! `CASE WHEN .. THEN .. ELSE .. END` (searched form; the simple form is rewritten to it).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, UInt32Array, new_null_array,
};
use arrow::compute::kernels::boolean::{and, and_not};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{cast, filter_record_batch, prep_null_mask_filter, take};
use arrow::datatypes::DataType;
use rsql_plan::compute::EvalMode;

use crate::error::Result;
use crate::expr::{ColumnarValue, PhysicalExpr};

/// The value of the first `WHEN` that holds, else `ELSE` (NULL when absent).
#[derive(Debug)]
pub(crate) struct CaseExpr {
    pub(crate) when_then: Vec<(Arc<dyn PhysicalExpr>, Arc<dyn PhysicalExpr>)>,
    pub(crate) else_expr: Option<Arc<dyn PhysicalExpr>>,
    pub(crate) data_type: DataType,
    /// Under ANSI mode a branch is computed only for the rows that take it.
    pub(crate) mode: EvalMode,
}

impl PhysicalExpr for CaseExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let mut result = new_null_array(&self.data_type, rows);
        // The rows no earlier WHEN took.
        let mut remaining = BooleanArray::from(vec![true; rows]);
        for (when, then) in &self.when_then {
            let condition = self.evaluate_on(when, &DataType::Boolean, batch, &remaining)?;
            // A NULL condition does not hold.
            let taken = match condition.as_boolean() {
                c if c.null_count() > 0 => and(&prep_null_mask_filter(c), &remaining)?,
                c => and(c, &remaining)?,
            };
            if taken.true_count() > 0 {
                let value = self.evaluate_on(then, &self.data_type, batch, &taken)?;
                result = zip(&taken, &value, &result)?;
                remaining = and_not(&remaining, &taken)?;
            }
        }
        if let Some(else_expr) = &self.else_expr
            && remaining.true_count() > 0
        {
            let value = self.evaluate_on(else_expr, &self.data_type, batch, &remaining)?;
            result = zip(&remaining, &value, &result)?;
        }
        Ok(ColumnarValue::Array(result))
    }
}

impl CaseExpr {
    /// `expr` as `data_type` for the rows of `batch` that `rows` selects (others are
    /// unspecified). Under ANSI mode only those rows are computed, so that a branch guarded by
    /// its condition (`WHEN b <> 0 THEN a / b`) cannot fail on rows it does not answer for.
    fn evaluate_on(
        &self,
        expr: &Arc<dyn PhysicalExpr>,
        data_type: &DataType,
        batch: &RecordBatch,
        rows: &BooleanArray,
    ) -> Result<ArrayRef> {
        let all = batch.num_rows();
        if self.mode == EvalMode::Lenient || rows.true_count() == all {
            return Ok(cast(&expr.evaluate(batch)?.into_array(all)?, data_type)?);
        }
        let selected = filter_record_batch(batch, rows)?;
        let values = expr.evaluate(&selected)?.into_array(selected.num_rows())?;
        let values = cast(&values, data_type)?;
        // Each selected row takes the next computed value; the others are NULL.
        let mut next = 0u32;
        let positions: UInt32Array = rows
            .values()
            .iter()
            .map(|selected| {
                selected.then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        Ok(take(&values, &positions, None)?)
    }
}
