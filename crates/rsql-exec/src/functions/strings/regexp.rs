//! Regular expression functions: `regexp_like` (`rlike`), `regexp_replace`, `regexp_extract`,
//! `regexp_count` and `split`. Each batch compiles each distinct pattern once ([`RegexCache`]),
//! whether the pattern is a literal or a column.
//!
//! Patterns use Rust's `regex` syntax. Differences from Spark's Java regex that matter:
//! * no backreferences (`\1`) or look-around (`(?=..)`, `(?<=..)`) in patterns, and no
//!   possessive quantifiers (`a*+`): such a pattern is an invalid-regex error;
//! * matching is Unicode-aware by default (`\w`, `\d` and case-insensitive matching cover
//!   non-ASCII characters; Java's are ASCII unless `(?U)` is given);
//! * after a non-empty match Rust reports no empty match at the same position, so counts of
//!   patterns that can match the empty string (`a*`) can be lower than Java's;
//! * SQL string literals here keep backslashes as written, so a Spark `'\\d'` is written `'\d'`.
//!
//! Replacements follow Java's syntax, not Rust's: `$1` reads digits greedily while the group
//! exists (`$10` is group 1 then `0` when there are fewer than ten groups; Rust's own syntax
//! reads it as group 10 and `$1a` as a group named `1a`), `${name}` names a group, `\` escapes the next
//! character (`\$` is a dollar); `${1}` (valid in Rust) is rejected as Java rejects it, and so
//! is a reference to a group the pattern does not have.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, ListBuilder, StringBuilder};
use arrow::datatypes::DataType;
use regex::{Captures, Regex};

use super::{Body, at, build_strings, integers_or, rows, strings};
use crate::error::{ExecError, Result, exec_err};

pub(super) const FUNCTIONS: &[(&[&str], Body)] = &[
    (&["regexp_like", "rlike"], regexp_like),
    (&["regexp_replace"], regexp_replace),
    (&["regexp_extract"], regexp_extract),
    (&["regexp_count"], regexp_count),
    (&["split"], split),
];

/// Compiled patterns by text, so each distinct pattern of a batch is compiled once, whether
/// the pattern is a literal or a column.
struct RegexCache {
    function: &'static str,
    compiled: HashMap<String, Regex>,
}

impl RegexCache {
    fn new(function: &'static str) -> Self {
        RegexCache {
            function,
            compiled: HashMap::new(),
        }
    }

    /// The compiled `pattern`; an invalid pattern is an error naming the function.
    fn get(&mut self, pattern: &str) -> Result<&Regex> {
        if !self.compiled.contains_key(pattern) {
            let regex = Regex::new(pattern).map_err(|err| {
                ExecError::Execution(format!(
                    "{}: invalid regular expression '{pattern}': {err}",
                    self.function
                ))
            })?;
            self.compiled.insert(pattern.to_string(), regex);
        }
        Ok(&self.compiled[pattern])
    }
}

/// `regexp_like(s, pattern)` / `rlike`: whether `pattern` matches anywhere in `s`.
fn regexp_like(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, pattern) = (
        strings("regexp_like", args, 0)?,
        strings("regexp_like", args, 1)?,
    );
    let mut cache = RegexCache::new("regexp_like");
    let out = (0..s.len())
        .map(|row| match (at(&s, row), at(&pattern, row)) {
            (Some(s), Some(pattern)) => Ok(Some(cache.get(pattern)?.is_match(s))),
            _ => Ok(None),
        })
        .collect::<Result<arrow::array::BooleanArray>>()?;
    Ok(Arc::new(out))
}

/// `regexp_count(s, pattern)`: the number of non-overlapping matches.
fn regexp_count(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, pattern) = (
        strings("regexp_count", args, 0)?,
        strings("regexp_count", args, 1)?,
    );
    let mut cache = RegexCache::new("regexp_count");
    let out = (0..s.len())
        .map(|row| match (at(&s, row), at(&pattern, row)) {
            (Some(s), Some(pattern)) => Ok(Some(cache.get(pattern)?.find_iter(s).count() as i32)),
            _ => Ok(None),
        })
        .collect::<Result<Int32Array>>()?;
    Ok(Arc::new(out))
}

