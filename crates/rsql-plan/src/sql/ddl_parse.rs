//! Parsing the statements whose Spark or DuckDB spelling sqlparser's generic dialect does not
//! accept: `CREATE TABLE ... USING fmt [PARTITIONED BY] [OPTIONS] [LOCATION] [AS query]` and
//! `COPY (query) TO 'path' (FORMAT fmt, PARTITION_BY (c, ...), ...)`. They are parsed with
//! sqlparser's own parser primitives, so column definitions, names and queries are the same AST
//! everywhere else uses.

use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::parse::parse_error;
use crate::error::Result;

/// `CREATE [OR REPLACE] [EXTERNAL] TABLE [IF NOT EXISTS] name [(columns)] [clauses] [AS query]`.
#[derive(Debug)]
pub(super) struct CreateTableSyntax {
    pub or_replace: bool,
    pub external: bool,
    pub if_not_exists: bool,
    pub name: ast::ObjectName,
    pub columns: Vec<ast::ColumnDef>,
    /// `USING fmt` or `STORED AS fmt`.
    pub format: Option<ast::Ident>,
    /// `PARTITIONED BY (c, ...)`.
    pub partition_by: Vec<ast::Ident>,
    /// `OPTIONS (key 'value', ...)` (also `key = 'value'`).
    pub options: Vec<(String, String)>,
    /// `LOCATION 'dir'`.
    pub location: Option<String>,
    /// `AS query`.
    pub query: Option<Box<ast::Query>>,
}

/// `COPY (query) TO 'path' [(option [value], ...)]`.
#[derive(Debug)]
pub(super) struct CopySyntax {
    pub query: Box<ast::Query>,
    pub path: String,
    /// `FORMAT fmt`.
    pub format: Option<ast::Ident>,
    /// `PARTITION_BY (c, ...)` or `PARTITION_BY c`.
    pub partition_by: Vec<ast::Ident>,
}

/// A statement this module parses, or `None` when `sql` is another statement.
#[derive(Debug)]
pub(super) enum DdlSyntax {
    CreateTable(Box<CreateTableSyntax>),
    Copy(Box<CopySyntax>),
}

/// Parses `sql` when it is a `CREATE ... TABLE` or a `COPY`; `Ok(None)` otherwise.
pub(super) fn parse_ddl(sql: &str) -> Result<Option<DdlSyntax>> {
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(parse_error)?;
    let statement = if is_create_table(&parser) {
        DdlSyntax::CreateTable(Box::new(create_table(&mut parser).map_err(parse_error)?))
    } else if matches!(parser.peek_token().token, Token::Word(w) if w.keyword == Keyword::COPY) {
        DdlSyntax::Copy(Box::new(copy(&mut parser).map_err(parse_error)?))
    } else {
        return Ok(None);
    };
    end_of_statement(&mut parser).map_err(parse_error)?;
    Ok(Some(statement))
}

/// Whether the statement starts `CREATE [OR REPLACE] [EXTERNAL] TABLE`.
fn is_create_table(parser: &Parser) -> bool {
    let words: [Token; 5] = parser.peek_tokens();
    let keyword = |token: &Token, k: Keyword| matches!(token, Token::Word(w) if w.keyword == k);
    if !keyword(&words[0], Keyword::CREATE) {
        return false;
    }
    let mut rest = &words[1..];
    if keyword(&rest[0], Keyword::OR) && keyword(&rest[1], Keyword::REPLACE) {
        rest = &rest[2..];
    }
    if keyword(&rest[0], Keyword::EXTERNAL) {
        rest = &rest[1..];
    }
    keyword(&rest[0], Keyword::TABLE)
}

fn create_table(parser: &mut Parser) -> Result<CreateTableSyntax, ParserError> {
    let _ = parser.parse_keyword(Keyword::CREATE);
    let or_replace = parser.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
    let external = parser.parse_keyword(Keyword::EXTERNAL);
    let _ = parser.parse_keyword(Keyword::TABLE);
    let if_not_exists = parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = parser.parse_object_name(false)?;
    let columns = if parser.peek_token().token == Token::LParen {
        let (columns, constraints) = parser.parse_columns()?;
        if !constraints.is_empty() {
            return parser.expected("a column definition", parser.peek_token());
        }
        columns
    } else {
        Vec::new()
    };
    let mut syntax = CreateTableSyntax {
        or_replace,
        external,
        if_not_exists,
        name,
        columns,
        format: None,
        partition_by: Vec::new(),
        options: Vec::new(),
        location: None,
        query: None,
    };
    loop {
        if parser.parse_keyword(Keyword::USING)
            || parser.parse_keywords(&[Keyword::STORED, Keyword::AS])
        {
            syntax.format = Some(parser.parse_identifier()?);
        } else if parser.parse_keywords(&[Keyword::PARTITIONED, Keyword::BY]) {
            parser.expect_token(&Token::LParen)?;
            syntax.partition_by = parser.parse_comma_separated(Parser::parse_identifier)?;
            parser.expect_token(&Token::RParen)?;
        } else if parser.parse_keyword(Keyword::OPTIONS) {
            parser.expect_token(&Token::LParen)?;
            syntax.options = parser.parse_comma_separated(option)?;
            parser.expect_token(&Token::RParen)?;
        } else if parser.parse_keyword(Keyword::LOCATION) {
            syntax.location = Some(parser.parse_literal_string()?);
        } else if parser.parse_keyword(Keyword::AS) {
            syntax.query = Some(parser.parse_query()?);
            return Ok(syntax);
        } else {
            return Ok(syntax);
        }
    }
}

