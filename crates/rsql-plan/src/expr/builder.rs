//! Short constructors for expressions: `col("a")`, `lit(1)`.

use datafusion_common::{Column, ScalarValue};

use super::Expr;

/// A column reference; `"t.a"` is column `a` of relation `t`, `"a"` is unqualified.
pub fn col(name: &str) -> Expr {
    Expr::Column(match name.split_once('.') {
        Some((relation, column)) if !relation.is_empty() && !column.is_empty() => {
            Column::new(Some(relation), column)
        }
        _ => Column::new_unqualified(name),
    })
}

/// An unqualified column reference taken literally, even if the name contains a dot.
pub fn ident(name: impl Into<String>) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// A literal from any value `ScalarValue` can be made from (`1i64`, `"x"`, `true`, `2.5`).
pub fn lit(value: impl Into<ScalarValue>) -> Expr {
    Expr::Literal(value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn col_splits_a_qualifier() {
        assert_eq!(col("t.a"), Expr::Column(Column::new(Some("t"), "a")));
        assert_eq!(col("a"), Expr::Column(Column::new_unqualified("a")));
        assert_eq!(ident("a.b"), Expr::Column(Column::new_unqualified("a.b")));
    }

    #[test]
    fn lit_wraps_scalars() {
        assert_eq!(lit(1i64), Expr::Literal(ScalarValue::Int64(Some(1))));
        assert_eq!(lit("x"), Expr::Literal(ScalarValue::Utf8(Some("x".into()))));
    }
}
