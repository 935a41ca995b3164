//! Binding SQL expressions: names to columns, literals to scalars, operators with coercion.

use arrow_schema::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::ident::{find_column, has_relation, unknown_column};
use super::types::arrow_type;
use crate::coercion::{
    binary_types, cast_for_comparison, cast_if_needed, common_type, is_string, value_type,
};
use crate::error::{PlanError, Result};
use crate::expr::{Expr, Operator, struct_field};

/// What an expression may refer to.
pub(super) struct Scope<'s> {
    /// The input columns.
    pub schema: &'s DFSchema,
    /// Select-list aliases usable where no input column has the name (HAVING, ORDER BY).
    pub aliases: &'s [(String, Expr)],
    /// Whether aggregate calls are allowed (SELECT, HAVING, ORDER BY of a SELECT).
    pub allow_aggregates: bool,
}

impl<'s> Scope<'s> {
    /// Plain input columns, no aliases, no aggregates (WHERE, ON, GROUP BY).
    pub(super) fn plain(schema: &'s DFSchema) -> Self {
        Scope {
            schema,
            aliases: &[],
            allow_aggregates: false,
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

/// A numeric literal: `Int64` when it fits, else `Float64` (Spark would use a decimal).
fn number(text: &str) -> Result<ScalarValue> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(ScalarValue::Int64(Some(i)));
    }
    text.parse::<f64>()
        .map(|f| ScalarValue::Float64(Some(f)))
        .map_err(|_| PlanError::invalid(format!("'{text}' is not a number")))
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

    /// Binds `expr`; errors without a position get the position of the innermost node that
    /// failed.
    pub(super) fn bind_expr(&self, expr: &ast::Expr, scope: &Scope) -> Result<Expr> {
        self.bind_expr_inner(expr, scope)
            .map_err(|err| err.or_at(expr.span()))
    }

    /// Binds every expression of `exprs` and casts them all to the type they meet at; with
    /// `compared`, dictionary operands of that value type stay uncast.
    pub(super) fn bind_common(
        &self,
        exprs: &[&ast::Expr],
        compared: bool,
        scope: &Scope,
    ) -> Result<Vec<Expr>> {
        let bound = exprs
            .iter()
            .map(|e| self.bind_expr(e, scope))
            .collect::<Result<Vec<_>>>()?;
        self.coerce_common(bound, compared, scope)
    }

    /// Casts bound expressions to the type they all meet at (see [`Self::bind_common`]).
    pub(super) fn coerce_common(
        &self,
        exprs: Vec<Expr>,
        compared: bool,
        scope: &Scope,
    ) -> Result<Vec<Expr>> {
        let cast = if compared {
            cast_for_comparison
        } else {
            cast_if_needed
        };
        let types = exprs
            .iter()
            .map(|e| self.type_of(e, scope))
            .collect::<Result<Vec<_>>>()?;
        let mut target = DataType::Null;
        for t in &types {
            target = common_type(&target, t).ok_or_else(|| {
                PlanError::type_mismatch(format!("cannot compare {target} with {t}"))
            })?;
        }
        Ok(exprs
            .into_iter()
            .zip(&types)
            .map(|(e, t)| cast(e, t, &target))
            .collect())
    }

    fn bind_binary(
        &self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        scope: &Scope,
    ) -> Result<Expr> {
        if matches!(op, ast::BinaryOperator::StringConcat) {
            let args = vec![self.bind_expr(left, scope)?, self.bind_expr(right, scope)?];
            return self.scalar_call("concat", args, scope);
        }
        let op =
            operator(op).ok_or_else(|| PlanError::not_supported(format!("the operator {op}")))?;
        let left = self.bind_expr(left, scope)?;
        let right = self.bind_expr(right, scope)?;
        let (lt, rt) = (self.type_of(&left, scope)?, self.type_of(&right, scope)?);
        let (operand, _) = binary_types(&lt, op, &rt)?;
        let cast = if op.is_comparison() {
            cast_for_comparison
        } else {
            cast_if_needed
        };
        Ok(Expr::BinaryExpr {
            left: Box::new(cast(left, &lt, &operand)),
            op,
            right: Box::new(cast(right, &rt, &operand)),
        })
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
        match alias {
            Some((_, expr)) => Ok(expr.clone()),
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
                (column, fields)
            }
            _ => {
                let column = find_column(scope.schema, None, &first.value, first.span)?
                    .ok_or_else(|| {
                        let written: Vec<&str> = idents.iter().map(|i| i.value.as_str()).collect();
                        unknown_column(scope.schema, None, &written.join("."), &[], first.span)
                    })?;
                (column, rest)
            }
        };
        let mut expr = Expr::Column(column);
        for field in fields {
            expr = self
                .get_field(expr, &field.value, scope)
                .map_err(|e| e.or_at(field.span))?;
        }
        Ok(expr)
    }

