//! Random tables: a schema of 2–4 tables with typed columns, and rows with NULLs, skewed
//! values and sometimes no rows at all.

use std::fmt;

use rand::RngExt;
use rand::seq::IndexedRandom;

use super::FuzzRng;

/// The column types the fuzzer generates: the ones SQLite can store without losing what rsql
/// would compute (dates are ISO text in SQLite, which orders and compares as the dates do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// 32-bit integer (`INTEGER`).
    Int,
    /// 64-bit integer (`BIGINT`).
    BigInt,
    /// `DOUBLE`.
    Double,
    /// `VARCHAR`.
    Text,
    /// `BOOLEAN` (0/1 in SQLite).
    Bool,
    /// `DATE` (ISO text in SQLite).
    Date,
}

impl SqlType {
    /// Every type, for choosing one at random.
    pub const ALL: [SqlType; 6] = [
        SqlType::Int,
        SqlType::BigInt,
        SqlType::Double,
        SqlType::Text,
        SqlType::Bool,
        SqlType::Date,
    ];

    /// Integers and doubles: the types arithmetic and `sum`/`avg` accept.
    pub fn is_numeric(self) -> bool {
        matches!(self, SqlType::Int | SqlType::BigInt | SqlType::Double)
    }

    /// The type as rsql spells it in DDL and `CAST`.
    pub fn rsql_name(self) -> &'static str {
        match self {
            SqlType::Int => "INTEGER",
            SqlType::BigInt => "BIGINT",
            SqlType::Double => "DOUBLE",
            SqlType::Text => "VARCHAR",
            SqlType::Bool => "BOOLEAN",
            SqlType::Date => "DATE",
        }
    }

    /// The column type declared in SQLite: one whose affinity stores the values unchanged.
    pub fn sqlite_name(self) -> &'static str {
        match self {
            SqlType::Int | SqlType::BigInt | SqlType::Bool => "INTEGER",
            SqlType::Double => "REAL",
            SqlType::Text | SqlType::Date => "TEXT",
        }
    }
}

/// One value of a table or of a query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer (both integer widths).
    Int(i64),
    /// A double.
    Double(f64),
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A date as days since 1970-01-01.
    Date(i32),
}

impl Value {
    /// The value as an SQL literal both engines read the same way (dates are rendered by the
    /// caller, which knows the dialect; see [`Value::date_text`]).
    pub fn sql_literal(&self) -> String {
        match self {
            Value::Null => "NULL".to_string(),
            Value::Int(v) => v.to_string(),
            // The exponent makes it a DOUBLE in rsql too (`1.5` alone is a DECIMAL, as in Spark).
            Value::Double(v) => format!("{v:e}"),
            Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Date(d) => format!("'{}'", date_text(*d)),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v:?}"),
            Value::Text(s) => write!(f, "'{s}'"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Date(d) => f.write_str(&date_text(*d)),
        }
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian, as Arrow's `Date32`).
pub fn date_text(days: i32) -> String {
    // Howard Hinnant's civil_from_days.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A column of a generated table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its name (unique in the database, so unqualified references are never ambiguous).
    pub name: String,
    /// Its type.
    pub ty: SqlType,
}

/// A generated table: its columns and rows.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns; the first is always `INTEGER` (a join key with few distinct values).
    pub columns: Vec<Column>,
    /// Its rows, one value per column.
    pub rows: Vec<Vec<Value>>,
}

/// The tables of one fuzzing round.
#[derive(Debug, Clone)]
pub struct Database {
    /// 2 to 4 tables.
    pub tables: Vec<Table>,
}

/// Strings of the generated text columns: ASCII (both engines compare bytes), with case
/// differences, LIKE metacharacters and the empty string.
const WORDS: [&str; 10] = ["a", "ab", "abc", "B", "ba", "", "x_y", "50%", "zz", "Ab"];

/// The first generated date, 2024-02-26 (days since the epoch); dates span 10 days.
const FIRST_DATE: i32 = 19_779;

impl Database {
    /// A random database: 2–4 tables of 2–5 columns and 0–40 rows each.
    pub fn generate(rng: &mut FuzzRng) -> Database {
        let count = rng.random_range(2..=4);
        let tables = (0..count).map(|t| Table::generate(rng, t)).collect();
        Database { tables }
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl Table {
    fn generate(rng: &mut FuzzRng, index: usize) -> Table {
        let width = rng.random_range(2..=5);
        let columns: Vec<Column> = (0..width)
            .map(|c| Column {
                name: format!("{}{c}", (b'a' + index as u8) as char),
                ty: if c == 0 {
                    SqlType::Int
                } else {
                    *SqlType::ALL.choose(rng).expect("types")
                },
            })
            .collect();
        let rows = match rng.random_range(0..10) {
            0 => 0,
            1 => 1,
            _ => rng.random_range(2..=40),
        };
        let null_rate = *[0.0, 0.1, 0.3, 0.6].choose(rng).expect("rates");
        // Skew: the domain of each column is small, and a few values dominate.
        let domain = rng.random_range(1..=8);
        let rows = (0..rows)
            .map(|_| {
                columns
                    .iter()
                    .map(|c| random_value(rng, c.ty, null_rate, domain))
                    .collect()
            })
            .collect();
        Table {
            name: format!("t{index}"),
            columns,
            rows,
        }
    }
}

/// A value of `ty`: NULL with probability `null_rate`, else one of about `domain` values, the
/// low ones far more often than the high ones.
pub fn random_value(rng: &mut FuzzRng, ty: SqlType, null_rate: f64, domain: i64) -> Value {
    if rng.random_bool(null_rate) {
        return Value::Null;
    }
    let skewed = {
        let a = rng.random_range(0..domain);
        let b = rng.random_range(0..domain);
        a.min(b)
    };
    let signed = if rng.random_bool(0.2) {
        -skewed
    } else {
        skewed
    };
    match ty {
        SqlType::Int => Value::Int(signed),
        SqlType::BigInt => Value::Int(signed * 1_000_003),
        // Quarters are exact in binary, so sums do not depend on the order of addition.
        SqlType::Double => Value::Double(signed as f64 * 0.25 + 0.5),
        SqlType::Text => Value::Text(WORDS[skewed as usize % WORDS.len()].to_string()),
        SqlType::Bool => Value::Bool(skewed % 2 == 1),
        SqlType::Date => Value::Date(FIRST_DATE + (skewed as i32 % 10)),
    }
}

impl Database {
    /// rsql statements recreating the tables as temporary views over `VALUES` (the form the
    /// `.slt` files use), for reporting a minimised failure.
    pub fn to_rsql_views(&self) -> String {
        let mut out = String::new();
        for table in &self.tables {
            let columns: Vec<String> = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    format!(
                        "CAST(column{} AS {}) AS {}",
                        i + 1,
                        c.ty.rsql_name(),
                        c.name
                    )
                })
                .collect();
            let nulls = vec![Value::Null; table.columns.len()];
            let (rows, filter) = if table.rows.is_empty() {
                (std::slice::from_ref(&nulls), " WHERE false")
            } else {
                (table.rows.as_slice(), "")
            };
            let rows: Vec<String> = rows
                .iter()
                .map(|row| {
                    let values: Vec<String> = row.iter().map(Value::sql_literal).collect();
                    format!("({})", values.join(", "))
                })
                .collect();
            out.push_str(&format!(
                "CREATE TEMP VIEW {} AS SELECT {} FROM (VALUES {}){filter};\n",
                table.name,
                columns.join(", "),
                rows.join(", ")
            ));
        }
        out
    }
}
