//! The `rsql` binary end to end: every flag and format on the fixtures in `testdata/cli/` and on
//! Parquet written by the tests, errors and their exit codes, and the shell driven through
//! stdin.

mod common;

use std::fs;

use common::{fixture, run, run_in, sales_dataset};

#[test]
fn version_and_help() {
    let version = run(&["--version"]).ok();
    assert_eq!(
        version.stdout,
        format!("rsql {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = run(&["--help"]).ok();
    for expected in [
        "--command <SQL>",
        "--file <PATH>",
        "--table <NAME=PATH[:FORMAT]>",
        "--format <FORMAT>",
        "--output <PATH>",
        "--max-rows <N>",
        "--threads <N>",
        "--partitions <N>",
        "--memory-limit <SIZE|none>",
        "--time-zone <ZONE>",
        "[default: 80% of the memory this machine or its cgroup allows: ",
        "--quiet",
        "Examples:",
        "rsql --table events=data/events -f benches/events/job.sql --format ndjson --output out/",
    ] {
        assert!(
            help.stdout.contains(expected),
            "{expected} in {}",
            help.stdout
        );
    }
}

#[test]
fn table_format_shows_types_and_a_row_count() {
    // 2.5 is DECIMAL(2,1), as in Spark.
    let out = run(&["-c", "SELECT 1 AS one, 'x' AS s, 2.5 AS d, NULL AS n"]).ok();
    let expected = "\
┌────────┬────────┬──────────────┬──────┐
│ one    │ s      │ d            │ n    │
│ bigint │ string │ decimal(2,1) │ void │
├────────┼────────┼──────────────┼──────┤
│      1 │ x      │          2.5 │ NULL │
└────────┴────────┴──────────────┴──────┘
1 row
";
    assert_eq!(out.stdout, expected);
}

#[test]
fn commands_and_files_run_in_order_with_several_statements_each() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("two.sql"), "SELECT 2 AS n;\nSELECT 3 AS n").unwrap();
    let out = run_in(
        dir.path(),
        &[
            "--format",
            "csv",
            "-c",
            "SELECT 1 AS n; SELECT 'a;b' AS s;",
            "-f",
            "two.sql",
            "-c",
            "SELECT 4 AS n",
        ],
        None,
    )
    .ok();
    assert_eq!(out.stdout, "n\n1\ns\na;b\nn\n2\nn\n3\nn\n4\n");
}

#[test]
fn csv_and_ndjson_tables_join_through_a_view() {
    let people = format!("people={}", fixture("people.csv"));
    let orders = format!("orders={}", fixture("orders.ndjson"));
    let report = fixture("report.sql");
    let out = run(&[
        "--table", &people, "--table", &orders, "-f", &report, "--format", "csv",
    ])
    .ok();
    assert_eq!(
        out.stdout,
        "name,city,orders,total\nAda,London,2,19.75\nGrace,New York,1,30.0\nKen,New York,1,\n"
    );
}

#[test]
fn every_text_format() {
    let people = format!("p={}", fixture("people.csv"));
    let sql = "SELECT name, age FROM p WHERE age > 40 ORDER BY age";
    let get = |format: &str| run(&["--table", &people, "-c", sql, "--format", format]).ok();
    assert_eq!(get("csv").stdout, "name,age\nGrace,45\nKen,51\n");
    assert_eq!(get("tsv").stdout, "name\tage\nGrace\t45\nKen\t51\n");
    assert_eq!(
        get("json").stdout,
        "[{\"name\":\"Grace\",\"age\":45},{\"name\":\"Ken\",\"age\":51}]\n"
    );
    assert_eq!(
        get("ndjson").stdout,
        "{\"name\":\"Grace\",\"age\":45}\n{\"name\":\"Ken\",\"age\":51}\n"
    );
    let table = get("table").stdout;
    assert!(
        table.contains("│ Grace │  45 │") || table.contains("│ Grace  │"),
        "{table}"
    );
    assert!(table.ends_with("2 rows\n"), "{table}");
}

