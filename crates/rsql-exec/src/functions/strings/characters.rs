//! Functions of single characters and lengths: `length`, `octet_length`, `bit_length`,
//! `ascii`, `chr`, `reverse`, `initcap`, `translate`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array};
use arrow::compute::kernels::length::{bit_length, length as byte_length};
use arrow::datatypes::DataType;

use super::{Body, at, build_strings, integers, map_strings, strings};
use crate::error::Result;

pub(super) const FUNCTIONS: &[(&[&str], Body)] = &[
    (&["length", "char_length", "character_length"], length),
    (&["octet_length"], |args, _| {
        Ok(byte_length(&strings("octet_length", args, 0)?)?)
    }),
    (&["bit_length"], |args, _| {
        Ok(bit_length(&strings("bit_length", args, 0)?)?)
    }),
    (&["ascii"], ascii),
    (&["chr", "char"], chr),
    (&["reverse"], |args, _| {
        map_strings("reverse", args, |s, out| out.extend(s.chars().rev()))
    }),
    (&["initcap"], |args, _| {
        map_strings("initcap", args, initcap)
    }),
    (&["translate"], translate),
];

/// Length in characters, as Spark's `length`.
fn length(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let input = strings("length", args, 0)?;
    let out: Int32Array = input
        .iter()
        .map(|s| s.map(|s| s.chars().count() as i32))
        .collect();
    Ok(Arc::new(out))
}

/// `ascii(s)`: the code point of the first character; 0 for the empty string.
fn ascii(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let input = strings("ascii", args, 0)?;
    let out: Int32Array = input
        .iter()
        .map(|s| s.map(|s| s.chars().next().map_or(0, |c| c as i32)))
        .collect();
    Ok(Arc::new(out))
}

/// `chr(n)` / `char`: as Spark, the character with code `n mod 256` (Latin-1), the empty
/// string for negative `n`.
fn chr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let codes = integers("chr", args, 0)?;
    build_strings("chr", codes.len(), |row, out| {
        let Some(code) = at(&codes, row) else {
            return Ok(false);
        };
        if code >= 0 {
            out.push(char::from((code & 0xFF) as u8));
        }
        Ok(true)
    })
}

/// Spark's `initcap`: lower case, then the first character and every character after a space
/// in title case.
fn initcap(s: &str, out: &mut String) {
    let mut after_space = true;
    for c in s.chars() {
        if after_space {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        after_space = c == ' ';
    }
}

/// `translate(s, from, to)`: every character of `from` in `s` replaced by the character at the
/// same index of `to`, or removed when `to` is shorter; the first occurrence in `from` wins.
fn translate(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let s = strings("translate", args, 0)?;
    let from = strings("translate", args, 1)?;
    let to = strings("translate", args, 2)?;
    // The mapping of the previous row, reused while `from` and `to` stay the same.
    let mut cached: Option<(&str, &str, HashMap<char, Option<char>>)> = None;
    build_strings("translate", s.len(), |row, out| {
        let (Some(s), Some(from), Some(to)) = (at(&s, row), at(&from, row), at(&to, row)) else {
            return Ok(false);
        };
        let mapping = match &mut cached {
            Some((f, t, mapping)) if *f == from && *t == to => mapping,
            slot => {
                let mut mapping = HashMap::new();
                let mut replacements = to.chars();
                for c in from.chars() {
                    let replacement = replacements.next();
                    mapping.entry(c).or_insert(replacement);
                }
                &mut slot.insert((from, to, mapping)).2
            }
        };
        out.extend(
            s.chars()
                .filter_map(|c| mapping.get(&c).copied().unwrap_or(Some(c))),
        );
        Ok(true)
    })
}
