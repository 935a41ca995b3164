//! Aggregate `FILTER (WHERE cond)`, rewritten in the binder: the argument `x` becomes
//! `CASE WHEN cond THEN x END` and `count(*)` becomes `count(CASE WHEN cond THEN 1 END)`. Rows
//! the condition does not keep (false or NULL) then feed a NULL, which is exact for the
//! aggregates that ignore NULL inputs: [`NULL_IGNORING`]. Others are rejected.

use datafusion_common::ScalarValue;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::Scope;
use crate::error::{PlanError, Result};
use crate::expr::Expr;

/// The aggregates `FILTER` is supported on: each skips NULL inputs (with or without
/// `DISTINCT`), so feeding NULL for a filtered-out row is the same as not feeding the row.
pub(super) const NULL_IGNORING: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "collect_list",
    "collect_set",
];

impl SqlBinder<'_> {
    /// The arguments of `name(args) FILTER (WHERE filter)`, each kept only where `filter`
    /// holds; `count(*)` gets the argument `1`.
    pub(super) fn filtered_aggregate_args(
        &self,
        name: &str,
        args: Vec<Expr>,
        filter: &ast::Expr,
        scope: &Scope,
    ) -> Result<Vec<Expr>> {
        if !NULL_IGNORING.contains(&name) {
            return Err(PlanError::not_supported(format!(
                "FILTER on the aggregate {name} (only on {})",
                NULL_IGNORING.join(", ")
            )));
        }
        let plain = Scope::plain(scope.schema);
        let condition = self.bind_expr(filter, &plain)?;
        let coercion = self.coercion(&plain);
        let condition = coercion
            .boolean(condition)
            .map_err(|e| e.or_at(filter.span()))?;
        let args = if args.is_empty() {
            vec![Expr::Literal(ScalarValue::Int64(Some(1)))]
        } else {
            args
        };
        args.into_iter()
            .map(|arg| {
                let (thens, _) = self.coercion(scope).case_results(vec![arg], None)?;
                Ok(Expr::Case {
                    operand: None,
                    when_then: vec![condition.clone()].into_iter().zip(thens).collect(),
                    else_expr: None,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::optimizer::test_util::plan_of;

    #[test]
    fn filtered_arguments_become_case_expressions() {
        let plan =
            plan_of("SELECT count(*) FILTER (WHERE c > 1), sum(a) FILTER (WHERE b = 'x') FROM t");
        assert_eq!(
            plan.display_indent(),
            r#"Projection: count(CASE WHEN c > CAST(Int64(1) AS Float64) THEN Int64(1) END) AS count(*) FILTER (WHERE c > 1), sum(CASE WHEN b = Utf8("x") THEN a END) AS sum(a) FILTER (WHERE b = 'x')
  Aggregate: groupBy=[[]], aggr=[[count(CASE WHEN t.c > CAST(Int64(1) AS Float64) THEN Int64(1) END), sum(CASE WHEN t.b = Utf8("x") THEN t.a END)]]
    TableScan: t"#
        );
    }
}
