//! Binding SQL expressions: names to columns, literals to scalars, operators with coercion.

use arrow_schema::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::ident::{find_column, has_relation, unknown_column};
use super::types::{arrow_type, sql_type_name};
use crate::coercion::{TypeCoercion, can_cast};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, Operator};
use crate::function::parse_interval_literal;

/// What an expression may refer to.
pub(super) struct Scope<'s> {
    /// The input columns.
    pub schema: &'s DFSchema,
    /// Select-list aliases usable where no input column has the name (HAVING, ORDER BY).
    pub aliases: &'s [(String, Expr)],
    /// Whether aggregate calls are allowed (SELECT, HAVING, ORDER BY of a SELECT).
    pub allow_aggregates: bool,
    /// Where window calls are allowed (SELECT, QUALIFY, ORDER BY of a SELECT): the named
    /// windows of the `WINDOW` clause; `None` where they are not.
    pub windows: Option<&'s [ast::NamedWindowDefinition]>,
}

impl<'s> Scope<'s> {
    /// Plain input columns, no aliases, no aggregates (WHERE, ON, GROUP BY).
    pub(super) fn plain(schema: &'s DFSchema) -> Self {
        Scope {
            schema,
            aliases: &[],
            allow_aggregates: false,
            windows: None,
        }
    }
}

/// Short SQL text of an AST node for messages.
pub(super) fn sql_text(node: &impl std::fmt::Display) -> String {
    let text = node.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn operator(op: &ast::BinaryOperator) -> Option<Operator> {
    use ast::BinaryOperator as B;
    Some(match op {
        B::Plus => Operator::Plus,
        B::Minus => Operator::Minus,
        B::Multiply => Operator::Multiply,
        B::Divide => Operator::Divide,
        B::Modulo => Operator::Modulo,
        B::Eq => Operator::Eq,
        B::NotEq => Operator::NotEq,
        B::Lt => Operator::Lt,
        B::LtEq => Operator::LtEq,
        B::Gt => Operator::Gt,
        B::GtEq => Operator::GtEq,
        B::And => Operator::And,
        B::Or => Operator::Or,
        _ => return None,
    })
}

/// A numeric literal, as Spark types it: `Int64` when a whole number fits, else an exact
/// decimal when it has no exponent and at most 38 digits (`1.5` is `DECIMAL(2,1)`, `0.06`
/// `DECIMAL(2,2)`), else `Float64` (`1.5e0`).
fn number(text: &str) -> Result<ScalarValue> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(ScalarValue::Int64(Some(i)));
    }
    if let Some(decimal) = decimal_literal(text) {
        return Ok(decimal);
    }
    text.parse::<f64>()
        .map(|f| ScalarValue::Float64(Some(f)))
        .map_err(|_| PlanError::invalid(format!("'{text}' is not a number")))
}

/// `text` (digits with an optional `.` and sign, no exponent) as a `Decimal128` of the precision
/// and scale it is written with; `None` for other text or more than 38 digits.
fn decimal_literal(text: &str) -> Option<ScalarValue> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    let scale = u8::try_from(fraction.len()).ok()?;
    let precision = u8::try_from(significant.len().max(1)).ok()?.max(scale);
    if precision > crate::coercion::MAX_PRECISION {
        return None;
    }
    let unscaled: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    let value = if negative { -unscaled } else { unscaled };
    Some(ScalarValue::Decimal128(Some(value), precision, scale as i8))
}

