//! `single_value(x, 'what')`: the value of the only row of a group, NULL for none, an error
//! naming `what` for several. The subquery rewrites use it for a scalar subquery that is not
//! known to return at most one row, so that it fails clearly instead of silently picking a row.

use arrow_schema::{DataType, Field};

use super::{AggregateFunctionSignature, Arity};
use crate::error::{PlanError, Result};

/// The `single_value` aggregate's signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleValue;

impl AggregateFunctionSignature for SingleValue {
    fn name(&self) -> &str {
        "single_value"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [value, _] => Ok(vec![value.clone(), DataType::Utf8]),
            _ => Err(PlanError::Internal(format!(
                "single_value takes 2 arguments, not {}",
                args.len()
            ))),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Null))
    }

    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>> {
        Ok(vec![
            Field::new("value", self.return_type(args)?, true),
            Field::new("rows", DataType::Int64, false),
            Field::new("what", DataType::Utf8, true),
        ])
    }
}
