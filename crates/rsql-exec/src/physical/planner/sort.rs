//! Sorts and limits: a sort range-partitions then sorts locally; `ORDER BY .. LIMIT` is a
//! per-partition top-k, then a top-k of those in one partition.

use std::sync::Arc;

use datafusion_common::DFSchemaRef;
use rsql_plan::plan::Sort;
use rsql_plan::{Expr, LogicalPlan, SortExpr};

use super::{PlanRef, Planner, exchange, trim};
use crate::error::Result;
use crate::operators::SortKey;
use crate::physical::{Partitioning, PhysicalNode, PhysicalPlan};

impl Planner<'_, '_> {
    pub(super) fn sort(&self, sort: &Sort) -> Result<PlanRef> {
        let input = self.plan(&sort.input, &[])?;
        self.sorted(input, &sort.exprs, sort.input.schema(), sort.fetch)
    }

    /// `input` sorted by `exprs`, keeping the first `fetch` rows.
    fn sorted(
        &self,
        input: PlanRef,
        exprs: &[SortExpr],
        input_schema: &DFSchemaRef,
        fetch: Option<usize>,
    ) -> Result<PlanRef> {
        let key_exprs: Vec<Expr> = exprs.iter().map(|s| s.expr.clone()).collect();
        let (input, columns, width) = self.with_key_columns(input, &key_exprs, input_schema)?;
        let keys: Vec<SortKey> = exprs
            .iter()
            .zip(columns)
            .map(|(s, column)| SortKey {
                column,
                descending: !s.asc,
                nulls_first: s.nulls_first,
            })
            .collect();
        let sorted = match fetch {
            // Top-k per partition, then the top-k of those in one partition.
            Some(_) if input.partitioning.partition_count() > 1 => {
                let local = sort_node(input, keys.clone(), fetch, None);
                sort_node(exchange(local, Partitioning::SINGLE), keys, fetch, None)
            }
            _ if input.partitioning.partition_count() > 1 => {
                let target = Partitioning::Range(keys.clone(), self.cx.shuffle_partitions);
                sort_node(exchange(input, target), keys, fetch, None)
            }
            _ => sort_node(input, keys, fetch, Some(Partitioning::SINGLE)),
        };
        Ok(trim(sorted, width))
    }

    pub(super) fn limit(&self, limit: &rsql_plan::plan::Limit) -> Result<PlanRef> {
        let total = limit.fetch.map(|fetch| fetch.saturating_add(limit.skip));
        // `ORDER BY .. LIMIT n` is a top-k.
        let input = match (limit.input.as_ref(), total) {
            (LogicalPlan::Sort(sort), Some(total)) => {
                let fetch = sort.fetch.map_or(total, |f| f.min(total));
                let input = self.plan(&sort.input, &[])?;
                self.sorted(input, &sort.exprs, sort.input.schema(), Some(fetch))?
            }
            _ => self.plan(&limit.input, &[])?,
        };
        let input = if input.partitioning.partition_count() > 1 {
            let local = limit_node(input, 0, total);
            exchange(local, Partitioning::SINGLE)
        } else {
            input
        };
        Ok(limit_node(input, limit.skip, limit.fetch))
    }
}

fn sort_node(
    input: PlanRef,
    keys: Vec<SortKey>,
    fetch: Option<usize>,
    partitioning: Option<Partitioning>,
) -> PlanRef {
    let partitioning = partitioning.unwrap_or_else(|| match &input.partitioning {
        range @ Partitioning::Range(..) => range.clone(),
        other => Partitioning::Range(keys.clone(), other.partition_count()),
    });
    let schema = Arc::clone(&input.schema);
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Sort { input, keys, fetch },
        schema,
        partitioning,
    ))
}

fn limit_node(input: PlanRef, skip: usize, fetch: Option<usize>) -> PlanRef {
    let (schema, partitioning) = (Arc::clone(&input.schema), input.partitioning.clone());
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Limit { input, skip, fetch },
        schema,
        partitioning,
    ))
}
