//! `format_string(format, args..)` / `printf`: Java `Formatter` syntax, as Spark uses it.
//!
//! Supported: `%[index$][flags][width][.precision]conversion` with the flags `-` (left
//! align), `0` (zero padding), `+` and space (sign of non-negative numbers), and the
//! conversions `s`/`S` (any value as text), `d` (integers), `x`/`X` (integers in hex),
//! `f` (floats and decimals, 6 digits unless a precision is given), `b` (booleans), `%%` and
//! `%n`. As in Java, a NULL argument is written as `null` (`false` for `%b`), and a number of
//! the wrong kind for the conversion (`%d` of a float) is an error. Rust rounds `%f` from the
//! binary value of the float, where Java rounds half up from its shortest decimal form, so
//! ties such as `2.675` may differ in the last digit.

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use super::{Body, at, build_strings, strings};
use crate::error::{Result, exec_err};

pub(super) const FUNCTIONS: &[(&[&str], Body)] = &[(&["format_string", "printf"], format_string)];

const SUPPORTED: &str = "%s %S %d %x %X %f %b %% %n";

/// A parsed conversion specification.
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    /// The 0-based argument it formats (after the format itself).
    argument: usize,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

/// A piece of a parsed format.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Text(String),
    Spec(Spec),
}

/// Reads a decimal number at the front of `chars`, if there is one.
fn number(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<usize> {
    let mut value: Option<usize> = None;
    while let Some(digit) = chars.peek().and_then(|c| c.to_digit(10)) {
        value = Some(
            value
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(digit as usize),
        );
        chars.next();
    }
    value
}

/// How many bytes of `format` the iterator `chars` over it has consumed.
fn consumed(format: &str, chars: &std::iter::Peekable<std::str::Chars>) -> usize {
    format.len() - chars.clone().map(char::len_utf8).sum::<usize>()
}

/// Parses `format` into text and conversion specifications.
fn parse(format: &str) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut next_argument = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        let start = consumed(format, &chars) - 1;
        // `%3$s` names argument 3; a number without `$` is the width.
        let mut lookahead = chars.clone();
        let explicit = match (number(&mut lookahead), lookahead.peek()) {
            (Some(index), Some('$')) => {
                lookahead.next();
                chars = lookahead;
                Some(index)
            }
            _ => None,
        };
        let mut spec = Spec {
            argument: 0,
            left: false,
            zero: false,
            plus: false,
            space: false,
            width: 0,
            precision: None,
            conversion: ' ',
        };
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number(&mut chars).unwrap_or(0);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        let Some(conversion) = chars.next() else {
            return exec_err(format!(
                "format_string: the format '{format}' ends inside a conversion"
            ));
        };
        let written = &format[start..consumed(format, &chars)];
        match conversion {
            '%' => text.push('%'),
            'n' => text.push('\n'),
            'd' | 'x' | 'X' if spec.precision.is_some() => {
                return exec_err(format!(
                    "format_string: '{written}' has a precision, which integers do not take"
                ));
            }
            's' | 'S' | 'd' | 'x' | 'X' | 'f' | 'b' => {
                spec.conversion = conversion;
                spec.argument = match explicit {
                    Some(0) => {
                        return exec_err(format!(
                            "format_string: argument index 0 in '{written}' is invalid (they start at 1)"
                        ));
                    }
                    Some(index) => index - 1,
                    None => {
                        next_argument += 1;
                        next_argument - 1
                    }
                };
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                }
                segments.push(Segment::Spec(spec));
            }
            _ => {
                return exec_err(format!(
                    "format_string: the conversion '{written}' is not supported (supported: {SUPPORTED})"
                ));
            }
        }
    }
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    Ok(segments)
}

/// One argument, in the forms the conversions read.
struct Argument {
    data_type: DataType,
    text: StringArray,
    integers: Option<Int64Array>,
    floats: Option<Float64Array>,
    booleans: Option<BooleanArray>,
}

