//! Column references, literals and one-operand expressions.

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::{is_not_null, is_null, not};
use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;
use rsql_plan::TimeZone;
use rsql_plan::compute::{EvalMode, negate, spark_cast};

use crate::error::Result;
use crate::expr::{ColumnarValue, PhysicalExpr};

/// The column at `index` of the input batch.
#[derive(Debug)]
pub(crate) struct ColumnExpr {
    pub(crate) index: usize,
    pub(crate) data_type: DataType,
}

impl PhysicalExpr for ColumnExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Array(batch.column(self.index).clone()))
    }

    fn column_index(&self) -> Option<usize> {
        Some(self.index)
    }
}

/// A constant.
#[derive(Debug)]
pub(crate) struct LiteralExpr {
    pub(crate) value: ScalarValue,
    pub(crate) data_type: DataType,
}

impl PhysicalExpr for LiteralExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, _batch: &RecordBatch) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value.clone()))
    }
}

/// What a [`UnaryExpr`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnaryOp {
    Not,
    Negative,
    IsNull,
    IsNotNull,
}

/// `NOT x`, `-x`, `x IS [NOT] NULL`.
#[derive(Debug)]
pub(crate) struct UnaryExpr {
    pub(crate) op: UnaryOp,
    pub(crate) input: std::sync::Arc<dyn PhysicalExpr>,
    pub(crate) data_type: DataType,
    /// Whether `-x` of the smallest integer wraps (to itself) or is an error.
    pub(crate) mode: EvalMode,
}

impl PhysicalExpr for UnaryExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let input = self.input.evaluate(batch)?.into_array(batch.num_rows())?;
        let output = match self.op {
            UnaryOp::Not => std::sync::Arc::new(not(input.as_boolean())?) as _,
            UnaryOp::Negative => negate(input.as_ref(), self.mode)?,
            UnaryOp::IsNull => std::sync::Arc::new(is_null(&input)?) as _,
            UnaryOp::IsNotNull => std::sync::Arc::new(is_not_null(&input)?) as _,
        };
        Ok(ColumnarValue::Array(output))
    }
}

/// `CAST(x AS type)` and `TRY_CAST(x AS type)`: Spark's cast ([`spark_cast`]) in the session
/// time zone; a value that does not convert is NULL, or an error in [`EvalMode::Ansi`] (which
/// `TRY_CAST` never uses).
#[derive(Debug)]
pub(crate) struct CastExpr {
    pub(crate) input: std::sync::Arc<dyn PhysicalExpr>,
    pub(crate) data_type: DataType,
    pub(crate) time_zone: TimeZone,
    pub(crate) mode: EvalMode,
}

impl PhysicalExpr for CastExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let input = self.input.evaluate(batch)?.into_array(batch.num_rows())?;
        Ok(ColumnarValue::Array(spark_cast(
            &input,
            &self.data_type,
            &self.time_zone,
            self.mode,
        )?))
    }
}
