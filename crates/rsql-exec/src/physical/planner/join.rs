//! Joins: the right side is built into the hash table, broadcast when small, otherwise both
//! sides hash partitioned on the join keys (a side already placed so is not shuffled).

use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion_common::{DFSchema, JoinType};
use rsql_plan::plan::Join;
use rsql_plan::{Expr, LogicalPlan};

use super::{PlanRef, Planner, exchange, gather, select_columns};
use crate::error::{Result, exec_err};
use crate::listing_table::ListingTable;
use crate::operators::{HashJoin, JoinKind};
use crate::physical::{BoundExpr, Partitioning, PhysicalNode, PhysicalPlan};

impl Planner<'_, '_> {
    pub(super) fn join(&self, join: &Join) -> Result<PlanRef> {
        // The right side is built into the hash table: build the smaller one.
        if join.join_type == JoinType::Inner
            && !join.on.is_empty()
            && join.left.estimated_rows() < join.right.estimated_rows()
        {
            return self.swapped_inner_join(join);
        }
        let kind = match join.join_type {
            JoinType::Inner => JoinKind::Inner,
            JoinType::Left => JoinKind::Left,
            JoinType::Right => JoinKind::Right,
            JoinType::Full => JoinKind::Full,
            JoinType::LeftSemi => JoinKind::Semi,
            JoinType::LeftAnti if join.null_aware => JoinKind::NullAwareAnti,
            JoinType::LeftAnti => JoinKind::Anti,
            other => return exec_err(format!("not supported yet: {other} join")),
        };
        let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
        let (left_exprs, right_exprs) = self.join_keys(join)?;
        let key_names = |exprs: &[Expr]| -> Vec<String> {
            exprs
                .iter()
                .filter_map(|e| match e.unaliased() {
                    Expr::Column(c) => Some(c.name.clone()),
                    _ => None,
                })
                .collect()
        };
        let left = self.plan(&join.left, &key_names(&left_exprs))?;
        let right = self.plan(&join.right, &key_names(&right_exprs))?;
        let (left, left_keys, left_width) =
            self.with_key_columns(left, &left_exprs, left_schema)?;
        let (right, right_keys, right_width) =
            self.with_key_columns(right, &right_exprs, right_schema)?;
        let filter_schema = Arc::new(joined_df_schema(&left, left_schema, &right, right_schema)?);
        let filter_source = join.filter.as_ref().map(|filter| BoundExpr {
            expr: filter.clone(),
            schema: Arc::clone(&filter_schema),
        });
        let filter = filter_source
            .as_ref()
            .map(|source| source.compile(self.cx.registry, self.cx.scalar_functions))
            .transpose()?;
        let small = |plan: &LogicalPlan| {
            estimated_bytes(plan).is_some_and(|bytes| bytes <= self.cx.broadcast_threshold)
        };
        // A null-aware anti join must see the whole right side in every partition.
        let broadcast = match kind {
            JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti => {
                small(&join.right) || left_keys.is_empty()
            }
            JoinKind::NullAwareAnti => true,
            JoinKind::Right | JoinKind::Full => false,
        };
        let (left, right) = if broadcast {
            (left, gather(right, Partitioning::SINGLE))
        } else if left_keys.is_empty() {
            // A theta join that must see every row of both sides: run it in one partition.
            (
                gather(left, Partitioning::SINGLE),
                gather(right, Partitioning::SINGLE),
            )
        } else {
            self.co_partition(left, &left_keys, right, &right_keys)?
        };
        let hash_join = HashJoin::try_new(
            Arc::clone(&left.schema),
            Arc::clone(&right.schema),
            left_keys.clone(),
            right_keys,
            kind,
            filter,
        )?;
        let left_columns = left.schema.fields().len();
        let partitioning = match kind {
            JoinKind::Inner
            | JoinKind::Left
            | JoinKind::Semi
            | JoinKind::Anti
            | JoinKind::NullAwareAnti => left.partitioning.clone(),
            JoinKind::Right => right.partitioning.remap(|c| Some(c + left_columns)),
            JoinKind::Full => Partitioning::Unknown(left.partitioning.partition_count()),
        };
        let schema = Arc::clone(hash_join.output_schema());
        let joined = Arc::new(PhysicalPlan::new(
            PhysicalNode::HashJoin {
                left,
                right,
                join: Arc::new(hash_join),
                broadcast,
                filter: filter_source,
            },
            schema,
            partitioning,
        ));
        // Drop the key columns computed for the join, keeping both sides' own columns.
        let right_width = if kind.emits_right_columns() {
            right_width
        } else {
            0
        };
        if left_width + right_width == joined.schema.fields().len() {
            return Ok(joined);
        }
        let keep: Vec<usize> = (0..left_width)
            .chain(left_columns..left_columns + right_width)
            .collect();
        Ok(select_columns(joined, &keep))
    }

