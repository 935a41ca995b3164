//! Functions of character positions: `substring`, `left`, `right`, `overlay`, `instr`,
//! `locate`, `split_part`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, StringArray};
use arrow::datatypes::DataType;

use super::{Body, at, build_strings, integers, integers_or, strings, substring_sql};
use crate::error::{Result, exec_err};

pub(super) const FUNCTIONS: &[(&[&str], Body)] = &[
    (&["substring", "substr"], substring),
    (&["left"], left),
    (&["right"], right),
    (&["overlay"], overlay),
    (&["instr", "strpos"], instr),
    (&["locate", "position"], locate),
    (&["split_part"], split_part),
];

/// `substring(s, pos[, len])`, see [`substring_sql`].
fn substring(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = strings("substring", args, 0)?;
    let pos = integers("substring", args, 1)?;
    let len = integers_or("substring", args, 2, i64::MAX)?;
    if let Some(window) = ascii_window(&s, &pos, &len) {
        return window;
    }
    build_strings("substring", s.len(), |row, out| {
        let (Some(s), Some(pos), Some(len)) = (at(&s, row), at(&pos, row), at(&len, row)) else {
            return Ok(false);
        };
        out.push_str(substring_sql(s, pos, len));
        Ok(true)
    })
}

/// `substring` of ASCII strings at the same non-negative `pos` and `len` in every row (such as
/// `substring(phone, 1, 2)`): characters are bytes, and Arrow's kernel cuts every value at once.
/// `None` for other arguments.
fn ascii_window(s: &StringArray, pos: &Int64Array, len: &Int64Array) -> Option<Result<ArrayRef>> {
    let constant = |values: &Int64Array| {
        let first = *values.values().first()?;
        (values.null_count() == 0 && values.values().iter().all(|&v| v == first)).then_some(first)
    };
    let (pos, len) = (constant(pos)?, constant(len)?);
    if pos < 0 || len < 0 || !s.values().is_ascii() {
        return None;
    }
    // Spark's position 0 is 1; a window past the end is empty, as Arrow's. No value is longer
    // than all values together, so longer lengths (up to "the rest") are cut to that, which
    // keeps Arrow's `start + length` from overflowing.
    let start = (pos - 1).max(0);
    let length = u64::try_from(len).ok()?.min(s.values().len() as u64);
    Some(arrow::compute::kernels::substring::substring(s, start, Some(length)).map_err(Into::into))
}

/// `left(s, n)`: the first `n` characters; empty when `n <= 0`.
fn left(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, n) = (strings("left", args, 0)?, integers("left", args, 1)?);
    build_strings("left", s.len(), |row, out| {
        let (Some(s), Some(n)) = (at(&s, row), at(&n, row)) else {
            return Ok(false);
        };
        out.push_str(substring_sql(s, 1, n));
        Ok(true)
    })
}

/// `right(s, n)`: the last `n` characters; empty when `n <= 0`.
fn right(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, n) = (strings("right", args, 0)?, integers("right", args, 1)?);
    build_strings("right", s.len(), |row, out| {
        let (Some(s), Some(n)) = (at(&s, row), at(&n, row)) else {
            return Ok(false);
        };
        if n > 0 {
            out.push_str(substring_sql(s, n.saturating_neg(), i64::MAX));
        }
        Ok(true)
    })
}

/// `overlay(s, replacement, pos[, len])`: `s` with `len` characters from `pos` replaced by
/// `replacement`; a missing or negative `len` is the length of `replacement` (Spark).
fn overlay(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = strings("overlay", args, 0)?;
    let replacement = strings("overlay", args, 1)?;
    let pos = integers("overlay", args, 2)?;
    let len = integers_or("overlay", args, 3, -1)?;
    build_strings("overlay", s.len(), |row, out| {
        let (Some(s), Some(replacement), Some(pos), Some(len)) = (
            at(&s, row),
            at(&replacement, row),
            at(&pos, row),
            at(&len, row),
        ) else {
            return Ok(false);
        };
        let len = if len >= 0 {
            len
        } else {
            replacement.chars().count() as i64
        };
        out.push_str(substring_sql(s, 1, pos.saturating_sub(1)));
        out.push_str(replacement);
        out.push_str(substring_sql(s, pos.saturating_add(len), i64::MAX));
        Ok(true)
    })
}