#[test]
fn nested_values_in_every_format() {
    let orders = format!("o={}", fixture("orders.ndjson"));
    let sql = "SELECT order_id, items, named_struct('n', order_id, 'who', name) AS s \
               FROM o WHERE order_id <= 2 ORDER BY order_id";
    let get = |format: &str| run(&["--table", &orders, "-c", sql, "--format", format]).ok();
    assert_eq!(
        get("ndjson").stdout,
        "{\"order_id\":1,\"items\":[\"pen\",\"ink\"],\"s\":{\"n\":1,\"who\":\"Ada\"}}\n\
         {\"order_id\":2,\"items\":[\"compiler\"],\"s\":{\"n\":2,\"who\":\"Grace\"}}\n"
    );
    assert_eq!(
        get("csv").stdout,
        "order_id,items,s\n1,\"[pen, ink]\",\"{n: 1, who: Ada}\"\n2,[compiler],\"{n: 2, who: Grace}\"\n"
    );
    let table = get("table").stdout;
    assert!(
        table.contains("│ bigint   │ array<string> │ struct<n:bigint,who:string> │"),
        "{table}"
    );
}

#[test]
fn parquet_files_hive_directories_and_direct_paths() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_dataset(dir.path());
    let sales = sales.to_str().unwrap();
    // A directory of hive partitions: `region` comes from the folders.
    let table = format!("sales={sales}");
    let sql = "SELECT region, count(*) AS n, sum(amount) AS total FROM sales GROUP BY region ORDER BY region";
    let out = run(&["--table", &table, "-c", sql, "--format", "csv"]).ok();
    assert_eq!(out.stdout, "region,n,total\neu,3,3.5\nus,3,8.0\n");
    // One Parquet file.
    let file = format!("eu={sales}/region=eu/part-0.parquet");
    let out = run(&[
        "--table",
        &file,
        "-c",
        "SELECT id FROM eu ORDER BY id",
        "--format",
        "csv",
    ])
    .ok();
    assert_eq!(out.stdout, "id\n1\n2\n3\n");
    // A path queried directly, with a filter on the partition column.
    let direct = format!("SELECT id, product FROM '{sales}/' WHERE region = 'us' ORDER BY id");
    let out = run(&["-c", &direct, "--format", "csv"]).ok();
    assert_eq!(out.stdout, "id,product\n4,apple\n5,plum\n6,plum\n");
}

#[test]
fn table_functions_read_globs_and_generate_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_dataset(dir.path());
    let sales = sales.to_str().unwrap();
    let sql = format!(
        "SELECT region, count(*) AS n FROM read_parquet('{sales}/**/*.parquet') \
         GROUP BY region ORDER BY region"
    );
    let out = run(&["-c", &sql, "--format", "csv"]).ok();
    assert_eq!(out.stdout, "region,n\neu,3\nus,3\n");
    // 1 + 2 + ... + 100 = 5050.
    let out = run(&[
        "-c",
        "SELECT sum(generate_series) AS s FROM generate_series(1, 100)",
        "--format",
        "csv",
    ])
    .ok();
    assert_eq!(out.stdout, "s\n5050\n");
}

#[test]
fn table_formats_forced_or_found_inside_directories() {
    let dir = tempfile::tempdir().unwrap();
    // NDJSON without a telling extension: forced with `:json`.
    fs::write(dir.path().join("log.txt"), "{\"a\":1}\n{\"a\":2}\n").unwrap();
    // A directory of CSV files: found from the files inside.
    fs::create_dir_all(dir.path().join("csvdir/day=1")).unwrap();
    fs::write(
        dir.path().join("csvdir/day=1/part.csv"),
        "x,y\n1,one\n2,two\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "--table",
            "log=log.txt:json",
            "--table",
            "c=csvdir/",
            "--format",
            "csv",
            "-c",
            "SELECT sum(a) AS s FROM log; SELECT day, x, y FROM c ORDER BY x",
        ],
        None,
    )
    .ok();
    assert_eq!(out.stdout, "s\n3\nday,x,y\n1,1,one\n1,2,two\n");
}

