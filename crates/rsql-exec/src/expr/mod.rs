//! Physical expressions: logical [`Expr`](rsql_plan::Expr)s compiled against an input schema
//! and evaluated a batch at a time with Arrow kernels.

mod binary;
mod case;
mod create;
mod like;
mod scalar_function;
mod unary;

use std::fmt::Debug;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;

pub use create::{ScalarFunctions, create_physical_expr};
pub use scalar_function::{ScalarUdf, builtin_scalar_functions};

use crate::error::Result;

/// The value of an expression over a batch: a column, or one value standing for every row.
#[derive(Debug, Clone)]
pub enum ColumnarValue {
    /// One value per row.
    Array(ArrayRef),
    /// The same value for every row (literals and functions of literals).
    Scalar(ScalarValue),
}

impl ColumnarValue {
    /// The value as an array of `num_rows` rows.
    pub fn into_array(self, num_rows: usize) -> Result<ArrayRef> {
        match self {
            ColumnarValue::Array(array) => Ok(array),
            ColumnarValue::Scalar(scalar) => Ok(scalar.to_array_of_size(num_rows)?),
        }
    }

    /// The Arrow type of the value.
    pub fn data_type(&self) -> DataType {
        match self {
            ColumnarValue::Array(array) => array.data_type().clone(),
            ColumnarValue::Scalar(scalar) => scalar.data_type(),
        }
    }
}

/// An expression compiled for batches of one schema.
pub trait PhysicalExpr: Debug + Send + Sync {
    /// The type of the values it produces.
    fn data_type(&self) -> &DataType;

    /// Evaluates the expression over every row of `batch`.
    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue>;

    /// The input column this expression passes through unchanged, if it is just a column.
    fn column_index(&self) -> Option<usize> {
        None
    }
}

/// The column at `index` (of type `data_type`) of every batch, as an expression.
pub fn column(index: usize, data_type: DataType) -> std::sync::Arc<dyn PhysicalExpr> {
    std::sync::Arc::new(unary::ColumnExpr { index, data_type })
}

/// Evaluates `expr` over `batch` as an array.
pub fn evaluate_to_array(expr: &dyn PhysicalExpr, batch: &RecordBatch) -> Result<ArrayRef> {
    expr.evaluate(batch)?.into_array(batch.num_rows())
}
