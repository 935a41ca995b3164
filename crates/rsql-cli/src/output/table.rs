//! `--format table`: aligned columns in a box, each column's type under its name, a row count
//! underneath; long results show their first and last rows with a note.

use std::collections::VecDeque;
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

/// The rows a table shows, kept while a result streams by: its first `ceil(max_rows / 2)`
/// rows, its last `max_rows / 2` rows, and how many there are in all. It holds at most
/// `max_rows` rows (and the batches they are slices of) however long the result is; with
/// `max_rows` 0 it keeps every row.
#[derive(Debug)]
pub struct TableRows {
    max_rows: usize,
    head: Vec<RecordBatch>,
    head_rows: usize,
    tail: VecDeque<RecordBatch>,
    tail_rows: usize,
    total: usize,
}

impl TableRows {
    /// Keeps what a table of at most `max_rows` rows (0: all) shows.
    pub fn new(max_rows: usize) -> Self {
        TableRows {
            max_rows,
            head: Vec::new(),
            head_rows: 0,
            tail: VecDeque::new(),
            tail_rows: 0,
            total: 0,
        }
    }

    /// Takes the next batch of the result.
    pub fn push(&mut self, batch: RecordBatch) {
        let rows = batch.num_rows();
        self.total += rows;
        let (head_cap, tail_cap) = match self.max_rows {
            0 => (usize::MAX, 0),
            n => (n.div_ceil(2), n / 2),
        };
        let to_head = rows.min(head_cap - self.head_rows);
        if to_head > 0 {
            self.head.push(batch.slice(0, to_head));
            self.head_rows += to_head;
        }
        let rest = rows - to_head;
        if rest == 0 || tail_cap == 0 {
            return;
        }
        self.tail.push_back(batch.slice(to_head, rest));
        self.tail_rows += rest;
        // Drop the rows that fell out of the last `tail_cap`.
        while self.tail_rows > tail_cap {
            let Some(front) = self.tail.pop_front() else {
                break;
            };
            let excess = self.tail_rows - tail_cap;
            if front.num_rows() > excess {
                self.tail
                    .push_front(front.slice(excess, front.num_rows() - excess));
                self.tail_rows -= excess;
            } else {
                self.tail_rows -= front.num_rows();
            }
        }
    }
}

/// Renders the rows of a result (all of `schema`) as a table, with the first and last rows
/// and a note when `rows` holds only those. A result without columns (`CREATE VIEW`, `COPY`)
/// renders as nothing.
pub fn render_table(schema: &Schema, rows: &TableRows, out: &mut dyn Write) -> io::Result<()> {
    if schema.fields().is_empty() {
        return Ok(());
    }
    let total = rows.total;
    let tail: Vec<RecordBatch> = rows.tail.iter().cloned().collect();
    let head_cells = cells(&rows.head, rows.head_rows).map_err(io::Error::other)?;
    let tail_cells = cells(&tail, rows.tail_rows).map_err(io::Error::other)?;
    let shown = rows.head_rows + rows.tail_rows;
    let truncated = shown < total;
    let (rows, tail_rows) = (head_cells, tail_cells);

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
            "{total} {noun} ({shown} shown; --max-rows or .maxrows to change)"
        )
    } else {
        writeln!(out, "{total} {noun}")
    }
}

/// The formatted cells of the first `count` rows of the concatenated batches.
fn cells(batches: &[RecordBatch], count: usize) -> Result<Vec<Vec<String>>, ArrowError> {
    let options = FormatOptions::default()
        .with_null("NULL")
        .with_display_error(true);
    let mut rows = Vec::with_capacity(count);
    for batch in batches {
        if rows.len() == count {
            break;
        }
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        let take = batch.num_rows().min(count - rows.len());
        for row in 0..take {
            rows.push(
                formatters
                    .iter()
                    .map(|f| escape(&f.value(row).to_string()))
                    .collect(),
            );
        }
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
        let mut rows = TableRows::new(max_rows);
        for batch in batches {
            rows.push(batch.clone());
        }
        let mut out = Vec::new();
        render_table(&batches[0].schema(), &rows, &mut out).unwrap();
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
    fn the_tail_is_the_last_rows_over_many_small_batches() {
        // 25 batches of 4 rows: rows 0..100 by their `n`, the last 2 shown after the first 3.
        let batches: Vec<RecordBatch> = (0..25)
            .map(|i| {
                let b = batch(100);
                b.slice(i * 4, 4)
            })
            .collect();
        let text = render(&batches, 5);
        let lines: Vec<&str> = text.lines().collect();
        let numbers: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with('│') && !l.contains('·'))
            .skip(2)
            .map(|l| l.split('│').nth(2).unwrap().trim())
            .collect();
        assert_eq!(numbers, vec!["0", "1", "2", "98", "99"]);
        assert_eq!(
            lines.last().unwrap(),
            &"100 rows (5 shown; --max-rows or .maxrows to change)"
        );
        // Everything, when the result fits or max_rows is 0.
        assert!(render(&batches[..1], 5).ends_with("4 rows\n"));
        assert!(render(&batches, 0).ends_with("100 rows\n"));
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
