//! Results are streamed to their output: a result far larger than the memory limit is written
//! as CSV (stdout or a file) without the driver holding it, and `table` holds only the rows it
//! shows.

mod common;

use std::io::{BufRead, BufReader};
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use common::{rsql, run_in};

/// Three million rows: 24 MB of BIGINT, three times the 8 MB limit.
const BIG: &str = "SELECT range AS n, range % 7 AS k FROM range(0, 3000000)";
const LIMIT: &str = "8MB";

#[test]
fn a_result_larger_than_the_memory_limit_streams_to_a_csv_file() {
    let dir = tempfile::tempdir().unwrap();
    run_in(
        dir.path(),
        &[
            "--memory-limit",
            LIMIT,
            "--format",
            "csv",
            "--output",
            "big.csv",
            "-c",
            BIG,
        ],
        None,
    )
    .ok();
    let file = std::fs::File::open(dir.path().join("big.csv")).unwrap();
    let (mut count, mut first, mut last) = (0usize, Vec::new(), String::new());
    for line in BufReader::new(file).lines() {
        let line = line.unwrap();
        if count < 3 {
            first.push(line.clone());
        }
        last = line;
        count += 1;
    }
    assert_eq!(count, 3_000_001, "a header and a line per row");
    assert_eq!(first, vec!["n,k", "0,0", "1,1"]);
    // 2999999 % 7 = 2999999 - 7 * 428571 = 2.
    assert_eq!(last, "2999999,2");
}

#[test]
fn a_result_larger_than_the_memory_limit_streams_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let output = rsql(dir.path())
        .args(["--memory-limit", LIMIT, "--format", "ndjson", "-c"])
        .arg("SELECT range AS n FROM range(0, 3000000) WHERE range % 3 = 0")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1_000_000);
    assert_eq!(lines[0], "{\"n\":0}");
    assert_eq!(lines[lines.len() - 1], "{\"n\":2999997}");
}

#[test]
fn the_table_format_keeps_only_the_rows_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(
        dir.path(),
        &["--memory-limit", LIMIT, "--max-rows", "4", "-c", BIG],
        None,
    )
    .ok();
    let lines = run.lines();
    let values: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with('│') && !l.contains('·'))
        .skip(2)
        .map(|l| l.split('│').nth(1).unwrap().trim())
        .collect();
    assert_eq!(values, vec!["0", "1", "2999998", "2999999"]);
    assert_eq!(
        lines.last().unwrap(),
        &"3000000 rows (4 shown; --max-rows or .maxrows to change)"
    );
}

#[test]
fn the_rows_of_a_query_failing_midway_are_taken_back_out_of_the_output_file() {
    let dir = tempfile::tempdir().unwrap();
    // 100 row groups of 100 rows; the data pages in the middle of the file are garbled, so the
    // scan returns the first row groups' rows, then fails.
    let values: Vec<i64> = (0..10_000).collect();
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
    let batches: Vec<RecordBatch> = values
        .chunks(100)
        .map(|chunk| {
            let column = Arc::new(Int64Array::from(chunk.to_vec()));
            RecordBatch::try_new(Arc::clone(&schema), vec![column]).unwrap()
        })
        .collect();
    let file = dir.path().join("garbled.parquet");
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(100))
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(&file).unwrap(),
        schema,
        Some(properties),
    )
    .unwrap();
    for batch in &batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    for (i, byte) in bytes[middle..middle + 400].iter_mut().enumerate() {
        *byte = (i * 37 % 251) as u8;
    }
    std::fs::write(&file, &bytes).unwrap();
    let script = "SELECT 1 AS a;\nSELECT v FROM 'garbled.parquet';\nSELECT 2 AS b;\n";
    let run = run_in(
        dir.path(),
        &["--threads", "1", "--format", "csv", "--output", "out.csv"],
        Some(script),
    );
    assert!(run.stderr.contains("garbled.parquet"), "{run:#?}");
    let text = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(text, "a\n1\nb\n2\n");
}
