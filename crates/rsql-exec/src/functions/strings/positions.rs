//! Functions of character positions: `substring`, `left`, `right`, `overlay`, `instr`,
//! `locate`, `split_part`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array};
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
    build_strings("substring", s.len(), |row, out| {
        let (Some(s), Some(pos), Some(len)) = (at(&s, row), at(&pos, row), at(&len, row)) else {
            return Ok(false);
        };
        out.push_str(substring_sql(s, pos, len));
        Ok(true)
    })
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