/// The 1-based character position of `needle` in `haystack` at or after character index
/// `from` (0-based), or 0. An empty needle is found at position 1 whatever `from` is, as
/// Spark's `UTF8String.indexOf` does.
fn find_position(haystack: &str, needle: &str, from: usize) -> i32 {
    if needle.is_empty() {
        return 1;
    }
    let start = haystack
        .char_indices()
        .nth(from)
        .map_or(haystack.len(), |(b, _)| b);
    match haystack[start..].find(needle) {
        Some(found) => (from + haystack[start..start + found].chars().count() + 1) as i32,
        None => 0,
    }
}

/// `instr(s, substr)` / `strpos`: the 1-based character position of the first occurrence,
/// or 0.
fn instr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, needle) = (strings("instr", args, 0)?, strings("instr", args, 1)?);
    let out: Int32Array = (0..s.len())
        .map(|row| Some(find_position(at(&s, row)?, at(&needle, row)?, 0)))
        .collect();
    Ok(Arc::new(out))
}

/// `locate(substr, s[, pos])` / `position`: like `instr` with the arguments swapped, searching
/// from the 1-based `pos`; as in Spark, a `pos` below 1 or NULL gives 0 (not NULL).
fn locate(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (needle, s) = (strings("locate", args, 0)?, strings("locate", args, 1)?);
    let pos = integers_or("locate", args, 2, 1)?;
    let out: Int32Array = (0..s.len())
        .map(|row| {
            let (needle, s) = (at(&needle, row)?, at(&s, row)?);
            Some(match at(&pos, row) {
                Some(pos) if pos >= 1 => {
                    find_position(s, needle, usize::try_from(pos - 1).unwrap_or(usize::MAX))
                }
                _ => 0,
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// `split_part(s, delimiter, n)`: the `n`-th part (from 1, or from -1 at the end) of `s` split
/// at `delimiter`, or the empty string when there is no such part. An empty delimiter does not
/// split; `n = 0` is an error, as in Spark.
fn split_part(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = strings("split_part", args, 0)?;
    let delimiter = strings("split_part", args, 1)?;
    let n = integers("split_part", args, 2)?;
    build_strings("split_part", s.len(), |row, out| {
        let (Some(s), Some(delimiter), Some(n)) = (at(&s, row), at(&delimiter, row), at(&n, row))
        else {
            return Ok(false);
        };
        let part = match n {
            0 => {
                return exec_err(
                    "split_part: the part number 0 is invalid (parts count from 1, or from -1 at the end)",
                );
            }
            _ if delimiter.is_empty() => (n == 1 || n == -1).then_some(s),
            n if n > 0 => s.split(delimiter).nth((n - 1) as usize),
            n => s
                .rsplit(delimiter)
                .nth(usize::try_from(-(n + 1)).unwrap_or(usize::MAX)),
        };
        out.push_str(part.unwrap_or(""));
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::weighted(0.9, "[a-z0-9 ]{0,12}|[a-zé]{0,6}")
    }

    proptest! {
        /// Every row of `substring` equals [`substring_sql`] on that row, whether the ASCII
        /// kernel (constant non-negative position and length over ASCII strings) or the row
        /// at a time path runs: positions before, at and past the start and end, lengths
        /// negative, zero and missing, NULL strings, non-ASCII strings.
        #[test]
        fn substring_matches_the_row_at_a_time_reference(
            values in proptest::collection::vec(text(), 1..20),
            pos in -4_i64..16,
            len in proptest::option::of(-2_i64..16),
        ) {
            let strings: ArrayRef = Arc::new(StringArray::from(values.clone()));
            let rows = values.len();
            let mut args = vec![strings, Arc::new(Int64Array::from_value(pos, rows)) as ArrayRef];
            if let Some(len) = len {
                args.push(Arc::new(Int64Array::from_value(len, rows)));
            }
            let out = substring(&args, &DataType::Utf8).unwrap();
            let actual: Vec<Option<String>> =
                out.as_string::<i32>().iter().map(|v| v.map(String::from)).collect();
            let expected: Vec<Option<String>> = values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .map(|s| substring_sql(s, pos, len.unwrap_or(i64::MAX)).to_string())
                })
                .collect();
            prop_assert_eq!(actual, expected);
        }
    }
}
