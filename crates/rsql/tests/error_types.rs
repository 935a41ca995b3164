//! Errors keep their type across the crates: a file that cannot be read is `Error::Io` (with
//! the SQL position when the SQL named it), a type error is `Error::Plan` with its position,
//! and `root_cause` reaches the reader's error inside a failed task.

use std::time::Duration;

use rsql::{Error, ExecError, IoError, PlanError, Position, RddError, Session, SessionConfig};

fn session() -> Session {
    Session::with_config(SessionConfig {
        threads: 2,
        shuffle_partitions: 2,
        ..SessionConfig::default()
    })
    .unwrap()
}

#[test]
fn a_missing_file_named_in_sql_is_an_io_error_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.parquet");
    let sql = format!("SELECT *\nFROM parquet.\"{}\"", missing.display());
    let error = session().sql(&sql).err().expect("the file is missing");
    match &error {
        Error::Io { source, position } => {
            let IoError::NotFound(path) = source.as_ref() else {
                panic!("expected a missing path, got {source:?}");
            };
            assert!(path.contains("missing.parquet"), "{path}");
            assert_eq!(*position, Some(Position { line: 2, column: 6 }));
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }
    assert_eq!(error.position(), Some(Position { line: 2, column: 6 }));
    let message = error.to_string();
    assert!(message.starts_with("path not found: "), "{message}");
    assert!(message.ends_with("missing.parquet at 2:6"), "{message}");
    assert!(error.root_cause().is::<IoError>());
}

#[test]
fn a_missing_file_read_by_the_dataframe_api_is_an_io_error() {
    let error = session()
        .read_csv("/nonexistent/rsql/dir/")
        .err()
        .expect("missing");
    assert!(
        matches!(
            &error,
            Error::Io { source, position: None } if matches!(**source, IoError::NotFound(_))
        ),
        "{error:?}"
    );
}

#[test]
fn a_type_error_is_a_plan_error_with_its_position() {
    let error = session()
        .sql("SELECT range,\n  range + 'x' || 1 FROM range(0, 3) WHERE range")
        .err()
        .expect("a type error");
    match &error {
        Error::Plan(PlanError::TypeMismatch { position, .. }) => assert!(position.is_some()),
        other => panic!("expected a type mismatch, got {other:?}"),
    }
    assert!(error.position().is_some());
    assert!(error.root_cause().is::<PlanError>());
    assert!(!error.to_string().contains('\n'));
}

#[test]
fn a_file_deleted_while_planned_fails_the_task_with_the_io_error_as_root_cause() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gone.csv");
    std::fs::write(&file, "a\n1\n2\n").unwrap();
    let session = session();
    let df = session
        .sql(&format!("SELECT * FROM '{}'", file.display()))
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let error = df.collect().expect_err("the file is gone");
    // The task's failure names the stage and partition ...
    assert!(
        matches!(error, Error::Rdd(RddError::TaskFailed { .. })),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("gone.csv"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    // ... and its root cause is the reader's error, typed.
    let root = error.root_cause();
    let io = root
        .downcast_ref::<IoError>()
        .unwrap_or_else(|| panic!("root cause {root:?} is not an IoError"));
    assert!(io.to_string().contains("gone.csv"), "{io}");
}

#[test]
fn errors_that_wrap_nothing_are_their_own_root_cause() {
    let error = Error::StatementTimeout(Duration::from_secs(30));
    assert_eq!(
        error.root_cause().to_string(),
        "the statement was cancelled after 30s (statement_timeout)"
    );
    let error = Error::from(RddError::Cancelled);
    assert!(error.is_cancelled());
    assert!(matches!(
        error.root_cause().downcast_ref::<RddError>(),
        Some(RddError::Cancelled)
    ));
}

#[test]
fn operator_errors_reach_the_user_one_way() {
    // An ExecError wrapping a runtime error is the runtime's variant, not Exec(Rdd(..)).
    let error = Error::from(ExecError::Rdd(RddError::Cancelled));
    assert!(error.is_cancelled(), "{error:?}");
    // An operator error the runtime boxed is the operator's error again.
    let boxed = RddError::External(Box::new(ExecError::Execution("bad".into())));
    assert!(
        matches!(Error::from(boxed), Error::Exec(ExecError::Execution(_))),
        "boxed once"
    );
    let boxed = RddError::External(Box::new(ExecError::Io(IoError::NotFound("x".into()))));
    assert!(matches!(
        Error::from(boxed),
        Error::Io { source, .. } if matches!(*source, IoError::NotFound(_))
    ));
}
