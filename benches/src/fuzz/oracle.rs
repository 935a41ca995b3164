//! The oracle: the same tables in an in-memory SQLite database.

use rusqlite::types::Value as SqliteValue;
use rusqlite::{Connection, params_from_iter};

use super::schema::{Database, Value, date_text};

/// An in-memory SQLite database holding a [`Database`]'s tables.
pub struct Sqlite {
    connection: Connection,
}

impl Sqlite {
    /// Creates and fills the tables: booleans as 0/1, dates as ISO text (which compares and
    /// orders as dates do). `LIKE` is made case-sensitive, as rsql's is.
    pub fn load(db: &Database) -> rusqlite::Result<Sqlite> {
        let mut connection = Connection::open_in_memory()?;
        connection.execute_batch("PRAGMA case_sensitive_like = ON;")?;
        let tx = connection.transaction()?;
        for table in &db.tables {
            let columns: Vec<String> = table
                .columns
                .iter()
                .map(|c| format!("{} {}", c.name, c.ty.sqlite_name()))
                .collect();
            tx.execute(
                &format!("CREATE TABLE {} ({})", table.name, columns.join(", ")),
                [],
            )?;
            let marks = vec!["?"; table.columns.len()].join(", ");
            let mut insert = tx.prepare(&format!("INSERT INTO {} VALUES ({marks})", table.name))?;
            for row in &table.rows {
                insert.execute(params_from_iter(row.iter().map(sqlite_value)))?;
            }
        }
        tx.commit()?;
        Ok(Sqlite { connection })
    }

    /// Runs `sql` and returns its rows, or SQLite's error message.
    pub fn query(&self, sql: &str) -> Result<Vec<Vec<Value>>, String> {
        let run = || -> rusqlite::Result<Vec<Vec<Value>>> {
            let mut statement = self.connection.prepare(sql)?;
            let width = statement.column_count();
            let mut rows = statement.query([])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let values = (0..width)
                    .map(|i| row.get::<_, SqliteValue>(i).map(from_sqlite))
                    .collect::<rusqlite::Result<_>>()?;
                out.push(values);
            }
            Ok(out)
        };
        run().map_err(|e| e.to_string())
    }
}

fn sqlite_value(value: &Value) -> SqliteValue {
    match value {
        Value::Null => SqliteValue::Null,
        Value::Int(v) => SqliteValue::Integer(*v),
        Value::Double(v) => SqliteValue::Real(*v),
        Value::Text(s) => SqliteValue::Text(s.clone()),
        Value::Bool(b) => SqliteValue::Integer(i64::from(*b)),
        Value::Date(d) => SqliteValue::Text(date_text(*d)),
    }
}

fn from_sqlite(value: SqliteValue) -> Value {
    match value {
        SqliteValue::Null => Value::Null,
        SqliteValue::Integer(v) => Value::Int(v),
        SqliteValue::Real(v) => Value::Double(v),
        SqliteValue::Text(s) => Value::Text(s),
        SqliteValue::Blob(b) => Value::Text(String::from_utf8_lossy(&b).into_owned()),
    }
}
