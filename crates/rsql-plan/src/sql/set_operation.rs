//! Binding `INTERSECT [ALL]` and `EXCEPT [ALL]` (`MINUS`) without operators of their own, as
//! Spark rewrites `INTERSECT ALL` / `EXCEPT ALL`: both inputs, each row tagged with the side it
//! comes from, are unioned and grouped by every column (NULLs group together, so rows compare
//! as `IS NOT DISTINCT FROM`), and the group's row count on either side, `l` and `r`, decides
//! how many copies of it come out:
//!
//! | operation       | kept when       | copies      |
//! |-----------------|-----------------|-------------|
//! | `INTERSECT`     | `l > 0 AND r > 0` | 1         |
//! | `INTERSECT ALL` | `l > 0 AND r > 0` | `min(l, r)` |
//! | `EXCEPT`        | `l > 0 AND r = 0` | 1         |
//! | `EXCEPT ALL`    | `l > r`         | `l - r`     |
//!
//! The `ALL` variants hand the copy count to a [`ReplicateRows`] node.

use std::sync::Arc;

use datafusion_common::{Column, DFSchema, ScalarValue};

use super::SqlBinder;
use crate::coercion::TypeCoercion;
use crate::error::Result;
use crate::expr::{Expr, Operator};
use crate::plan::{Aggregate, Filter, LogicalPlan, Projection, ReplicateRows, Union};

/// The set operations bound here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetOperation {
    /// Rows of the left input that the right input has too.
    Intersect,
    /// Rows of the left input that the right input has not.
    Except,
}

/// Marker columns: whether a row comes from the left or the right input (1 or 0).
const IN_LEFT: &str = "__in_left";
const IN_RIGHT: &str = "__in_right";
/// The per-group row counts of each side, and the copies to emit.
const LEFT_COUNT: &str = "__left_count";
const RIGHT_COUNT: &str = "__right_count";
const COPIES: &str = "__copies";

/// A reference to the `index`th column of `schema`.
fn column_at(schema: &DFSchema, index: usize) -> Expr {
    let (qualifier, field) = schema.qualified_field(index);
    Expr::Column(Column::new(qualifier.cloned(), field.name()))
}

fn int(value: i64) -> Expr {
    Expr::Literal(ScalarValue::Int64(Some(value)))
}

impl SqlBinder<'_> {
    /// `left INTERSECT|EXCEPT [ALL] right` over inputs whose column types already agree.
    pub(super) fn intersect_or_except(
        &self,
        left: LogicalPlan,
        right: LogicalPlan,
        operation: SetOperation,
        all: bool,
    ) -> Result<LogicalPlan> {
        let width = left.schema().fields().len();
        let tagged = Union::try_new(vec![self.tagged(left, 1, 0)?, self.tagged(right, 0, 1)?])?;
        let union_schema = Arc::clone(&tagged.schema);
        let groups: Vec<Expr> = (0..width).map(|i| column_at(&union_schema, i)).collect();
        let count = |marker: usize, name: &str| {
            TypeCoercion::new(&union_schema, self.registry)
                .aggregate_call("sum", vec![column_at(&union_schema, marker)], false)
                .map(|call| call.alias(name))
        };
        let aggregate = Aggregate::try_new(
            Arc::new(LogicalPlan::Union(tagged)),
            groups,
            vec![count(width, LEFT_COUNT)?, count(width + 1, RIGHT_COUNT)?],
            self.registry,
        )?;
        let counted = Arc::clone(&aggregate.schema);
        let (l, r) = (column_at(&counted, width), column_at(&counted, width + 1));
        let keep = match (operation, all) {
            (SetOperation::Intersect, _) => l.clone().gt(int(0)).and(r.clone().gt(int(0))),
            (SetOperation::Except, true) => l.clone().gt(r.clone()),
            (SetOperation::Except, false) => l.clone().gt(int(0)).and(r.clone().eq(int(0))),
        };
        let filtered = Filter::try_new(
            keep,
            Arc::new(LogicalPlan::Aggregate(aggregate)),
            self.registry,
        )?;
        let mut exprs: Vec<Expr> = (0..width).map(|i| column_at(&counted, i)).collect();
        if all {
            let copies = match operation {
                SetOperation::Intersect => Expr::Case {
                    operand: None,
                    when_then: vec![(l.clone().lt(r.clone()), l)],
                    else_expr: Some(Box::new(r)),
                },
                SetOperation::Except => Expr::BinaryExpr {
                    left: Box::new(l),
                    op: Operator::Minus,
                    right: Box::new(r),
                },
            };
            exprs.push(copies.alias(COPIES));
        }
        let projected = LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(LogicalPlan::Filter(filtered)),
            self.registry,
        )?);
        if !all {
            return Ok(projected);
        }
        Ok(LogicalPlan::ReplicateRows(ReplicateRows::try_new(
            Arc::new(projected),
        )?))
    }

    /// `plan` with the two side markers appended.
    fn tagged(&self, plan: LogicalPlan, in_left: i64, in_right: i64) -> Result<Arc<LogicalPlan>> {
        let mut exprs: Vec<Expr> = plan
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        exprs.push(int(in_left).alias(IN_LEFT));
        exprs.push(int(in_right).alias(IN_RIGHT));
        Ok(Arc::new(LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(plan),
            self.registry,
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use crate::optimizer::test_util::plan_of;

    #[test]
    fn intersect_groups_the_tagged_union_and_keeps_rows_on_both_sides() {
        assert_eq!(
            plan_of("SELECT a, d FROM u INTERSECT SELECT e, d FROM v").display_indent(),
            r#"Projection: u.a, u.d
  Filter: __left_count > Int64(0) AND __right_count > Int64(0)
    Aggregate: groupBy=[[u.a, u.d]], aggr=[[sum(__in_left) AS __left_count, sum(__in_right) AS __right_count]]
      Union
        Projection: u.a, u.d, Int64(1) AS __in_left, Int64(0) AS __in_right
          Projection: u.a, u.d
            TableScan: u
        Projection: v.e, v.d, Int64(0) AS __in_left, Int64(1) AS __in_right
          Projection: v.e, v.d
            TableScan: v"#
        );
    }

    #[test]
    fn except_all_replicates_the_surplus_of_left_rows() {
        assert_eq!(
            plan_of("SELECT d FROM u EXCEPT ALL SELECT d FROM v").display_indent(),
            r#"ReplicateRows: copies=#1
  Projection: u.d, __left_count - __right_count AS __copies
    Filter: __left_count > __right_count
      Aggregate: groupBy=[[u.d]], aggr=[[sum(__in_left) AS __left_count, sum(__in_right) AS __right_count]]
        Union
          Projection: u.d, Int64(1) AS __in_left, Int64(0) AS __in_right
            Projection: u.d
              TableScan: u
          Projection: v.d, Int64(0) AS __in_left, Int64(1) AS __in_right
            Projection: v.d
              TableScan: v"#
        );
    }
}