#[test]
fn max_rows_truncates_the_table_with_a_note() {
    let people = format!("p={}", fixture("people.csv"));
    let sql = "SELECT name FROM p ORDER BY name";
    let out = run(&["--table", &people, "-c", sql, "--max-rows", "2"]).ok();
    let lines = out.lines();
    assert_eq!(lines[4], "│ Ada      │");
    assert_eq!(lines[5], "│    ·     │");
    assert_eq!(lines[8], "│ Margaret │");
    assert_eq!(
        lines[10],
        "5 rows (2 shown; --max-rows or .maxrows to change)"
    );
    let all = run(&["--table", &people, "-c", sql, "--max-rows", "0"]).ok();
    assert!(
        all.stdout.ends_with("│ Margaret │\n└──────────┘\n5 rows\n"),
        "{}",
        all.stdout
    );
    // Other formats are never truncated.
    let csv = run(&[
        "--table",
        &people,
        "-c",
        sql,
        "--max-rows",
        "2",
        "--format",
        "csv",
    ])
    .ok();
    assert_eq!(csv.lines().len(), 6);
}

#[test]
fn output_to_one_file_is_atomic_and_holds_every_result() {
    let dir = tempfile::tempdir().unwrap();
    let people = format!("p={}", fixture("people.csv"));
    run_in(
        dir.path(),
        &[
            "--table",
            &people,
            "-c",
            "SELECT count(*) AS n FROM p",
            "-c",
            "SELECT max(age) AS oldest FROM p",
            "--format",
            "csv",
            "--output",
            "out/r.csv",
        ],
        None,
    )
    .ok();
    assert_eq!(
        fs::read_to_string(dir.path().join("out/r.csv")).unwrap(),
        "n\n5\noldest\n51\n"
    );
    // No temporary file is left next to it.
    let names: Vec<_> = fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["r.csv"]);

    // A failing statement leaves the target untouched.
    let failed = run_in(
        dir.path(),
        &[
            "-c",
            "SELECT 1 AS n; SELECT nope",
            "--format",
            "csv",
            "-o",
            "out/r.csv",
        ],
        None,
    )
    .expect_code(1);
    assert!(
        failed.stderr.starts_with("error: unknown column 'nope'"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("out/r.csv")).unwrap(),
        "n\n5\noldest\n51\n"
    );
    assert_eq!(fs::read_dir(dir.path().join("out")).unwrap().count(), 1);
}

#[test]
fn output_to_one_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let people = format!("p={}", fixture("people.csv"));
    run_in(
        dir.path(),
        &[
            "--table",
            &people,
            "-c",
            "SELECT name, age FROM p WHERE age < 40",
            "--format",
            "parquet",
            "--output",
            "young.parquet",
        ],
        None,
    )
    .ok();
    let back = run_in(
        dir.path(),
        &[
            "-c",
            "SELECT name, age FROM 'young.parquet' ORDER BY age",
            "--format",
            "csv",
        ],
        None,
    )
    .ok();
    assert_eq!(back.stdout, "name,age\nLinus,28\nMargaret,33\nAda,36\n");
    // A Parquet file takes one result.
    let two = run_in(
        dir.path(),
        &[
            "-c",
            "SELECT 1 AS a; SELECT 2 AS b",
            "--format",
            "parquet",
            "-o",
            "two.parquet",
        ],
        None,
    )
    .expect_code(2);
    assert!(
        two.stderr
            .contains("a Parquet file takes one query's result"),
        "{}",
        two.stderr
    );
    assert!(!dir.path().join("two.parquet").exists());
}