/// An `INTERVAL '..' [unit]` literal as an `IntervalMonthDayNano` scalar.
fn interval(interval: &ast::Interval) -> Result<ScalarValue> {
    if interval.last_field.is_some() || interval.fractional_seconds_precision.is_some() {
        return Err(PlanError::not_supported(format!(
            "the interval '{}' (use '<count> <unit>' pairs)",
            sql_text(interval)
        )));
    }
    let text = match interval.value.as_ref() {
        ast::Expr::Value(value) => match &value.value {
            ast::Value::SingleQuotedString(s) | ast::Value::Number(s, _) => s.clone(),
            other => {
                return Err(PlanError::not_supported(format!(
                    "the interval value {other}"
                )));
            }
        },
        other => {
            return Err(PlanError::not_supported(format!(
                "the interval value '{}' (expected a string)",
                sql_text(other)
            )));
        }
    };
    let unit = interval
        .leading_field
        .as_ref()
        .map(|field| field.to_string().to_lowercase());
    let value = parse_interval_literal(&text, unit.as_deref())?;
    Ok(ScalarValue::IntervalMonthDayNano(Some(value)))
}

fn literal(value: &ast::Value) -> Result<ScalarValue> {
    Ok(match value {
        ast::Value::Number(text, _) => number(text)?,
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            ScalarValue::Utf8(Some(s.clone()))
        }
        ast::Value::Boolean(b) => ScalarValue::Boolean(Some(*b)),
        ast::Value::Null => ScalarValue::Null,
        other => return Err(PlanError::not_supported(format!("the literal {other}"))),
    })
}

