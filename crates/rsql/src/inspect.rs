//! The answers of the statements that describe the session rather than query data:
//! `SET` / `SHOW name`, `SHOW TABLES`, `SHOW FUNCTIONS`, `SHOW COLUMNS` and `DESCRIBE`, each a
//! small batch of text columns.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::compute::filter_record_batch;
use arrow::compute::kernels::comparison::ilike;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rsql_plan::FunctionEntry;
use rsql_plan::sql::sql_type_name;

use crate::error::Result;
use crate::session::SessionConfig;
use crate::settings::{SETTINGS, Setting};

/// A batch of non-null text columns named `names`, one vector of values per column.
pub(crate) fn text_table(names: &[&str], columns: Vec<Vec<String>>) -> Result<RecordBatch> {
    let fields: Vec<Field> = names
        .iter()
        .map(|name| Field::new(*name, DataType::Utf8, false))
        .collect();
    let arrays = columns
        .into_iter()
        .map(|values| Arc::new(StringArray::from(values)) as ArrayRef)
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// The rows of `batch` whose `column` matches `pattern`, case-insensitively: SQL `LIKE`
/// wildcards (`%`, `_`), Spark's `*` for any text, and `|` between alternatives.
pub(crate) fn matching(
    batch: RecordBatch,
    column: usize,
    pattern: Option<&str>,
) -> Result<RecordBatch> {
    let Some(pattern) = pattern else {
        return Ok(batch);
    };
    let values = batch.column(column);
    let mut keep = BooleanArray::from(vec![false; batch.num_rows()]);
    for alternative in pattern.split('|') {
        let like = StringArray::new_scalar(alternative.trim().replace('*', "%"));
        let matched = ilike(values, &like)?;
        keep = arrow::compute::or(&keep, &matched)?;
    }
    Ok(filter_record_batch(&batch, &keep)?)
}

/// `SET` / `SHOW ALL`: every setting's name, value and description.
pub(crate) fn settings_table(config: &SessionConfig) -> Result<RecordBatch> {
    text_table(
        &["name", "value", "description"],
        vec![
            SETTINGS.iter().map(|s| s.name.to_string()).collect(),
            SETTINGS.iter().map(|s| s.value(config)).collect(),
            SETTINGS.iter().map(|s| s.description.to_string()).collect(),
        ],
    )
}

/// `SHOW name`: the setting's name and value.
pub(crate) fn setting_table(config: &SessionConfig, setting: &Setting) -> Result<RecordBatch> {
    text_table(
        &["name", "value"],
        vec![vec![setting.name.to_string()], vec![setting.value(config)]],
    )
}

/// `SHOW TABLES`: name, kind (`table` or `view`) and whether it lives only in this session.
pub(crate) fn tables_table(entries: &[(String, &str, bool)]) -> Result<RecordBatch> {
    text_table(
        &["name", "type", "temporary"],
        vec![
            entries.iter().map(|(name, _, _)| name.clone()).collect(),
            entries
                .iter()
                .map(|(_, kind, _)| kind.to_string())
                .collect(),
            entries
                .iter()
                .map(|(_, _, temporary)| temporary.to_string())
                .collect(),
        ],
    )
}

/// `SHOW FUNCTIONS`: name, kind and argument count of every function.
pub(crate) fn functions_table(entries: &[FunctionEntry]) -> Result<RecordBatch> {
    text_table(
        &["name", "kind", "arguments"],
        vec![
            entries.iter().map(|e| e.name.clone()).collect(),
            entries.iter().map(|e| e.kind.to_string()).collect(),
            entries.iter().map(|e| e.arity.to_string()).collect(),
        ],
    )
}

/// `DESCRIBE`: one row per column (name, SQL type, whether it may be null), then for
/// `EXTENDED` a `# Detailed Table Information` block of `details` rows, as Spark prints it.
pub(crate) fn describe_table(
    schema: &SchemaRef,
    details: &[(String, String)],
) -> Result<RecordBatch> {
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut nulls = Vec::new();
    for field in schema.fields() {
        names.push(field.name().clone());
        types.push(sql_type_name(field.data_type()));
        nulls.push(if field.is_nullable() { "YES" } else { "NO" }.to_string());
    }
    if !details.is_empty() {
        names.extend([String::new(), "# Detailed Table Information".into()]);
        types.extend([String::new(), String::new()]);
        nulls.extend([String::new(), String::new()]);
        for (label, value) in details {
            names.push(label.clone());
            types.push(value.clone());
            nulls.push(String::new());
        }
    }
    text_table(
        &["column_name", "column_type", "null"],
        vec![names, types, nulls],
    )
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;

    use super::*;

    fn names(batch: &RecordBatch) -> Vec<&str> {
        batch
            .column(0)
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect()
    }

    #[test]
    fn patterns_take_sql_and_spark_wildcards() {
        let batch = text_table(
            &["name"],
            vec![vec!["Orders".into(), "order_items".into(), "users".into()]],
        )
        .unwrap();
        let all = matching(batch.clone(), 0, None).unwrap();
        assert_eq!(names(&all), ["Orders", "order_items", "users"]);
        let like = matching(batch.clone(), 0, Some("order%")).unwrap();
        assert_eq!(names(&like), ["Orders", "order_items"]);
        let spark = matching(batch.clone(), 0, Some("*s|user*")).unwrap();
        assert_eq!(names(&spark), ["Orders", "order_items", "users"]);
        let one = matching(batch, 0, Some("orders")).unwrap();
        assert_eq!(names(&one), ["Orders"]);
    }
}