#[test]
fn output_to_directories_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_dataset(dir.path());
    let table = format!("sales={}", sales.display());
    let sql = "SELECT product, count(*) AS n FROM sales GROUP BY product";
    for format in ["ndjson", "json", "csv", "parquet"] {
        let target = format!("out-{format}/");
        run_in(
            dir.path(),
            &[
                "--table", &table, "-c", sql, "--format", format, "--output", &target,
            ],
            None,
        )
        .ok();
        let written = dir.path().join(format!("out-{format}"));
        assert!(written.join("_SUCCESS").exists(), "{format}");
        // Read back through the CLI, whatever the format.
        let read_as = match format {
            "ndjson" | "json" => "json",
            other => other,
        };
        let back = run_in(
            dir.path(),
            &[
                "--table",
                &format!("back=out-{format}:{read_as}"),
                "-c",
                "SELECT product, n FROM back ORDER BY product",
                "--format",
                "csv",
            ],
            None,
        )
        .ok();
        assert_eq!(
            back.stdout, "product,n\napple,3\npear,1\nplum,2\n",
            "{format}"
        );
    }
    // The directory exists now: writing it again fails and names it.
    let again = run_in(
        dir.path(),
        &[
            "--table", &table, "-c", sql, "--format", "csv", "--output", "out-csv/",
        ],
        None,
    )
    .expect_code(1);
    assert!(again.stderr.contains("out-csv"), "{}", again.stderr);
}

#[test]
fn create_view_and_copy_in_sql() {
    let dir = tempfile::tempdir().unwrap();
    let people = format!("p={}", fixture("people.csv"));
    let script = "CREATE TEMP VIEW ny AS SELECT name FROM p WHERE city = 'New York';\n\
                  COPY (SELECT name FROM ny) TO 'ny_out' (FORMAT json);\n\
                  SELECT name FROM json.`ny_out` ORDER BY name;";
    let out = run_in(
        dir.path(),
        &["--table", &people, "-c", script, "--format", "csv"],
        None,
    )
    .ok();
    assert_eq!(out.stdout, "name\nGrace\nKen\n");
    assert!(dir.path().join("ny_out/_SUCCESS").exists());
}

#[test]
fn explain_prints_plans_as_lines_and_partitions_set_the_shuffle_width() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_dataset(dir.path());
    let table = format!("sales={}", sales.display());
    // Two inputs make two partitions, so the grouping shuffles.
    let sql = "EXPLAIN SELECT product, count(*) FROM (SELECT product FROM sales WHERE region = 'eu' \
               UNION ALL SELECT product FROM sales WHERE region = 'us') GROUP BY product";
    for partitions in ["3", "5"] {
        let out = run(&[
            "--table",
            &table,
            "--threads",
            "2",
            "--partitions",
            partitions,
            "-c",
            sql,
        ])
        .ok();
        assert!(
            out.stdout.starts_with("== Logical Plan ==\n"),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains('│'), "{}", out.stdout);
        let exchange = format!("Exchange -> hash([#0], {partitions})");
        assert!(
            out.stdout.contains(&exchange),
            "{exchange} in {}",
            out.stdout
        );
    }
}

#[test]
fn threads_and_partitions_change_nothing_in_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_dataset(dir.path());
    let table = format!("sales={}", sales.display());
    let sql = "SELECT product, sum(amount) AS total FROM sales GROUP BY product ORDER BY product";
    let expected = "product,total\napple,4.5\npear,2.0\nplum,5.0\n";
    for (threads, partitions) in [("1", "1"), ("2", "5"), ("3", "2")] {
        let out = run(&[
            "--table",
            &table,
            "--threads",
            threads,
            "--partitions",
            partitions,
            "--memory-limit",
            "64MiB",
            "-c",
            sql,
            "--format",
            "csv",
        ])
        .ok();
        assert_eq!(
            out.stdout, expected,
            "--threads {threads} --partitions {partitions}"
        );
    }
}

