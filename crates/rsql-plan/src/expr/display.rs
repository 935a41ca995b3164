//! How expressions print: `a + b`, `count(DISTINCT session_id)`, `CAST(x AS Int64)`, like
//! DataFusion's EXPLAIN. The same text, with unqualified column names, names output columns.

use std::fmt;

use super::window::write_over;
use super::{Expr, Operator, SortExpr, WindowFunction, WindowFunctionKind};

/// Whether a window call prints its missing arguments as `*` (`count(*) OVER ..`).
fn args_star(window: &WindowFunction) -> bool {
    window.args.is_empty() && matches!(window.kind, WindowFunctionKind::Aggregate { .. })
}

/// Binding strength of an operator, for minimal parentheses.
fn precedence(op: Operator) -> u8 {
    match op {
        Operator::Or => 5,
        Operator::And => 10,
        Operator::Eq
        | Operator::NotEq
        | Operator::Lt
        | Operator::LtEq
        | Operator::Gt
        | Operator::GtEq
        | Operator::IsDistinctFrom
        | Operator::IsNotDistinctFrom => 20,
        Operator::Plus | Operator::Minus => 30,
        Operator::Multiply | Operator::Divide | Operator::Modulo => 40,
    }
}

/// An expression printer; `qualified` decides whether columns print as `t.a` or `a`.
struct Printer<'a> {
    expr: &'a Expr,
    qualified: bool,
}

impl Printer<'_> {
    fn child<'b>(&self, expr: &'b Expr) -> Printer<'b> {
        Printer {
            expr,
            qualified: self.qualified,
        }
    }

    fn list(&self, f: &mut fmt::Formatter<'_>, exprs: &[Expr]) -> fmt::Result {
        for (i, expr) in exprs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", self.child(expr))?;
        }
        Ok(())
    }

    /// Writes an operand of `parent`, parenthesised when it binds more loosely.
    fn operand(
        &self,
        f: &mut fmt::Formatter<'_>,
        expr: &Expr,
        parent: Operator,
        right: bool,
    ) -> fmt::Result {
        let needs_parens = match expr {
            Expr::BinaryExpr { op, .. } => {
                precedence(*op) < precedence(parent)
                    || (right && precedence(*op) == precedence(parent))
            }
            _ => false,
        };
        if needs_parens {
            write!(f, "({})", self.child(expr))
        } else {
            write!(f, "{}", self.child(expr))
        }
    }
}

