//! The 22 TPC-H queries through the `rsql` binary at scale factor 0.01, checked against the
//! answers DuckDB gave for the same data (`testdata/tpch/sf0.01/answers`, made by
//! `benches/tpch/answers.py`; see `testdata/tpch/README.md`).
//!
//! The data is generated with the `tpchgen-arrow` crate, the generator `tpchgen-cli` wraps, as a
//! Parquet directory per table, once per build directory. Results are compared as
//! `benches/tpch/compare.py` does: numbers within 1e-6 relative or equal once rounded to the
//! scale of the less precise one (decimal averages have 6 digits, as Spark's), rows in the order of the
//! query's `ORDER BY` keys, rows with equal keys in any order, and the tied rows a `LIMIT`
//! cuts compared on their keys only.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rsql_io::{WriteFormat, WriteOptions, write_batches};
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use common::run_in;

const SCALE_FACTOR: f64 = 0.01;

const TABLES: [&str; 8] = [
    "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier",
];

/// The output columns (0-based) each query's `ORDER BY` sorts on; none for one-row results.
const ORDER_KEYS: [&[usize]; 22] = [
    &[0, 1],
    &[0, 2, 1, 3],
    &[1, 2],
    &[0],
    &[1],
    &[],
    &[0, 1, 2],
    &[0],
    &[0, 1],
    &[2],
    &[1],
    &[0],
    &[1, 0],
    &[],
    &[0],
    &[3, 0, 1, 2],
    &[],
    &[4, 3],
    &[],
    &[0],
    &[1, 0],
    &[0],
];

/// The `LIMIT` of the queries that have one.
fn limit(query: usize) -> Option<usize> {
    match query {
        2 | 18 | 21 => Some(100),
        3 => Some(10),
        10 => Some(20),
        _ => None,
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The generated tables, one Parquet directory each, made once.
fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tpch-sf{SCALE_FACTOR}"));
        let done = dir.join("_GENERATED");
        if !done.exists() {
            let _ = std::fs::remove_dir_all(&dir);
            generate(&dir);
            std::fs::write(&done, "").unwrap();
        }
        dir
    })
}

fn write_table(
    dir: &Path,
    name: &str,
    schema: SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
) {
    write_batches(
        dir.join(name),
        schema,
        batches.map(Ok),
        WriteOptions::new(WriteFormat::parquet()),
    )
    .unwrap_or_else(|e| panic!("writing {name}: {e}"));
}

