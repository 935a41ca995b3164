//! String functions, with Spark semantics: positions and lengths count characters (Unicode
//! scalar values), not bytes, and a NULL argument makes a NULL result unless noted.

mod characters;
mod format;
mod hash;
mod padding;
mod positions;
mod regexp;

use std::sync::Arc;

use arrow::array::{
    Array, ArrayAccessor, ArrayRef, AsArray, Int64Array, StringArray, StringBuilder,
};
use arrow::compute::cast;
use arrow::compute::kernels::comparison::{contains, starts_with};
use arrow::datatypes::{DataType, Int64Type};

use crate::error::{Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::arrays::concat_arrays;
use crate::functions::{argument, function};

type Body = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    let table: &[(&[&'static str], Body)] = &[
        (&["lower", "lcase"], |args, _| {
            map_strings("lower", args, |s, out| out.push_str(&s.to_lowercase()))
        }),
        (&["upper", "ucase"], |args, _| {
            map_strings("upper", args, |s, out| out.push_str(&s.to_uppercase()))
        }),
        (&["concat"], concat),
        (&["concat_ws"], concat_ws),
        (&["replace"], replace),
        (&["starts_with"], |args, _| {
            let (a, b) = (
                strings("starts_with", args, 0)?,
                strings("starts_with", args, 1)?,
            );
            Ok(Arc::new(starts_with(&a, &b)?) as ArrayRef)
        }),
        (&["contains"], |args, _| {
            let (a, b) = (strings("contains", args, 0)?, strings("contains", args, 1)?);
            Ok(Arc::new(contains(&a, &b)?) as ArrayRef)
        }),
    ];
    let groups = [
        table,
        characters::FUNCTIONS,
        padding::FUNCTIONS,
        positions::FUNCTIONS,
        regexp::FUNCTIONS,
        hash::FUNCTIONS,
        format::FUNCTIONS,
    ];
    groups
        .into_iter()
        .flatten()
        .flat_map(|&(names, body)| names.iter().map(move |&name| function(name, body)))
        .collect()
}

/// Argument `index` as a `Utf8` array.
fn strings(name: &str, args: &[ArrayRef], index: usize) -> Result<StringArray> {
    let arg = cast(argument(name, args, index)?, &DataType::Utf8)?;
    Ok(arg.as_string::<i32>().clone())
}

/// Argument `index` as an `Int64` array.
fn integers(name: &str, args: &[ArrayRef], index: usize) -> Result<Int64Array> {
    let arg = cast(argument(name, args, index)?, &DataType::Int64)?;
    Ok(arg.as_primitive::<Int64Type>().clone())
}

/// Optional argument `index` as strings, or `default` in every row when it is not given.
fn strings_or(name: &str, args: &[ArrayRef], index: usize, default: &str) -> Result<StringArray> {
    match args.get(index) {
        Some(_) => strings(name, args, index),
        None => Ok(StringArray::new_repeated(default, rows(args))),
    }
}

/// Optional argument `index` as integers, or `default` in every row when it is not given.
fn integers_or(name: &str, args: &[ArrayRef], index: usize, default: i64) -> Result<Int64Array> {
    match args.get(index) {
        Some(_) => integers(name, args, index),
        None => Ok(Int64Array::from_value(default, rows(args))),
    }
}

/// The number of rows of a call's arguments.
fn rows(args: &[ArrayRef]) -> usize {
    args.first().map_or(0, |a| a.len())
}

/// The value at `row`, `None` when it is null.
fn at<A: ArrayAccessor>(array: A, row: usize) -> Option<A::Item> {
    array.is_valid(row).then(|| array.value(row))
}

/// The largest string a function may produce (Arrow's 32-bit offsets bound a whole column).
const MAX_STRING_BYTES: usize = i32::MAX as usize;

/// A string column built row by row: `row` writes a value into a reused buffer and returns
/// `Ok(true)`, or returns `Ok(false)` for NULL. Errors (instead of overflowing) when the
/// column would exceed what 32-bit offsets can address.
fn build_strings(
    name: &str,
    rows: usize,
    mut row: impl FnMut(usize, &mut String) -> Result<bool>,
) -> Result<ArrayRef> {
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    let mut buffer = String::new();
    for i in 0..rows {
        buffer.clear();
        if row(i, &mut buffer)? {
            if out.values_slice().len() + buffer.len() > MAX_STRING_BYTES {
                return exec_err(format!("{name}: the result is larger than 2 GiB"));
            }
            out.append_value(&buffer);
        } else {
            out.append_null();
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Fails when `count` copies of `unit` bytes would exceed [`MAX_STRING_BYTES`] (for `repeat`
/// and the pads, which can grow a value without bound).
fn check_growth(name: &str, unit: usize, count: usize) -> Result<()> {
    match unit.checked_mul(count) {
        Some(bytes) if bytes <= MAX_STRING_BYTES => Ok(()),
        _ => exec_err(format!("{name}: the result is larger than 2 GiB")),
    }
}

/// A one-string-argument function: `f` writes the result for each non-null value.
fn map_strings(name: &str, args: &[ArrayRef], f: impl Fn(&str, &mut String)) -> Result<ArrayRef> {
    let input = strings(name, args, 0)?;
    build_strings(name, input.len(), |row, out| {
        let Some(s) = at(&input, row) else {
            return Ok(false);
        };
        f(s, out);
        Ok(true)
    })
}

/// Concatenation (of strings, or of arrays); null if any argument is null.
fn concat(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    if let DataType::List(_) = return_type {
        return concat_arrays(args, return_type);
    }
    let parts = (0..args.len())
        .map(|i| strings("concat", args, i))
        .collect::<Result<Vec<_>>>()?;
    build_strings("concat", rows(args), |row, out| {
        if parts.iter().any(|p| p.is_null(row)) {
            return Ok(false);
        }
        parts.iter().for_each(|p| out.push_str(p.value(row)));
        Ok(true)
    })
}

/// Concatenation with a separator, skipping null arguments, as Spark's `concat_ws`.
fn concat_ws(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let separator = strings("concat_ws", args, 0)?;
    let parts = (1..args.len())
        .map(|i| strings("concat_ws", args, i))
        .collect::<Result<Vec<_>>>()?;
    build_strings("concat_ws", separator.len(), |row, out| {
        let Some(separator) = at(&separator, row) else {
            return Ok(false);
        };
        for (i, value) in parts.iter().filter_map(|p| at(p, row)).enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(value);
        }
        Ok(true)
    })
}

/// `replace(s, search[, replacement])`: every occurrence of `search` replaced (by the empty
/// string when no replacement is given); an empty `search` leaves `s` as it is, as in Spark.
fn replace(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, from) = (strings("replace", args, 0)?, strings("replace", args, 1)?);
    let to = strings_or("replace", args, 2, "")?;
    build_strings("replace", s.len(), |row, out| {
        let (Some(s), Some(from), Some(to)) = (at(&s, row), at(&from, row), at(&to, row)) else {
            return Ok(false);
        };
        if from.is_empty() {
            out.push_str(s);
        } else {
            let mut rest = s;
            while let Some(found) = rest.find(from) {
                out.push_str(&rest[..found]);
                out.push_str(to);
                rest = &rest[found + from.len()..];
            }
            out.push_str(rest);
        }
        Ok(true)
    })
}

/// The characters of `s` from index `start` (inclusive) to `end` (exclusive), clamped to
/// the string.
fn char_slice(s: &str, start: usize, end: usize) -> &str {
    if s.is_ascii() {
        let end = end.min(s.len());
        return s.get(start.min(end)..end).unwrap_or("");
    }
    let byte = |index: usize| s.char_indices().nth(index).map_or(s.len(), |(b, _)| b);
    let from = byte(start);
    let to = if end == usize::MAX {
        s.len()
    } else {
        byte(end)
    };
    &s[from..to.max(from)]
}

/// Spark's `substring(s, pos, len)`: 1-based `pos`, 0 meaning 1, negative counting from the
/// end; the window `[pos, pos + len)` is clipped to the string (so a negative start reaching
/// before the beginning shortens the result, unlike Arrow's `substring_by_char`).
fn substring_sql(s: &str, pos: i64, len: i64) -> &str {
    let chars = if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    } as i64;
    let start = match pos {
        p if p > 0 => p - 1,
        p if p < 0 => chars + p,
        _ => 0,
    };
    let end = start.saturating_add(len);
    let start = start.max(0);
    if start >= end {
        return "";
    }
    let end = usize::try_from(end).unwrap_or(usize::MAX);
    char_slice(s, start as usize, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_sql_clips_the_window_like_spark() {
        assert_eq!(substring_sql("hello", 0, 2), "he");
        assert_eq!(substring_sql("hello", 1, i64::MAX), "hello");
        assert_eq!(substring_sql("hello", -3, 2), "ll");
        assert_eq!(substring_sql("hello", -7, 4), "he");
        assert_eq!(substring_sql("hello", -10, 3), "");
        assert_eq!(substring_sql("hello", 9, 1), "");
        // As in Spark: the window is [len + pos, len + pos + length), here [5 + MIN, 4).
        assert_eq!(substring_sql("hello", i64::MIN, i64::MAX), "hell");
        assert_eq!(substring_sql("héllo wörld", 8, 2), "ör");
        assert_eq!(substring_sql("héllo", -4, i64::MAX), "éllo");
    }

    #[test]
    fn columns_that_would_exceed_the_offsets_are_errors() {
        assert!(check_growth("repeat", 1 << 20, 1 << 12).is_err());
        assert!(check_growth("repeat", usize::MAX, 2).is_err());
        assert!(check_growth("repeat", 3, 5).is_ok());
    }
}
