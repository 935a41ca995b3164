//! One query through both engines: the [`Harness`] holds a database loaded into each, and
//! [`Harness::check`] says how rsql's answer relates to SQLite's.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rsql::Session;

use super::ast::{Dialect, Query};
use super::compare::compare_rows;
use super::engine::{self, Failure};
use super::oracle::Sqlite;
use super::schema::Database;

/// How rsql's messages for missing features start.
pub const UNSUPPORTED: &str = "not supported yet";

/// How a query fared.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// SQLite rejected the query, so it says nothing about rsql (the generator strays from the
    /// common dialect now and then, e.g. an aggregate's type SQLite cannot resolve).
    Skipped(String),
    /// Both engines returned the same rows.
    Passed,
    /// rsql returned other rows: what differs.
    Mismatch(String),
    /// rsql refused the query as a feature it does not have (`not supported yet: ..`): its
    /// message. Not a failure: a known gap, counted apart.
    Unsupported(String),
    /// rsql failed where SQLite answered: its message.
    Error(String),
    /// rsql panicked: the panic's message.
    Panic(String),
}

impl Outcome {
    /// Whether this is a failure of rsql.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Mismatch(_) | Outcome::Error(_) | Outcome::Panic(_)
        )
    }

    /// Whether `other` is the same failure as `self`, as far as minimising cares: the same
    /// kind, and for errors the same message up to the first quoted name.
    pub fn same_failure(&self, other: &Outcome) -> bool {
        let head = |m: &str| m.split(['\'', '"', '`']).next().unwrap_or("").to_string();
        match (self, other) {
            (Outcome::Mismatch(_), Outcome::Mismatch(_)) => true,
            (Outcome::Error(a), Outcome::Error(b)) | (Outcome::Panic(a), Outcome::Panic(b)) => {
                head(a) == head(b)
            }
            _ => false,
        }
    }
}

/// A database loaded into SQLite and into an rsql session.
pub struct Harness {
    /// The tables both engines hold.
    pub db: Database,
    sqlite: Sqlite,
    session: Session,
}

impl Harness {
    /// Loads `db` into both engines; `broadcast` lets rsql broadcast small join sides.
    pub fn new(db: Database, broadcast: bool) -> anyhow::Result<Harness> {
        let sqlite = Sqlite::load(&db)?;
        let session = engine::session(&db, engine::config(broadcast))?;
        Ok(Harness {
            db,
            sqlite,
            session,
        })
    }

    /// Runs `query` in both engines and compares the results.
    pub fn check(&self, query: &Query) -> Outcome {
        let expected = match self.sqlite.query(&query.to_sql(Dialect::Sqlite)) {
            Ok(rows) => rows,
            Err(message) => return Outcome::Skipped(message),
        };
        let sql = query.to_sql(Dialect::Rsql);
        let actual = match catch_unwind(AssertUnwindSafe(|| engine::query(&self.session, &sql))) {
            Ok(Ok(rows)) => rows,
            Ok(Err(Failure::Error(message))) if message.starts_with(UNSUPPORTED) => {
                return Outcome::Unsupported(message);
            }
            Ok(Err(Failure::Error(message))) => return Outcome::Error(message),
            Ok(Err(Failure::Panic(message))) => return Outcome::Panic(message),
            Err(panic) => return Outcome::Panic(panic_message(panic.as_ref())),
        };
        match compare_rows(&expected, &actual, query.is_ordered()) {
            Ok(()) => Outcome::Passed,
            Err(difference) => Outcome::Mismatch(difference),
        }
    }
}

/// The message of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string())
}