/// `regexp_extract(s, pattern[, group])`: group `group` (default 1, 0 for the whole match) of
/// the first match, or the empty string when nothing matches or the group did not take part.
/// A group the pattern does not have is an error, as in Spark.
fn regexp_extract(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    const NAME: &str = "regexp_extract";
    let (s, pattern) = (strings(NAME, args, 0)?, strings(NAME, args, 1)?);
    let group = integers_or(NAME, args, 2, 1)?;
    let mut cache = RegexCache::new(NAME);
    build_strings(NAME, s.len(), |row, out| {
        let (Some(s), Some(pattern), Some(group)) =
            (at(&s, row), at(&pattern, row), at(&group, row))
        else {
            return Ok(false);
        };
        let regex = cache.get(pattern)?;
        let groups = regex.captures_len() - 1;
        let index = match usize::try_from(group) {
            Ok(index) if index <= groups => index,
            _ => {
                return exec_err(format!(
                    "{NAME}: the pattern '{pattern}' has {groups} groups, so group {group} does not exist"
                ));
            }
        };
        if let Some(found) = regex.captures(s).and_then(|c| c.get(index)) {
            out.push_str(found.as_str());
        }
        Ok(true)
    })
}

/// A piece of a parsed Java replacement string.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// Parses a Java (Spark) replacement string for `regex`.
fn parse_replacement(replacement: &str, regex: &Regex) -> Result<Vec<Piece>> {
    let invalid = |why: String| {
        exec_err(format!(
            "regexp_replace: invalid replacement '{replacement}': {why}"
        ))
    };
    let groups = regex.captures_len() - 1;
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => text.push(escaped),
                None => return invalid("it ends with an escaping '\\'".into()),
            },
            '$' => {
                let reference = match chars.next() {
                    Some('{') => {
                        let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                            && regex.capture_names().flatten().any(|n| n == name);
                        if !valid {
                            return invalid(format!("there is no group named '{name}'"));
                        }
                        Piece::Named(name)
                    }
                    Some(digit @ '0'..='9') => {
                        let mut group = digit as usize - '0' as usize;
                        if group > groups {
                            return invalid(format!("there is no group {group}"));
                        }
                        // Further digits belong to the reference while the group exists.
                        while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                            let longer = group * 10 + next as usize;
                            if longer > groups {
                                break;
                            }
                            group = longer;
                            chars.next();
                        }
                        Piece::Group(group)
                    }
                    _ => return invalid("'$' must be followed by a group number or {name}".into()),
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(reference);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Writes the replacement for one match.
fn expand(pieces: &[Piece], captures: &Captures, out: &mut String) {
    for piece in pieces {
        let group = match piece {
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Group(index) => captures.get(*index),
            Piece::Named(name) => captures.name(name),
        };
        out.push_str(group.map_or("", |m| m.as_str()));
    }
}

/// `regexp_replace(s, pattern, replacement[, position])`: every match in `s` from the 1-based
/// character `position` on replaced by `replacement` (Java syntax, see the module doc).
fn regexp_replace(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    const NAME: &str = "regexp_replace";
    let (s, pattern) = (strings(NAME, args, 0)?, strings(NAME, args, 1)?);
    let replacement = strings(NAME, args, 2)?;
    let position = integers_or(NAME, args, 3, 1)?;
    let mut cache = RegexCache::new(NAME);
    // The parsed replacement of the previous row, reused while it and the pattern stay.
    let mut parsed: Option<(&str, &str, Vec<Piece>)> = None;
    build_strings(NAME, s.len(), |row, out| {
        let (Some(s), Some(pattern), Some(replacement), Some(position)) = (
            at(&s, row),
            at(&pattern, row),
            at(&replacement, row),
            at(&position, row),
        ) else {
            return Ok(false);
        };
        if position < 1 {
            return exec_err(format!(
                "{NAME}: the position must be at least 1, got {position}"
            ));
        }
        let regex = cache.get(pattern)?;
        let pieces = match &mut parsed {
            Some((p, r, pieces)) if *p == pattern && *r == replacement => pieces,
            slot => {
                &mut slot
                    .insert((pattern, replacement, parse_replacement(replacement, regex)?))
                    .2
            }
        };
        let skip = s
            .char_indices()
            .nth((position - 1) as usize)
            .map_or(s.len(), |(b, _)| b);
        let (kept, searched) = s.split_at(skip);
        out.push_str(kept);
        let mut last = 0;
        for captures in regex.captures_iter(searched) {
            let whole = captures.get(0).map_or(0..0, |m| m.range());
            out.push_str(&searched[last..whole.start]);
            expand(pieces, &captures, out);
            last = whole.end;
        }
        out.push_str(&searched[last..]);
        Ok(true)
    })
}

/// The parts of `s` split around matches of `regex`, as Java's `String.split(regex, limit)`
/// (which Spark's `split` uses): at most `limit` parts when `limit > 0`, the last holding the
/// rest; no empty first part for a zero-width match at the start; trailing empty parts kept.
/// An empty pattern splits into characters without a trailing empty part (Spark).
fn split_parts<'s>(s: &'s str, regex: &Regex, limit: i64) -> Vec<&'s str> {
    let limit = usize::try_from(limit).ok().filter(|&l| l > 0);
    if regex.as_str().is_empty() && !s.is_empty() {
        let mut parts: Vec<&str> = Vec::new();
        for (i, (start, _)) in s.char_indices().enumerate() {
            if limit.is_some_and(|l| i + 1 == l) {
                parts.push(&s[start..]);
                return parts;
            }
            let end = s[start..]
                .chars()
                .next()
                .map_or(s.len(), |c| start + c.len_utf8());
            parts.push(&s[start..end]);
        }
        return parts;
    }
    let mut parts = Vec::new();
    let mut index = 0;
    for found in regex.find_iter(s) {
        if limit.is_some_and(|l| parts.len() + 1 >= l) {
            break;
        }
        if found.start() == 0 && found.is_empty() {
            continue;
        }
        parts.push(&s[index..found.start()]);
        index = found.end();
    }
    parts.push(&s[index..]);
    parts
}