// By hand: 10:00Z is 11:00 in Paris (CET, +01), and 10:00 there is 1709283600 (09:00Z);
// 1711848600 is 2024-03-31 01:30Z, 03:30 CEST.
#[test]
fn time_zone_reaches_the_session() {
    let sql = "SHOW time_zone; SELECT hour(TIMESTAMP '2024-03-01 10:00:00Z') AS h, \
               date_format(timestamp_seconds(1711848600), 'yyyy-MM-dd HH:mm') AS f, \
               unix_timestamp(CAST('2024-03-01 10:00:00' AS TIMESTAMP)) AS s";
    let out = run(&["--time-zone", "Europe/Paris", "-c", sql, "--format", "csv"]).ok();
    assert_eq!(
        out.stdout,
        "name,value\ntime_zone,Europe/Paris\nh,f,s\n11,2024-03-31 03:30,1709283600\n"
    );
    let utc = run(&["-c", sql, "--format", "csv"]).ok();
    assert_eq!(
        utc.stdout,
        "name,value\ntime_zone,UTC\nh,f,s\n10,2024-03-31 01:30,1709287200\n"
    );
    let bad = run(&["--time-zone", "Mars/Olympus", "-c", "SELECT 1"]).expect_code(2);
    assert!(
        bad.stderr.contains("unknown time zone 'Mars/Olympus'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn memory_limit_reaches_the_runtime() {
    let people = format!("p={}", fixture("people.csv"));
    let sql = "SELECT a.name, b.name AS other FROM p a JOIN p b \
               ON a.city = b.city AND a.name < b.name";
    let enough = run(&[
        "--table",
        &people,
        "--memory-limit",
        "64MiB",
        "-c",
        sql,
        "--format",
        "csv",
    ])
    .ok();
    assert_eq!(enough.stdout, "name,other\nGrace,Ken\n");
    // Under a tiny limit both joins still answer: the equi-join's broadcast side does not fit,
    // so it falls back to a spilling join, and the join without equi-keys runs block by block
    // (rsql's memory_limit tests check the spilling itself).
    let cross = "SELECT a.name, b.name AS other FROM p a JOIN p b ON a.name < b.name";
    for sql in [sql, cross] {
        let ample = run(&["--table", &people, "--memory-limit", "64MiB", "-c", sql]).ok();
        let starved = run(&["--table", &people, "--memory-limit", "100B", "-c", sql]).ok();
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(&starved.stdout), sorted(&ample.stdout), "{sql}");
    }
    let analyzed = run(&["--memory-limit", "100B", "-c", "EXPLAIN ANALYZE SELECT 1"]).ok();
    assert!(
        analyzed.stdout.contains("(memory limit 100 B)"),
        "{}",
        analyzed.stdout
    );
}

#[test]
fn explain_analyze_shows_the_memory_limit_that_none_removes() {
    for (flag, shown) in [
        ("64MiB", "(memory limit 64.0 MiB)"),
        ("none", "(memory limit none)"),
    ] {
        let out = run(&["--memory-limit", flag, "-c", "EXPLAIN ANALYZE SELECT 1"]).ok();
        assert!(out.stdout.contains(shown), "{}", out.stdout);
    }
    // Without the flag the session gets the machine's default, never "none" on Linux.
    let out = run(&["-c", "EXPLAIN ANALYZE SELECT 1"]).ok();
    assert!(out.stdout.contains("(memory limit "), "{}", out.stdout);
    if cfg!(target_os = "linux") {
        assert!(
            !out.stdout.contains("(memory limit none)"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn timer_and_quiet() {
    let out = run(&[
        "--timer",
        "-q",
        "-c",
        "SELECT 1 AS x; SELECT 2 AS y",
        "--format",
        "csv",
    ])
    .expect_code(0);
    assert_eq!(out.stdout, "x\n1\ny\n2\n");
    let times: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(times.len(), 2, "{}", out.stderr);
    assert!(
        times
            .iter()
            .all(|t| t.starts_with("Run Time: ") && t.ends_with(" s"))
    );
}

#[test]
fn parse_errors_point_at_the_column() {
    let out = run(&["-c", "SELECT 1;\nSELECT a,, b FROM t"]).expect_code(1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: SQL parse error at 2:10: Expected: an expression"),
        "{}",
        out.stderr
    );
    assert_eq!(
        lines[1..],
        ["  |", "2 | SELECT a,, b FROM t", "  |          ^"]
    );
    // The first statement ran before the error stopped the script.
    assert!(out.stdout.contains("1 row"), "{}", out.stdout);
}

#[test]
fn bind_errors_in_files_name_the_file_line_and_column() {
    let people = format!("people={}", fixture("people.csv"));
    let script = fixture("bad_column.sql");
    let out = run(&["--table", &people, "-f", &script, "--format", "csv"]).expect_code(1);
    assert_eq!(out.stdout, "n\n5\n");
    let expected = format!(
        "error: unknown column 'agee' at 5:8; did you mean 'age'?\n --> {script}:5:8\n  |\n5 |        agee\n  |        ^\n"
    );
    assert_eq!(out.stderr, expected);
}

#[test]
fn errors_are_one_line_without_backtraces() {
    // Unknown table, with what is registered.
    let people = format!("people={}", fixture("people.csv"));
    let out = run(&["--table", &people, "-c", "SELECT * FROM peple"]).expect_code(1);
    assert!(
        out.stderr
            .starts_with("error: unknown table 'peple' at 1:15; did you mean 'people'?\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("backtrace"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn io_errors_name_the_file() {
    let missing_script = run(&["-f", "no/such.sql"]).expect_code(1);
    assert_eq!(
        missing_script.stderr.lines().next().unwrap(),
        "error: cannot read no/such.sql: No such file or directory (os error 2)"
    );
    let missing_table = run(&["--table", "t=no/such.parquet", "-c", "SELECT 1"]).expect_code(1);
    assert!(
        missing_table
            .stderr
            .starts_with("error: --table t=no/such.parquet: ")
            && missing_table.stderr.contains("no/such.parquet"),
        "{}",
        missing_table.stderr
    );
    assert_eq!(missing_table.stderr.lines().count(), 1);
    let missing_path = run(&["-c", "SELECT * FROM 'no/such/dir/'"]).expect_code(1);
    assert!(
        missing_path.stderr.contains("no/such/dir/"),
        "{}",
        missing_path.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("broken.parquet"), "not parquet at all").unwrap();
    let broken = run_in(dir.path(), &["-c", "SELECT * FROM 'broken.parquet'"], None).expect_code(1);
    assert!(
        broken.stderr.contains("broken.parquet"),
        "{}",
        broken.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["--bogus"],
        vec!["--table", "no-equals-sign"],
        vec!["--table", "t=x.data:xml"],
        vec!["--threads", "0"],
        vec!["--partitions", "many"],
        vec!["--memory-limit", "lots"],
        vec!["--format", "xml"],
    ] {
        let out = run(&args).expect_code(2);
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
    }
    let out = run(&["-c", "SELECT 1", "--format", "parquet"]).expect_code(2);
    assert_eq!(
        out.stderr,
        "error: Parquet cannot be written to stdout; give --output FILE or --output DIR/\n"
    );
    let out = run(&["-c", "SELECT 1", "--format", "table", "--output", "dir/"]).expect_code(2);
    assert!(
        out.stderr
            .starts_with("error: --format table cannot write the directory")
    );
}

#[test]
fn the_shell_driven_through_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let people = format!("p={}", fixture("people.csv"));
    let orders = format!("o={}", fixture("orders.ndjson"));
    let input = "\
.tables
.mode csv
SELECT name
  FROM p
  WHERE age > 40 ORDER BY name;
.schema p
SELECT nope FROM p;
SELECT 'still running' AS after_error;
.mode
.mode table
.maxrows 2
SELECT name FROM p ORDER BY name;
.timer on
SELECT 1 AS one;
.timer off
.mode json
.bogus
.quit
SELECT 'not run' AS x;
";
    let out = run_in(
        dir.path(),
        &["--table", &people, "--table", &orders],
        Some(input),
    )
    .expect_code(1);
    let expected_start = "\
o
p
name
Grace
Ken
table,column,type,nullable
p,name,string,true
p,age,bigint,true
p,city,string,true
after_error
still running
csv
┌──────────┐
│ name     │
│ string   │
├──────────┤
│ Ada      │
│    ·     │
│    ·     │
│    ·     │
│ Margaret │
└──────────┘
5 rows (2 shown; --max-rows or .maxrows to change)
┌────────┐
│ one    │
│ bigint │
├────────┤
│      1 │
└────────┘
1 row
";
    assert_eq!(out.stdout, expected_start);
    let errors: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        errors[0],
        "error: unknown column 'nope' at 7:8; did you mean 'name'?"
    );
    assert_eq!(errors[2], "7 | SELECT nope FROM p;");
    assert!(errors[4].starts_with("Run Time: "), "{}", out.stderr);
    assert_eq!(
        errors[5],
        "error: unknown command '.bogus' (.help lists them)"
    );
    assert_eq!(errors.len(), 6, "{}", out.stderr);
}

#[test]
fn stdin_without_errors_exits_0_and_runs_a_last_statement_without_semicolon() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["--format", "ndjson"],
        Some("SELECT 1 AS a;\nSELECT 2 AS b\n"),
    )
    .ok();
    assert_eq!(out.stdout, "{\"a\":1}\n{\"b\":2}\n");
    let help = run_in(dir.path(), &[], Some(".help\n")).ok();
    assert!(help.stdout.contains(".schema [NAME]"), "{}", help.stdout);
}

#[test]
fn dot_command_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[],
        Some(".mode parquet\n.mode xml\n.timer maybe\n.maxrows x\n.schema nope\n"),
    )
    .expect_code(1);
    let errors: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        errors,
        [
            "error: Parquet cannot be written to stdout; give --output FILE or --output DIR/",
            "error: unknown format 'xml' (table, csv, tsv, json, ndjson, parquet)",
            "error: usage: .timer on|off",
            "error: 'x' is not a number of rows: invalid digit found in string",
            "error: unknown table 'nope' (registered: )",
        ]
    );
}