impl fmt::Display for Printer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expr {
            Expr::Column(column) if self.qualified => write!(f, "{}", column.flat_name()),
            Expr::Column(column) => f.write_str(&column.name),
            Expr::Literal(value) => write!(f, "{value:?}"),
            Expr::Alias { expr, name } => write!(f, "{} AS {name}", self.child(expr)),
            Expr::BinaryExpr { left, op, right } => {
                self.operand(f, left, *op, false)?;
                write!(f, " {} ", op.symbol())?;
                self.operand(f, right, *op, true)
            }
            Expr::Not(expr) => write!(f, "NOT {}", self.child(expr)),
            Expr::Negative(expr) => write!(f, "(- {})", self.child(expr)),
            Expr::IsNull(expr) => write!(f, "{} IS NULL", self.child(expr)),
            Expr::IsNotNull(expr) => write!(f, "{} IS NOT NULL", self.child(expr)),
            Expr::Cast { expr, data_type } => {
                write!(f, "CAST({} AS {data_type})", self.child(expr))
            }
            Expr::TryCast { expr, data_type } => {
                write!(f, "TRY_CAST({} AS {data_type})", self.child(expr))
            }
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => {
                f.write_str("CASE")?;
                if let Some(operand) = operand {
                    write!(f, " {}", self.child(operand))?;
                }
                for (when, then) in when_then {
                    write!(f, " WHEN {} THEN {}", self.child(when), self.child(then))?;
                }
                if let Some(else_expr) = else_expr {
                    write!(f, " ELSE {}", self.child(else_expr))?;
                }
                f.write_str(" END")
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{} {not}IN (", self.child(expr))?;
                self.list(f, list)?;
                f.write_str(")")
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(
                    f,
                    "{} {not}BETWEEN {} AND {}",
                    self.child(expr),
                    self.child(low),
                    self.child(high)
                )
            }
            Expr::Like {
                negated,
                expr,
                pattern,
                case_insensitive,
            } => {
                let not = if *negated { "NOT " } else { "" };
                let like = if *case_insensitive { "ILIKE" } else { "LIKE" };
                write!(
                    f,
                    "{} {not}{like} {}",
                    self.child(expr),
                    self.child(pattern)
                )
            }
            Expr::ScalarFunction { name, args } => {
                write!(f, "{name}(")?;
                self.list(f, args)?;
                f.write_str(")")
            }
            Expr::AggregateFunction {
                name,
                args,
                distinct,
            } => {
                write!(f, "{name}(")?;
                if *distinct {
                    f.write_str("DISTINCT ")?;
                }
                if args.is_empty() {
                    f.write_str("*")?;
                }
                self.list(f, args)?;
                f.write_str(")")
            }
            Expr::WindowFunction(window) => {
                write!(f, "{}(", window.kind.name())?;
                if matches!(
                    window.kind,
                    WindowFunctionKind::Aggregate { distinct: true, .. }
                ) {
                    f.write_str("DISTINCT ")?;
                }
                if args_star(window) {
                    f.write_str("*")?;
                }
                self.list(f, &window.args)?;
                f.write_str(")")?;
                write_over(f, window, |e| self.child(e).to_string())
            }
            Expr::GetField { expr, name } => write!(f, "{}.{name}", self.child(expr)),
            Expr::MapGet { expr, key } => {
                write!(f, "{}[{}]", self.child(expr), self.child(key))
            }
            Expr::ScalarSubquery(subquery) => write!(f, "({})", subquery.sql),
            Expr::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{} {not}IN ({})", self.child(expr), subquery.sql)
            }
            Expr::Exists { subquery, negated } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{not}EXISTS ({})", subquery.sql)
            }
            Expr::OuterColumn { column, .. } if self.qualified => {
                write!(f, "outer({})", column.flat_name())
            }
            Expr::OuterColumn { column, .. } => write!(f, "outer({})", column.name),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Printer {
            expr: self,
            qualified: true,
        }
        .fmt(f)
    }
}

impl fmt::Display for SortExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = if self.asc { "ASC" } else { "DESC" };
        let nulls = if self.nulls_first {
            "NULLS FIRST"
        } else {
            "NULLS LAST"
        };
        write!(f, "{} {direction} {nulls}", self.expr)
    }
}

impl Expr {
    /// The name of the output column this expression produces: the alias if it has one, the
    /// column name for a column, otherwise its display text with unqualified column names
    /// (`count(DISTINCT session_id)`, `a + Int64(1)`).
    pub fn output_name(&self) -> String {
        match self {
            Expr::Alias { name, .. } => name.clone(),
            Expr::Column(column) => column.name.clone(),
            other => Printer {
                expr: other,
                qualified: false,
            }
            .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{col, lit};
    use super::*;

    #[test]
    fn binary_expressions_parenthesise_only_when_needed() {
        let e = (col("a") + col("b")) * col("c");
        assert_eq!(e.to_string(), "(a + b) * c");
        let e = col("a") + col("b") * col("c");
        assert_eq!(e.to_string(), "a + b * c");
        let e = col("a") - (col("b") - col("c"));
        assert_eq!(e.to_string(), "a - (b - c)");
        let e = col("a").gt(lit(1i64)).and(col("b").eq(lit("x")));
        assert_eq!(e.to_string(), r#"a > Int64(1) AND b = Utf8("x")"#);
    }

    #[test]
    fn aggregates_print_like_datafusion() {
        let count_star = Expr::AggregateFunction {
            name: "count".into(),
            args: vec![],
            distinct: false,
        };
        assert_eq!(count_star.to_string(), "count(*)");
        let distinct = Expr::AggregateFunction {
            name: "count".into(),
            args: vec![col("e.session_id")],
            distinct: true,
        };
        assert_eq!(distinct.to_string(), "count(DISTINCT e.session_id)");
        assert_eq!(distinct.output_name(), "count(DISTINCT session_id)");
    }

    #[test]
    fn output_name_prefers_alias_and_column_name() {
        assert_eq!(col("t.a").output_name(), "a");
        assert_eq!((col("a") + lit(1i64)).alias("x").output_name(), "x");
        assert_eq!(
            col("w").field("start").map_get(lit("k")).to_string(),
            r#"w.start[Utf8("k")]"#
        );
    }
}
