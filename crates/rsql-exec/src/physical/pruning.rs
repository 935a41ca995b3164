//! Turning a scan's pushed-down filters into an `rsql_io::Predicate`, which skips hive
//! partition folders and Parquet row groups. Conjuncts it cannot express are left out: the
//! filter above the scan still checks every row.

use arrow::array::ArrayRef;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Schema};
use datafusion_common::{Column, ScalarValue};
use rsql_io::{CmpOp, Literal, Predicate};
use rsql_plan::expr::split_conjunction;
use rsql_plan::{Expr, Operator};

/// The part of `filters` (a conjunction) that `rsql_io` can prune with, over `schema` (the
/// dataset's full schema); `None` when no conjunct qualifies.
pub(crate) fn pruning_predicate(filters: &[Expr], schema: &Schema) -> Option<Predicate> {
    let mut parts: Vec<Predicate> = filters
        .iter()
        .flat_map(split_conjunction)
        .filter_map(|conjunct| conjunct_predicate(conjunct, schema))
        .collect();
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Predicate::And(parts)),
    }
}

fn conjunct_predicate(expr: &Expr, schema: &Schema) -> Option<Predicate> {
    match expr {
        Expr::BinaryExpr { left, op, right } => {
            let (column, op, value) = match (left.as_ref(), right.as_ref()) {
                (column, Expr::Literal(v)) => (pruned_column(column, schema)?, compare_op(*op)?, v),
                (Expr::Literal(v), column) => {
                    (pruned_column(column, schema)?, flip(compare_op(*op)?), v)
                }
                _ => return None,
            };
            Some(Predicate::Compare {
                value: literal(value, &column.name, schema)?,
                column: column.name.clone(),
                op,
            })
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let column = pruned_column(expr, schema)?;
            let values = list
                .iter()
                .map(|item| match item {
                    Expr::Literal(v) => literal(v, &column.name, schema),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Predicate::In {
                column: column.name.clone(),
                values,
            })
        }
        Expr::IsNull(inner) => match inner.as_ref() {
            Expr::Column(column) => Some(Predicate::is_null(&column.name)),
            _ => None,
        },
        _ => None,
    }
}

/// The column a comparison is about: a column, or a column under a cast that only widens its
/// integers (`CAST(hour AS BIGINT)` for an `INT` partition column, which a comparison with a
/// `BIGINT` literal adds), since such a cast keeps order and equality.
fn pruned_column<'a>(expr: &'a Expr, schema: &Schema) -> Option<&'a Column> {
    match expr {
        Expr::Column(column) => Some(column),
        Expr::Cast { expr, data_type } => {
            let Expr::Column(column) = expr.as_ref() else {
                return None;
            };
            let field = schema.field_with_name(&column.name).ok()?;
            let from = rsql_plan::coercion::value_type(field.data_type());
            widens_integers(from, data_type).then_some(column)
        }
        _ => None,
    }
}

/// Whether every value of integer type `from` is a distinct value of integer type `to`, in the
/// same order.
fn widens_integers(from: &DataType, to: &DataType) -> bool {
    let width = |t: &DataType| t.primitive_width();
    from.is_integer()
        && to.is_integer()
        && (from.is_signed_integer() == to.is_signed_integer() || to.is_signed_integer())
        && match (width(from), width(to)) {
            (Some(f), Some(t)) if from.is_signed_integer() == to.is_signed_integer() => t >= f,
            // Unsigned into signed needs a strictly wider type.
            (Some(f), Some(t)) => t > f,
            _ => false,
        }
}

fn compare_op(op: Operator) -> Option<CmpOp> {
    Some(match op {
        Operator::Eq => CmpOp::Eq,
        Operator::Lt => CmpOp::Lt,
        Operator::LtEq => CmpOp::LtEq,
        Operator::Gt => CmpOp::Gt,
        Operator::GtEq => CmpOp::GtEq,
        _ => return None,
    })
}

/// The operator with its operands swapped (`1 < x` is `x > 1`).
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::LtEq => CmpOp::GtEq,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::GtEq => CmpOp::LtEq,
    }
}

/// `value` as a literal of column `name`'s (value) type; `None` when it is null, the column is
/// unknown, or the value does not convert exactly.
fn literal(value: &ScalarValue, name: &str, schema: &Schema) -> Option<Literal> {
    if value.is_null() {
        return None;
    }
    let field = schema.field_with_name(name).ok()?;
    let target = rsql_plan::coercion::value_type(field.data_type());
    let array: ArrayRef = value.to_array().ok()?;
    let typed = if array.data_type() == target {
        array
    } else {
        let typed = cast(&array, target).ok()?;
        // A lossy conversion (e.g. 1.5 into an integer column) must not prune.
        let back = cast(&typed, array.data_type()).ok()?;
        if typed.is_null(0) || back.as_ref() != array.as_ref() {
            return None;
        }
        typed
    };
    Literal::try_new(typed).ok()
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};
    use rsql_plan::{col, lit};

    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("url", DataType::Utf8, true),
            Field::new(
                "hour",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Int32)),
                true,
            ),
        ])
    }

    #[test]
    fn comparisons_with_literals_become_predicates() {
        let filters = vec![
            col("hour").gt_eq(lit(12i64)),
            lit(14i64).gt(col("hour")),
            col("url").eq(col("url")),
        ];
        let Some(Predicate::And(parts)) = pruning_predicate(&filters, &schema()) else {
            panic!("expected a conjunction");
        };
        assert_eq!(parts.len(), 2);
        let Predicate::Compare { column, op, value } = &parts[1] else {
            panic!("expected a comparison");
        };
        assert_eq!((column.as_str(), *op), ("hour", CmpOp::Lt));
        // The literal takes the partition column's value type.
        assert_eq!(value.value().data_type(), &DataType::Int32);
    }

    #[test]
    fn inexact_or_unknown_conjuncts_are_left_to_the_filter() {
        let filters = vec![
            col("hour").eq(lit(1.5f64)),
            col("nope").eq(lit(1i64)),
            col("url").eq(lit(ScalarValue::Utf8(None))),
        ];
        assert!(pruning_predicate(&filters, &schema()).is_none());
    }

    #[test]
    fn integer_widening_casts_of_a_column_still_prune() {
        let hour = || col("hour").cast_to(DataType::Int64);
        let filters = vec![
            hour().eq(lit(9i64)),
            Expr::InList {
                expr: Box::new(hour()),
                list: vec![lit(1i64), lit(2i64)],
                negated: false,
            },
            // Narrowing or to floats changes values: no pruning.
            col("hour").cast_to(DataType::Int8).eq(lit(1i8)),
            col("hour").cast_to(DataType::Float64).eq(lit(1.0f64)),
        ];
        let Some(Predicate::And(parts)) = pruning_predicate(&filters, &schema()) else {
            panic!("expected a conjunction");
        };
        assert_eq!(parts.len(), 2);
        let Predicate::Compare { column, op, value } = &parts[0] else {
            panic!("expected a comparison");
        };
        assert_eq!((column.as_str(), *op), ("hour", CmpOp::Eq));
        assert_eq!(value.value().data_type(), &DataType::Int32);
        assert!(matches!(&parts[1], Predicate::In { column, .. } if column == "hour"));
        assert!(widens_integers(&DataType::UInt16, &DataType::Int32));
        assert!(!widens_integers(&DataType::UInt32, &DataType::Int32));
        assert!(!widens_integers(&DataType::Int32, &DataType::UInt64));
    }
}