impl Argument {
    fn new(array: &ArrayRef) -> Result<Self> {
        let data_type = array.data_type().clone();
        let text = cast(array, &DataType::Utf8)?.as_string::<i32>().clone();
        let integers = if data_type.is_integer() {
            Some(
                cast(array, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            )
        } else {
            None
        };
        let floats = if data_type.is_floating() || matches!(data_type, DataType::Decimal128(..)) {
            Some(
                cast(array, &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            )
        } else {
            None
        };
        let booleans = (data_type == DataType::Boolean).then(|| array.as_boolean().clone());
        Ok(Argument {
            data_type,
            text,
            integers,
            floats,
            booleans,
        })
    }
}

/// Writes `sign` and `digits` padded to the spec's width.
fn pad_number(spec: &Spec, negative: bool, digits: &str, out: &mut String) {
    let sign = match (negative, spec.plus, spec.space) {
        (true, _, _) => "-",
        (false, true, _) => "+",
        (false, false, true) => " ",
        _ => "",
    };
    let fill = spec
        .width
        .saturating_sub(sign.len() + digits.chars().count());
    if spec.zero && !spec.left {
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        pad_text(spec, &format!("{sign}{digits}"), out);
    }
}

/// Writes `text` padded with spaces to the spec's width.
fn pad_text(spec: &Spec, text: &str, out: &mut String) {
    let fill = spec.width.saturating_sub(text.chars().count());
    if !spec.left {
        out.extend(std::iter::repeat_n(' ', fill));
    }
    out.push_str(text);
    if spec.left {
        out.extend(std::iter::repeat_n(' ', fill));
    }
}

/// Writes argument `arg` at `row` as `spec` says.
fn write_spec(spec: &Spec, arg: &Argument, row: usize, out: &mut String) -> Result<()> {
    let wrong_type = || {
        exec_err(format!(
            "format_string: %{} cannot format a value of type {}",
            spec.conversion, arg.data_type
        ))
    };
    let null = arg.text.is_null(row);
    match spec.conversion {
        'b' => {
            let value = match &arg.booleans {
                Some(booleans) => at(booleans, row).unwrap_or(false),
                None => !null,
            };
            pad_text(spec, if value { "true" } else { "false" }, out);
        }
        's' | 'S' => {
            let text = at(&arg.text, row).unwrap_or("null");
            let text = match spec.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text.to_string(),
            };
            let text = if spec.conversion == 'S' {
                text.to_uppercase()
            } else {
                text
            };
            pad_text(spec, &text, out);
        }
        _ if null => pad_text(spec, "null", out),
        'd' | 'x' | 'X' => {
            let Some(value) = arg.integers.as_ref().and_then(|i| at(i, row)) else {
                return wrong_type();
            };
            let digits = match spec.conversion {
                'd' => value.unsigned_abs().to_string(),
                'x' => format!("{value:x}"),
                _ => format!("{value:X}"),
            };
            pad_number(spec, spec.conversion == 'd' && value < 0, &digits, out);
        }
        _ => {
            let Some(value) = arg.floats.as_ref().and_then(|f| at(f, row)) else {
                return wrong_type();
            };
            let digits = if value.is_finite() {
                format!("{:.*}", spec.precision.unwrap_or(6), value.abs())
            } else if value.is_nan() {
                "NaN".to_string()
            } else {
                "Infinity".to_string()
            };
            pad_number(
                spec,
                value.is_sign_negative() && !value.is_nan(),
                &digits,
                out,
            );
        }
    }
    Ok(())
}

/// `format_string(format, args..)`: NULL when the format is NULL.
fn format_string(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let format = strings("format_string", args, 0)?;
    let arguments = args[1..]
        .iter()
        .map(Argument::new)
        .collect::<Result<Vec<_>>>()?;
    // The parse of the previous row's format, reused while the format stays the same.
    let mut parsed: Option<(&str, Vec<Segment>)> = None;
    build_strings("format_string", format.len(), |row, out| {
        let Some(format) = at(&format, row) else {
            return Ok(false);
        };
        let segments = match &mut parsed {
            Some((f, segments)) if *f == format => segments,
            slot => &mut slot.insert((format, parse(format)?)).1,
        };
        for segment in segments.iter() {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Spec(spec) => {
                    let Some(arg) = arguments.get(spec.argument) else {
                        return exec_err(format!(
                            "format_string: the format '{format}' needs argument {} but has {} arguments",
                            spec.argument + 1,
                            arguments.len()
                        ));
                    };
                    write_spec(spec, arg, row, out)?;
                }
            }
        }
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_carry_flags_width_precision_and_argument() {
        let segments = parse("x=%-8.3f|%2$05d%%").unwrap();
        let Segment::Spec(first) = &segments[1] else {
            panic!("{segments:?}")
        };
        assert!(first.left && !first.zero);
        assert_eq!((first.width, first.precision), (8, Some(3)));
        assert_eq!((first.argument, first.conversion), (0, 'f'));
        let Segment::Spec(second) = &segments[3] else {
            panic!("{segments:?}")
        };
        assert!(second.zero);
        assert_eq!((second.argument, second.width), (1, 5));
        assert_eq!(segments[4], Segment::Text("%".into()));
    }

    #[test]
    fn unsupported_and_truncated_specs_are_errors() {
        let err = parse("%,d").unwrap_err().to_string();
        assert!(err.contains("'%,' is not supported"), "{err}");
        assert!(parse("ends with %").is_err());
        assert!(parse("%0$s").is_err());
        assert!(parse("%.2d").is_err());
    }
}
