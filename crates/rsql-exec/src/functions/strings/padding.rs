//! Padding, repeating and trimming: `lpad`, `rpad`, `repeat`, `trim`, `btrim`, `ltrim`,
//! `rtrim`.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;

use super::{Body, at, build_strings, check_growth, integers, strings, strings_or, substring_sql};
use crate::error::Result;

pub(super) const FUNCTIONS: &[(&[&str], Body)] = &[
    (&["lpad"], |args, _| pad("lpad", args, Side::Left)),
    (&["rpad"], |args, _| pad("rpad", args, Side::Right)),
    (&["repeat"], repeat),
    (&["trim", "btrim"], |args, _| trim("trim", args, Side::Both)),
    (&["ltrim"], |args, _| trim("ltrim", args, Side::Left)),
    (&["rtrim"], |args, _| trim("rtrim", args, Side::Right)),
];

/// Which end of a string a function works on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Both,
}

/// `lpad(s, len[, pad])` / `rpad`: `s` padded with repetitions of `pad` (default a space) to
/// `len` characters; as in Spark, a longer `s` is cut to its first `len` characters, an empty
/// `pad` only cuts, and `len <= 0` gives the empty string.
fn pad(name: &str, args: &[ArrayRef], side: Side) -> Result<ArrayRef> {
    let s = strings(name, args, 0)?;
    let len = integers(name, args, 1)?;
    let padding = strings_or(name, args, 2, " ")?;
    build_strings(name, s.len(), |row, out| {
        let (Some(s), Some(len), Some(padding)) = (at(&s, row), at(&len, row), at(&padding, row))
        else {
            return Ok(false);
        };
        let missing = len.saturating_sub(s.chars().count() as i64);
        if missing <= 0 || padding.is_empty() {
            out.push_str(substring_sql(s, 1, len));
            return Ok(true);
        }
        let missing = missing as usize;
        let max_char = padding.chars().map(char::len_utf8).max().unwrap_or(1);
        check_growth(name, max_char, missing.saturating_add(s.len()))?;
        if side == Side::Right {
            out.push_str(s);
        }
        out.extend(padding.chars().cycle().take(missing));
        if side == Side::Left {
            out.push_str(s);
        }
        Ok(true)
    })
}

/// `repeat(s, n)`: `s` repeated `n` times; empty when `n <= 0`.
fn repeat(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, n) = (strings("repeat", args, 0)?, integers("repeat", args, 1)?);
    build_strings("repeat", s.len(), |row, out| {
        let (Some(s), Some(n)) = (at(&s, row), at(&n, row)) else {
            return Ok(false);
        };
        let n = usize::try_from(n).unwrap_or(0);
        check_growth("repeat", s.len(), n)?;
        (0..n).for_each(|_| out.push_str(s));
        Ok(true)
    })
}

/// `trim(s[, characters])` and its one-sided forms: removes the characters of `characters`
/// (default: the space character only, as Spark, not all whitespace) from the ends of `s`.
fn trim(name: &str, args: &[ArrayRef], side: Side) -> Result<ArrayRef> {
    let s = strings(name, args, 0)?;
    let characters = strings_or(name, args, 1, " ")?;
    build_strings(name, s.len(), |row, out| {
        let (Some(s), Some(characters)) = (at(&s, row), at(&characters, row)) else {
            return Ok(false);
        };
        let strip = |c: char| characters.contains(c);
        out.push_str(match side {
            Side::Left => s.trim_start_matches(strip),
            Side::Right => s.trim_end_matches(strip),
            Side::Both => s.trim_matches(strip),
        });
        Ok(true)
    })
}
