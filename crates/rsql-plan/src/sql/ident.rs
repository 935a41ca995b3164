//! Resolving column names against a schema: exact match first, then case-insensitive, with
//! ambiguity errors and "did you mean" suggestions.

use datafusion_common::{Column, DFSchema, Spans, TableReference};
use sqlparser::tokenizer::Span;

use crate::error::{PlanError, Result};
use crate::suggest;

/// The columns of `schema` matching `qualifier.name`, compared exactly or case-insensitively.
fn matching(schema: &DFSchema, qualifier: Option<&str>, name: &str, exact: bool) -> Vec<Column> {
    let same = |a: &str, b: &str| {
        if exact {
            a == b
        } else {
            a.eq_ignore_ascii_case(b)
        }
    };
    schema
        .iter()
        .filter(|(q, field)| {
            same(field.name(), name)
                && match (qualifier, q) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(wanted), Some(q)) => same(q.table(), wanted),
                }
        })
        .map(|(q, field)| Column::new(q.cloned(), field.name()))
        .collect()
}

/// Looks up `qualifier.name` in `schema`. `Ok(None)` when nothing matches (the caller may try a
/// struct field or a select alias before reporting it), an error when it is ambiguous.
pub(super) fn find_column(
    schema: &DFSchema,
    qualifier: Option<&str>,
    name: &str,
    span: Span,
) -> Result<Option<Column>> {
    let mut found = matching(schema, qualifier, name, true);
    if found.is_empty() {
        found = matching(schema, qualifier, name, false);
    }
    if found.len() > 1 {
        // `SELECT id FROM a JOIN b USING (id)`-style projections leave one unqualified copy.
        let unqualified: Vec<&Column> = found.iter().filter(|c| c.relation.is_none()).collect();
        if let [only] = unqualified.as_slice() {
            found = vec![(*only).clone()];
        }
    }
    let written = match qualifier {
        Some(q) => format!("{q}.{name}"),
        None => name.to_string(),
    };
    match found.len() {
        0 => Ok(None),
        1 => {
            let mut column = found.remove(0);
            let mut spans = Spans::new();
            if let Some(span) = datafusion_common::Span::try_from_sqlparser_span(span) {
                spans.add_span(span);
            }
            column.spans = spans;
            Ok(Some(column))
        }
        _ => Err(PlanError::AmbiguousColumn {
            name: written,
            position: None,
            candidates: found.iter().map(Column::flat_name).collect(),
        }
        .or_at(span)),
    }
}

/// The error for a column that resolves to nothing, with the closest names of `schema`.
pub(super) fn unknown_column(
    schema: &DFSchema,
    qualifier: Option<&str>,
    name: &str,
    extra_names: &[String],
    span: Span,
) -> PlanError {
    let written = match qualifier {
        Some(q) => format!("{q}.{name}"),
        None => name.to_string(),
    };
    let names = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .chain(extra_names.iter().map(String::as_str));
    PlanError::UnknownColumn {
        name: written,
        position: None,
        suggestions: suggest::closest(name, names),
    }
    .or_at(span)
}

/// Whether some column of `schema` is qualified by `relation` (case-insensitively).
pub(super) fn has_relation(schema: &DFSchema, relation: &str) -> bool {
    schema
        .iter()
        .any(|(q, _)| q.is_some_and(|q: &TableReference| q.table().eq_ignore_ascii_case(relation)))
}
