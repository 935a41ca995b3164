//! `LIKE`, `NOT LIKE`, `ILIKE` and struct field access.

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::kernels::comparison::{ilike, like, nilike, nlike};
use arrow::datatypes::DataType;

use crate::error::{Result, exec_err};
use crate::expr::{ColumnarValue, PhysicalExpr};

/// `expr [NOT] [I]LIKE pattern`.
#[derive(Debug)]
pub(crate) struct LikeExpr {
    pub(crate) expr: Arc<dyn PhysicalExpr>,
    pub(crate) pattern: Arc<dyn PhysicalExpr>,
    pub(crate) negated: bool,
    pub(crate) case_insensitive: bool,
}

impl PhysicalExpr for LikeExpr {
    fn data_type(&self) -> &DataType {
        &DataType::Boolean
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let value = arrow::compute::cast(
            &self.expr.evaluate(batch)?.into_array(rows)?,
            &DataType::Utf8,
        )?;
        let pattern = arrow::compute::cast(
            &self.pattern.evaluate(batch)?.into_array(rows)?,
            &DataType::Utf8,
        )?;
        let kernel = match (self.negated, self.case_insensitive) {
            (false, false) => like,
            (true, false) => nlike,
            (false, true) => ilike,
            (true, true) => nilike,
        };
        Ok(ColumnarValue::Array(Arc::new(kernel(&value, &pattern)?)))
    }
}

/// `expr.name` on a struct value.
#[derive(Debug)]
pub(crate) struct GetFieldExpr {
    pub(crate) expr: Arc<dyn PhysicalExpr>,
    pub(crate) name: String,
    pub(crate) data_type: DataType,
}

impl PhysicalExpr for GetFieldExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let value = self.expr.evaluate(batch)?.into_array(batch.num_rows())?;
        let Some(structs) = value.as_struct_opt() else {
            return exec_err(format!("field access .{} on a non-struct value", self.name));
        };
        match structs.column_by_name(&self.name) {
            Some(field) => Ok(ColumnarValue::Array(field.clone())),
            None => exec_err(format!("struct has no field '{}'", self.name)),
        }
    }
}
