//! `push_down_projection`: each scan reads only the columns something above it uses (partition
//! columns included, when they are used), and projections drop outputs nobody reads. Nodes keep
//! at least one column so that row counts survive (`SELECT count(*)`).

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion_common::Column;
use datafusion_common::tree_node::Transformed;

use super::OptimizerRule;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, column_refs};
use crate::function::FunctionRegistry;
use crate::plan::{LogicalPlan, Projection, TableScan};

/// The `push_down_projection` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushDownProjection;

/// Output positions of `plan`.
type Required = BTreeSet<usize>;

fn all(plan: &LogicalPlan) -> Required {
    (0..plan.schema().fields().len()).collect()
}

/// The positions in `plan`'s output of the columns `exprs` read.
fn used_by<'e>(exprs: impl IntoIterator<Item = &'e Expr>, plan: &LogicalPlan) -> Required {
    let schema = plan.schema();
    exprs
        .into_iter()
        .flat_map(column_refs)
        .filter_map(|c| schema.index_of_column_by_name(c.relation.as_ref(), &c.name))
        .collect()
}

/// Prunes the inputs of `plan`, which must keep the output positions in `required` (it may
/// keep more).
fn prune(
    plan: &LogicalPlan,
    required: &Required,
    registry: &FunctionRegistry,
    changed: &mut bool,
) -> Result<LogicalPlan> {
    let rebuild = |plan: &LogicalPlan, inputs: Vec<LogicalPlan>| {
        plan.with_new_inputs(inputs.into_iter().map(Arc::new).collect(), registry)
    };
    match plan {
        LogicalPlan::TableScan(scan) => {
            let columns: Vec<usize> = scan
                .projection
                .clone()
                .unwrap_or_else(|| (0..scan.source.schema().fields().len()).collect());
            let mut keep: Required = required
                .union(&used_by(&scan.filters, plan))
                .copied()
                .collect();
            if keep.is_empty() && !columns.is_empty() {
                keep.insert(0);
            }
            let projection: Vec<usize> = keep
                .iter()
                .filter_map(|&i| columns.get(i).copied())
                .collect();
            if scan.projection.as_ref() == Some(&projection) {
                return Ok(plan.clone());
            }
            *changed = true;
            Ok(LogicalPlan::TableScan(TableScan::try_new(
                scan.table_name.clone(),
                Arc::clone(&scan.source),
                Some(projection),
                scan.filters.clone(),
                scan.fetch,
            )?))
        }
        LogicalPlan::Projection(p) => {
            let mut keep: Vec<usize> = required
                .iter()
                .copied()
                .filter(|&i| i < p.exprs.len())
                .collect();
            if keep.is_empty() && !p.exprs.is_empty() {
                keep.push(0);
            }
            if keep.len() < p.exprs.len() {
                *changed = true;
            }
            let exprs: Vec<Expr> = keep.iter().map(|&i| p.exprs[i].clone()).collect();
            let input = prune(&p.input, &used_by(&exprs, &p.input), registry, changed)?;
            Ok(LogicalPlan::Projection(Projection::try_new(
                exprs,
                Arc::new(input),
                registry,
            )?))
        }
        LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::WindowGroupLimit(_) => {
            let input = plan.inputs()[0];
            let needed: Required = required
                .union(&used_by(plan.expressions(), input))
                .copied()
                .collect();
            rebuild(plan, vec![prune(input, &needed, registry, changed)?])
        }
        LogicalPlan::Aggregate(a) => {
            let needed = used_by(plan.expressions(), &a.input);
            rebuild(plan, vec![prune(&a.input, &needed, registry, changed)?])
        }
        LogicalPlan::Window(_) | LogicalPlan::Expand(_) => {
            // The columns appended after the input's (window results; grouping keys and set
            // numbers) stay; of the input, those read above and by the node's expressions.
            let input = plan.inputs()[0];
            let width = input.schema().fields().len();
            let needed: Required = required
                .iter()
                .copied()
                .filter(|&i| i < width)
                .chain(used_by(plan.expressions(), input))
                .collect();
            rebuild(plan, vec![prune(input, &needed, registry, changed)?])
        }
        LogicalPlan::SubqueryAlias(s) => {
            rebuild(plan, vec![prune(&s.input, required, registry, changed)?])
        }
        LogicalPlan::Join(j) => {
            let left_width = j.left.schema().fields().len();
            let mut left: Required = required
                .iter()
                .copied()
                .filter(|&i| i < left_width)
                .collect();
            let mut right: Required = required
                .iter()
                .filter(|&&i| i >= left_width)
                .map(|i| i - left_width)
                .collect();
            left.extend(used_by(plan.expressions(), &j.left));
            right.extend(used_by(plan.expressions(), &j.right));
            let inputs = vec![
                narrowed(&j.left, &left, registry, changed)?,
                narrowed(&j.right, &right, registry, changed)?,
            ];
            rebuild(plan, inputs)
        }
        LogicalPlan::Distinct(_)
        | LogicalPlan::ReplicateRows(_)
        | LogicalPlan::Generate(_)
        | LogicalPlan::Union(_)
        | LogicalPlan::Explain(_) => {
            let inputs = plan
                .inputs()
                .into_iter()
                .map(|input| prune(input, &all(input), registry, changed))
                .collect::<Result<Vec<_>>>()?;
            rebuild(plan, inputs)
        }
        LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => Ok(plan.clone()),
    }
}