/// `key 'value'` or `key = 'value'`; keys may be dotted (`compression.codec`).
fn option(parser: &mut Parser) -> Result<(String, String), ParserError> {
    let key = parser.parse_object_name(false)?.to_string();
    let _ = parser.consume_token(&Token::Eq);
    let token = parser.next_token();
    let value = match &token.token {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s.clone(),
        Token::Number(n, _) => n.clone(),
        Token::Word(w) => w.value.clone(),
        _ => return parser.expected("a quoted option value", token),
    };
    Ok((key, value))
}

fn copy(parser: &mut Parser) -> Result<CopySyntax, ParserError> {
    parser.next_token();
    parser.expect_token(&Token::LParen)?;
    let query = parser.parse_query()?;
    parser.expect_token(&Token::RParen)?;
    if !parser.parse_keyword(Keyword::TO) {
        return parser.expected("TO 'path'", parser.peek_token());
    }
    let path = parser.parse_literal_string()?;
    let mut syntax = CopySyntax {
        query,
        path,
        format: None,
        partition_by: Vec::new(),
    };
    if !parser.consume_token(&Token::LParen) {
        return Ok(syntax);
    }
    loop {
        let name = parser.parse_identifier()?;
        match name.value.to_lowercase().as_str() {
            "format" => syntax.format = Some(parser.parse_identifier()?),
            "partition_by" => {
                syntax.partition_by = if parser.consume_token(&Token::LParen) {
                    let columns = parser.parse_comma_separated(Parser::parse_identifier)?;
                    parser.expect_token(&Token::RParen)?;
                    columns
                } else {
                    vec![parser.parse_identifier()?]
                };
            }
            _ => {
                return Err(ParserError::ParserError(format!(
                    "unknown COPY option {name} (the options are FORMAT and PARTITION_BY){}",
                    at(&name)
                )));
            }
        }
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::RParen)?;
    Ok(syntax)
}

/// sqlparser's ` at Line: L, Column: C` suffix for `ident`'s position.
fn at(ident: &ast::Ident) -> String {
    let start = ident.span.start;
    format!(" at Line: {}, Column: {}", start.line, start.column)
}

/// Accepts an optional `;`, then requires the end of the text.
fn end_of_statement(parser: &mut Parser) -> Result<(), ParserError> {
    let _ = parser.consume_token(&Token::SemiColon);
    match parser.peek_token().token {
        Token::EOF => Ok(()),
        _ => parser.expected("end of statement", parser.peek_token()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(sql: &str) -> CreateTableSyntax {
        match parse_ddl(sql).unwrap() {
            Some(DdlSyntax::CreateTable(syntax)) => *syntax,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn spark_create_table_clauses_in_any_order() {
        let syntax = create(
            "CREATE EXTERNAL TABLE IF NOT EXISTS t (a INT, b STRING) USING csv \
             OPTIONS (header 'true', delimiter = '|') PARTITIONED BY (b) LOCATION '/data/t';",
        );
        assert!(syntax.external && syntax.if_not_exists && !syntax.or_replace);
        assert_eq!(syntax.name.to_string(), "t");
        assert_eq!(syntax.columns.len(), 2);
        assert_eq!(syntax.format.unwrap().value, "csv");
        assert_eq!(syntax.partition_by[0].value, "b");
        assert_eq!(
            syntax.options,
            [
                ("header".to_string(), "true".to_string()),
                ("delimiter".to_string(), "|".to_string())
            ]
        );
        assert_eq!(syntax.location.as_deref(), Some("/data/t"));

        let ctas =
            create("CREATE OR REPLACE TABLE t USING parquet PARTITIONED BY (k) AS SELECT 1 AS k");
        assert!(ctas.or_replace && ctas.query.is_some());
        let hive = create("CREATE TABLE t STORED AS PARQUET LOCATION 'x'");
        assert_eq!(hive.format.unwrap().value, "PARQUET");
    }

    #[test]
    fn copy_options_and_other_statements() {
        match parse_ddl("COPY (SELECT 1 AS a) TO 'out' (FORMAT parquet, PARTITION_BY (a))").unwrap()
        {
            Some(DdlSyntax::Copy(copy)) => {
                assert_eq!(copy.path, "out");
                assert_eq!(copy.format.unwrap().value, "parquet");
                assert_eq!(copy.partition_by[0].value, "a");
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_ddl("SELECT 1").unwrap().is_none());
        assert!(parse_ddl("CREATE VIEW v AS SELECT 1").unwrap().is_none());
        let err = parse_ddl("COPY (SELECT 1) TO 'x' (FORMAT csv, COMPRESSION gzip)").unwrap_err();
        assert!(
            err.to_string().contains("unknown COPY option COMPRESSION"),
            "{err}"
        );
        let err = parse_ddl("CREATE TABLE t USING parquet LOCATION 'x' junk").unwrap_err();
        assert!(err.to_string().contains("found: junk"), "{err}");
    }
}
