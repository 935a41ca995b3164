//! Tables that outlive a process (`--catalog DIR`): reopened by another process, partition
//! overwrites that leave the other partitions' files alone, and a killed `INSERT` that leaves
//! the table as it was.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{rsql, run_in};

/// Runs SQL against the catalog in `dir/catalog`, as CSV.
fn sql(dir: &Path, statements: &str) -> common::Run {
    run_in(
        dir,
        &["--catalog", "catalog", "--format", "csv", "-c", statements],
        None,
    )
}

/// Where `DESCRIBE EXTENDED` says the table's files are.
fn location(dir: &Path, table: &str) -> PathBuf {
    let out = sql(dir, &format!("DESCRIBE EXTENDED {table}")).ok();
    let line = out
        .lines()
        .into_iter()
        .find_map(|line| line.strip_prefix("Location,"))
        .map(|rest| rest.trim_end_matches(',').to_string())
        .unwrap_or_else(|| panic!("no Location in {}", out.stdout));
    PathBuf::from(line)
}

/// Every data file below `dir` (relative path) with its inode and bytes.
fn files(dir: &Path) -> BTreeMap<String, (u64, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                let inode = entry.metadata().unwrap().ino();
                out.insert(relative, (inode, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_catalog_is_seen_by_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    sql(
        dir.path(),
        "CREATE TABLE people (id BIGINT, name STRING) USING parquet; \
         INSERT INTO people VALUES (1, 'ann'), (2, 'bo'), (3, 'cy'); \
         CREATE VIEW later AS SELECT name FROM people WHERE id > 1",
    )
    .ok();
    let out = sql(dir.path(), "SELECT * FROM later ORDER BY name; SHOW TABLES").ok();
    assert_eq!(
        out.stdout,
        "name\nbo\ncy\nname,type,temporary\nlater,view,false\npeople,table,false\n"
    );
    sql(dir.path(), "ALTER TABLE people RENAME TO folks").ok();
    let out = sql(dir.path(), "SELECT count(*) AS n FROM folks").ok();
    assert_eq!(out.stdout, "n\n3\n");
    // The view reads `people`, which is gone: using it says so.
    let out = sql(dir.path(), "SELECT * FROM later").expect_code(1);
    assert!(
        out.stderr.contains("view 'later' no longer binds") && out.stderr.contains("people"),
        "{}",
        out.stderr
    );
    sql(dir.path(), "DROP TABLE folks; DROP VIEW later").ok();
    let out = sql(dir.path(), "SHOW TABLES").ok();
    assert_eq!(out.stdout, "name,type,temporary\n");
    // Dropping a managed table removes its files.
    let tables = dir.path().join("catalog/tables");
    assert_eq!(std::fs::read_dir(tables).unwrap().count(), 0);
}

#[test]
fn overwriting_one_partition_leaves_the_other_partitions_files_untouched() {
    let dir = tempfile::tempdir().unwrap();
    sql(
        dir.path(),
        "CREATE TABLE sales (id BIGINT, region STRING) USING parquet PARTITIONED BY (region); \
         INSERT INTO sales VALUES (1, 'eu'), (2, 'us'), (3, 'us'); \
         INSERT INTO sales VALUES (4, 'asia')",
    )
    .ok();
    let before = files(&location(dir.path(), "sales"));
    sql(
        dir.path(),
        "INSERT OVERWRITE sales PARTITION (region = 'eu') VALUES (10), (11)",
    )
    .ok();
    let after = files(&location(dir.path(), "sales"));
    let partition = |files: &BTreeMap<String, (u64, Vec<u8>)>, region: &str| {
        files
            .iter()
            .filter(|(path, _)| path.starts_with(&format!("region={region}/")))
            .map(|(path, file)| (path.clone(), file.clone()))
            .collect::<Vec<_>>()
    };
    for region in ["us", "asia"] {
        let kept = partition(&before, region);
        assert!(!kept.is_empty(), "{region}");
        // The same files: same names, same bytes, and the same inodes (linked, not copied).
        assert_eq!(partition(&after, region), kept, "{region}");
    }
    let eu_before = partition(&before, "eu");
    let eu_after = partition(&after, "eu");
    assert_eq!(eu_before.len(), 1);
    assert!(
        eu_after
            .iter()
            .all(|(path, _)| !eu_before.iter().any(|(p, _)| p == path))
    );
    let out = sql(dir.path(), "SELECT id, region FROM sales ORDER BY id").ok();
    assert_eq!(out.stdout, "id,region\n2,us\n3,us\n4,asia\n10,eu\n11,eu\n");
}

#[test]
fn an_insert_killed_midway_leaves_the_table_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<String> = (0..1500).map(|i| format!("({i}, 'row-{i}')")).collect();
    sql(
        dir.path(),
        &format!(
            "CREATE TABLE t (id BIGINT, label STRING) USING parquet; \
             INSERT INTO t VALUES {}",
            values.join(", ")
        ),
    )
    .ok();
    let query = "SELECT count(*) AS n, sum(id) AS s, min(label) AS lo, max(label) AS hi FROM t";
    let before = sql(dir.path(), query).ok().stdout;
    assert_eq!(before, "n,s,lo,hi\n1500,1124250,row-0,row-999\n");
    // 2.25 million rows to write: long enough to be killed while writing. The kill comes
    // once the write's staging folder exists, and a little later, while parts are written.
    let table_folder = location(dir.path(), "t").parent().unwrap().to_path_buf();
    let staging = || {
        std::fs::read_dir(&table_folder)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with('.'))
    };
    let insert = "INSERT INTO t SELECT a.id * 10000 + b.id, a.label FROM t a CROSS JOIN t b";
    let mut child = rsql(dir.path())
        .args(["--catalog", "catalog", "-c", insert])
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !staging() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(staging(), "the INSERT never started writing");
    std::thread::sleep(Duration::from_millis(30));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the INSERT finished before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sql(dir.path(), query).ok().stdout, before);
    // The next write succeeds and clears what the killed ones left.
    sql(dir.path(), "INSERT INTO t VALUES (-1, 'new')").ok();
    assert_eq!(
        sql(dir.path(), "SELECT count(*) AS n FROM t").ok().stdout,
        "n\n1501\n"
    );
    let versions = std::fs::read_dir(&table_folder)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("v-")
        })
        .count();
    assert_eq!(versions, 2, "the current and the previous version");
}

