//! Binding `SET name = value`, `SET TIME ZONE`, `RESET`, `SET` and `SHOW name`: the binder
//! only extracts names and values; the session, which owns the settings, validates them.

use sqlparser::ast;

use super::expr::sql_text;
use crate::error::{PlanError, Result};
use crate::plan::Statement;

/// Whether `sql` is a bare `SET` (list every setting, as in Spark), which sqlparser rejects.
pub(super) fn is_bare_set(sql: &str) -> bool {
    sql.trim()
        .trim_end_matches(';')
        .trim()
        .eq_ignore_ascii_case("set")
}

/// Whether `sql` is `RESET TIME ZONE` (PostgreSQL's spelling of `RESET time_zone`), which
/// sqlparser rejects.
pub(super) fn is_reset_time_zone(sql: &str) -> bool {
    let words: Vec<&str> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    matches!(words.as_slice(), [reset, time, zone]
        if reset.eq_ignore_ascii_case("reset")
            && time.eq_ignore_ascii_case("time")
            && zone.eq_ignore_ascii_case("zone"))
}

/// The text of a setting's value: `'1GB'`, `1GB`-like identifiers, numbers and booleans.
fn value_text(value: &ast::Expr) -> Result<String> {
    match value {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => Ok(s.clone()),
            ast::Value::Number(n, _) => Ok(n.to_string()),
            ast::Value::Boolean(b) => Ok(b.to_string()),
            other => Ok(other.to_string()),
        },
        ast::Expr::Identifier(ident) => Ok(ident.value.clone()),
        ast::Expr::CompoundIdentifier(parts) => Ok(parts
            .iter()
            .map(|p| p.value.as_str())
            .collect::<Vec<_>>()
            .join(".")),
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => Ok(format!("-{}", value_text(expr)?)),
        other => Err(PlanError::invalid(format!(
            "a setting's value must be a literal or a name, not {}",
            sql_text(other)
        ))),
    }
}

fn setting_name(name: &ast::ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part {
            ast::ObjectNamePart::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `SET ...` as a statement.
pub(super) fn bind_set(set: &ast::Set) -> Result<Statement> {
    match set {
        ast::Set::SingleAssignment {
            variable,
            values,
            hivevar: false,
            ..
        } => match values.as_slice() {
            [value] => Ok(Statement::Set {
                name: setting_name(variable),
                value: value_text(value)?,
            }),
            _ => Err(PlanError::invalid(format!(
                "SET {variable} takes one value, got {}",
                values.len()
            ))),
        },
        ast::Set::SetTimeZone { value, .. } => Ok(Statement::Set {
            name: "time_zone".into(),
            value: value_text(value)?,
        }),
        other => Err(PlanError::not_supported(format!(
            "the statement {other} (use SET name = value)"
        ))),
    }
}

/// `RESET name` or `RESET ALL`.
pub(super) fn bind_reset(reset: &ast::ResetStatement) -> Statement {
    match &reset.reset {
        ast::Reset::ALL => Statement::Reset(None),
        ast::Reset::ConfigurationParameter(name) => Statement::Reset(Some(setting_name(name))),
    }
}

/// `SHOW name` or `SHOW ALL`.
pub(super) fn bind_show_variable(variable: &[ast::Ident]) -> Statement {
    let name = variable
        .iter()
        .map(|i| i.value.as_str())
        .collect::<Vec<_>>()
        .join(".");
    if name.eq_ignore_ascii_case("all") {
        Statement::ShowSettings(None)
    } else {
        Statement::ShowSettings(Some(name))
    }
}