#[test]
fn set_flags_and_statements_change_session_settings() {
    let out = run(&[
        "--set",
        "spark.sql.shuffle.partitions=5",
        "--set",
        "threads=1",
        "-c",
        "SHOW shuffle_partitions; SHOW threads; SET shuffle_partitions = 2; SHOW shuffle_partitions",
        "--format",
        "csv",
    ])
    .ok();
    assert_eq!(
        out.stdout,
        "name,value\nshuffle_partitions,5\nname,value\nthreads,1\nname,value\nshuffle_partitions,2\n"
    );
    let bad = run(&["--set", "nope=1", "-c", "SELECT 1"]).expect_code(2);
    assert!(
        bad.stderr.contains("unknown setting 'nope'"),
        "{}",
        bad.stderr
    );
    let bad = run(&["--set", "threads=0", "-c", "SELECT 1"]).expect_code(2);
    assert!(
        bad.stderr.contains("invalid value '0' for threads"),
        "{}",
        bad.stderr
    );
}

#[test]
fn describe_extended_shows_where_and_what_a_table_is() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_dataset(dir.path());
    let bytes: u64 = ["region=eu", "region=us"]
        .iter()
        .map(|region| {
            fs::metadata(sales.join(region).join("part-0.parquet"))
                .unwrap()
                .len()
        })
        .sum();
    let table = format!("sales={}", sales.display());
    let out = run(&[
        "--table",
        &table,
        "-c",
        "DESCRIBE EXTENDED sales",
        "--format",
        "csv",
    ])
    .ok();
    let expected = format!(
        "column_name,column_type,null\n\
         id,bigint,NO\n\
         product,string,NO\n\
         amount,double,YES\n\
         region,string,YES\n\
         ,,\n\
         # Detailed Table Information,,\n\
         Location,{},\n\
         Format,parquet,\n\
         Partition columns,region,\n\
         Files,2,\n\
         Bytes,{bytes},\n\
         Rows,6,\n",
        sales.display()
    );
    assert_eq!(out.stdout, expected);
}
