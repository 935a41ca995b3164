//! Results as text: CSV, TSV, a JSON array, NDJSON, or the aligned table of [`super::table`].

use std::io::Write;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow::json::writer::{JsonArray, LineDelimited, WriterBuilder};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::table::{TableRows, render_table};
use crate::args::Format;

/// Writes one result in a text `format` as its batches come; a result without columns writes
/// nothing. An error of `batches` (the query's) is returned as it is, after the rows before it
/// were written (except in `table` format, which renders once it has every row).
///
/// JSON leaves null fields out, as the NDJSON files the library writes (and Spark) do, so a
/// result printed here and one written to a directory hold the same records.
pub fn write_text(
    format: Format,
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    max_rows: usize,
    out: &mut dyn Write,
) -> Result<()> {
    if schema.fields().is_empty() {
        return Ok(());
    }
    match format {
        Format::Table => {
            let mut rows = TableRows::new(max_rows);
            for batch in batches {
                rows.push(batch?);
            }
            render_table(schema, &rows, out)?;
        }
        Format::Csv => write_delimited(schema, batches, Delimited::Csv, out)?,
        Format::Tsv => write_delimited(schema, batches, Delimited::Tsv, out)?,
        Format::Json => {
            let mut writer = WriterBuilder::new()
                .with_explicit_nulls(false)
                .build::<_, JsonArray>(&mut *out);
            for batch in batches {
                writer.write(&batch?)?;
            }
            writer.finish()?;
            drop(writer);
            out.write_all(b"\n")?;
        }
        Format::Ndjson => {
            let mut writer = WriterBuilder::new()
                .with_explicit_nulls(false)
                .build::<_, LineDelimited>(&mut *out);
            for batch in batches {
                writer.write(&batch?)?;
            }
            writer.finish()?;
        }
        Format::Parquet => anyhow::bail!("Parquet is not a text format"),
    }
    Ok(())
}

/// The two delimited flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delimited {
    /// Commas; fields holding a comma, quote or line break are quoted (RFC 4180).
    Csv,
    /// Tabs; tabs, line breaks and backslashes inside fields are backslash-escaped.
    Tsv,
}

/// A header line then one line per row; nulls are empty fields, nested values are written as
/// the table format shows them.
fn write_delimited(
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    flavour: Delimited,
    out: &mut dyn Write,
) -> Result<()> {
    let separator = match flavour {
        Delimited::Csv => ",",
        Delimited::Tsv => "\t",
    };
    let header: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| field(f.name(), flavour))
        .collect();
    writeln!(out, "{}", header.join(separator))?;
    let options = FormatOptions::default().with_display_error(true);
    let mut line = String::new();
    for batch in batches {
        let batch = batch?;
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            line.clear();
            for (i, (formatter, column)) in formatters.iter().zip(batch.columns()).enumerate() {
                if i > 0 {
                    line.push_str(separator);
                }
                if column.is_valid(row) {
                    line.push_str(&field(&formatter.value(row).to_string(), flavour));
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// `value` as one field of `flavour`.
fn field(value: &str, flavour: Delimited) -> String {
    match flavour {
        Delimited::Csv => {
            if value.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", value.replace('"', "\"\""))
            } else {
                value.to_string()
            }
        }
        Delimited::Tsv => {
            if value.contains(['\t', '\n', '\r', '\\']) {
                value
                    .replace('\\', "\\\\")
                    .replace('\t', "\\t")
                    .replace('\n', "\\n")
                    .replace('\r', "\\r")
            } else {
                value.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("plain"),
                    Some("a,\"b\""),
                    None,
                    Some("tab\there"),
                ])),
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3), Some(4)])),
            ],
        )
        .unwrap()
    }

    fn text(format: Format) -> String {
        let b = batch();
        let mut out = Vec::new();
        write_text(
            format,
            &b.schema(),
            std::iter::once(Ok(b.clone())),
            40,
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            text(Format::Csv),
            "s,n\nplain,1\n\"a,\"\"b\"\"\",\n,3\ntab\there,4\n"
        );
    }

    #[test]
    fn tsv_escapes_tabs() {
        assert_eq!(
            text(Format::Tsv),
            "s\tn\nplain\t1\na,\"b\"\t\n\t3\ntab\\there\t4\n"
        );
    }

    #[test]
    fn json_leaves_nulls_out() {
        assert_eq!(
            text(Format::Ndjson),
            "{\"s\":\"plain\",\"n\":1}\n{\"s\":\"a,\\\"b\\\"\"}\n{\"n\":3}\n{\"s\":\"tab\\there\",\"n\":4}\n"
        );
        let array = text(Format::Json);
        assert!(array.starts_with("[{\"s\":\"plain\",\"n\":1},"), "{array}");
        assert!(array.ends_with("]\n"), "{array}");
    }

    #[test]
    fn empty_results() {
        let b = batch();
        let mut out = Vec::new();
        write_text(Format::Json, &b.schema(), std::iter::empty(), 40, &mut out).unwrap();
        assert_eq!(out, b"[]\n");
        let mut out = Vec::new();
        write_text(Format::Csv, &b.schema(), std::iter::empty(), 40, &mut out).unwrap();
        assert_eq!(out, b"s,n\n");
    }
}
