//! Binary operators with SQL null semantics, on Arrow kernels.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Datum, RecordBatch, Scalar};
use arrow::compute::kernels::{boolean, cmp};
use arrow::datatypes::DataType;
use rsql_plan::compute::{EvalMode, arithmetic};
use rsql_plan::{Operator, TimeZone};

use crate::error::Result;
use crate::expr::{ColumnarValue, PhysicalExpr};
use crate::rows::normalize_zeros;

/// `left op right`; operands arrive coerced by the binder, arithmetic runs on
/// [`rsql_plan::compute`]'s kernels (shared with constant folding).
#[derive(Debug)]
pub(crate) struct BinaryExpr {
    pub(crate) left: Arc<dyn PhysicalExpr>,
    pub(crate) op: Operator,
    pub(crate) right: Arc<dyn PhysicalExpr>,
    pub(crate) data_type: DataType,
    /// Whether arithmetic that overflows or divides by zero is NULL (or wraps) or an error.
    pub(crate) mode: EvalMode,
    /// The session time zone, on whose wall clock dates and timestamps move.
    pub(crate) time_zone: TimeZone,
}

/// A columnar value as an Arrow `Datum`: scalars stay one-row arrays.
fn datum(value: ColumnarValue) -> Result<Box<dyn Datum>> {
    Ok(match value {
        ColumnarValue::Array(array) => Box::new(array),
        ColumnarValue::Scalar(scalar) => Box::new(Scalar::new(scalar.to_array_of_size(1)?)),
    })
}

/// An operand of a comparison: floats with `-0.0` made `0.0`, which SQL holds equal.
fn comparable(value: ColumnarValue) -> Result<Box<dyn Datum>> {
    Ok(match value {
        ColumnarValue::Array(array) => Box::new(normalize_zeros(&array)),
        ColumnarValue::Scalar(scalar) => {
            Box::new(Scalar::new(normalize_zeros(&scalar.to_array_of_size(1)?)))
        }
    })
}

/// Three-valued `AND` / `OR`.
fn logical(
    left: ColumnarValue,
    right: ColumnarValue,
    rows: usize,
    kernel: fn(&BooleanArray, &BooleanArray) -> Result<BooleanArray, arrow::error::ArrowError>,
) -> Result<ArrayRef> {
    let (l, r) = (left.into_array(rows)?, right.into_array(rows)?);
    Ok(Arc::new(kernel(l.as_boolean(), r.as_boolean())?))
}

impl PhysicalExpr for BinaryExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let left = self.left.evaluate(batch)?;
        let right = self.right.evaluate(batch)?;
        let result: ArrayRef = match self.op {
            Operator::And => logical(left, right, rows, boolean::and_kleene)?,
            Operator::Or => logical(left, right, rows, boolean::or_kleene)?,
            Operator::Plus
            | Operator::Minus
            | Operator::Multiply
            | Operator::Divide
            | Operator::Modulo => arithmetic(
                datum(left)?.as_ref(),
                self.op,
                datum(right)?.as_ref(),
                &self.data_type,
                self.mode,
                &self.time_zone,
            )?,
            Operator::Eq => Arc::new(cmp::eq(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
            Operator::NotEq => Arc::new(cmp::neq(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
            Operator::Lt => Arc::new(cmp::lt(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
            Operator::LtEq => Arc::new(cmp::lt_eq(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
            Operator::Gt => Arc::new(cmp::gt(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
            Operator::GtEq => Arc::new(cmp::gt_eq(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
            Operator::IsDistinctFrom => Arc::new(cmp::distinct(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
            Operator::IsNotDistinctFrom => Arc::new(cmp::not_distinct(
                comparable(left)?.as_ref(),
                comparable(right)?.as_ref(),
            )?),
        };
        // Two scalar operands give a one-row result: widen it to the batch.
        if result.len() != rows && result.len() == 1 {
            let scalar = datafusion_common::ScalarValue::try_from_array(&result, 0)?;
            return Ok(ColumnarValue::Scalar(scalar));
        }
        Ok(ColumnarValue::Array(result))
    }
}
