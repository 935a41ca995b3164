//! Helpers shared by the integration tests.

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rsql::Session;

/// Every row of `batches` as text (`a | b | NULL`), in order.
pub fn row_texts(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    rows
}

/// The rows of `sql` run in `session`, as text, sorted.
// Not every test binary that includes this module compares unordered results.
#[allow(dead_code)]
pub fn sorted_rows(session: &Session, sql: &str) -> Vec<String> {
    let batches = session
        .sql(sql)
        .and_then(|df| df.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows = row_texts(&batches);
    rows.sort();
    rows
}
