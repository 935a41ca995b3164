//! Window functions: one pre-projection computes every key and argument that is not a plain
//! column, then one `Window` operator per distinct (`PARTITION BY`, `ORDER BY`) evaluates the
//! calls sharing them, each over one sort. A window states that it needs its partition keys
//! clustered (every row in one partition without keys), so enforcement adds an exchange only
//! where the input is not already placed by them, and stacked windows with the same keys share
//! it. A last projection drops the computed columns and puts the window columns in the
//! query's order.
//!
//! A window group limit below a window runs twice: on each partition's own rows before the
//! window's exchange, then on all the rows of each key after it (stating that it needs the
//! keys clustered, as the window does, so the window needs no exchange of its own); where the
//! input was clustered already the first phase is folded away.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion_common::ScalarValue;
use rsql_plan::expr::{WindowFunction, WindowFunctionKind};
use rsql_plan::function::BuiltinWindowFunction;
use rsql_plan::plan::{Window, WindowGroupLimit};
use rsql_plan::{Expr, SortExpr};

use super::{PlanRef, Planner, select_columns, trim};
use crate::error::{Result, exec_err};
use crate::operators::{GroupLimit, SortKey, WindowCall, WindowExec};
use crate::physical::{PhysicalNode, PhysicalPlan, Scope};

/// The window call under an expression of a `Window` node.
fn window_function(expr: &Expr) -> Result<&WindowFunction> {
    match expr.unaliased() {
        Expr::WindowFunction(window) => Ok(window),
        other => exec_err(format!("{other} is not a window call")),
    }
}

/// The integer constant argument `index` of `window`, 0 if it has none.
fn constant_argument(window: &WindowFunction) -> Result<i64> {
    let index = match &window.kind {
        WindowFunctionKind::Builtin(BuiltinWindowFunction::Ntile) => 0,
        WindowFunctionKind::Builtin(BuiltinWindowFunction::Lag | BuiltinWindowFunction::Lead) => 1,
        WindowFunctionKind::Builtin(BuiltinWindowFunction::NthValue) => 1,
        _ => return Ok(0),
    };
    match window.args.get(index).map(Expr::unaliased) {
        // `lag(x)` and `lead(x)` look one row away.
        None => Ok(1),
        Some(Expr::Literal(ScalarValue::Int64(Some(n)))) => Ok(*n),
        Some(other) => exec_err(format!(
            "{} expects an integer constant, not {other}",
            window.kind.name()
        )),
    }
}

/// The arguments of `window` that vary by row, evaluated into columns.
fn row_arguments(window: &WindowFunction) -> Vec<&Expr> {
    match &window.kind {
        WindowFunctionKind::Builtin(BuiltinWindowFunction::Ntile) => Vec::new(),
        WindowFunctionKind::Builtin(BuiltinWindowFunction::NthValue) => {
            window.args.iter().take(1).collect()
        }
        WindowFunctionKind::Builtin(BuiltinWindowFunction::Lag | BuiltinWindowFunction::Lead) => {
            window
                .args
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 1)
                .map(|(_, e)| e)
                .collect()
        }
        _ => window.args.iter().collect(),
    }
}

