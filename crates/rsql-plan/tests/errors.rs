//! Bind errors say what is wrong and where, and no input makes the binder panic.

mod common;

use common::{bind, error_text};
use rsql_plan::{PlanError, Position};

#[test]
fn unknown_names_come_with_positions_and_suggestions() {
    assert_eq!(
        error_text("SELECT sesion_id FROM events"),
        "unknown column 'sesion_id' at 1:8; did you mean 'session_id'?"
    );
    assert_eq!(
        error_text("SELECT url\nFROM event"),
        "unknown table 'event' at 2:6; did you mean 'events'?"
    );
    assert_eq!(
        error_text("SELECT cuont(*) FROM t"),
        "unknown function 'cuont' at 1:8; did you mean one of 'cot', 'count'?"
    );
    assert_eq!(
        error_text("SELECT t.z FROM t"),
        "unknown column 't.z' at 1:10; did you mean one of 'a', 'b', 'c'?"
    );
    assert_eq!(
        error_text("SELECT a FROM t JOIN u ON t.a = u.a"),
        "ambiguous column 'a' at 1:8: it could be any of t.a, u.a"
    );
}

#[test]
fn type_and_argument_errors() {
    assert_eq!(
        error_text("SELECT lower(a, b) FROM t"),
        "function 'lower' expects 1 argument, got 2 at 1:8"
    );
    assert_eq!(
        error_text("SELECT a FROM t WHERE a + b > 1"),
        "type mismatch at 1:23: cannot apply '+' to Int64 and Utf8"
    );
    assert_eq!(
        error_text("SELECT a FROM t WHERE b"),
        "type mismatch at 1:23: expected a boolean condition, got Utf8: t.b"
    );
    assert_eq!(
        error_text("SELECT count(*) FROM events GROUP BY window(ts, '1 hourz')"),
        "malformed interval '1 hourz' at 1:38: unknown unit 'hourz' (expected second, minute, hour, day or week)"
    );
}

#[test]
fn semantic_errors() {
    assert_eq!(
        error_text("SELECT b, count(*) FROM t"),
        "column 't.b' must appear in GROUP BY or be used in an aggregate function at 1:8"
    );
    assert_eq!(
        error_text("SELECT a FROM t WHERE count(*) > 1"),
        "aggregate function 'count' is not allowed here (only in SELECT, HAVING and ORDER BY) at 1:23"
    );
    assert_eq!(
        error_text("SELECT sum(count(a)) FROM t"),
        "aggregate calls cannot be nested: count(t.a) at 1:8"
    );
    assert_eq!(
        error_text("SELECT a FROM t GROUP BY 3"),
        "GROUP BY position 3 is not in the select list (1..=1) at 1:26"
    );
    assert_eq!(
        error_text("SELECT a FROM t LIMIT -1"),
        "LIMIT must be a non-negative integer literal, got -1 at 1:24"
    );
    assert_eq!(
        error_text("SELECT a, a FROM t"),
        "Schema contains duplicate qualified field name t.a; give the columns distinct aliases"
    );
}

#[test]
fn unsupported_constructs_say_so() {
    for (sql, construct) in [
        (
            "SELECT a FROM t INTERSECT BY NAME SELECT a FROM u",
            "INTERSECT BY NAME",
        ),
        (
            "SELECT a FROM t WHERE a = ANY (SELECT a FROM u)",
            "the expression",
        ),
        (
            "SELECT sum(a) OVER (ORDER BY a GROUPS 1 PRECEDING) FROM t",
            "GROUPS frames",
        ),
        ("UPDATE t SET a = 1", "the statement UPDATE"),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT 1",
            "the view definition",
        ),
        (
            "WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r",
            "WITH RECURSIVE",
        ),
        (
            "SELECT a FROM t GROUP BY a WITH TOTALS",
            "GROUP BY .. WITH TOTALS",
        ),
        (
            "COPY (SELECT a FROM t) TO 'x' (FORMAT avro)",
            "the file format 'avro' (use parquet, json or csv)",
        ),
        ("SELECT a FROM t; SELECT 1", "2 statements"),
    ] {
        let message = error_text(sql);
        assert!(message.contains(construct), "{sql}: {message}");
    }
}