impl SqlBinder<'_> {
    /// The type of a bound expression over the scope's input.
    pub(super) fn type_of(&self, expr: &Expr, scope: &Scope) -> Result<DataType> {
        expr.get_type(scope.schema, self.registry)
    }

    /// Coercion over the scope's input, for nodes built from bound operands.
    pub(super) fn coercion<'s>(&'s self, scope: &'s Scope) -> TypeCoercion<'s> {
        TypeCoercion::new(scope.schema, self.registry)
    }

    /// Binds `expr`; errors without a position get the position of the innermost node that
    /// failed.
    pub(super) fn bind_expr(&self, expr: &ast::Expr, scope: &Scope) -> Result<Expr> {
        self.bind_expr_inner(expr, scope)
            .map_err(|err| err.or_at(expr.span()))
    }

    /// Binds every expression of `exprs`, in order.
    fn bind_all<'e>(
        &self,
        exprs: impl IntoIterator<Item = &'e ast::Expr>,
        scope: &Scope,
    ) -> Result<Vec<Expr>> {
        exprs
            .into_iter()
            .map(|e| self.bind_expr(e, scope))
            .collect()
    }

    fn bind_binary(
        &self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        scope: &Scope,
    ) -> Result<Expr> {
        if matches!(op, ast::BinaryOperator::StringConcat) {
            let args = self.bind_all([left, right], scope)?;
            return self.coercion(scope).scalar_call("concat", args);
        }
        let op =
            operator(op).ok_or_else(|| PlanError::not_supported(format!("the operator {op}")))?;
        let left = self.bind_expr(left, scope)?;
        let right = self.bind_expr(right, scope)?;
        self.coercion(scope).binary(left, op, right)
    }

    fn bind_identifier(&self, ident: &ast::Ident, scope: &Scope) -> Result<Expr> {
        if let Some(column) = find_column(scope.schema, None, &ident.value, ident.span)? {
            return Ok(Expr::Column(column));
        }
        let alias = scope
            .aliases
            .iter()
            .find(|(name, _)| name == &ident.value)
            .or_else(|| {
                scope
                    .aliases
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&ident.value))
            });
        if let Some((_, expr)) = alias {
            return Ok(expr.clone());
        }
        match self.outer_column(None, &ident.value, ident.span)? {
            Some(outer) => Ok(outer),
            None => {
                let alias_names: Vec<String> =
                    scope.aliases.iter().map(|(n, _)| n.clone()).collect();
                Err(unknown_column(
                    scope.schema,
                    None,
                    &ident.value,
                    &alias_names,
                    ident.span,
                ))
            }
        }
    }

    /// `t.a`, `t.s.f`, or `s.f` where `s` is a struct column.
    fn bind_compound(&self, idents: &[ast::Ident], scope: &Scope) -> Result<Expr> {
        let (first, rest) = idents
            .split_first()
            .ok_or_else(|| PlanError::Internal("empty compound identifier".into()))?;
        let (column, fields) = match rest.split_first() {
            Some((second, fields)) if has_relation(scope.schema, &first.value) => {
                let column =
                    find_column(scope.schema, Some(&first.value), &second.value, second.span)?
                        .ok_or_else(|| {
                            unknown_column(
                                scope.schema,
                                Some(&first.value),
                                &second.value,
                                &[],
                                second.span,
                            )
                        })?;
                (Expr::Column(column), fields)
            }
            _ => match find_column(scope.schema, None, &first.value, first.span)? {
                Some(column) => (Expr::Column(column), rest),
                None => self.bind_outer_compound(first, rest, scope)?,
            },
        };
        let mut expr = column;
        for field in fields {
            expr = self
                .coercion(scope)
                .get_field(expr, &field.value)
                .map_err(|e| e.or_at(field.span))?;
        }
        Ok(expr)
    }

    /// `t.a` (or `s.f`) naming a column of an enclosing query: the outer reference and the
    /// struct fields still to access.
    fn bind_outer_compound<'i>(
        &self,
        first: &ast::Ident,
        rest: &'i [ast::Ident],
        scope: &Scope,
    ) -> Result<(Expr, &'i [ast::Ident])> {
        if let Some((second, fields)) = rest.split_first()
            && let Some(outer) =
                self.outer_column(Some(&first.value), &second.value, second.span)?
        {
            return Ok((outer, fields));
        }
        if let Some(outer) = self.outer_column(None, &first.value, first.span)? {
            return Ok((outer, rest));
        }
        let written: Vec<&str> = std::iter::once(first)
            .chain(rest)
            .map(|i| i.value.as_str())
            .collect();
        Err(unknown_column(
            scope.schema,
            None,
            &written.join("."),
            &[],
            first.span,
        ))
    }

    fn bind_access(
        &self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        scope: &Scope,
    ) -> Result<Expr> {
        let mut expr = self.bind_expr(root, scope)?;
        for access in chain {
            expr = match access {
                ast::AccessExpr::Dot(ast::Expr::Identifier(ident)) => self
                    .coercion(scope)
                    .get_field(expr, &ident.value)
                    .map_err(|e| e.or_at(ident.span))?,
                ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                    self.subscript(expr, index, scope)?
                }
                other => {
                    return Err(PlanError::not_supported(format!(
                        "the access {}",
                        sql_text(other)
                    )));
                }
            };
        }
        Ok(expr)
    }

    /// `m['k']` on a map, `s['f']` on a struct, `a[i]` on an array (0-based, as Spark: the
    /// call `get(a, i)`).
    fn subscript(&self, expr: Expr, index: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let key = self.bind_expr(index, scope)?;
        match self.type_of(&expr, scope)? {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => self
                .coercion(scope)
                .scalar_call("get", vec![expr, key])
                .map_err(|e| e.or_at(index.span())),
            DataType::Map(..) => self
                .coercion(scope)
                .map_get(expr, key)
                .map_err(|e| e.or_at(index.span())),
            DataType::Struct(_) => match key {
                Expr::Literal(ScalarValue::Utf8(Some(name))) => {
                    self.coercion(scope).get_field(expr, &name)
                }
                _ => Err(PlanError::not_supported(
                    "struct subscripts other than string literals",
                )),
            },
            other => Err(PlanError::not_supported(format!("subscripts on {other}"))),
        }
    }

    fn bind_case(
        &self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
        scope: &Scope,
    ) -> Result<Expr> {
        let coercion = self.coercion(scope);
        let operand = operand.map(|o| self.bind_expr(o, scope)).transpose()?;
        let mut whens = Vec::with_capacity(conditions.len());
        for c in conditions {
            let when = self.bind_expr(&c.condition, scope)?;
            let when = match operand {
                Some(_) => when,
                None => coercion
                    .boolean(when)
                    .map_err(|e| e.or_at(c.condition.span()))?,
            };
            whens.push(when);
        }
        let (operand, whens) = coercion.case_whens(operand, whens)?;
        let thens = self.bind_all(conditions.iter().map(|c| &c.result), scope)?;
        let else_expr = else_result.map(|e| self.bind_expr(e, scope)).transpose()?;
        let (thens, else_expr) = coercion.case_results(thens, else_expr)?;
        Ok(Expr::Case {
            operand: operand.map(Box::new),
            when_then: whens.into_iter().zip(thens).collect(),
            else_expr: else_expr.map(Box::new),
        })
    }

    fn bind_expr_inner(&self, expr: &ast::Expr, scope: &Scope) -> Result<Expr> {
        use ast::Expr as E;
        match expr {
            E::Identifier(ident) => self.bind_identifier(ident, scope),
            E::CompoundIdentifier(idents) => self.bind_compound(idents, scope),
            E::CompoundFieldAccess { root, access_chain } => {
                self.bind_access(root, access_chain, scope)
            }
            E::Value(value) => Ok(Expr::Literal(literal(&value.value)?)),
            E::TypedString(typed) => {
                let text = literal(&typed.value.value)?;
                Ok(Expr::Literal(text).cast_to(arrow_type(&typed.data_type)?))
            }
            E::Interval(value) => Ok(Expr::Literal(interval(value)?)),
            E::Extract {
                field, expr: inner, ..
            } => {
                let field = ScalarValue::Utf8(Some(field.to_string().to_lowercase()));
                let args = vec![Expr::Literal(field), self.bind_expr(inner, scope)?];
                self.coercion(scope).scalar_call("date_part", args)
            }
            E::Nested(inner) => self.bind_expr(inner, scope),
            E::BinaryOp { left, op, right } => self.bind_binary(left, op, right, scope),
            E::UnaryOp { op, expr: inner } => match (op, inner.as_ref()) {
                (ast::UnaryOperator::Minus, E::Value(v))
                    if matches!(v.value, ast::Value::Number(..)) =>
                {
                    let ast::Value::Number(text, _) = &v.value else {
                        return Err(PlanError::Internal("not a number".into()));
                    };
                    Ok(Expr::Literal(number(&format!("-{text}"))?))
                }
                (ast::UnaryOperator::Minus, _) => {
                    let bound = self.bind_expr(inner, scope)?;
                    self.coercion(scope).negative(bound)
                }
                (ast::UnaryOperator::Plus, _) => self.bind_expr(inner, scope),
                (ast::UnaryOperator::Not, _) => {
                    let bound = self.bind_expr(inner, scope)?;
                    self.coercion(scope).not(bound)
                }
                (other, _) => Err(PlanError::not_supported(format!("the operator {other}"))),
            },
            E::IsDistinctFrom(left, right) => {
                let (left, right) = (self.bind_expr(left, scope)?, self.bind_expr(right, scope)?);
                self.coercion(scope)
                    .binary(left, Operator::IsDistinctFrom, right)
            }
            E::IsNotDistinctFrom(left, right) => {
                let (left, right) = (self.bind_expr(left, scope)?, self.bind_expr(right, scope)?);
                self.coercion(scope)
                    .binary(left, Operator::IsNotDistinctFrom, right)
            }
            E::IsNull(inner) => Ok(self.bind_expr(inner, scope)?.is_null()),
            E::IsNotNull(inner) => Ok(self.bind_expr(inner, scope)?.is_not_null()),
            E::InList {
                expr: inner,
                list,
                negated,
            } => {
                let value = self.bind_expr(inner, scope)?;
                let list = self.bind_all(list, scope)?;
                self.coercion(scope).in_list(value, list, *negated)
            }
            E::Between {
                expr: inner,
                negated,
                low,
                high,
            } => {
                let value = self.bind_expr(inner, scope)?;
                let low = self.bind_expr(low, scope)?;
                let high = self.bind_expr(high, scope)?;
                self.coercion(scope).between(value, *negated, low, high)
            }
            E::Like {
                negated,
                any: false,
                expr: inner,
                pattern,
                escape_char,
            } => self.bind_like(inner, pattern, escape_char.as_ref(), *negated, false, scope),
            E::ILike {
                negated,
                any: false,
                expr: inner,
                pattern,
                escape_char,
            } => self.bind_like(inner, pattern, escape_char.as_ref(), *negated, true, scope),
            E::RLike {
                negated,
                expr: inner,
                pattern,
                ..
            } => self.bind_rlike(inner, pattern, *negated, scope),
            E::Position { expr: inner, r#in } => self.bind_position(inner, r#in, scope),
            E::Overlay {
                expr: inner,
                overlay_what,
                overlay_from,
                overlay_for,
            } => self.bind_overlay(
                inner,
                overlay_what,
                overlay_from,
                overlay_for.as_deref(),
                scope,
            ),
            // A value CAST cannot convert is NULL, or an error under ANSI mode; TRY_CAST
            // (BigQuery's SAFE_CAST) is NULL in every mode.
            E::Cast {
                kind,
                expr: inner,
                data_type,
                array: false,
                format: None,
            } => {
                let (value, to) = (self.bind_expr(inner, scope)?, arrow_type(data_type)?);
                let from = self.type_of(&value, scope)?;
                if !can_cast(&from, &to) {
                    return Err(PlanError::type_mismatch(format!(
                        "cannot cast {} to {}",
                        sql_type_name(&from),
                        sql_type_name(&to)
                    )));
                }
                Ok(match kind {
                    ast::CastKind::TryCast | ast::CastKind::SafeCast => value.try_cast_to(to),
                    _ => value.cast_to(to),
                })
            }
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.bind_case(
                operand.as_deref(),
                conditions,
                else_result.as_deref(),
                scope,
            ),
            E::Function(function) => self.bind_function(function, scope),
            // `[1, 2]` (DuckDB) and `ARRAY[1, 2]` (Postgres): the call `array(1, 2)`.
            E::Array(ast::Array { elem, .. }) => {
                let items = self.bind_all(elem, scope)?;
                self.coercion(scope)
                    .scalar_call("array", items)
                    .map_err(|e| e.or_at(expr.span()))
            }
            E::Struct { values, fields } if fields.is_empty() => {
                let args = values
                    .iter()
                    .map(|value| match value {
                        E::Named { expr, name } => {
                            Ok(self.bind_expr(expr, scope)?.alias(name.value.clone()))
                        }
                        other => self.bind_expr(other, scope),
                    })
                    .collect::<Result<Vec<_>>>()?;
                self.coercion(scope).scalar_call("struct", args)
            }
            E::Substring {
                expr: inner,
                substring_from,
                substring_for,
                ..
            } => {
                // Every given argument is bound, so a missing start is reported by the arity check.
                let mut args = vec![self.bind_expr(inner, scope)?];
                for arg in [substring_from, substring_for].into_iter().flatten() {
                    args.push(self.bind_expr(arg, scope)?);
                }
                self.coercion(scope).scalar_call("substring", args)
            }
            E::Trim {
                expr: inner,
                trim_where,
                trim_what,
                trim_characters,
            } => self.bind_trim(
                inner,
                trim_where.as_ref(),
                trim_what.as_deref(),
                trim_characters.as_deref(),
                scope,
            ),
            E::Floor {
                expr: inner,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => {
                let arg = self.bind_expr(inner, scope)?;
                self.coercion(scope).scalar_call("floor", vec![arg])
            }
            E::Ceil {
                expr: inner,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => {
                let arg = self.bind_expr(inner, scope)?;
                self.coercion(scope).scalar_call("ceil", vec![arg])
            }
            E::Subquery(query) => self.bind_scalar_subquery(query, scope),
            E::InSubquery {
                expr: inner,
                subquery,
                negated,
            } => self.bind_in_subquery(inner, subquery, *negated, scope),
            E::Exists { subquery, negated } => self.bind_exists(subquery, *negated, scope),
            other => Err(PlanError::not_supported(format!(
                "the expression '{}'",
                sql_text(other)
            ))),
        }
    }
}
