//! String functions.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, StringArray, StringBuilder};
use arrow::compute::cast;
use arrow::compute::kernels::comparison::{contains, starts_with};
use arrow::compute::kernels::substring::substring_by_char;
use arrow::datatypes::DataType;

use crate::error::Result;
use crate::expr::ScalarUdf;
use crate::functions::{argument, function};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    vec![
        function("lower", |args, _| {
            map_strings("lower", args, |s| s.to_lowercase())
        }),
        function("upper", |args, _| {
            map_strings("upper", args, |s| s.to_uppercase())
        }),
        function("trim", |args, _| {
            map_strings("trim", args, |s| s.trim().to_string())
        }),
        function("length", length),
        function("concat", concat),
        function("concat_ws", concat_ws),
        function("replace", replace),
        function("substring", substring),
        function("starts_with", |args, _| {
            let (a, b) = (
                strings("starts_with", args, 0)?,
                strings("starts_with", args, 1)?,
            );
            Ok(Arc::new(starts_with(&a, &b)?) as ArrayRef)
        }),
        function("contains", |args, _| {
            let (a, b) = (strings("contains", args, 0)?, strings("contains", args, 1)?);
            Ok(Arc::new(contains(&a, &b)?) as ArrayRef)
        }),
    ]
}

/// Argument `index` as a `Utf8` array.
fn strings(name: &str, args: &[ArrayRef], index: usize) -> Result<StringArray> {
    let arg = cast(argument(name, args, index)?, &DataType::Utf8)?;
    Ok(arg.as_string::<i32>().clone())
}

fn map_strings(name: &str, args: &[ArrayRef], f: impl Fn(&str) -> String) -> Result<ArrayRef> {
    let input = strings(name, args, 0)?;
    Ok(Arc::new(
        input.iter().map(|s| s.map(&f)).collect::<StringArray>(),
    ))
}

/// Length in characters, as Spark's `length`.
fn length(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let input = strings("length", args, 0)?;
    Ok(Arc::new(
        input
            .iter()
            .map(|s| s.map(|s| s.chars().count() as i32))
            .collect::<Int32Array>(),
    ))
}

/// Concatenation; null if any argument is null.
fn concat(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let parts = (0..args.len())
        .map(|i| strings("concat", args, i))
        .collect::<Result<Vec<_>>>()?;
    let rows = args.first().map_or(0, |a| a.len());
    let mut out = StringBuilder::new();
    for row in 0..rows {
        if parts.iter().any(|p| p.is_null(row)) {
            out.append_null();
        } else {
            out.append_value(parts.iter().map(|p| p.value(row)).collect::<String>());
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Concatenation with a separator, skipping null arguments, as Spark's `concat_ws`.
fn concat_ws(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let separator = strings("concat_ws", args, 0)?;
    let parts = (1..args.len())
        .map(|i| strings("concat_ws", args, i))
        .collect::<Result<Vec<_>>>()?;
    let mut out = StringBuilder::new();
    for row in 0..separator.len() {
        if separator.is_null(row) {
            out.append_null();
            continue;
        }
        let values: Vec<&str> = parts
            .iter()
            .filter(|p| p.is_valid(row))
            .map(|p| p.value(row))
            .collect();
        out.append_value(values.join(separator.value(row)));
    }
    Ok(Arc::new(out.finish()))
}

/// `replace(s, search, replacement)`.
fn replace(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, from, to) = (
        strings("replace", args, 0)?,
        strings("replace", args, 1)?,
        strings("replace", args, 2)?,
    );
    let out: StringArray = (0..s.len())
        .map(|row| {
            (s.is_valid(row) && from.is_valid(row) && to.is_valid(row))
                .then(|| s.value(row).replace(from.value(row), to.value(row)))
        })
        .collect();
    Ok(Arc::new(out))
}

/// `substring(s, start[, length])` with a 1-based `start` (a literal), in characters.
fn substring(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let input = strings("substring", args, 0)?;
    let start = cast(argument("substring", args, 1)?, &DataType::Int64)?;
    let start = start.as_primitive::<arrow::datatypes::Int64Type>();
    let from = if start.is_empty() || start.is_null(0) {
        1
    } else {
        start.value(0)
    };
    let length = match args.get(2) {
        Some(len) => {
            let len = cast(len, &DataType::Int64)?;
            let len = len.as_primitive::<arrow::datatypes::Int64Type>();
            (!len.is_empty() && len.is_valid(0)).then(|| len.value(0).max(0) as u64)
        }
        None => None,
    };
    // Spark: position 0 behaves as 1; negative positions count from the end.
    let from = if from > 0 { from - 1 } else { from };
    Ok(Arc::new(substring_by_char(&input, from, length)?))
}
