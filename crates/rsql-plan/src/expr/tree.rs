//! `TreeNode` for expressions, so rules can use datafusion-common's `transform_up/down`,
//! `apply` and `exists` on them.

use datafusion_common::Result;
use datafusion_common::tree_node::{
    Transformed, TreeNode, TreeNodeContainer, TreeNodeIterator, TreeNodeRecursion,
    TreeNodeRefContainer,
};

use super::{Expr, SortExpr, WindowFunction};

/// `f` applied to the arguments, then the `PARTITION BY` keys, then the `ORDER BY` keys of a
/// window call, until it stops.
fn map_window<F: FnMut(Expr) -> Result<Transformed<Expr>>>(
    window: WindowFunction,
    mut f: F,
) -> Result<Transformed<Box<WindowFunction>>> {
    let WindowFunction {
        kind,
        args,
        partition_by,
        order_by,
        frame,
        ignore_nulls,
    } = window;
    let (order_exprs, order_options): (Vec<Expr>, Vec<(bool, bool)>) = order_by
        .into_iter()
        .map(|key| (key.expr, (key.asc, key.nulls_first)))
        .unzip();
    let arg_count = args.len();
    let key_count = partition_by.len();
    let all: Vec<Expr> = args
        .into_iter()
        .chain(partition_by)
        .chain(order_exprs)
        .collect();
    all.into_iter()
        .map_until_stop_and_collect(&mut f)?
        .map_data(|mut all| {
            let order_exprs = all.split_off(arg_count + key_count);
            let partition_by = all.split_off(arg_count);
            let order_by = order_exprs
                .into_iter()
                .zip(order_options)
                .map(|(expr, (asc, nulls_first))| SortExpr::new(expr, asc, nulls_first))
                .collect();
            Ok(Box::new(WindowFunction {
                kind,
                args: all,
                partition_by,
                order_by,
                frame,
                ignore_nulls,
            }))
        })
}

impl<'a> TreeNodeContainer<'a, Self> for Expr {
    fn apply_elements<F: FnMut(&'a Self) -> Result<TreeNodeRecursion>>(
        &'a self,
        mut f: F,
    ) -> Result<TreeNodeRecursion> {
        f(self)
    }

    fn map_elements<F: FnMut(Self) -> Result<Transformed<Self>>>(
        self,
        mut f: F,
    ) -> Result<Transformed<Self>> {
        f(self)
    }
}

impl TreeNode for Expr {
    fn apply_children<'n, F: FnMut(&'n Self) -> Result<TreeNodeRecursion>>(
        &'n self,
        f: F,
    ) -> Result<TreeNodeRecursion> {
        match self {
            Expr::Column(_)
            | Expr::Literal(_)
            | Expr::ScalarSubquery(_)
            | Expr::Exists { .. }
            | Expr::OuterColumn { .. } => Ok(TreeNodeRecursion::Continue),
            Expr::InSubquery { expr, .. }
            | Expr::Alias { expr, .. }
            | Expr::Not(expr)
            | Expr::Negative(expr)
            | Expr::IsNull(expr)
            | Expr::IsNotNull(expr)
            | Expr::Cast { expr, .. }
            | Expr::TryCast { expr, .. }
            | Expr::GetField { expr, .. } => expr.apply_elements(f),
            Expr::BinaryExpr { left, right, .. } => (left, right).apply_ref_elements(f),
            Expr::MapGet { expr, key } => (expr, key).apply_ref_elements(f),
            Expr::Like { expr, pattern, .. } => (expr, pattern).apply_ref_elements(f),
            Expr::Between {
                expr, low, high, ..
            } => (expr, low, high).apply_ref_elements(f),
            Expr::InList { expr, list, .. } => (expr, list).apply_ref_elements(f),
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => (operand, when_then, else_expr).apply_ref_elements(f),
            Expr::ScalarFunction { args, .. } | Expr::AggregateFunction { args, .. } => {
                args.apply_elements(f)
            }
            Expr::WindowFunction(window) => window
                .args
                .iter()
                .chain(&window.partition_by)
                .chain(window.order_by.iter().map(|key| &key.expr))
                .apply_until_stop(f),
        }
    }

    fn map_children<F: FnMut(Self) -> Result<Transformed<Self>>>(
        self,
        mut f: F,
    ) -> Result<Transformed<Self>> {
        Ok(match self {
            Expr::Column(_)
            | Expr::Literal(_)
            | Expr::ScalarSubquery(_)
            | Expr::Exists { .. }
            | Expr::OuterColumn { .. } => Transformed::no(self),
            Expr::InSubquery {
                expr,
                subquery,
                negated,
            } => expr
                .map_elements(&mut f)?
                .update_data(|expr| Expr::InSubquery {
                    expr,
                    subquery,
                    negated,
                }),
            Expr::Alias { expr, name } => expr
                .map_elements(&mut f)?
                .update_data(|expr| Expr::Alias { expr, name }),
            Expr::Not(expr) => expr.map_elements(&mut f)?.update_data(Expr::Not),
            Expr::Negative(expr) => expr.map_elements(&mut f)?.update_data(Expr::Negative),
            Expr::IsNull(expr) => expr.map_elements(&mut f)?.update_data(Expr::IsNull),
            Expr::IsNotNull(expr) => expr.map_elements(&mut f)?.update_data(Expr::IsNotNull),
            Expr::Cast { expr, data_type } => expr
                .map_elements(&mut f)?
                .update_data(|expr| Expr::Cast { expr, data_type }),
            Expr::TryCast { expr, data_type } => expr
                .map_elements(&mut f)?
                .update_data(|expr| Expr::TryCast { expr, data_type }),
            Expr::GetField { expr, name } => expr
                .map_elements(&mut f)?
                .update_data(|expr| Expr::GetField { expr, name }),
            Expr::BinaryExpr { left, op, right } => (left, right)
                .map_elements(&mut f)?
                .update_data(|(left, right)| Expr::BinaryExpr { left, op, right }),
            Expr::MapGet { expr, key } => (expr, key)
                .map_elements(f)?
                .update_data(|(expr, key)| Expr::MapGet { expr, key }),
            Expr::Like {
                negated,
                expr,
                pattern,
                case_insensitive,
            } => (expr, pattern)
                .map_elements(f)?
                .update_data(|(expr, pattern)| Expr::Like {
                    negated,
                    expr,
                    pattern,
                    case_insensitive,
                }),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => (expr, low, high)
                .map_elements(f)?
                .update_data(|(expr, low, high)| Expr::Between {
                    expr,
                    negated,
                    low,
                    high,
                }),
            Expr::InList {
                expr,
                list,
                negated,
            } => (expr, list)
                .map_elements(f)?
                .update_data(|(expr, list)| Expr::InList {
                    expr,
                    list,
                    negated,
                }),
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => (operand, when_then, else_expr)
                .map_elements(f)?
                .update_data(|(operand, when_then, else_expr)| Expr::Case {
                    operand,
                    when_then,
                    else_expr,
                }),
            Expr::ScalarFunction { name, args } => args
                .map_elements(f)?
                .update_data(|args| Expr::ScalarFunction { name, args }),
            Expr::AggregateFunction {
                name,
                args,
                distinct,
            } => args
                .map_elements(f)?
                .update_data(|args| Expr::AggregateFunction {
                    name,
                    args,
                    distinct,
                }),
            Expr::WindowFunction(window) => {
                map_window(*window, f)?.update_data(Expr::WindowFunction)
            }
        })
    }
}
