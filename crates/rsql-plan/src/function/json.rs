//! Signatures of the JSON functions, as Spark's: `get_json_object(json, path)` and
//! `to_json(value)` give text; `from_json(json, schema)` gives a value of the type its literal
//! schema string names.

use std::sync::Arc;

use arrow_schema::DataType;
use datafusion_common::ScalarValue;

use super::scalar::{all_strings, bad_argument, builtin, string_arg};
use super::{Arity, ScalarFunctionSignature};
use crate::coercion::value_type;
use crate::error::{PlanError, Result};
use crate::sql::schema_type;

/// `to_json(v)`: a struct, a map or an array, as it is.
fn nested_value(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    match value_type(&args[0]) {
        t @ (DataType::Struct(_) | DataType::Map(..) | DataType::List(_)) => Ok(vec![t.clone()]),
        other => Err(bad_argument(function, 0, other)),
    }
}

/// `from_json(json, schema)`: text and the schema's text.
fn text_and_schema(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    Ok(vec![
        string_arg(function, 0, &args[0])?,
        string_arg(function, 1, &args[1])?,
    ])
}

fn utf8(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}

/// The type the literal schema string names.
fn schema(function: &str, _: &[DataType], literals: &[Option<&ScalarValue>]) -> Result<DataType> {
    match literals.get(1) {
        Some(Some(ScalarValue::Utf8(Some(text)))) => schema_type(text),
        _ => Err(PlanError::invalid(format!(
            "function '{function}' needs a literal schema string, such as 'a INT, b STRING'"
        ))),
    }
}

/// The built-in JSON signatures.
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    vec![
        builtin("get_json_object", Arity::Exact(2), all_strings, utf8),
        builtin("to_json", Arity::Exact(1), nested_value, utf8),
        builtin("from_json", Arity::Exact(2), text_and_schema, schema),
    ]
}