impl Planner<'_, '_> {
    pub(super) fn window(&self, window: &Window) -> Result<PlanRef> {
        let calls = window
            .window_exprs
            .iter()
            .map(window_function)
            .collect::<Result<Vec<_>>>()?;
        let hint: Vec<String> = calls
            .first()
            .map(|first| {
                first
                    .partition_by
                    .iter()
                    .filter_map(|key| match key {
                        Expr::Column(c) => Some(c.name.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let input = self.plan(&window.input, &hint)?;
        // Every key and row argument of every call, as columns of one pre-projection.
        let mut exprs: Vec<Expr> = Vec::new();
        for call in &calls {
            exprs.extend(call.partition_by.iter().cloned());
            exprs.extend(call.order_by.iter().map(|key| key.expr.clone()));
            exprs.extend(row_arguments(call).into_iter().cloned());
        }
        let (mut plan, columns, width) =
            self.with_key_columns(input, &exprs, window.input.schema())?;
        let mut columns = columns.into_iter();
        // Calls grouped by their keys, in first-seen order: (partition, order, calls).
        type Group<'w> = (&'w [Expr], &'w [SortExpr], Vec<usize>);
        let mut groups: Vec<Group<'_>> = Vec::new();
        let mut call_columns: Vec<(Vec<usize>, Vec<SortKey>, Vec<usize>)> = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            let partition: Vec<usize> = columns.by_ref().take(call.partition_by.len()).collect();
            let order: Vec<SortKey> = call
                .order_by
                .iter()
                .zip(columns.by_ref())
                .map(|(key, column)| SortKey {
                    column,
                    descending: !key.asc,
                    nulls_first: key.nulls_first,
                })
                .collect();
            let args: Vec<usize> = columns.by_ref().take(row_arguments(call).len()).collect();
            call_columns.push((partition, order, args));
            match groups.iter_mut().find(|(p, o, _)| {
                *p == call.partition_by.as_slice() && *o == call.order_by.as_slice()
            }) {
                Some(group) => group.2.push(i),
                None => groups.push((&call.partition_by, &call.order_by, vec![i])),
            }
        }
        let input_width = window.input.schema().fields().len();
        // Where each call's column ends up, in the order the windows append them.
        let mut positions = vec![0; calls.len()];
        for (_, _, members) in &groups {
            let (partition_columns, order_keys, _) = &call_columns[members[0]];
            let mut fields: Vec<Field> = plan
                .schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            let mut window_calls = Vec::with_capacity(members.len());
            for &i in members {
                let call = calls[i];
                let (_, _, args) = &call_columns[i];
                let field = window.schema.field(input_width + i);
                positions[i] = fields.len();
                fields.push(field.as_ref().clone());
                window_calls.push(self.window_call(call, args, &plan, field.name())?);
            }
            let exec = WindowExec {
                partition_columns: partition_columns.clone(),
                order_keys: order_keys.clone(),
                calls: window_calls,
                schema: Arc::new(Schema::new(fields)),
            };
            let schema = Arc::clone(&exec.schema);
            let node = PhysicalNode::Window {
                input: plan,
                window: Arc::new(exec),
            };
            plan = Arc::new(PhysicalPlan::derived(node, schema)?);
        }
        let keep: Vec<usize> = (0..width).chain(positions).collect();
        select_columns(plan, &keep)
    }

    /// The two phases of `limit`; `cluster_hint` is passed on to its input.
    pub(super) fn window_group_limit(
        &self,
        limit: &WindowGroupLimit,
        cluster_hint: &[String],
    ) -> Result<PlanRef> {
        let input = self.plan(&limit.input, cluster_hint)?;
        let exprs: Vec<Expr> = limit
            .partition_by
            .iter()
            .cloned()
            .chain(limit.order_by.iter().map(|key| key.expr.clone()))
            .collect();
        let (mut plan, columns, width) =
            self.with_key_columns(input, &exprs, limit.input.schema())?;
        let (partition_columns, order_columns) = columns.split_at(limit.partition_by.len());
        let exec = Arc::new(GroupLimit {
            partition_columns: partition_columns.to_vec(),
            order_keys: limit
                .order_by
                .iter()
                .zip(order_columns)
                .map(|(key, &column)| SortKey {
                    column,
                    descending: !key.asc,
                    nulls_first: key.nulls_first,
                })
                .collect(),
            function: limit.function,
            limit: limit.limit,
        });
        for scope in [Scope::Partition, Scope::Global] {
            let schema = Arc::clone(&plan.schema);
            let node = PhysicalNode::WindowGroupLimit {
                input: plan,
                limit: Arc::clone(&exec),
                scope,
            };
            plan = Arc::new(PhysicalPlan::derived(node, schema)?);
        }
        trim(plan, width)
    }

    /// The physical call of `window` reading `args` of `input`, named `name`.
    fn window_call(
        &self,
        window: &WindowFunction,
        args: &[usize],
        input: &PlanRef,
        name: &str,
    ) -> Result<WindowCall> {
        let aggregate = match &window.kind {
            WindowFunctionKind::Builtin(_) => None,
            WindowFunctionKind::Aggregate { name, distinct } => {
                let registered = match (name.as_str(), distinct) {
                    ("count", true) => "count_distinct".to_string(),
                    (name, false) => name.to_string(),
                    (name, true) => {
                        return exec_err(format!("not supported yet: {name}(DISTINCT ..) OVER"));
                    }
                };
                match self.cx.aggregate_functions.get(&registered) {
                    Some(function) => Some(
                        function
                            .in_mode(self.cx.mode)
                            .unwrap_or_else(|| Arc::clone(function)),
                    ),
                    None => {
                        return exec_err(format!(
                            "no implementation of aggregate function '{name}'"
                        ));
                    }
                }
            }
        };
        Ok(WindowCall {
            kind: window.kind.clone(),
            aggregate,
            input_columns: args.to_vec(),
            argument_types: args
                .iter()
                .map(|&c| input.schema.field(c).data_type().clone())
                .collect(),
            constant: constant_argument(window)?,
            frame: window.frame.clone(),
            ignore_nulls: window.ignore_nulls,
            name: name.to_string(),
        })
    }
}
