//! A differential SQL fuzzer: random tables and queries run through rsql and through SQLite
//! (the oracle), results compared; failing queries are minimised with their data. A second
//! mode feeds malformed statements to rsql and checks that every one fails cleanly.
//!
//! Module map: [`schema`] makes tables, [`generate`] makes queries as [`ast`] trees, [`oracle`]
//! and [`engine`] run them, [`compare`] compares the rows, [`check`] ties one query to an
//! [`Outcome`](check::Outcome), [`shrink`] minimises failures, [`mutate`] breaks statements
//! for [`no_panic`].

pub mod ast;
pub mod check;
pub mod compare;
pub mod engine;
pub mod generate;
pub mod mutate;
pub mod no_panic;
pub mod oracle;
pub mod schema;
pub mod shrink;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use ast::{Dialect, Query};
use check::{Harness, Outcome};
use generate::QueryGenerator;
use schema::Database;

/// The fuzzer's random source: seeded, and the same on every platform.
pub type FuzzRng = Xoshiro256PlusPlus;

/// The random source for `seed`.
pub fn rng(seed: u64) -> FuzzRng {
    FuzzRng::seed_from_u64(seed)
}

/// Queries run against each generated database before a new one is made.
pub const QUERIES_PER_DATABASE: usize = 40;

/// A failing query with what it ran on.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The seed of its database round (rerun it with `--seed` this and `--queries` up to
    /// `index + 1`).
    pub seed: u64,
    /// Its position among the round's queries.
    pub index: usize,
    /// Whether rsql could broadcast join sides.
    pub broadcast: bool,
    /// The database.
    pub db: Database,
    /// The query.
    pub query: Query,
    /// How it failed.
    pub outcome: Outcome,
}

impl Finding {
    /// The query and the smallest data on which it fails in the same way.
    pub fn minimise(&self) -> anyhow::Result<(Query, Database)> {
        let harness = Harness::new(self.db.clone(), self.broadcast)?;
        let query = shrink::minimise_query(&harness, &self.query, &self.outcome);
        let db = shrink::minimise_data(&self.db, &query, &self.outcome, self.broadcast)?;
        Ok((query, db))
    }

    /// The rsql SQL of the query.
    pub fn sql(&self) -> String {
        self.query.to_sql(Dialect::Rsql)
    }
}

/// What a differential run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Queries both engines ran and agreed on.
    pub passed: usize,
    /// Queries SQLite rejected or the caller skipped (not counted as compared).
    pub skipped: usize,
    /// Queries rsql refused as unsupported, by the start of the message.
    pub unsupported: BTreeMap<String, usize>,
    /// Queries where rsql failed or disagreed.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Queries compared: passed plus failed.
    pub fn compared(&self) -> usize {
        self.passed + self.findings.len()
    }
}

/// Runs `queries` random queries, starting from `seed`: every [`QUERIES_PER_DATABASE`]
/// queries a new database, whose round seed is `seed` plus the round number; even round
/// seeds let rsql broadcast join sides, odd ones shuffle both. `skip` drops generated queries whose rsql
/// SQL it matches (for constructs with known open bugs).
pub fn differential(
    seed: u64,
    queries: usize,
    skip: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    for round in 0..queries.div_ceil(QUERIES_PER_DATABASE) {
        let round_seed = seed.wrapping_add(round as u64);
        let mut rng = rng(round_seed);
        let db = Database::generate(&mut rng);
        let broadcast = round_seed.is_multiple_of(2);
        let harness = Harness::new(db.clone(), broadcast)?;
        let count = QUERIES_PER_DATABASE.min(queries - round * QUERIES_PER_DATABASE);
        let mut generator = QueryGenerator::new(&mut rng, &db);
        for index in 0..count {
            let query = generator.query();
            if skip(&query.to_sql(Dialect::Rsql)) {
                report.skipped += 1;
                continue;
            }
            match harness.check(&query) {
                Outcome::Passed => report.passed += 1,
                Outcome::Skipped(_) => report.skipped += 1,
                Outcome::Unsupported(message) => {
                    let head: String = message.chars().take(60).collect();
                    *report.unsupported.entry(head).or_default() += 1;
                }
                outcome => report.findings.push(Finding {
                    seed: round_seed,
                    index,
                    broadcast,
                    db: db.clone(),
                    query,
                    outcome,
                }),
            }
        }
    }
    Ok(report)
}
