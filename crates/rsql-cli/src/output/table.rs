//! `--format table`: aligned columns in a box, each column's type under its name, a row count
//! underneath; long results show their first and last rows with a note.

use std::io::{self, Write};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rsql::sql_type_name;
use unicode_width::UnicodeWidthStr;

/// How a cell's value is placed in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
    Center,
}

/// Renders `batches` (all of `schema`) as a table showing at most `max_rows` rows (0: all).
/// A result without columns (`CREATE VIEW`, `COPY`) renders as nothing.
pub fn render_table(
    schema: &Schema,
    batches: &[RecordBatch],
    max_rows: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    if schema.fields().is_empty() {
        return Ok(());
    }
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let (head, tail) = match max_rows {
        0 => (total, 0),
        n if total <= n => (total, 0),
        n => (n.div_ceil(2), n / 2),
    };
    let rows = cells(batches, 0, head).map_err(io::Error::other)?;
    let tail_rows = cells(batches, total - tail, tail).map_err(io::Error::other)?;
    let truncated = head + tail < total;

    let headers: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let types: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| sql_type_name(f.data_type()))
        .collect();
    let aligns: Vec<Align> = schema
        .fields()
        .iter()
        .map(|f| {
            if is_numeric(f.data_type()) {
                Align::Right
            } else {
                Align::Left
            }
        })
        .collect();
    let mut widths: Vec<usize> = headers
        .iter()
        .zip(&types)
        .map(|(h, t)| h.width().max(t.width()))
        .collect();
    for row in rows.iter().chain(&tail_rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }

    let left = vec![Align::Left; headers.len()];
    rule(out, &widths, ('┌', '┬', '┐'))?;
    line(out, &widths, &headers, &left)?;
    line(out, &widths, &types, &left)?;
    rule(out, &widths, ('├', '┼', '┤'))?;
    for row in &rows {
        line(out, &widths, row, &aligns)?;
    }
    if truncated {
        let dots = vec!["·".to_string(); widths.len()];
        for _ in 0..3 {
            line(out, &widths, &dots, &vec![Align::Center; widths.len()])?;
        }
    }
    for row in &tail_rows {
        line(out, &widths, row, &aligns)?;
    }
    rule(out, &widths, ('└', '┴', '┘'))?;
    let noun = if total == 1 { "row" } else { "rows" };
    if truncated {
        writeln!(
            out,
            "{total} {noun} ({} shown; --max-rows or .maxrows to change)",
            head + tail
        )
    } else {
        writeln!(out, "{total} {noun}")
    }
}

/// The formatted cells of `count` rows starting at row `first` of the concatenated batches.
fn cells(
    batches: &[RecordBatch],
    first: usize,
    count: usize,
) -> Result<Vec<Vec<String>>, ArrowError> {
    let options = FormatOptions::default()
        .with_null("NULL")
        .with_display_error(true);
    let mut rows = Vec::with_capacity(count);
    let mut skip = first;
    for batch in batches {
        if rows.len() == count {
            break;
        }
        if skip >= batch.num_rows() {
            skip -= batch.num_rows();
            continue;
        }
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        let take = (batch.num_rows() - skip).min(count - rows.len());
        for row in skip..skip + take {
            rows.push(
                formatters
                    .iter()
                    .map(|f| escape(&f.value(row).to_string()))
                    .collect(),
            );
        }
        skip = 0;
    }
    Ok(rows)
}

/// Control characters spelled out, so each row stays on one line.
fn escape(value: &str) -> String {
    if !value.chars().any(char::is_control) {
        return value.to_string();
    }
    value
        .chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// A horizontal rule with the given (left, middle, right) corners.
fn rule(out: &mut dyn Write, widths: &[usize], corners: (char, char, char)) -> io::Result<()> {
    let segments: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
    writeln!(
        out,
        "{}{}{}",
        corners.0,
        segments.join(&corners.1.to_string()),
        corners.2
    )
}

/// One row of cells, padded to `widths`.
fn line(
    out: &mut dyn Write,
    widths: &[usize],
    cells: &[String],
    aligns: &[Align],
) -> io::Result<()> {
    let mut text = String::from("│");
    for ((cell, width), align) in cells.iter().zip(widths).zip(aligns) {
        let free = width - cell.width();
        let (before, after) = match align {
            Align::Left => (0, free),
            Align::Right => (free, 0),
            Align::Center => (free / 2, free - free / 2),
        };
        text.push_str(&format!(
            " {}{cell}{} │",
            " ".repeat(before),
            " ".repeat(after)
        ));
    }
    writeln!(out, "{text}")
}

/// Whether values of `data_type` are right-aligned.
fn is_numeric(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value) => is_numeric(value),
        other => other.is_numeric(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::datatypes::Field;

    use super::*;

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let names: StringArray = (0..n)
            .map(|i| (i != 1).then(|| format!("row{i}")))
            .collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(names),
                Arc::new(Int64Array::from_iter_values(0..n)),
            ],
        )
        .unwrap()
    }

    fn render(batches: &[RecordBatch], max_rows: usize) -> String {
        let mut out = Vec::new();
        render_table(&batches[0].schema(), batches, max_rows, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn aligned_with_types_and_a_row_count() {
        let text = render(&[batch(3)], 40);
        let expected = "\
┌────────┬────────┐
│ name   │ n      │
│ string │ bigint │
├────────┼────────┤
│ row0   │      0 │
│ NULL   │      1 │
│ row2   │      2 │
└────────┴────────┘
3 rows
";
        assert_eq!(text, expected);
    }

    #[test]
    fn long_results_show_head_and_tail() {
        let text = render(&[batch(4), batch(6)], 3);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[4], "│ row0   │      0 │");
        assert_eq!(lines[5], "│ NULL   │      1 │");
        assert_eq!(lines[6], "│   ·    │   ·    │");
        assert_eq!(lines[9], "│ row5   │      5 │");
        assert_eq!(
            lines.last().unwrap(),
            &"10 rows (3 shown; --max-rows or .maxrows to change)"
        );
    }

    #[test]
    fn one_row_and_wide_characters() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
        let b =
            RecordBatch::try_new(schema, vec![Arc::new(Float64Array::from(vec![1.5]))]).unwrap();
        assert!(render(&[b], 40).ends_with("│    1.5 │\n└────────┘\n1 row\n"));
        assert_eq!(escape("a\nb\tc"), "a\\nb\\tc");
    }
}