/// `input` pruned to the output positions in `needed`, under a projection of exactly those
/// when it still outputs more (a filter keeps the columns only its predicate reads): a join
/// would otherwise shuffle and hold them.
fn narrowed(
    input: &LogicalPlan,
    needed: &Required,
    registry: &FunctionRegistry,
    changed: &mut bool,
) -> Result<LogicalPlan> {
    let pruned = prune(input, needed, registry, changed)?;
    if needed.is_empty() || pruned.schema().fields().len() <= needed.len() {
        return Ok(pruned);
    }
    let schema = input.schema();
    let columns: Vec<Expr> = needed
        .iter()
        .map(|&i| {
            let (qualifier, field) = schema.qualified_field(i);
            Expr::Column(Column::new(qualifier.cloned(), field.name()))
        })
        .collect();
    *changed = true;
    Ok(LogicalPlan::Projection(Projection::try_new(
        columns,
        Arc::new(pruned),
        registry,
    )?))
}

impl OptimizerRule for PushDownProjection {
    fn name(&self) -> &str {
        "push_down_projection"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        registry: &FunctionRegistry,
    ) -> Result<Transformed<LogicalPlan>> {
        let mut changed = false;
        let pruned = prune(&plan, &all(&plan), registry, &mut changed)?;
        if pruned.schema().fields().len() != plan.schema().fields().len() {
            return Err(PlanError::Internal(
                "projection pushdown pruned the output".into(),
            ));
        }
        Ok(Transformed::new_transformed(pruned, changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::PushDownFilter;
    use crate::optimizer::test_util::{apply, plan_of};

    #[test]
    fn expand_reads_only_its_keys_and_the_aggregate_arguments() {
        let (after, changed) = apply(
            &PushDownProjection,
            "SELECT b, sum(a) FROM t GROUP BY ROLLUP (b)",
        );
        assert!(changed);
        assert!(after.ends_with("TableScan: t projection=[a, b]"), "{after}");
    }

    #[test]
    fn scans_read_only_the_columns_used_including_partition_columns() {
        let sql = "SELECT url, count(DISTINCT session_id) FROM events WHERE customer = 'a.com' GROUP BY url";
        assert_eq!(
            plan_of(sql).display_indent(),
            r#"Projection: events.url, count(DISTINCT session_id)
  Aggregate: groupBy=[[events.url]], aggr=[[count(DISTINCT events.session_id)]]
    Filter: events.customer = Utf8("a.com")
      TableScan: events"#
        );
        let (after, changed) = apply(&PushDownProjection, sql);
        assert!(changed);
        assert_eq!(
            after,
            r#"Projection: events.url, count(DISTINCT session_id)
  Aggregate: groupBy=[[events.url]], aggr=[[count(DISTINCT events.session_id)]]
    Filter: events.customer = Utf8("a.com")
      TableScan: events projection=[url, session_id, customer]"#
        );
    }

    #[test]
    fn unused_projection_outputs_are_dropped_and_count_star_keeps_one_column() {
        let (after, _) = apply(
            &PushDownProjection,
            "SELECT count(*) FROM (SELECT a, upper(b) AS x FROM t) s",
        );
        assert_eq!(
            after,
            r#"Projection: count(*)
  Aggregate: groupBy=[[]], aggr=[[count(*)]]
    SubqueryAlias: s
      Projection: t.a
        TableScan: t projection=[a]"#
        );
    }

    #[test]
    fn joins_keep_their_keys_and_a_second_pass_changes_nothing() {
        let sql = "SELECT u.d FROM t JOIN u ON t.a = u.a WHERE t.c > 1.0";
        let (after, _) = apply(&PushDownProjection, sql);
        assert_eq!(
            after,
            r#"Projection: u.d
  Filter: t.c > CAST(Decimal128(1.0,2,1) AS Float64)
    Inner Join: t.a = u.a
      TableScan: t projection=[a, c]
      TableScan: u projection=[a, d]"#
        );
        let registry = FunctionRegistry::new();
        let once = PushDownProjection
            .rewrite(plan_of(sql), &registry)
            .unwrap()
            .data;
        assert!(
            !PushDownProjection
                .rewrite(once, &registry)
                .unwrap()
                .transformed
        );
    }

    #[test]
    fn a_join_input_drops_the_columns_only_its_filter_reads() {
        let sql = "SELECT t.b FROM t JOIN u ON t.a = u.a WHERE u.d LIKE 'x%'";
        let registry = FunctionRegistry::new();
        let filtered = PushDownFilter
            .rewrite(plan_of(sql), &registry)
            .unwrap()
            .data;
        let narrowed = PushDownProjection.rewrite(filtered, &registry).unwrap();
        assert!(narrowed.transformed);
        assert_eq!(
            narrowed.data.to_string(),
            r#"Projection: t.b
  Inner Join: t.a = u.a
    TableScan: t projection=[a, b]
    Projection: u.a
      Filter: u.d LIKE Utf8("x%")
        TableScan: u projection=[a, d], filters=[u.d LIKE Utf8("x%")]"#
        );
    }
}
