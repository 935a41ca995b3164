//! Struct constructors.

use std::sync::Arc;

use arrow::array::{ArrayRef, StructArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;

use crate::error::{Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::function;

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    vec![
        // named_struct('a', x, 'b', y): the planner fixed the field names in the return type.
        function("named_struct", |args, return_type| {
            let values: Vec<ArrayRef> = args.iter().skip(1).step_by(2).cloned().collect();
            build_struct(values, return_type)
        }),
        function("struct", |args, return_type| {
            build_struct(args.to_vec(), return_type)
        }),
    ]
}

fn build_struct(values: Vec<ArrayRef>, return_type: &DataType) -> Result<ArrayRef> {
    let DataType::Struct(fields) = return_type else {
        return exec_err(format!(
            "a struct constructor must return a struct, not {return_type}"
        ));
    };
    if fields.len() != values.len() {
        return exec_err(format!(
            "struct of {} fields built from {} values",
            fields.len(),
            values.len()
        ));
    }
    let columns = values
        .iter()
        .zip(fields.iter())
        .map(|(v, f)| Ok(cast(v, f.data_type())?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        None,
    )?))
}
