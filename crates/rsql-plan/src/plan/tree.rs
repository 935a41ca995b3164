//! `TreeNode` for plans, so rules can use datafusion-common's `transform_up/down` and `apply`.
//!
//! `map_children` swaps inputs but keeps each node's stored schema: rewrites that change a
//! child's schema must rebuild the parent with [`LogicalPlan::with_new_inputs`].

use std::sync::Arc;

use datafusion_common::Result;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeIterator, TreeNodeRecursion};

use super::generate::Generate;
use super::{
    Aggregate, Distinct, Expand, Explain, Filter, Join, Limit, LogicalPlan, Projection,
    ReplicateRows, Sort, SubqueryAlias, Union, Window, WindowGroupLimit,
};

/// Applies `f` to an input held in an `Arc`, cloning it only if it is shared.
fn map_arc<F: FnMut(LogicalPlan) -> Result<Transformed<LogicalPlan>>>(
    input: Arc<LogicalPlan>,
    f: &mut F,
) -> Result<Transformed<Arc<LogicalPlan>>> {
    Ok(f(Arc::unwrap_or_clone(input))?.update_data(Arc::new))
}

impl TreeNode for LogicalPlan {
    fn apply_children<'n, F: FnMut(&'n Self) -> Result<TreeNodeRecursion>>(
        &'n self,
        f: F,
    ) -> Result<TreeNodeRecursion> {
        self.inputs()
            .into_iter()
            .map(|input| input.as_ref())
            .apply_until_stop(f)
    }

    fn map_children<F: FnMut(Self) -> Result<Transformed<Self>>>(
        self,
        mut f: F,
    ) -> Result<Transformed<Self>> {
        Ok(match self {
            LogicalPlan::TableScan(_) | LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => {
                Transformed::no(self)
            }
            LogicalPlan::Projection(Projection {
                exprs,
                input,
                schema,
            }) => map_arc(input, &mut f)?.update_data(|input| {
                LogicalPlan::Projection(Projection {
                    exprs,
                    input,
                    schema,
                })
            }),
            LogicalPlan::Filter(Filter { predicate, input }) => map_arc(input, &mut f)?
                .update_data(|input| LogicalPlan::Filter(Filter { predicate, input })),
            LogicalPlan::Aggregate(Aggregate {
                input,
                group_exprs,
                aggr_exprs,
                schema,
            }) => map_arc(input, &mut f)?.update_data(|input| {
                LogicalPlan::Aggregate(Aggregate {
                    input,
                    group_exprs,
                    aggr_exprs,
                    schema,
                })
            }),
            LogicalPlan::Expand(Expand {
                input,
                keys,
                sets,
                schema,
            }) => map_arc(input, &mut f)?.update_data(|input| {
                LogicalPlan::Expand(Expand {
                    input,
                    keys,
                    sets,
                    schema,
                })
            }),
            LogicalPlan::Window(Window {
                input,
                window_exprs,
                schema,
            }) => map_arc(input, &mut f)?.update_data(|input| {
                LogicalPlan::Window(Window {
                    input,
                    window_exprs,
                    schema,
                })
            }),
            LogicalPlan::WindowGroupLimit(WindowGroupLimit {
                input,
                partition_by,
                order_by,
                function,
                limit,
            }) => map_arc(input, &mut f)?.update_data(|input| {
                LogicalPlan::WindowGroupLimit(WindowGroupLimit {
                    input,
                    partition_by,
                    order_by,
                    function,
                    limit,
                })
            }),
            LogicalPlan::Sort(Sort {
                exprs,
                input,
                fetch,
            }) => map_arc(input, &mut f)?.update_data(|input| {
                LogicalPlan::Sort(Sort {
                    exprs,
                    input,
                    fetch,
                })
            }),
            LogicalPlan::Limit(Limit { skip, fetch, input }) => map_arc(input, &mut f)?
                .update_data(|input| LogicalPlan::Limit(Limit { skip, fetch, input })),
            LogicalPlan::Distinct(Distinct { input }) => map_arc(input, &mut f)?
                .update_data(|input| LogicalPlan::Distinct(Distinct { input })),
            LogicalPlan::ReplicateRows(ReplicateRows { input, schema }) => map_arc(input, &mut f)?
                .update_data(|input| LogicalPlan::ReplicateRows(ReplicateRows { input, schema })),
            LogicalPlan::Generate(generate) => {
                let Generate {
                    input,
                    column,
                    position,
                    outer,
                    names,
                    schema,
                } = generate;
                map_arc(input, &mut f)?.update_data(|input| {
                    LogicalPlan::Generate(Generate {
                        input,
                        column,
                        position,
                        outer,
                        names,
                        schema,
                    })
                })
            }
            LogicalPlan::SubqueryAlias(SubqueryAlias {
                input,
                alias,
                schema,
            }) => map_arc(input, &mut f)?.update_data(|input| {
                LogicalPlan::SubqueryAlias(SubqueryAlias {
                    input,
                    alias,
                    schema,
                })
            }),
            LogicalPlan::Explain(Explain {
                analyze,
                plan,
                schema,
            }) => map_arc(plan, &mut f)?.update_data(|plan| {
                LogicalPlan::Explain(Explain {
                    analyze,
                    plan,
                    schema,
                })
            }),
            LogicalPlan::Join(Join {
                left,
                right,
                on,
                filter,
                join_type,
                null_aware,
                schema,
            }) => {
                let left = map_arc(left, &mut f)?;
                let (right, transformed, tnr) = if left.tnr == TreeNodeRecursion::Stop {
                    (right, left.transformed, left.tnr)
                } else {
                    let right = map_arc(right, &mut f)?;
                    (right.data, left.transformed || right.transformed, right.tnr)
                };
                let join = Join {
                    left: left.data,
                    right,
                    on,
                    filter,
                    join_type,
                    null_aware,
                    schema,
                };
                Transformed::new(LogicalPlan::Join(join), transformed, tnr)
            }
            LogicalPlan::Union(Union { inputs, schema }) => inputs
                .into_iter()
                .map_until_stop_and_collect(|input| map_arc(input, &mut f))?
                .update_data(|inputs| LogicalPlan::Union(Union { inputs, schema })),
        })
    }
}
