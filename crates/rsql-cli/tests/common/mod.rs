//! Running the `rsql` binary as a subprocess, and fixtures for it.

#![allow(dead_code)] // each test file uses its own part of these helpers

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with the whole run unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        self
    }

    /// Panics unless the run succeeded with nothing on stderr.
    #[track_caller]
    pub fn ok(self) -> Run {
        let run = self.expect_code(0);
        assert_eq!(run.stderr, "", "unexpected stderr: {run:#?}");
        run
    }

    /// The stdout lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// `testdata/cli/NAME` as a string.
pub fn fixture(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/cli");
    root.join(name).to_str().unwrap().to_string()
}

/// The `rsql` binary with a clean environment: no backtraces asked for, a private home (for
/// the history file), run from `dir`.
pub fn rsql(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rsql"));
    command
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `rsql ARGS` in `dir` with `stdin` piped in (or none).
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = rsql(dir);
    command.args(args);
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("rsql runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs `rsql ARGS` in a fresh temporary directory.
pub fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), args, None)
}

/// Writes `batches` to a Parquet file at `path` (creating its folders).
pub fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), None).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
}

/// A hive-partitioned sales dataset under `root`: `region=eu/` and `region=us/` folders of
/// `(id, product, amount)` rows; ids 1..=6, three per region.
pub fn sales_dataset(root: &Path) -> PathBuf {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("product", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, true),
    ]));
    let batch = |ids: Vec<i64>, products: Vec<&str>, amounts: Vec<Option<f64>>| {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(products)),
            Arc::new(Float64Array::from(amounts)),
        ];
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    };
    let dir = root.join("sales");
    write_parquet(
        &dir.join("region=eu/part-0.parquet"),
        &[batch(
            vec![1, 2, 3],
            vec!["apple", "pear", "apple"],
            vec![Some(1.5), Some(2.0), None],
        )],
    );
    write_parquet(
        &dir.join("region=us/part-0.parquet"),
        &[batch(
            vec![4, 5, 6],
            vec!["apple", "plum", "plum"],
            vec![Some(3.0), Some(0.5), Some(4.5)],
        )],
    );
    dir
}
