//! The JSON functions, as Spark's: `get_json_object(json, path)` reads one value out of JSON
//! text; `to_json(v)` writes a struct, map or array as JSON text (NULL fields left out);
//! `from_json(json, schema)` reads JSON text as a value of the schema's type. Text that is not
//! JSON, a path that does not match and a value that does not fit the schema are NULL.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, new_null_array,
};
use arrow::compute::{concat, nullif};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::json::reader::ReaderBuilder;
use arrow::json::writer::{LineDelimited, WriterBuilder};
use serde_json::value::RawValue;

use crate::error::{Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::{argument, function};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    vec![
        function("get_json_object", get_json_object),
        function("to_json", to_json),
        function("from_json", from_json),
    ]
}

/// Argument `index` of `function` as strings.
fn strings<'a>(function: &str, args: &'a [ArrayRef], index: usize) -> Result<&'a StringArray> {
    let arg = argument(function, args, index)?;
    match arg.as_string_opt::<i32>() {
        Some(strings) => Ok(strings),
        None => exec_err(format!(
            "{function}: argument {} must be a string, got {}",
            index + 1,
            arg.data_type()
        )),
    }
}

/// One step of a JSON path.
#[derive(Debug, PartialEq)]
enum Step {
    /// `.name` or `['name']`.
    Key(String),
    /// `[n]`.
    Index(usize),
}

/// Spark's JSON path subset without wildcards: `$` then `.name`, `['name']` and `[n]` steps;
/// `None` for anything else.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() || name == "*" {
                return None;
            }
            steps.push(Step::Key(name.to_string()));
            rest = &after[end..];
        } else {
            let after = rest.strip_prefix('[')?;
            let end = after.find(']')?;
            let inner = &after[..end];
            let step = match inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                Some(name) => Step::Key(name.to_string()),
                None => Step::Index(inner.trim().parse().ok()?),
            };
            steps.push(step);
            rest = &after[end + 1..];
        }
    }
    Some(steps)
}

/// The value at `steps` in `json`: a string's text, or any other value as compact JSON in its
/// input order; `None` for JSON null, a missing value or text that is not JSON.
fn extract(json: &str, steps: &[Step]) -> Option<String> {
    let mut value: &RawValue = serde_json::from_str(json).ok()?;
    for step in steps {
        value = match step {
            Step::Key(name) => {
                let object: HashMap<String, &RawValue> = serde_json::from_str(value.get()).ok()?;
                object.get(name).copied()?
            }
            Step::Index(i) => {
                let array: Vec<&RawValue> = serde_json::from_str(value.get()).ok()?;
                array.get(*i).copied()?
            }
        };
    }
    let text = value.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str(text).ok(),
        b'n' => None,
        _ => Some(compact(text)),
    }
}

/// JSON text without the whitespace between its tokens.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c.is_whitespace() {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out
}

/// `get_json_object(json, path)`: the value at `path` in each row's JSON text.
fn get_json_object(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let json = strings("get_json_object", args, 0)?;
    let paths = strings("get_json_object", args, 1)?;
    let out: StringArray = json
        .iter()
        .zip(paths.iter())
        .map(|(json, path)| extract(json?, &parse_path(path?)?))
        .collect();
    Ok(Arc::new(out))
}

/// `to_json(v)`: each row's struct, map or array as JSON text; NULL for NULL.
fn to_json(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let values = argument("to_json", args, 0)?;
    // One column `v` per row: each line is `{"v":<value>}`, or `{}` where the value is NULL.
    let schema = Schema::new(vec![Field::new("v", values.data_type().clone(), true)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::clone(values)])?;
    let mut lines = Vec::new();
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(false)
        .build::<_, LineDelimited>(&mut lines);
    writer.write(&batch)?;
    writer.finish()?;
    drop(writer);
    let text =
        String::from_utf8(lines).map_err(|e| crate::error::ExecError::Execution(e.to_string()))?;
    let out: StringArray = text
        .lines()
        .map(|line| {
            line.strip_prefix("{\"v\":")
                .and_then(|value| value.strip_suffix('}'))
        })
        .collect();
    if out.len() != values.len() {
        return exec_err("to_json: the JSON writer wrote a line per row");
    }
    Ok(Arc::new(out))
}

/// `from_json(json, schema)`: each row's JSON text read as `return_type`; NULL for NULL text,
/// text that is not JSON, and a value that does not fit the type.
fn from_json(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let json = strings("from_json", args, 0)?;
    match read_json(json.iter().map(readable), json.len(), return_type) {
        Ok(values) => Ok(values),
        // A value that does not fit the type fails the whole batch: read row by row.
        Err(_) => {
            let rows = json
                .iter()
                .map(|text| {
                    read_json(std::iter::once(readable(text)), 1, return_type)
                        .unwrap_or_else(|_| new_null_array(return_type, 1))
                })
                .collect::<Vec<_>>();
            let rows: Vec<&dyn Array> = rows.iter().map(|a| a.as_ref()).collect();
            Ok(concat(&rows)?)
        }
    }
}

/// `text` when it is JSON.
fn readable(text: Option<&str>) -> Option<&str> {
    text.filter(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok())
}

/// `rows` JSON texts (`None` for NULL) read as values of `data_type`.
fn read_json<'a>(
    texts: impl Iterator<Item = Option<&'a str>>,
    rows: usize,
    data_type: &DataType,
) -> Result<ArrayRef> {
    let schema = Schema::new(vec![Field::new("v", data_type.clone(), true)]);
    let mut decoder = ReaderBuilder::new(Arc::new(schema))
        .with_batch_size(rows.max(1))
        .build_decoder()?;
    let mut missing = Vec::with_capacity(rows);
    let mut lines = String::new();
    for text in texts {
        missing.push(text.is_none());
        match text {
            Some(text) => {
                lines.push_str("{\"v\":");
                lines.push_str(text);
                lines.push_str("}\n");
            }
            None => lines.push_str("{}\n"),
        }
    }
    let mut input = lines.as_bytes();
    while !input.is_empty() {
        let read = decoder.decode(input)?;
        if read == 0 {
            return exec_err("from_json: the JSON reader stopped early");
        }
        input = &input[read..];
    }
    let Some(batch) = decoder.flush()? else {
        return Ok(new_null_array(data_type, 0));
    };
    let missing = BooleanArray::from(missing);
    Ok(nullif(batch.column(0), &missing)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_as_spark_reads_them() {
        let steps = parse_path("$.a['b c'][2]").unwrap();
        assert_eq!(
            steps,
            [
                Step::Key("a".into()),
                Step::Key("b c".into()),
                Step::Index(2)
            ]
        );
        assert_eq!(parse_path("$"), Some(vec![]));
        for bad in ["a.b", "$.", "$[x]", "$.a[*]", "$.*"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_come_out_as_text_or_compact_json() {
        let json = r#"{"a": {"b": [1, "x y", {"c": null}]}, "d": "q\"t"}"#;
        let at = |path: &str| extract(json, &parse_path(path).unwrap());
        assert_eq!(at("$.a.b[0]").as_deref(), Some("1"));
        assert_eq!(at("$.a.b[1]").as_deref(), Some("x y"));
        assert_eq!(at("$.a.b[2]").as_deref(), Some(r#"{"c":null}"#));
        assert_eq!(at("$.a.b[2].c"), None);
        assert_eq!(at("$.d").as_deref(), Some("q\"t"));
        assert_eq!(at("$.a.z"), None);
        assert_eq!(extract("{not json", &[]), None);
    }
}
