//! The no-panic run: generated statements, most of them broken by [`mutate`], through rsql's
//! parser, binder, planner and (when planning succeeds) executor on tiny tables. Every
//! statement must either run or fail with an `Err` whose message is one non-empty line.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use rand::RngExt;

use super::ast::Dialect;
use super::check::panic_message;
use super::engine::{self, Failure};
use super::generate::QueryGenerator;
use super::mutate::mutate;
use super::schema::Database;
use super::{QUERIES_PER_DATABASE, rng};

/// Rows a table keeps in the no-panic run, so executing cross joins stays cheap.
const TINY_ROWS: usize = 3;

/// What the no-panic run saw.
#[derive(Debug, Default)]
pub struct NoPanicReport {
    /// Statements run.
    pub statements: usize,
    /// Statements that ran to the end.
    pub succeeded: usize,
    /// Statements that failed with a clean error.
    pub errors: usize,
    /// Statements that panicked (in the driver or in a task), with the panic message.
    pub panics: Vec<(String, String)>,
    /// Statements whose error message was empty or spanned several lines, with the message.
    pub bad_messages: Vec<(String, String)>,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// Runs `statements` statements from `seed`; `mutated` of every 100 are broken.
pub fn no_panic(seed: u64, statements: usize, mutated: u32) -> anyhow::Result<NoPanicReport> {
    let start = Instant::now();
    let mut report = NoPanicReport::default();
    let mut round = 0;
    while report.statements < statements {
        let mut rng = rng(seed.wrapping_add(round));
        round += 1;
        let mut db = Database::generate(&mut rng);
        for table in &mut db.tables {
            table.rows.truncate(TINY_ROWS);
        }
        let session = engine::session(&db, engine::config(round % 2 == 0))?;
        let mut sqls = Vec::new();
        let mut generator = QueryGenerator::new(&mut rng, &db);
        for _ in 0..QUERIES_PER_DATABASE.min(statements - report.statements) {
            sqls.push(generator.query().to_sql(Dialect::Rsql));
        }
        for sql in sqls {
            let sql = if rng.random_ratio(mutated, 100) {
                mutate(&mut rng, &sql)
            } else {
                sql
            };
            report.statements += 1;
            match catch_unwind(AssertUnwindSafe(|| engine::query(&session, &sql))) {
                Ok(Ok(_)) => report.succeeded += 1,
                Ok(Err(Failure::Error(message))) => {
                    report.errors += 1;
                    if message.trim().is_empty() || message.contains('\n') {
                        report.bad_messages.push((sql, message));
                    }
                }
                Ok(Err(Failure::Panic(message))) => report.panics.push((sql, message)),
                Err(panic) => report.panics.push((sql, panic_message(panic.as_ref()))),
            }
        }
    }
    report.elapsed = start.elapsed();
    Ok(report)
}
