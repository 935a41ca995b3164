//! Parsing SQL text into one sqlparser statement, with parse errors that carry `line:column`.

use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};

use crate::error::{PlanError, Position, Result};

/// sqlparser appends ` at Line: L, Column: C` to its messages; split that into a position.
fn split_position(message: &str) -> (String, Option<Position>) {
    let Some(index) = message.rfind(" at Line: ") else {
        return (message.to_string(), None);
    };
    let (text, tail) = message.split_at(index);
    let numbers: Vec<u64> = tail
        .trim_start_matches(" at Line: ")
        .split(", Column: ")
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    match numbers.as_slice() {
        [line, column] => (
            text.to_string(),
            Some(Position {
                line: *line,
                column: *column,
            }),
        ),
        _ => (message.to_string(), None),
    }
}

pub(super) fn parse_error(error: ParserError) -> PlanError {
    let raw = match error {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "the statement is nested too deeply".to_string(),
    };
    let (message, position) = split_position(&raw);
    PlanError::Parse { message, position }
}

/// Parses exactly one statement (a trailing `;` is fine), Spark-flavoured: backtick-quoted
/// identifiers, `'path'` as a table name.
pub fn parse_statement(sql: &str) -> Result<ast::Statement> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, sql).map_err(parse_error)?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(PlanError::Parse {
            message: "no statement to run".into(),
            position: None,
        }),
        n => Err(PlanError::not_supported(format!(
            "{n} statements at once (run them one by one)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_line_and_column() {
        let err = parse_statement("SELECT a\nFROM t WHERE )").unwrap_err();
        assert_eq!(
            err.position(),
            Some(Position {
                line: 2,
                column: 14
            })
        );
        assert!(
            err.to_string()
                .starts_with("SQL parse error at 2:14: Expected"),
            "{err}"
        );
        assert!(!err.to_string().contains("Line:"), "{err}");
    }

    #[test]
    fn exactly_one_statement() {
        assert!(parse_statement("SELECT 1;").is_ok());
        assert!(parse_statement("").is_err());
        assert!(parse_statement("SELECT 1; SELECT 2").is_err());
    }
}