    /// An inner join planned with its sides swapped, its columns put back in order.
    fn swapped_inner_join(&self, join: &Join) -> Result<PlanRef> {
        let swapped = Join::try_new(
            Arc::clone(&join.right),
            Arc::clone(&join.left),
            join.on
                .iter()
                .map(|(l, r)| (r.clone(), l.clone()))
                .collect(),
            join.filter.clone(),
            JoinType::Inner,
        )?;
        let planned = self.join(&swapped)?;
        let left_width = join.left.schema().fields().len();
        let right_width = join.right.schema().fields().len();
        let keep: Vec<usize> = (right_width..right_width + left_width)
            .chain(0..right_width)
            .collect();
        Ok(select_columns(planned, &keep))
    }

    /// The equi-join keys, cast pairwise to a common type so equal values hash alike.
    fn join_keys(&self, join: &Join) -> Result<(Vec<Expr>, Vec<Expr>)> {
        let registry = self.cx.registry;
        let mut left = Vec::new();
        let mut right = Vec::new();
        for (l, r) in &join.on {
            let lt = l.get_type(join.left.schema(), registry)?;
            let rt = r.get_type(join.right.schema(), registry)?;
            let (lv, rv) = (
                rsql_plan::coercion::value_type(&lt),
                rsql_plan::coercion::value_type(&rt),
            );
            if lv == rv {
                left.push(l.clone());
                right.push(r.clone());
                continue;
            }
            let Some(common) = rsql_plan::coercion::common_type(lv, rv) else {
                return exec_err(format!("cannot join {l} ({lt}) with {r} ({rt})"));
            };
            left.push(rsql_plan::coercion::cast_if_needed(l.clone(), &lt, &common));
            right.push(rsql_plan::coercion::cast_if_needed(r.clone(), &rt, &common));
        }
        Ok((left, right))
    }

    /// Both sides hash partitioned on corresponding join keys with equal partition counts:
    /// a side already placed so is left alone.
    fn co_partition(
        &self,
        left: PlanRef,
        left_keys: &[usize],
        right: PlanRef,
        right_keys: &[usize],
    ) -> Result<(PlanRef, PlanRef)> {
        // Which key positions a side is hash partitioned on, with its partition count.
        let placed_on = |plan: &PhysicalPlan, keys: &[usize]| match &plan.partitioning {
            Partitioning::Hash(columns, n) => columns
                .iter()
                .map(|c| keys.iter().position(|k| k == c))
                .collect::<Option<Vec<usize>>>()
                .filter(|positions| !positions.is_empty())
                .map(|positions| (positions, *n)),
            _ => None,
        };
        let hash_on = |keys: &[usize], positions: &[usize], n| {
            Partitioning::Hash(positions.iter().map(|&p| keys[p]).collect(), n)
        };
        Ok(
            match (placed_on(&left, left_keys), placed_on(&right, right_keys)) {
                (Some(l), Some(r)) if l == r => (left, right),
                (Some((positions, n)), _) => {
                    let target = hash_on(right_keys, &positions, n);
                    (left, exchange(right, target))
                }
                (None, Some((positions, n))) => {
                    let target = hash_on(left_keys, &positions, n);
                    (exchange(left, target), right)
                }
                (None, None) => {
                    let n = self.cx.shuffle_partitions;
                    (
                        exchange(left, Partitioning::Hash(left_keys.to_vec(), n)),
                        exchange(right, Partitioning::Hash(right_keys.to_vec(), n)),
                    )
                }
            },
        )
    }
}

/// The logical schema of a join's output over physical sides that may carry extra key columns,
/// for compiling the join filter.
fn joined_df_schema(
    left: &PhysicalPlan,
    left_schema: &DFSchema,
    right: &PhysicalPlan,
    right_schema: &DFSchema,
) -> Result<DFSchema> {
    let extend = |plan: &PhysicalPlan, schema: &DFSchema| -> Result<DFSchema> {
        let extra = &plan.schema.fields()[schema.fields().len()..];
        if extra.is_empty() {
            return Ok(schema.clone());
        }
        let keys = DFSchema::try_from(Schema::new(extra.to_vec()))?;
        Ok(schema.join(&keys)?)
    };
    Ok(extend(left, left_schema)?.join(&extend(right, right_schema)?)?)
}

/// An upper bound of a plan's output size in bytes (its input files), when known.
fn estimated_bytes(plan: &LogicalPlan) -> Option<u64> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let table = scan.source.as_any().downcast_ref::<ListingTable>()?;
            Some(table.dataset().files().iter().map(|f| f.size).sum())
        }
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => Some(0),
        LogicalPlan::Join(_) => None,
        other => other
            .inputs()
            .iter()
            .map(|input| estimated_bytes(input))
            .sum(),
    }
}
