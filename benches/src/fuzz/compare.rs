//! Result comparison modulo the representation differences of the two engines: SQLite has no
//! booleans (0/1) and no dates (ISO text), and may return an integer where rsql returns a
//! double (`sum` of integers, a `CASE` mixing both) or the reverse; doubles are compared with
//! a relative tolerance, since the order of additions differs.

use std::cmp::Ordering;

use super::schema::{Value, date_text};

/// A value as both engines can agree on it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Number(f64),
    Text(String),
}

impl From<&Value> for Cell {
    fn from(value: &Value) -> Cell {
        match value {
            Value::Null => Cell::Null,
            Value::Int(v) => Cell::Number(*v as f64),
            Value::Double(v) => Cell::Number(*v),
            Value::Bool(b) => Cell::Number(f64::from(u8::from(*b))),
            Value::Date(d) => Cell::Text(date_text(*d)),
            Value::Text(s) => Cell::Text(s.clone()),
        }
    }
}

impl Cell {
    fn rank(&self) -> u8 {
        match self {
            Cell::Null => 0,
            Cell::Number(_) => 1,
            Cell::Text(_) => 2,
        }
    }

    fn total_cmp(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Number(a), Cell::Number(b)) => a.total_cmp(b),
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn matches(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Number(a), Cell::Number(b)) => {
                a == b
                    || (a.is_nan() && b.is_nan())
                    || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
            }
            _ => self == other,
        }
    }
}

/// Compares SQLite's rows (`expected`) with rsql's (`actual`): in order when `ordered`, else
/// as multisets. `Err` describes the first differences.
pub fn compare_rows(
    expected: &[Vec<Value>],
    actual: &[Vec<Value>],
    ordered: bool,
) -> Result<(), String> {
    let normalise = |rows: &[Vec<Value>]| -> Vec<Vec<Cell>> {
        let mut cells: Vec<Vec<Cell>> = rows
            .iter()
            .map(|row| row.iter().map(Cell::from).collect())
            .collect();
        if !ordered {
            cells.sort_by(|a, b| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| x.total_cmp(y))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
        }
        cells
    };
    let (expected_cells, actual_cells) = (normalise(expected), normalise(actual));
    let widths = |rows: &[Vec<Value>]| rows.first().map(Vec::len);
    if let (Some(e), Some(a)) = (widths(expected), widths(actual))
        && e != a
    {
        return Err(format!("SQLite returns {e} columns, rsql {a}"));
    }
    let differing: Vec<usize> = (0..expected_cells.len().max(actual_cells.len()))
        .filter(|&i| match (expected_cells.get(i), actual_cells.get(i)) {
            (Some(e), Some(a)) => !e.iter().zip(a).all(|(x, y)| x.matches(y)),
            _ => true,
        })
        .collect();
    if differing.is_empty() {
        return Ok(());
    }
    let show = |rows: &[Vec<Cell>], i: usize| {
        rows.get(i).map_or("(none)".to_string(), |row| {
            let cells: Vec<String> = row.iter().map(render).collect();
            cells.join(" | ")
        })
    };
    let mut message = format!(
        "{} rows from SQLite, {} from rsql{}; differing{}:",
        expected.len(),
        actual.len(),
        if ordered { "" } else { " (sorted)" },
        if differing.len() > 5 {
            " (first 5)"
        } else {
            ""
        },
    );
    for &i in differing.iter().take(5) {
        message.push_str(&format!(
            "\n  row {i}: SQLite {}  rsql {}",
            show(&expected_cells, i),
            show(&actual_cells, i)
        ));
    }
    Err(message)
}

fn render(cell: &Cell) -> String {
    match cell {
        Cell::Null => "NULL".to_string(),
        Cell::Number(v) => v.to_string(),
        Cell::Text(s) => format!("'{s}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representations_of_one_value_match() {
        let sqlite = vec![
            vec![Value::Int(1), Value::Text("2024-02-26".into())],
            vec![Value::Int(7), Value::Null],
        ];
        let rsql = vec![
            vec![Value::Double(7.0), Value::Null],
            vec![Value::Bool(true), Value::Date(19_779)],
        ];
        assert_eq!(compare_rows(&sqlite, &rsql, false), Ok(()));
        assert!(compare_rows(&sqlite, &rsql, true).is_err());
    }

    #[test]
    fn doubles_match_within_tolerance_only() {
        let a = vec![vec![Value::Double(0.1 + 0.2)]];
        assert_eq!(compare_rows(&a, &[vec![Value::Double(0.3)]], true), Ok(()));
        assert!(compare_rows(&a, &[vec![Value::Double(0.31)]], true).is_err());
        assert!(compare_rows(&a, &[], true).is_err());
    }
}
