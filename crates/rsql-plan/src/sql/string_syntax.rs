//! Binding the SQL syntax of string operations: `[NOT] LIKE`/`ILIKE ... [ESCAPE 'c']`,
//! `[NOT] RLIKE`/`REGEXP`, `POSITION(a IN b)`, `TRIM([BOTH|LEADING|TRAILING] [chars] FROM s)`
//! and `OVERLAY(s PLACING r FROM pos [FOR len])`, as calls or [`Expr::Like`].

use datafusion_common::ScalarValue;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::Scope;
use crate::error::{PlanError, Result};
use crate::expr::Expr;

/// Spark's default LIKE escape character.
const DEFAULT_ESCAPE: char = '\\';

/// A LIKE pattern written with `escape` rewritten for the matcher, which escapes with `\`:
/// `escape` may only precede `_`, `%` or itself (as in Spark), and other backslashes become
/// literal.
fn like_pattern(pattern: &str, escape: char) -> Result<String> {
    let mut out = String::with_capacity(pattern.len() + 2);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            match chars.next() {
                Some(next) if next == '_' || next == '%' || next == escape => {
                    out.push('\\');
                    out.push(next);
                }
                Some(next) => {
                    return Err(PlanError::invalid(format!(
                        "the LIKE pattern '{pattern}' has the escape character '{escape}' before '{next}' (it may only precede '_', '%' or itself)"
                    )));
                }
                None => {
                    return Err(PlanError::invalid(format!(
                        "the LIKE pattern '{pattern}' ends with the escape character '{escape}'"
                    )));
                }
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// The character of an `ESCAPE` clause: a one-character string literal.
fn escape_character(escape: Option<&ast::ValueWithSpan>) -> Result<char> {
    let Some(escape) = escape else {
        return Ok(DEFAULT_ESCAPE);
    };
    if let ast::Value::SingleQuotedString(text) = &escape.value {
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(c);
        }
    }
    Err(PlanError::invalid(format!(
        "ESCAPE needs a single character, got {}",
        escape.value
    ))
    .or_at(escape.span))
}

impl SqlBinder<'_> {
    /// `expr [NOT] [I]LIKE pattern [ESCAPE 'c']`. A literal pattern is checked and rewritten
    /// to `\` escapes here; a computed pattern can only use the default `\`.
    pub(super) fn bind_like(
        &self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::ValueWithSpan>,
        negated: bool,
        case_insensitive: bool,
        scope: &Scope,
    ) -> Result<Expr> {
        let string = |e: &ast::Expr| -> Result<Expr> {
            let bound = self.bind_expr(e, scope)?;
            self.coercion(scope)
                .like_operand(bound)
                .map_err(|err| err.or_at(e.span()))
        };
        let escape_char = escape_character(escape)?;
        let pattern = match string(pattern)? {
            Expr::Literal(ScalarValue::Utf8(Some(text))) => Expr::Literal(ScalarValue::Utf8(Some(
                like_pattern(&text, escape_char).map_err(|e| e.or_at(pattern.span()))?,
            ))),
            other if escape_char == DEFAULT_ESCAPE => other,
            _ => {
                return Err(PlanError::not_supported(
                    "ESCAPE with a pattern that is not a string literal",
                )
                .or_at(pattern.span()));
            }
        };
        Ok(Expr::Like {
            negated,
            expr: Box::new(string(expr)?),
            pattern: Box::new(pattern),
            case_insensitive,
        })
    }

    /// `expr [NOT] RLIKE pattern` / `REGEXP`: a `regexp_like` call.
    pub(super) fn bind_rlike(
        &self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        negated: bool,
        scope: &Scope,
    ) -> Result<Expr> {
        let args = vec![
            self.bind_expr(expr, scope)?,
            self.bind_expr(pattern, scope)?,
        ];
        let coercion = self.coercion(scope);
        let call = coercion.scalar_call("regexp_like", args)?;
        if negated {
            coercion.not(call)
        } else {
            Ok(call)
        }
    }

    /// A call of `name` with the given (optional) arguments, for syntax forms.
    fn bind_call<'e>(
        &self,
        name: &str,
        args: impl IntoIterator<Item = &'e ast::Expr>,
        scope: &Scope,
    ) -> Result<Expr> {
        let args = args
            .into_iter()
            .map(|e| self.bind_expr(e, scope))
            .collect::<Result<Vec<_>>>()?;
        self.coercion(scope).scalar_call(name, args)
    }

    /// `POSITION(needle IN haystack)`: `locate(needle, haystack)`.
    pub(super) fn bind_position(
        &self,
        needle: &ast::Expr,
        haystack: &ast::Expr,
        scope: &Scope,
    ) -> Result<Expr> {
        self.bind_call("locate", [needle, haystack], scope)
    }

    /// `TRIM([BOTH | LEADING | TRAILING] [chars FROM] s)` and `TRIM(s, chars)`: `trim`,
    /// `ltrim` or `rtrim` of `s` with the characters, if given.
    pub(super) fn bind_trim(
        &self,
        expr: &ast::Expr,
        side: Option<&ast::TrimWhereField>,
        what: Option<&ast::Expr>,
        characters: Option<&[ast::Expr]>,
        scope: &Scope,
    ) -> Result<Expr> {
        let name = match side {
            None | Some(ast::TrimWhereField::Both) => "trim",
            Some(ast::TrimWhereField::Leading) => "ltrim",
            Some(ast::TrimWhereField::Trailing) => "rtrim",
        };
        let characters = what.into_iter().chain(characters.into_iter().flatten());
        self.bind_call(name, std::iter::once(expr).chain(characters), scope)
    }

    /// `OVERLAY(s PLACING replacement FROM pos [FOR len])`: an `overlay` call.
    pub(super) fn bind_overlay(
        &self,
        expr: &ast::Expr,
        replacement: &ast::Expr,
        from: &ast::Expr,
        length: Option<&ast::Expr>,
        scope: &Scope,
    ) -> Result<Expr> {
        let args = [expr, replacement, from].into_iter().chain(length);
        self.bind_call("overlay", args, scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_rewritten_to_backslash_escapes() {
        assert_eq!(like_pattern("a!%b!!c", '!').unwrap(), r"a\%b\!c");
        assert_eq!(like_pattern(r"C:\dir_%", '!').unwrap(), r"C:\\dir_%");
        assert_eq!(like_pattern(r"50\%", '\\').unwrap(), r"50\%");
        let err = like_pattern("a!b", '!').unwrap_err();
        assert!(err.to_string().contains("before 'b'"), "{err}");
        let err = like_pattern("ab!", '!').unwrap_err();
        assert!(err.to_string().contains("ends with the escape"), "{err}");
    }
}