/// `split(s, pattern[, limit])`: the parts of `s` around matches of `pattern`, as an array.
fn split(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (s, pattern) = (strings("split", args, 0)?, strings("split", args, 1)?);
    let limit = integers_or("split", args, 2, -1)?;
    let mut cache = RegexCache::new("split");
    let mut out = ListBuilder::with_capacity(StringBuilder::new(), rows(args));
    for row in 0..s.len() {
        match (at(&s, row), at(&pattern, row), at(&limit, row)) {
            (Some(s), Some(pattern), Some(limit)) => {
                let regex = cache.get(pattern)?;
                for part in split_parts(s, regex, limit) {
                    out.values().append_value(part);
                }
                out.append(true);
            }
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacements_read_group_digits_greedily_while_the_group_exists() {
        let regex = Regex::new("(a)(b)").unwrap();
        assert_eq!(
            parse_replacement("$21\\$x", &regex).unwrap(),
            vec![Piece::Group(2), Piece::Text("1$x".into())]
        );
        assert!(parse_replacement("$3", &regex).is_err());
        assert!(parse_replacement("${1}", &regex).is_err());
        assert!(parse_replacement("tail\\", &regex).is_err());
        let named = Regex::new("(?<first>a)").unwrap();
        assert_eq!(
            parse_replacement("<${first}>", &named).unwrap(),
            vec![
                Piece::Text("<".into()),
                Piece::Named("first".into()),
                Piece::Text(">".into())
            ]
        );
    }

    #[test]
    fn no_empty_match_right_after_a_match_unlike_java() {
        // Java finds 0..0, 1..4 and 4..4 (so Spark's regexp_count is 3); see the module doc.
        let regex = Regex::new("a*").unwrap();
        let found: Vec<_> = regex.find_iter("baaa").map(|m| m.range()).collect();
        assert_eq!(found, vec![0..0, 1..4]);
    }

    #[test]
    fn split_follows_java_string_split() {
        let comma = Regex::new(",").unwrap();
        assert_eq!(split_parts("a,b,,", &comma, -1), vec!["a", "b", "", ""]);
        assert_eq!(split_parts("a,b,c", &comma, 2), vec!["a", "b,c"]);
        assert_eq!(split_parts("", &comma, -1), vec![""]);
        let empty = Regex::new("").unwrap();
        assert_eq!(split_parts("abc", &empty, -1), vec!["a", "b", "c"]);
        assert_eq!(split_parts("abc", &empty, 2), vec!["a", "bc"]);
        let lookahead_free = Regex::new("x*").unwrap();
        assert_eq!(split_parts("ab", &lookahead_free, -1), vec!["a", "b", ""]);
    }
}
