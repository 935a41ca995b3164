//! The engine under test: the same tables registered in an rsql [`Session`], and its results
//! turned into rows of [`Value`]s.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder,
    Int64Builder, RecordBatch, StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Int64Type, Schema};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rsql::{Session, SessionConfig};
use rsql_exec::MemoryTable;
use rsql_rdd::RddError;

use super::schema::{Database, SqlType, Table, Value};

/// A session with `db`'s tables registered in memory, each split in two partitions so that
/// aggregates and joins see more than one input partition.
pub fn session(db: &Database, config: SessionConfig) -> rsql::Result<Session> {
    let session = Session::with_config(config)?;
    for table in &db.tables {
        let batch = table_batch(table)?;
        let half = batch.num_rows() / 2;
        let partitions = vec![
            vec![batch.slice(0, half)],
            vec![batch.slice(half, batch.num_rows() - half)],
        ];
        let source = MemoryTable::new(batch.schema(), partitions);
        session.register_source(&table.name, Arc::new(source));
    }
    Ok(session)
}

/// The session settings the fuzzer runs with: small, so shuffles and several tasks happen
/// even on tiny tables; `broadcast` picks broadcast joins over shuffled ones.
pub fn config(broadcast: bool) -> SessionConfig {
    SessionConfig {
        threads: 2,
        shuffle_partitions: 3,
        broadcast_threshold: if broadcast { 10 << 20 } else { 0 },
        ..SessionConfig::default()
    }
}

/// Why rsql returned no rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// An error: its message.
    Error(String),
    /// A task panicked (the runtime catches it and fails the job): the message.
    Panic(String),
}

/// Runs `sql` and returns its rows.
pub fn query(session: &Session, sql: &str) -> Result<Vec<Vec<Value>>, Failure> {
    let batches = session.sql(sql).and_then(|df| df.collect()).map_err(|e| {
        if is_task_panic(&e) {
            Failure::Panic(e.to_string())
        } else {
            Failure::Error(e.to_string())
        }
    })?;
    batches_to_rows(&batches).map_err(|e| Failure::Error(e.to_string()))
}

fn is_task_panic(error: &rsql::Error) -> bool {
    fn panicked(error: &RddError) -> bool {
        match error {
            RddError::Panicked(_) => true,
            RddError::TaskFailed { cause, .. } => panicked(cause),
            _ => false,
        }
    }
    matches!(error, rsql::Error::Rdd(e) if panicked(e))
}

fn table_batch(table: &Table) -> Result<RecordBatch, ArrowError> {
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| Field::new(&c.name, arrow_type(c.ty), true))
        .collect();
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| column_array(c.ty, table.rows.iter().map(|row| &row[i])))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

fn arrow_type(ty: SqlType) -> DataType {
    match ty {
        SqlType::Int => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Double => DataType::Float64,
        SqlType::Text => DataType::Utf8,
        SqlType::Bool => DataType::Boolean,
        SqlType::Date => DataType::Date32,
    }
}

fn column_array<'v>(ty: SqlType, values: impl Iterator<Item = &'v Value>) -> ArrayRef {
    match ty {
        SqlType::Int => {
            let mut b = Int32Builder::new();
            values.for_each(|v| {
                b.append_option(as_int(v).map(|v| i32::try_from(v).expect("INTEGER range")))
            });
            Arc::new(b.finish())
        }
        SqlType::BigInt => {
            let mut b = Int64Builder::new();
            values.for_each(|v| b.append_option(as_int(v)));
            Arc::new(b.finish())
        }
        SqlType::Double => {
            let mut b = Float64Builder::new();
            values.for_each(|v| match v {
                Value::Double(v) => b.append_value(*v),
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
        SqlType::Text => {
            let mut b = StringBuilder::new();
            values.for_each(|v| match v {
                Value::Text(s) => b.append_value(s),
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
        SqlType::Bool => {
            let mut b = BooleanBuilder::new();
            values.for_each(|v| match v {
                Value::Bool(v) => b.append_value(*v),
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
        SqlType::Date => {
            let mut b = Date32Builder::new();
            values.for_each(|v| match v {
                Value::Date(d) => b.append_value(*d),
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
    }
}

fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(v) => Some(*v),
        _ => None,
    }
}

/// Every row of `batches` as values: integers of any width as [`Value::Int`], floats and
/// decimals as [`Value::Double`], dates as [`Value::Date`], anything else as its text.
pub fn batches_to_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<Value>>, ArrowError> {
    let mut rows = Vec::new();
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .map(column_values)
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c[row].clone()).collect());
        }
    }
    Ok(rows)
}

fn column_values(array: &ArrayRef) -> Result<Vec<Value>, ArrowError> {
    let valid = |i: usize| array.is_valid(i);
    let values = match array.data_type() {
        DataType::Null => vec![Value::Null; array.len()],
        t if t.is_integer() => {
            let ints = cast(array, &DataType::Int64)?;
            let ints = ints.as_primitive::<Int64Type>();
            (0..ints.len())
                .map(|i| nullable(valid(i), || Value::Int(ints.value(i))))
                .collect()
        }
        t if t.is_floating() || t.is_decimal() => {
            let floats = cast(array, &DataType::Float64)?;
            let floats = floats.as_primitive::<Float64Type>();
            (0..floats.len())
                .map(|i| nullable(valid(i), || Value::Double(floats.value(i))))
                .collect()
        }
        DataType::Boolean => {
            let bools = array.as_boolean();
            (0..bools.len())
                .map(|i| nullable(valid(i), || Value::Bool(bools.value(i))))
                .collect()
        }
        DataType::Date32 => {
            let dates = array.as_primitive::<Date32Type>();
            (0..dates.len())
                .map(|i| nullable(valid(i), || Value::Date(dates.value(i))))
                .collect()
        }
        _ => {
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
            (0..array.len())
                .map(|i| nullable(valid(i), || Value::Text(formatter.value(i).to_string())))
                .collect()
        }
    };
    Ok(values)
}

fn nullable(valid: bool, value: impl FnOnce() -> Value) -> Value {
    if valid { value() } else { Value::Null }
}