/// Every statement the catalog and settings add, through the command line in one script.
#[test]
fn every_statement_runs_from_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "SET shuffle_partitions = 3;
         SHOW shuffle_partitions;
         CREATE TABLE t (k STRING, v BIGINT) USING parquet PARTITIONED BY (k);
         INSERT INTO t VALUES (1, 'a'), (2, 'b');
         INSERT INTO t PARTITION (k = 'c') SELECT 3;
         INSERT OVERWRITE t PARTITION (k = 'a') SELECT 10;
         CREATE TABLE copy_of_t USING csv AS SELECT * FROM t;
         COPY (SELECT * FROM t) TO 'exported' (FORMAT json, PARTITION_BY (k));
         CREATE EXTERNAL TABLE exported USING json LOCATION 'exported';
         CREATE VIEW total AS SELECT sum(v) AS s FROM exported;
         SELECT * FROM total;
         SHOW TABLES;
         SHOW COLUMNS FROM t;
         DESCRIBE copy_of_t;
         DESCRIBE SELECT k, v * 2 AS w FROM t;
         SHOW FUNCTIONS LIKE 'corr';
         ALTER TABLE copy_of_t RENAME TO t2;
         DROP VIEW total;
         DROP TABLE exported;
         DROP TABLE IF EXISTS nothing;
         RESET shuffle_partitions;
         SELECT k, v FROM t2 ORDER BY k;",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "--catalog",
            "catalog",
            "--format",
            "csv",
            "-f",
            "script.sql",
        ],
        None,
    )
    .ok();
    let expected = "\
name,value
shuffle_partitions,3
s
15
name,type,temporary
copy_of_t,table,false
exported,table,false
t,table,false
total,view,false
column_name
v
k
column_name,column_type,null
v,bigint,YES
k,string,YES
column_name,column_type,null
k,string,YES
w,bigint,YES
name,kind,arguments
corr,aggregate,2
k,v
a,10
b,2
c,3
";
    assert_eq!(out.stdout, expected);
    // The exported files stay after DROP TABLE of the external table over them.
    assert!(dir.path().join("exported/k=a").is_dir());
}
