//! Calls of scalar functions, implemented by [`ScalarUdf`]s registered by name.

use std::fmt::Debug;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use rsql_plan::TimeZone;

pub use crate::functions::builtin_scalar_functions;

use crate::error::Result;
use crate::expr::{ColumnarValue, PhysicalExpr};

/// The implementation of a scalar function (built-in or user-defined), vectorised over batches.
/// Its signature (argument coercion, return type) is registered with the planner under the
/// same name.
pub trait ScalarUdf: Debug + Send + Sync {
    /// The registered name (lower case).
    fn name(&self) -> &str;

    /// Computes the function for `num_rows` rows; `return_type` is what the planner derived.
    fn invoke(
        &self,
        args: &[ColumnarValue],
        num_rows: usize,
        return_type: &DataType,
    ) -> Result<ColumnarValue>;

    /// This function as it runs in a session whose time zone is `time_zone`, for functions
    /// whose results depend on it (the built-in date and time functions); `None`, the default,
    /// for the others, which are used as they are.
    fn in_time_zone(&self, _time_zone: &TimeZone) -> Option<Arc<dyn ScalarUdf>> {
        None
    }
}

/// `name(args..)` over a batch.
#[derive(Debug)]
pub(crate) struct ScalarFunctionExpr {
    pub(crate) function: Arc<dyn ScalarUdf>,
    pub(crate) args: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) data_type: DataType,
}

impl PhysicalExpr for ScalarFunctionExpr {
    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let args = self
            .args
            .iter()
            .map(|arg| arg.evaluate(batch))
            .collect::<Result<Vec<_>>>()?;
        self.function
            .invoke(&args, batch.num_rows(), &self.data_type)
    }
}
