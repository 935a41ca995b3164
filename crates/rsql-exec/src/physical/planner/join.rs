//! Joins: the right side is built into the hash table. The planner chooses the strategy once
//! and records it in the `HashJoin` node, which lowering follows: a broadcast join requires its
//! build side in one partition; a partitioned join requires both sides hash partitioned on
//! corresponding keys with equal partition counts, which enforcement provides without
//! reshuffling a side already placed so.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion_common::{DFSchema, JoinType};
use rsql_plan::plan::Join;
use rsql_plan::plan::estimated_row_bytes;
use rsql_plan::{Expr, LogicalPlan};

use super::{PlanRef, Planner, estimated_rows, select_columns};
use crate::error::{Result, exec_err};
use crate::listing_table::ListingTable;
use crate::operators::{HashJoin, JoinKind};
use crate::physical::{BoundExpr, PhysicalNode, PhysicalPlan};

impl Planner<'_, '_> {
    pub(super) fn join(&self, join: &Join) -> Result<PlanRef> {
        // The right side is built into the hash table: build the smaller one, by the bytes
        // its rows take. A left join swaps to a right join, which builds its left side and is
        // partitioned (a right join never broadcasts: its unmatched build rows are emitted
        // once), even when its larger right side could be broadcast: a broadcast would hold
        // that side whole in one hash table.
        if !join.on.is_empty() && estimated_row_bytes(&join.left) < estimated_row_bytes(&join.right)
        {
            let swapped = match join.join_type {
                JoinType::Inner => Some(JoinType::Inner),
                JoinType::Left => Some(JoinType::Right),
                _ => None,
            };
            if let Some(swapped) = swapped {
                return self.swapped_join(join, swapped);
            }
        }
        let kind = match join.join_type {
            JoinType::Inner => JoinKind::Inner,
            JoinType::Left => JoinKind::Left,
            JoinType::Right => JoinKind::Right,
            JoinType::Full => JoinKind::Full,
            JoinType::LeftSemi => JoinKind::Semi,
            JoinType::LeftAnti if join.null_aware => JoinKind::NullAwareAnti,
            JoinType::LeftAnti => JoinKind::Anti,
            JoinType::LeftMark if join.null_aware => JoinKind::NullAwareMark,
            JoinType::LeftMark => JoinKind::Mark,
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
        let broadcast = self.broadcasts(join, kind, left_keys.is_empty());
        // A semi or anti join whose left side takes fewer bytes builds it instead: its right
        // side probes, and the left rows matched (or not) are emitted once every probe is done.
        // Bytes, not rows: a left build holds every column it emits, a right build only what
        // its keys need.
        let build_left = matches!(kind, JoinKind::Semi | JoinKind::Anti)
            && !broadcast
            && !left_keys.is_empty()
            && estimated_row_bytes(&join.left) < estimated_row_bytes(&join.right);
        let (probe, build, probe_keys, build_keys, kind, probe_width) = if build_left {
            let kind = if kind == JoinKind::Semi {
                JoinKind::RightSemi
            } else {
                JoinKind::RightAnti
            };
            (right, left, right_keys, left_keys, kind, right_width)
        } else {
            (left, right, left_keys, right_keys, kind, left_width)
        };
        let filter_schema = Arc::new(if build_left {
            joined_df_schema(&probe, right_schema, &build, left_schema)?
        } else {
            joined_df_schema(&probe, left_schema, &build, right_schema)?
        });
        let filter_source = join.filter.as_ref().map(|filter| BoundExpr {
            expr: filter.clone(),
            schema: Arc::clone(&filter_schema),
            time_zone: self.cx.time_zone.clone(),
            mode: self.cx.mode,
        });
        let filter = filter_source
            .as_ref()
            .map(|source| source.compile(self.cx.registry, self.cx.scalar_functions))
            .transpose()?;
        let hash_join = HashJoin::try_new(
            Arc::clone(&probe.schema),
            Arc::clone(&build.schema),
            probe_keys,
            build_keys,
            kind,
            filter,
        )?;
        let probe_columns = probe.schema.fields().len();
        let schema = Arc::clone(hash_join.output_schema());
        let node = PhysicalNode::HashJoin {
            left: probe,
            right: build,
            join: Arc::new(hash_join),
            broadcast,
            runtime_filter: false,
            filter: filter_source,
        };
        let rows = estimated_rows(&LogicalPlan::Join(join.clone()));
        let joined = Arc::new(PhysicalPlan::derived(node, schema)?.with_estimated_rows(rows));
        // Drop the key columns computed for the join, keeping the sides' own columns: both for
        // pairs; for a mark join the left columns and the mark; for semi and anti joins the
        // columns of the side they keep.
        let keep: Vec<usize> = if kind.emits_pairs() {
            (0..probe_width)
                .chain(probe_columns..probe_columns + right_width)
                .collect()
        } else if kind.emits_mark() {
            (0..probe_width).chain([probe_columns]).collect()
        } else {
            (0..left_width).collect()
        };
        if keep.len() == joined.schema.fields().len() {
            return Ok(joined);
        }
        select_columns(joined, &keep)
    }

    /// The join strategy, decided once here: whether the build (right) side is collected
    /// whole and shared by every probe partition, or both sides are hash partitioned on the
    /// keys. A small build side is broadcast, as is the build side of a keyless join that
    /// keeps no unmatched build rows; a null-aware anti or mark join must see the whole build
    /// side in every partition; a right or full join must see each build row in one partition only.
    fn broadcasts(&self, join: &Join, kind: JoinKind, keyless: bool) -> bool {
        match kind {
            JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti | JoinKind::Mark => {
                keyless || self.small_enough_to_broadcast(&join.right)
            }
            JoinKind::NullAwareAnti | JoinKind::NullAwareMark => true,
            JoinKind::Right | JoinKind::Full | JoinKind::RightSemi | JoinKind::RightAnti => false,
        }
    }

    /// Whether `side` is known to hold at most the broadcast threshold: the lesser of its input
    /// files' size and its estimated rows' ([`estimated_row_bytes`]).
    fn small_enough_to_broadcast(&self, side: &LogicalPlan) -> bool {
        estimated_bytes(side).is_some_and(|bytes| {
            bytes.min(estimated_row_bytes(side) as u64) <= self.cx.broadcast_threshold
        })
    }

    /// An inner join, or a left join as a right join, planned with its sides swapped, its
    /// columns put back in order.
    fn swapped_join(&self, join: &Join, join_type: JoinType) -> Result<PlanRef> {
        let swapped = Join::try_new(
            Arc::clone(&join.right),
            Arc::clone(&join.left),
            join.on
                .iter()
                .map(|(l, r)| (r.clone(), l.clone()))
                .collect(),
            join.filter.clone(),
            join_type,
        )?;
        let planned = self.join(&swapped)?;
        let left_width = join.left.schema().fields().len();
        let right_width = join.right.schema().fields().len();
        let keep: Vec<usize> = (right_width..right_width + left_width)
            .chain(0..right_width)
            .collect();
        select_columns(planned, &keep)
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
}

/// The logical schema of a join's output over physical sides that may carry extra key columns,
/// for compiling the join filter.
fn joined_df_schema(
    left: &PhysicalPlan,
    left_schema: &DFSchema,
    right: &PhysicalPlan,
    right_schema: &DFSchema,
) -> Result<DFSchema> {
    // The computed key columns are named after their side, so both sides' keys can coexist.
    let extend = |plan: &PhysicalPlan, schema: &DFSchema, side: &str| -> Result<DFSchema> {
        let extra: Vec<Field> = plan.schema.fields()[schema.fields().len()..]
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_name(format!("__{side}{}", f.name()))
            })
            .collect();
        if extra.is_empty() {
            return Ok(schema.clone());
        }
        let keys = DFSchema::try_from(Schema::new(extra))?;
        Ok(schema.join(&keys)?)
    };
    let left = extend(left, left_schema, "left")?;
    Ok(left.join(&extend(right, right_schema, "right")?)?)
}

/// An upper bound of a plan's output size in bytes (its input files), when known.
fn estimated_bytes(plan: &LogicalPlan) -> Option<u64> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let table = scan.source.as_any().downcast_ref::<ListingTable>()?;
            Some(table.dataset().files().iter().map(|f| f.size).sum())
        }
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => Some(0),
        // A join no larger than its larger input (a foreign key join, such as a dimension with
        // its filtered neighbour) holds at most what both inputs do.
        LogicalPlan::Join(join) => {
            let largest = join.left.estimated_rows().max(join.right.estimated_rows());
            if plan.estimated_rows() <= largest {
                Some(estimated_bytes(&join.left)? + estimated_bytes(&join.right)?)
            } else {
                None
            }
        }
        other => other
            .inputs()
            .iter()
            .map(|input| estimated_bytes(input))
            .sum(),
    }
}
