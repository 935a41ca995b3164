//! Ctrl-C (SIGINT) cancels the running statement: a `-c` script stops with exit code 130 and
//! writes no output; piped statements go on with the next one.

mod common;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::rsql;

/// A query that runs for minutes unless cancelled: a billion-row cross join.
fn endless_query() -> String {
    let values: Vec<String> = (0..1000).map(|i| format!("({i})")).collect();
    format!(
        "WITH t AS (SELECT column1 AS x FROM (VALUES {})) \
         SELECT count(*) FROM t a CROSS JOIN t b CROSS JOIN t c",
        values.join(", ")
    )
}

fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit, at most a minute; its exit code and stdout/stderr.
fn finish(child: Child) -> (i32, String, String) {
    let started = Instant::now();
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("rsql did not stop after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn ctrl_c_cancels_a_script_statement_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let child = rsql(dir.path())
        .args([
            "-c",
            &endless_query(),
            "--output",
            "out/",
            "--format",
            "csv",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 130, "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("cancelling the statement"), "{stderr}");
    assert!(stderr.contains("error: the job was cancelled"), "{stderr}");
    assert!(
        !dir.path().join("out").exists(),
        "partial output left behind"
    );
}

#[test]
fn piped_statements_go_on_after_a_cancelled_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = rsql(dir.path())
        .args(["--format", "csv"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{};\nSELECT 42 AS answer;", endless_query()).unwrap();
    drop(stdin);
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    let (code, stdout, stderr) = finish(child);
    assert_eq!(stdout, "answer\n42\n", "{stderr}");
    assert!(stderr.contains("error: the job was cancelled"), "{stderr}");
    assert_eq!(code, 1, "an error happened: {stderr}");
}