#[test]
fn parse_errors_point_at_the_token() {
    let err = bind("SELECT a,\n  , b FROM t").unwrap_err();
    assert!(matches!(err, PlanError::Parse { .. }), "{err}");
    assert_eq!(err.position(), Some(Position { line: 2, column: 3 }));
}

/// Odd, truncated and hostile inputs: each must return (Ok or Err), never panic.
#[test]
fn odd_sql_never_panics() {
    let odd = [
        "",
        ";",
        "SELECT",
        "SELECT *",
        "SELECT * FROM",
        "SELECT 99999999999999999999999999",
        "SELECT 1e400",
        "SELECT -",
        "SELECT a FROM t ORDER BY 0",
        "SELECT a FROM t ORDER BY 99999999999999999999",
        "SELECT a FROM t GROUP BY -1",
        "SELECT count(DISTINCT *) FROM t",
        "SELECT count(a, b) FROM t",
        "SELECT window(ts) FROM events",
        "SELECT window(ts, 1) FROM events",
        "SELECT window(ts, b) FROM events, t",
        "SELECT window(ts, '') FROM events",
        "SELECT window(ts, '-1 hour') FROM events",
        "SELECT named_struct('a') FROM t",
        "SELECT named_struct(b, 1) FROM t",
        "SELECT struct() FROM t",
        "SELECT concat() FROM t",
        "SELECT a.b.c.d FROM t",
        "SELECT a[1] FROM t",
        "SELECT b['x'] FROM t",
        "SELECT t.* FROM u",
        "SELECT x.* FROM t",
        "SELECT * FROM t JOIN u USING (zz)",
        "SELECT * FROM (SELECT 1)",
        "SELECT * FROM (SELECT a, a FROM t) s",
        "SELECT CAST(a AS DECIMAL(99, 2)) FROM t",
        "SELECT CAST('x' AS INTERVAL) FROM t",
        "SELECT a FROM t HAVING a > 1",
        "SELECT DISTINCT a FROM t ORDER BY c",
        "WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r",
        "WITH x AS (SELECT 1) SELECT * FROM x, x",
        "SELECT 1 UNION ALL SELECT 1, 2",
        "SELECT 'a' UNION ALL SELECT true",
        "VALUES (1), (1, 2)",
        "VALUES (1), ('x')",
        "SELECT a FROM t LIMIT 1 OFFSET 'x'",
        "SELECT date_trunc('fortnight', ts) FROM events",
        "SELECT coalesce(a, b) FROM t",
        "SELECT a BETWEEN 'x' AND true FROM t",
        "SELECT CASE WHEN 1 THEN 2 END",
        "SELECT CASE a WHEN 'x' THEN 1 WHEN true THEN 2 END FROM t",
        "SELECT - b FROM t",
        "SELECT NOT a FROM t",
        "SELECT a LIKE 1 FROM t",
        "EXPLAIN CREATE TEMP VIEW v AS SELECT 1",
        "COPY t TO 'x'",
        "COPY (SELECT 1) TO 'x'",
        "SELECT ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
        "SELECT \u{0}",
        "SELECT 'unterminated",
        "SELECT `unterminated",
        "SELECT ü FROM t",
    ];
    for sql in odd {
        let outcome = std::panic::catch_unwind(|| bind(sql));
        assert!(outcome.is_ok(), "panicked on {sql:?}");
    }
    // Every prefix of a realistic query is handled too.
    let query = "WITH x AS (SELECT a, b FROM t WHERE a > 1) SELECT b, count(DISTINCT a) AS n \
                 FROM x JOIN u USING (a) GROUP BY b HAVING n > 2 ORDER BY 2 DESC LIMIT 5";
    for end in (0..=query.len()).filter(|i| query.is_char_boundary(*i)) {
        let prefix = &query[..end];
        let outcome = std::panic::catch_unwind(|| bind(prefix));
        assert!(outcome.is_ok(), "panicked on {prefix:?}");
    }
    assert!(bind(query).is_ok());
}