fn generate(dir: &Path) {
    let sf = SCALE_FACTOR;
    write_table(
        dir,
        "customer",
        CustomerArrow::schema_ref(),
        CustomerArrow::new(CustomerGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
    write_table(
        dir,
        "lineitem",
        LineItemArrow::schema_ref(),
        LineItemArrow::new(LineItemGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
    write_table(
        dir,
        "nation",
        NationArrow::schema_ref(),
        NationArrow::new(NationGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
    write_table(
        dir,
        "orders",
        OrderArrow::schema_ref(),
        OrderArrow::new(OrderGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
    write_table(
        dir,
        "part",
        PartArrow::schema_ref(),
        PartArrow::new(PartGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
    write_table(
        dir,
        "partsupp",
        PartSuppArrow::schema_ref(),
        PartSuppArrow::new(PartSuppGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
    write_table(
        dir,
        "region",
        RegionArrow::schema_ref(),
        RegionArrow::new(RegionGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
    write_table(
        dir,
        "supplier",
        SupplierArrow::schema_ref(),
        SupplierArrow::new(SupplierGenerator::new(sf, 1, 1)).map(Result::unwrap),
    );
}

/// The rows of a CSV file with a header row, cells trimmed; a blank line of a one-column
/// result is a row with one empty (NULL) cell.
fn read_csv(path: &Path) -> (usize, Vec<Vec<String>>) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("{}: no header", path.display()));
    let width = csv_record(header).len();
    let rows = lines
        .filter(|line| width == 1 || !line.trim().is_empty())
        .map(|line| {
            csv_record(line)
                .into_iter()
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    (width, rows)
}

fn csv_record(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(record) => record.unwrap().iter().map(str::to_string).collect(),
        None => vec![String::new()],
    }
}

fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The digits after the decimal point of a number written without an exponent.
fn scale(text: &str) -> Option<i32> {
    let (_, fraction) = text.split_once('.')?;
    (!fraction.contains(['e', 'E'])).then(|| i32::try_from(fraction.len()).unwrap_or(i32::MAX))
}

/// Equal text, equal integers, or numbers within 1e-6 relative (1e-9 absolute) or equal
/// once rounded to the scale of the less precise one (a decimal result such as Spark's
/// `avg` of `DECIMAL(15,2)`, 6 digits, against the oracle's double).
fn cells_equal(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if is_integer(a) && is_integer(b) {
        return a.parse::<i128>().ok() == b.parse::<i128>().ok();
    }
    let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) else {
        return false;
    };
    let rounding = match (scale(a), scale(b)) {
        (Some(s), Some(t)) => 0.5 * 10f64.powi(-s.min(t)),
        _ => 0.0,
    };
    let difference = (x - y).abs();
    difference <= f64::max(1e-9, 1e-6 * x.abs().max(y.abs()))
        || difference <= rounding * (1.0 + 1e-9)
}

fn rows_equal(a: &[String], b: &[String], columns: &[usize]) -> bool {
    columns.iter().all(|&c| cells_equal(&a[c], &b[c]))
}

/// Whether two lists hold the same rows in some order.
fn same_rows(expected: &[Vec<String>], actual: &[Vec<String>]) -> bool {
    if expected.len() != actual.len() {
        return false;
    }
    let all: Vec<usize> = (0..expected.first().map_or(0, Vec::len)).collect();
    let mut unused: Vec<&Vec<String>> = actual.iter().collect();
    expected.iter().all(|row| {
        match unused
            .iter()
            .position(|candidate| rows_equal(row, candidate, &all))
        {
            Some(i) => {
                unused.swap_remove(i);
                true
            }
            None => false,
        }
    })
}

/// `None` when `actual` answers query `query` as `expected` does, else what differs.
fn difference(query: usize, expected: &[Vec<String>], actual: &[Vec<String>]) -> Option<String> {
    if expected.len() != actual.len() {
        return Some(format!(
            "{} rows, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    let keys = ORDER_KEYS[query - 1];
    if keys.is_empty() {
        return (!same_rows(expected, actual)).then(|| "different rows".to_string());
    }
    let mut start = 0;
    while start < expected.len() {
        let mut end = start + 1;
        while end < expected.len() && rows_equal(&expected[start], &expected[end], keys) {
            end += 1;
        }
        if let Some(row) = (start..end).find(|&r| !rows_equal(&expected[start], &actual[r], keys)) {
            return Some(format!(
                "row {}: expected sort keys of {:?}, got {:?}",
                row + 1,
                expected[row],
                actual[row]
            ));
        }
        let cut_by_limit = limit(query) == Some(expected.len()) && end == expected.len();
        if !cut_by_limit && !same_rows(&expected[start..end], &actual[start..end]) {
            return Some(format!(
                "rows {}-{}: expected {:?}, got {:?}",
                start + 1,
                end,
                &expected[start..end],
                &actual[start..end]
            ));
        }
        start = end;
    }
    None
}

fn check(query: usize) {
    let data = data_dir();
    let scratch = tempfile::tempdir().unwrap();
    let output = scratch.path().join("result.csv");
    let sql = repository().join(format!("benches/tpch/queries/q{query:02}.sql"));
    let mut args: Vec<String> = Vec::new();
    for table in TABLES {
        args.push("--table".into());
        args.push(format!("{table}={}", data.join(table).display()));
    }
    for arg in ["--format", "csv", "--quiet", "-f"] {
        args.push(arg.into());
    }
    args.push(sql.display().to_string());
    args.push("--output".into());
    args.push(output.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_in(scratch.path(), &args, None);
    assert_eq!(run.code, 0, "Q{query} failed: {}", run.stderr);
    let answer = repository().join(format!("testdata/tpch/sf0.01/answers/q{query:02}.csv"));
    let (expected_width, expected) = read_csv(&answer);
    let (width, actual) = read_csv(&output);
    assert_eq!(width, expected_width, "Q{query}: column count");
    if let Some(difference) = difference(query, &expected, &actual) {
        panic!("Q{query} differs from DuckDB's answer: {difference}");
    }
}

macro_rules! tpch_queries {
    ($($(#[$attribute:meta])* $name:ident => $query:literal,)*) => {
        $(
            #[test]
            $(#[$attribute])*
            fn $name() {
                check($query);
            }
        )*
    };
}

tpch_queries! {
    q01 => 1,
    q02 => 2,
    q03 => 3,
    q04 => 4,
    q05 => 5,
    q06 => 6,
    q07 => 7,
    q08 => 8,
    q09 => 9,
    q10 => 10,
    q11 => 11,
    q12 => 12,
    q13 => 13,
    q14 => 14,
    q15 => 15,
    q16 => 16,
    q17 => 17,
    q18 => 18,
    q19 => 19,
    q20 => 20,
    q21 => 21,
    q22 => 22,
}