    /// `expr.name` with the struct's own spelling of the field name.
    pub(super) fn get_field(&self, expr: Expr, name: &str, scope: &Scope) -> Result<Expr> {
        let data_type = self.type_of(&expr, scope)?;
        let field = struct_field(&data_type, name)?;
        Ok(expr.field(field.name()))
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
                    .get_field(expr, &ident.value, scope)
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

    /// `m['k']` on a map, `s['f']` on a struct.
    fn subscript(&self, expr: Expr, index: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let key = self.bind_expr(index, scope)?;
        match self.type_of(&expr, scope)? {
            DataType::Map(entries, _) => {
                let key_type = match entries.data_type() {
                    DataType::Struct(fields) if !fields.is_empty() => fields[0].data_type().clone(),
                    other => {
                        return Err(PlanError::Internal(format!(
                            "malformed map entries {other}"
                        )));
                    }
                };
                let given = self.type_of(&key, scope)?;
                if common_type(&given, &key_type).is_none() {
                    return Err(PlanError::type_mismatch(format!(
                        "a map with {key_type} keys cannot be indexed by {given}"
                    ))
                    .or_at(index.span()));
                }
                Ok(expr.map_get(cast_if_needed(key, &given, &key_type)))
            }
            DataType::Struct(_) => match key {
                Expr::Literal(ScalarValue::Utf8(Some(name))) => self.get_field(expr, &name, scope),
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
        let (operand, whens) = match operand {
            Some(operand) => {
                let mut all = vec![operand];
                all.extend(conditions.iter().map(|c| &c.condition));
                let mut bound = self.bind_common(&all, true, scope)?;
                let operand = bound.remove(0);
                (Some(Box::new(operand)), bound)
            }
            None => {
                let mut whens = Vec::with_capacity(conditions.len());
                for c in conditions {
                    let when = self.bind_expr(&c.condition, scope)?;
                    self.expect_boolean(&when, scope)
                        .map_err(|e| e.or_at(c.condition.span()))?;
                    whens.push(when);
                }
                (None, whens)
            }
        };
        let mut results: Vec<&ast::Expr> = conditions.iter().map(|c| &c.result).collect();
        results.extend(else_result);
        let mut results = self.bind_common(&results, false, scope)?;
        let else_expr = else_result.and_then(|_| results.pop()).map(Box::new);
        Ok(Expr::Case {
            operand,
            when_then: whens.into_iter().zip(results).collect(),
            else_expr,
        })
    }

    /// Fails unless `expr` is boolean (or NULL).
    pub(super) fn expect_boolean(&self, expr: &Expr, scope: &Scope) -> Result<()> {
        match self.type_of(expr, scope)? {
            DataType::Boolean | DataType::Null => Ok(()),
            other => Err(PlanError::type_mismatch(format!(
                "expected a boolean condition, got {other}: {expr}"
            ))),
        }
    }

    fn bind_like(
        &self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        negated: bool,
        case_insensitive: bool,
        scope: &Scope,
    ) -> Result<Expr> {
        let string = |e: &ast::Expr| -> Result<Expr> {
            let bound = self.bind_expr(e, scope)?;
            let t = self.type_of(&bound, scope)?;
            if is_string(value_type(&t)) || t == DataType::Null {
                Ok(cast_if_needed(bound, &t, &DataType::Utf8))
            } else {
                Err(
                    PlanError::type_mismatch(format!("LIKE needs strings, got {t}"))
                        .or_at(e.span()),
                )
            }
        };
        Ok(Expr::Like {
            negated,
            expr: Box::new(string(expr)?),
            pattern: Box::new(string(pattern)?),
            case_insensitive,
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
                    let t = self.type_of(&bound, scope)?;
                    if !t.is_numeric() && t != DataType::Null {
                        return Err(PlanError::type_mismatch(format!("cannot negate {t}")));
                    }
                    Ok(-bound)
                }
                (ast::UnaryOperator::Plus, _) => self.bind_expr(inner, scope),
                (ast::UnaryOperator::Not, _) => {
                    let bound = self.bind_expr(inner, scope)?;
                    self.expect_boolean(&bound, scope)?;
                    Ok(!bound)
                }
                (other, _) => Err(PlanError::not_supported(format!("the operator {other}"))),
            },
            E::IsNull(inner) => Ok(self.bind_expr(inner, scope)?.is_null()),
            E::IsNotNull(inner) => Ok(self.bind_expr(inner, scope)?.is_not_null()),
            E::InList {
                expr: inner,
                list,
                negated,
            } => {
                let mut all = vec![inner.as_ref()];
                all.extend(list.iter());
                let mut bound = self.bind_common(&all, true, scope)?;
                let value = bound.remove(0);
                Ok(Expr::InList {
                    expr: Box::new(value),
                    list: bound,
                    negated: *negated,
                })
            }
            E::Between {
                expr: inner,
                negated,
                low,
                high,
            } => {
                let bound = self.bind_common(&[inner, low, high], true, scope)?;
                let [value, low, high]: [Expr; 3] = bound
                    .try_into()
                    .map_err(|_| PlanError::Internal("BETWEEN arity".into()))?;
                Ok(Expr::Between {
                    expr: Box::new(value),
                    negated: *negated,
                    low: Box::new(low),
                    high: Box::new(high),
                })
            }
            E::Like {
                negated,
                any: false,
                expr: inner,
                pattern,
                escape_char: None,
            } => self.bind_like(inner, pattern, *negated, false, scope),
            E::ILike {
                negated,
                any: false,
                expr: inner,
                pattern,
                escape_char: None,
            } => self.bind_like(inner, pattern, *negated, true, scope),
            E::Cast {
                kind: ast::CastKind::Cast | ast::CastKind::DoubleColon,
                expr: inner,
                data_type,
                array: false,
                format: None,
            } => Ok(self
                .bind_expr(inner, scope)?
                .cast_to(arrow_type(data_type)?)),
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
                self.scalar_call("struct", args, scope)
            }
            E::Substring {
                expr: inner,
                substring_from: Some(from),
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(inner, scope)?, self.bind_expr(from, scope)?];
                if let Some(length) = substring_for {
                    args.push(self.bind_expr(length, scope)?);
                }
                self.scalar_call("substring", args, scope)
            }
            E::Trim {
                expr: inner,
                trim_where: None,
                trim_what: None,
                trim_characters: None,
            } => {
                let arg = self.bind_expr(inner, scope)?;
                self.scalar_call("trim", vec![arg], scope)
            }
            E::Subquery(_) | E::InSubquery { .. } | E::Exists { .. } => {
                Err(PlanError::not_supported("subqueries in expressions"))
            }
            other => Err(PlanError::not_supported(format!(
                "the expression '{}'",
                sql_text(other)
            ))),
        }
    }
}
