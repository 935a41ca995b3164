//! Sorts and limits. A sort states that it needs its input range partitioned on its keys
//! (enforcement samples the keys and exchanges by range), then sorts each partition. A top-k
//! (`ORDER BY .. LIMIT`) and a limit run per partition first, then once more over those rows
//! gathered into one partition; where the input is already in one partition, enforcement adds
//! no exchange and the per-partition phase is folded away.

use std::sync::Arc;

use rsql_plan::plan::{Limit, Sort};
use rsql_plan::{Expr, LogicalPlan};

use super::{PlanRef, Planner, estimated_rows, trim};
use crate::error::Result;
use crate::operators::SortKey;
use crate::physical::{PhysicalNode, PhysicalPlan, Scope};

impl Planner<'_, '_> {
    pub(super) fn sort(&self, sort: &Sort) -> Result<PlanRef> {
        let input = self.plan(&sort.input, &[])?;
        self.sorted(input, sort, sort.fetch)
    }

    /// `input`, planned from `sort`'s input, sorted as `sort` says, keeping the first `fetch`
    /// rows.
    fn sorted(&self, input: PlanRef, sort: &Sort, fetch: Option<usize>) -> Result<PlanRef> {
        let key_exprs: Vec<Expr> = sort.exprs.iter().map(|s| s.expr.clone()).collect();
        let (input, columns, width) =
            self.with_key_columns(input, &key_exprs, sort.input.schema())?;
        let keys: Vec<SortKey> = sort
            .exprs
            .iter()
            .zip(columns)
            .map(|(s, column)| SortKey {
                column,
                descending: !s.asc,
                nulls_first: s.nulls_first,
            })
            .collect();
        let input = match fetch {
            // The top-k of each partition, then the top-k of those.
            Some(_) => sort_node(input, keys.clone(), fetch, Scope::Partition, None)?,
            None => input,
        };
        let rows = estimated_rows(&sort.input)
            .map(|rows| fetch.map_or(rows, |fetch| rows.min(fetch as u64)));
        trim(sort_node(input, keys, fetch, Scope::Global, rows)?, width)
    }

    pub(super) fn limit(&self, limit: &Limit) -> Result<PlanRef> {
        let total = limit.fetch.map(|fetch| fetch.saturating_add(limit.skip));
        // `ORDER BY .. LIMIT n` is a top-k.
        let input = match (limit.input.as_ref(), total) {
            (LogicalPlan::Sort(sort), Some(total)) => {
                let fetch = sort.fetch.map_or(total, |f| f.min(total));
                let input = self.plan(&sort.input, &[])?;
                self.sorted(input, sort, Some(fetch))?
            }
            _ => self.plan(&limit.input, &[])?,
        };
        let input = match total {
            // Each partition's first rows, then the first of those.
            Some(_) => limit_node(input, 0, total, Scope::Partition)?,
            None => input,
        };
        limit_node(input, limit.skip, limit.fetch, Scope::Global)
    }
}

/// A sort expecting `rows` rows.
fn sort_node(
    input: PlanRef,
    keys: Vec<SortKey>,
    fetch: Option<usize>,
    scope: Scope,
    rows: Option<u64>,
) -> Result<PlanRef> {
    let schema = Arc::clone(&input.schema);
    let node = PhysicalNode::Sort {
        input,
        keys,
        fetch,
        scope,
    };
    Ok(Arc::new(
        PhysicalPlan::derived(node, schema)?.with_estimated_rows(rows),
    ))
}

fn limit_node(input: PlanRef, skip: usize, fetch: Option<usize>, scope: Scope) -> Result<PlanRef> {
    let schema = Arc::clone(&input.schema);
    let node = PhysicalNode::Limit {
        input,
        skip,
        fetch,
        scope,
    };
    Ok(Arc::new(PhysicalPlan::derived(node, schema)?))
}
