//! Built-in scalar functions.

mod arrays;
mod collections;
mod conditional;
mod datetime;
mod json;
mod maps;
mod math;
mod round;
mod strings;
mod structs;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::prep_null_mask_filter;
use arrow::datatypes::DataType;
use rsql_plan::TimeZone;

use crate::error::{Result, exec_err};
use crate::expr::{ColumnarValue, ScalarUdf};

/// Every built-in scalar function implementation.
pub fn builtin_scalar_functions() -> Vec<Arc<dyn ScalarUdf>> {
    let mut all = strings::functions();
    all.extend(datetime::functions());
    all.extend(structs::functions());
    all.extend(math::functions());
    all.extend(conditional::functions());
    all.extend(arrays::functions());
    all.extend(maps::functions());
    all.extend(json::functions());
    all
}

/// A built-in whose body is a plain function of the argument arrays.
struct ArrayFunction {
    name: &'static str,
    body: fn(&[ArrayRef], &DataType) -> Result<ArrayRef>,
}

impl std::fmt::Debug for ArrayFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrayFunction")
            .field("name", &self.name)
            .finish()
    }
}

impl ScalarUdf for ArrayFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn invoke(
        &self,
        args: &[ColumnarValue],
        num_rows: usize,
        return_type: &DataType,
    ) -> Result<ColumnarValue> {
        let arrays = arrays(args, num_rows)?;
        Ok(ColumnarValue::Array((self.body)(&arrays, return_type)?))
    }
}

/// A built-in whose results depend on the session time zone: a function of the argument
/// arrays and the zone it was compiled for.
struct ZonedFunction {
    name: &'static str,
    body: fn(&[ArrayRef], &DataType, &TimeZone) -> Result<ArrayRef>,
    time_zone: TimeZone,
}

impl std::fmt::Debug for ZonedFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZonedFunction")
            .field("name", &self.name)
            .field("time_zone", &self.time_zone)
            .finish()
    }
}

impl ScalarUdf for ZonedFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn invoke(
        &self,
        args: &[ColumnarValue],
        num_rows: usize,
        return_type: &DataType,
    ) -> Result<ColumnarValue> {
        let arrays = arrays(args, num_rows)?;
        let out = (self.body)(&arrays, return_type, &self.time_zone)?;
        Ok(ColumnarValue::Array(out))
    }

    fn in_time_zone(&self, time_zone: &TimeZone) -> Option<Arc<dyn ScalarUdf>> {
        Some(Arc::new(ZonedFunction {
            name: self.name,
            body: self.body,
            time_zone: time_zone.clone(),
        }))
    }
}

/// The arguments as arrays of `num_rows` rows.
fn arrays(args: &[ColumnarValue], num_rows: usize) -> Result<Vec<ArrayRef>> {
    args.iter()
        .map(|a| a.clone().into_array(num_rows))
        .collect()
}

/// Wraps a function body as a registered built-in.
fn function(
    name: &'static str,
    body: fn(&[ArrayRef], &DataType) -> Result<ArrayRef>,
) -> Arc<dyn ScalarUdf> {
    Arc::new(ArrayFunction { name, body })
}

/// Wraps a function body that reads the session time zone as a registered built-in (in UTC
/// until it is compiled for a session).
fn zoned_function(
    name: &'static str,
    body: fn(&[ArrayRef], &DataType, &TimeZone) -> Result<ArrayRef>,
) -> Arc<dyn ScalarUdf> {
    Arc::new(ZonedFunction {
        name,
        body,
        time_zone: TimeZone::utc(),
    })
}

/// The argument at `index`, or an error naming the function.
fn argument<'a>(name: &str, args: &'a [ArrayRef], index: usize) -> Result<&'a ArrayRef> {
    match args.get(index) {
        Some(arg) => Ok(arg),
        None => exec_err(format!("{name}: missing argument {}", index + 1)),
    }
}

/// `mask` with NULLs as false (Arrow's `zip` wants a mask without NULLs).
fn holds(mask: &BooleanArray) -> BooleanArray {
    if mask.null_count() > 0 {
        prep_null_mask_filter(mask)
    } else {
        mask.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rsql_plan::function::{GENERATORS, clock_value, is_grouping_function};
    use rsql_plan::{FunctionKind, FunctionRegistry};

    use super::*;

    /// Every scalar signature the planner accepts has an implementation here (`sha1` once had a
    /// signature and no body, and failed only when a query ran), but for the calls the planner
    /// turns into something else: generators (their own operator), `grouping` and
    /// `grouping_id` (grouping-set columns) and the clock functions (a literal per query).
    #[test]
    fn every_scalar_signature_has_an_implementation() {
        let implemented: HashSet<String> = builtin_scalar_functions()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        let planned = |name: &str| {
            GENERATORS.contains(&name)
                || is_grouping_function(name)
                || clock_value(name, 0, &TimeZone::utc()).is_some()
        };
        let missing: Vec<String> = FunctionRegistry::new()
            .entries()
            .into_iter()
            .filter(|e| e.kind == FunctionKind::Scalar)
            .map(|e| e.name)
            .filter(|name| !implemented.contains(name) && !planned(name))
            .collect();
        assert_eq!(missing, Vec::<String>::new());
    }
}
