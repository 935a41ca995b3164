//! From an optimized logical plan to a physical plan: operators are chosen, and an `Exchange`
//! is inserted only where an operator's required distribution is not met by its input.
//!
//! - Aggregations run single-phase over input already clustered on a subset of the group keys
//!   (a hash exchange on those keys, or a scan placing whole hive folders of a group key per
//!   partition); otherwise partial, exchange on the group keys, final.
//! - Joins broadcast a side below the configured size; otherwise both sides are hash
//!   partitioned on the join keys, and a side already partitioned that way is not shuffled.
//! - Sorts range-partition then sort locally; `ORDER BY .. LIMIT` is a per-partition top-k, then
//!   a top-k of those.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_empty_array};
use arrow::compute::{cast, concat};
use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion_common::{DFSchema, DFSchemaRef, JoinType};
use rsql_io::ScanOptions;
use rsql_plan::plan::{Aggregate, Join, TableScan};
use rsql_plan::{Expr, FunctionRegistry, LogicalPlan, SortExpr};
use rsql_rdd::Context;

use super::pruning::pruning_predicate;
use super::{BoundExpr, Distribution, Partitioning, PhysicalNode, PhysicalPlan, ProjectionSource};
use crate::aggregate::{AggregateFunctions, AggregateUdf};
use crate::error::{ExecError, Result, exec_err};
use crate::expr::{PhysicalExpr, ScalarFunctions, create_physical_expr, evaluate_to_array};
use crate::listing_table::ListingTable;
use crate::memory_table::MemoryTable;
use crate::operators::{AggregateCall, AggregateMode, HashAggregate, HashJoin, JoinKind, SortKey};

/// What planning needs: the runtime, every registered function and the planner's settings.
pub struct PlannerContext<'a> {
    /// The RDD runtime jobs run on.
    pub context: &'a Context,
    /// Function signatures, for expression types.
    pub registry: &'a FunctionRegistry,
    /// Scalar function implementations by name.
    pub scalar_functions: &'a ScalarFunctions,
    /// Aggregate function implementations by name (`count_distinct` for `count(DISTINCT ..)`).
    pub aggregate_functions: &'a AggregateFunctions,
    /// Partitions after an exchange.
    pub shuffle_partitions: usize,
    /// A join side whose files are at most this many bytes is broadcast.
    pub broadcast_threshold: u64,
    /// The most compressed bytes one scan partition reads (Spark's `maxPartitionBytes`).
    pub max_partition_bytes: u64,
}

/// Plans `plan` (optimized, without `EXPLAIN`) into physical operators.
pub fn create_physical_plan(
    plan: &LogicalPlan,
    cx: &PlannerContext<'_>,
) -> Result<Arc<PhysicalPlan>> {
    Planner { cx }.plan(plan, &[])
}

struct Planner<'a, 'c> {
    cx: &'a PlannerContext<'c>,
}

type PlanRef = Arc<PhysicalPlan>;

impl Planner<'_, '_> {
    /// Plans `plan`; `cluster_hint` names columns whose equal values the parent would like in
    /// one partition (a scan of hive folders on such a column can then place folders whole).
    fn plan(&self, plan: &LogicalPlan, cluster_hint: &[String]) -> Result<PlanRef> {
        match plan {
            LogicalPlan::TableScan(scan) => self.scan(scan, cluster_hint),
            LogicalPlan::Filter(filter) => {
                let input = self.plan(&filter.input, cluster_hint)?;
                let source = BoundExpr {
                    expr: filter.predicate.clone(),
                    schema: Arc::clone(filter.input.schema()),
                };
                Ok(Arc::new(PhysicalPlan::new(
                    PhysicalNode::Filter {
                        predicate: source.compile(self.cx.registry, self.cx.scalar_functions)?,
                        source,
                        input: Arc::clone(&input),
                    },
                    Arc::clone(&input.schema),
                    input.partitioning.clone(),
                )))
            }
            LogicalPlan::Projection(projection) => {
                let hint = hint_through(&projection.exprs, cluster_hint);
                let input = self.plan(&projection.input, &hint)?;
                self.project(input, &projection.exprs, projection.input.schema(), None)
            }
            LogicalPlan::SubqueryAlias(alias) => self.plan(&alias.input, cluster_hint),
            LogicalPlan::Aggregate(aggregate) => self.aggregate(aggregate),
            LogicalPlan::Distinct(distinct) => {
                let schema = distinct.input.schema();
                let group_exprs = schema.columns().into_iter().map(Expr::Column).collect();
                let aggregate = Aggregate::try_new(
                    Arc::clone(&distinct.input),
                    group_exprs,
                    Vec::new(),
                    self.cx.registry,
                )?;
                self.aggregate(&aggregate)
            }
            LogicalPlan::Sort(sort) => {
                let input = self.plan(&sort.input, &[])?;
                self.sort(input, &sort.exprs, sort.input.schema(), sort.fetch)
            }
            LogicalPlan::Limit(limit) => self.limit(limit),
            LogicalPlan::Join(join) => self.join(join),
            LogicalPlan::ReplicateRows(replicate) => {
                let input = self.plan(&replicate.input, &[])?;
                Ok(super::replicate::replicate_node(input, &replicate.schema))
            }
            LogicalPlan::Union(union) => {
                let schema = Arc::new(union.schema.as_arrow().clone());
                let inputs = union
                    .inputs
                    .iter()
                    .map(|input| self.plan(input, &[]))
                    .collect::<Result<Vec<_>>>()?;
                let partitions = inputs.iter().map(|i| i.partitioning.partition_count());
                let partitioning = Partitioning::Unknown(partitions.sum::<usize>().max(1));
                Ok(Arc::new(PhysicalPlan::new(
                    PhysicalNode::Union { inputs },
                    schema,
                    partitioning,
                )))
            }
            LogicalPlan::EmptyRelation(empty) => {
                let schema = Arc::new(empty.schema.as_arrow().clone());
                let rows = usize::from(empty.produce_one_row);
                let columns = schema
                    .fields()
                    .iter()
                    .map(|f| new_empty_array(f.data_type()))
                    .collect();
                let batch = RecordBatch::try_new_with_options(
                    Arc::clone(&schema),
                    columns,
                    &RecordBatchOptions::new().with_row_count(Some(rows)),
                )?;
                Ok(values_node(batch))
            }
            LogicalPlan::Values(values) => self.values(&values.values, &values.schema),
            LogicalPlan::Explain(_) => {
                exec_err("EXPLAIN is answered by the session, not executed as a plan")
            }
        }
    }

    fn compile(&self, expr: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>> {
        create_physical_expr(expr, schema, self.cx.registry, self.cx.scalar_functions)
    }

    fn scan(&self, scan: &TableScan, cluster_hint: &[String]) -> Result<PlanRef> {
        if let Some(table) = scan.source.as_any().downcast_ref::<MemoryTable>() {
            return memory_scan(scan, table);
        }
        let Some(table) = scan.source.as_any().downcast_ref::<ListingTable>() else {
            return exec_err(format!("table {} has no known source", scan.table_name));
        };
        let dataset = table.dataset();
        let predicate = pruning_predicate(&scan.filters, dataset.schema());
        let pruning = predicate.as_ref().map(ToString::to_string);
        let partition_columns = dataset.partition_columns();
        let cluster_by: Vec<String> = partition_columns
            .iter()
            .filter(|c| cluster_hint.contains(c))
            .cloned()
            .collect();
        let parallelism = self.cx.context.default_parallelism();
        let open = |cluster_by: Vec<String>| {
            dataset
                .scan(ScanOptions {
                    projection: scan.projection.clone(),
                    predicate: predicate.clone(),
                    parallelism,
                    cluster_by,
                    target_split_bytes: self.cx.max_partition_bytes,
                    ..ScanOptions::default()
                })
                .map_err(|e| ExecError::Execution(e.to_string()))
        };
        let schema = Arc::new(scan.projected_schema.as_arrow().clone());
        if !cluster_by.is_empty() {
            let clustered = open(cluster_by.clone())?;
            let groups = unit_groups(&clustered, &cluster_by);
            // Placing folders whole pays only while there are enough of them to keep every
            // thread busy; with fewer, a shuffle of partial aggregates is cheaper.
            if groups.len() >= parallelism {
                let columns = cluster_by
                    .iter()
                    .map(|c| schema.index_of(c))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .ok();
                if let Some(columns) = columns {
                    let partitioning = Partitioning::KeyGrouped(columns, groups.len());
                    return Ok(scan_node(
                        scan,
                        clustered,
                        groups,
                        pruning,
                        schema,
                        partitioning,
                    ));
                }
            }
        }
        let plain = open(Vec::new())?;
        let units = plain.units().len();
        let partitions: Vec<Vec<usize>> = (0..units).map(|unit| vec![unit]).collect();
        let partitions = if partitions.is_empty() {
            vec![Vec::new()]
        } else {
            partitions
        };
        let partitioning = Partitioning::Unknown(partitions.len());
        Ok(scan_node(
            scan,
            plain,
            partitions,
            pruning,
            schema,
            partitioning,
        ))
    }

    /// A projection of `exprs` over `input`; `names` overrides the output names.
    fn project(
        &self,
        input: PlanRef,
        exprs: &[Expr],
        input_schema: &DFSchemaRef,
        names: Option<&[String]>,
    ) -> Result<PlanRef> {
        let source = ProjectionSource::Exprs {
            exprs: exprs.to_vec(),
            schema: Arc::clone(input_schema),
        };
        let compiled = source.compile(&input.schema, self.cx.registry, self.cx.scalar_functions)?;
        let fields: Vec<Field> = exprs
            .iter()
            .zip(&compiled)
            .enumerate()
            .map(|(i, (expr, physical))| {
                let name = match names {
                    Some(names) => names[i].clone(),
                    None => expr.output_name(),
                };
                Field::new(name, physical.data_type().clone(), true)
            })
            .collect();
        // A bare column keeps the input's placement on it.
        let source_column: Vec<Option<usize>> = exprs
            .iter()
            .map(|e| match e.unaliased() {
                Expr::Column(c) => input_schema.index_of_column(c).ok(),
                _ => None,
            })
            .collect();
        let partitioning = input
            .partitioning
            .remap(|old| source_column.iter().position(|&c| c == Some(old)));
        Ok(Arc::new(PhysicalPlan::new(
            PhysicalNode::Projection {
                input,
                exprs: compiled,
                source,
            },
            Arc::new(Schema::new(fields)),
            partitioning,
        )))
    }

    fn aggregate(&self, aggregate: &Aggregate) -> Result<PlanRef> {
        let input_schema = aggregate.input.schema();
        let hint: Vec<String> = aggregate
            .group_exprs
            .iter()
            .filter_map(|e| match e.unaliased() {
                Expr::Column(c) => Some(c.name.clone()),
                _ => None,
            })
            .collect();
        let input = self.plan(&aggregate.input, &hint)?;
        let group_count = aggregate.group_exprs.len();
        let output_names: Vec<String> = aggregate
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        // One pre-projection computes the group keys, then every aggregate's arguments.
        let mut pre_exprs: Vec<Expr> = aggregate.group_exprs.clone();
        let mut pre_names: Vec<String> = output_names[..group_count].to_vec();
        let mut calls: Vec<(Arc<dyn AggregateUdf>, Vec<usize>)> = Vec::new();
        for expr in &aggregate.aggr_exprs {
            let Expr::AggregateFunction {
                name,
                args,
                distinct,
            } = expr.unaliased()
            else {
                return exec_err(format!("{expr} is not an aggregate call"));
            };
            let registered = match (name.as_str(), distinct) {
                ("count", true) => "count_distinct".to_string(),
                (name, false) => name.to_string(),
                (name, true) => {
                    return exec_err(format!("not supported yet: {name}(DISTINCT ..)"));
                }
            };
            let Some(function) = self.cx.aggregate_functions.get(&registered) else {
                return exec_err(format!("no implementation of aggregate function '{name}'"));
            };
            let columns = (pre_exprs.len()..pre_exprs.len() + args.len()).collect();
            for arg in args {
                pre_names.push(format!("__arg{}", pre_exprs.len()));
                pre_exprs.push(arg.clone());
            }
            calls.push((Arc::clone(function), columns));
        }
        let pre = self.project(input, &pre_exprs, input_schema, Some(&pre_names))?;
        let calls: Vec<AggregateCall> = calls
            .into_iter()
            .enumerate()
            .map(|(i, (function, columns))| AggregateCall {
                function,
                argument_types: columns
                    .iter()
                    .map(|&c| pre.schema.field(c).data_type().clone())
                    .collect(),
                input_columns: columns,
                name: output_names[group_count + i].clone(),
            })
            .collect();
        let group_columns: Vec<usize> = (0..group_count).collect();
        let required = if group_count == 0 {
            Distribution::Single
        } else {
            Distribution::Clustered(group_columns.clone())
        };
        if pre.partitioning.satisfies(&required) {
            let single =
                HashAggregate::try_new(&pre.schema, AggregateMode::Single, group_columns, calls)?;
            // Group keys sit at the front, where the pre-projection put them.
            let partitioning = pre.partitioning.clone();
            return Ok(aggregate_node(pre, single, partitioning));
        }
        let partial = HashAggregate::try_new(
            &pre.schema,
            AggregateMode::Partial,
            group_columns.clone(),
            calls.clone(),
        )?;
        let final_aggregate = partial.merging()?;
        let partial_partitioning = Partitioning::Unknown(pre.partitioning.partition_count());
        let partial = aggregate_node(pre, partial, partial_partitioning);
        let target = if group_count == 0 {
            Partitioning::SINGLE
        } else {
            Partitioning::Hash(group_columns, self.cx.shuffle_partitions)
        };
        let exchanged = exchange(partial, target);
        let partitioning = exchanged.partitioning.clone();
        Ok(aggregate_node(exchanged, final_aggregate, partitioning))
    }

    fn sort(
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

    /// `input` with a column per expression: a bare column is used in place, others are
    /// computed into columns appended after the input's `width` columns (which the caller
    /// trims afterwards with [`trim`]).
    fn with_key_columns(
        &self,
        input: PlanRef,
        exprs: &[Expr],
        schema: &DFSchemaRef,
    ) -> Result<(PlanRef, Vec<usize>, usize)> {
        let width = input.schema.fields().len();
        let mut extra: Vec<Expr> = Vec::new();
        let columns = exprs
            .iter()
            .map(|e| match e.unaliased() {
                Expr::Column(c) => Ok(schema.index_of_column(c)?),
                _ => {
                    extra.push(e.clone());
                    Ok(width + extra.len() - 1)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        if extra.is_empty() {
            return Ok((input, columns, width));
        }
        let mut all: Vec<Expr> = schema.columns().into_iter().map(Expr::Column).collect();
        all.extend(extra);
        let names: Vec<String> = (0..all.len())
            .map(|i| match input.schema.fields().get(i) {
                Some(field) => field.name().clone(),
                None => format!("__key{i}"),
            })
            .collect();
        Ok((
            self.project(input, &all, schema, Some(&names))?,
            columns,
            width,
        ))
    }

    fn limit(&self, limit: &rsql_plan::plan::Limit) -> Result<PlanRef> {
        let total = limit.fetch.map(|fetch| fetch.saturating_add(limit.skip));
        // `ORDER BY .. LIMIT n` is a top-k.
        let input = match (limit.input.as_ref(), total) {
            (LogicalPlan::Sort(sort), Some(total)) => {
                let fetch = sort.fetch.map_or(total, |f| f.min(total));
                let input = self.plan(&sort.input, &[])?;
                self.sort(input, &sort.exprs, sort.input.schema(), Some(fetch))?
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

    fn values(&self, rows: &[Vec<Expr>], schema: &DFSchema) -> Result<PlanRef> {
        let arrow_schema: SchemaRef = Arc::new(schema.as_arrow().clone());
        let empty = DFSchema::empty();
        let one_row = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        let columns = arrow_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let cells = rows
                    .iter()
                    .map(|row| {
                        let value =
                            evaluate_to_array(self.compile(&row[i], &empty)?.as_ref(), &one_row)?;
                        Ok(cast(&value, field.data_type())?)
                    })
                    .collect::<Result<Vec<ArrayRef>>>()?;
                let refs: Vec<&dyn arrow::array::Array> =
                    cells.iter().map(|c| c.as_ref()).collect();
                Ok(if refs.is_empty() {
                    new_empty_array(field.data_type())
                } else {
                    concat(&refs)?
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new_with_options(
            arrow_schema,
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )?;
        Ok(values_node(batch))
    }

    fn join(&self, join: &Join) -> Result<PlanRef> {
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

/// Names the column values of each read unit group: consecutive units with equal values of the
/// `cluster_by` columns form one group (the scan sorted them so).
fn unit_groups(scan: &rsql_io::Scan, cluster_by: &[String]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut last: Option<Vec<Option<ArrayRef>>> = None;
    for unit in 0..scan.units().len() {
        let key: Vec<Option<ArrayRef>> = cluster_by
            .iter()
            .map(|c| scan.partition_value(unit, c))
            .collect();
        let same = last.as_ref().is_some_and(|last| {
            last.iter().zip(&key).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => a.as_ref() == b.as_ref(),
                _ => false,
            })
        });
        match groups.last_mut() {
            Some(group) if same => group.push(unit),
            _ => groups.push(vec![unit]),
        }
        last = Some(key);
    }
    groups
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

/// Which input columns a projection's bare-column outputs read: hints on output names become
/// hints on the input names they come from.
fn hint_through(exprs: &[Expr], hint: &[String]) -> Vec<String> {
    exprs
        .iter()
        .filter(|e| hint.contains(&e.output_name()))
        .filter_map(|e| match e.unaliased() {
            Expr::Column(c) => Some(c.name.clone()),
            _ => None,
        })
        .collect()
}

fn scan_node(
    scan: &TableScan,
    planned: rsql_io::Scan,
    partitions: Vec<Vec<usize>>,
    pruning: Option<String>,
    schema: SchemaRef,
    partitioning: Partitioning,
) -> PlanRef {
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Scan {
            table: scan.table_name.to_string(),
            scan: Arc::new(planned),
            partitions,
            pruning,
        },
        schema,
        partitioning,
    ))
}

fn values_node(batch: RecordBatch) -> PlanRef {
    let schema = batch.schema();
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Values {
            partitions: Arc::new(vec![vec![batch]]),
        },
        schema,
        Partitioning::SINGLE,
    ))
}

/// A scan of batches in memory, projected now (the batches are shared, not copied).
fn memory_scan(scan: &TableScan, table: &MemoryTable) -> Result<PlanRef> {
    let schema: SchemaRef = Arc::new(scan.projected_schema.as_arrow().clone());
    let partitions = match &scan.projection {
        None => Arc::clone(table.partitions()),
        Some(indices) => Arc::new(
            table
                .partitions()
                .iter()
                .map(|batches| {
                    batches
                        .iter()
                        .map(|b| {
                            let columns =
                                indices.iter().map(|&i| Arc::clone(b.column(i))).collect();
                            RecordBatch::try_new_with_options(
                                Arc::clone(&schema),
                                columns,
                                &RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
                            )
                        })
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
    };
    let count = partitions.len().max(1);
    Ok(Arc::new(PhysicalPlan::new(
        PhysicalNode::Values { partitions },
        schema,
        Partitioning::Unknown(count),
    )))
}

fn aggregate_node(input: PlanRef, aggregate: HashAggregate, partitioning: Partitioning) -> PlanRef {
    let schema = Arc::clone(aggregate.output_schema());
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Aggregate {
            input,
            aggregate: Arc::new(aggregate),
        },
        schema,
        partitioning,
    ))
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

/// An exchange of `input` to `target`.
fn exchange(input: PlanRef, target: Partitioning) -> PlanRef {
    let schema = Arc::clone(&input.schema);
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Exchange { input },
        schema,
        target,
    ))
}

/// `input` in one partition: as is when it already is, else through an exchange.
fn gather(input: PlanRef, target: Partitioning) -> PlanRef {
    if input.partitioning.partition_count() == 1 {
        input
    } else {
        exchange(input, target)
    }
}

/// Only the first `width` columns of `input` (drops computed key columns).
fn trim(input: PlanRef, width: usize) -> PlanRef {
    if input.schema.fields().len() == width {
        return input;
    }
    select_columns(input, &(0..width).collect::<Vec<_>>())
}

/// The columns `keep` of `input`, in that order.
fn select_columns(input: PlanRef, keep: &[usize]) -> PlanRef {
    let fields: Vec<Field> = keep
        .iter()
        .map(|&c| input.schema.field(c).clone())
        .collect();
    let exprs: Vec<Arc<dyn PhysicalExpr>> = keep
        .iter()
        .map(|&c| crate::expr::column(c, input.schema.field(c).data_type().clone()))
        .collect();
    let partitioning = input
        .partitioning
        .remap(|old| keep.iter().position(|&c| c == old));
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Projection {
            input,
            exprs,
            source: ProjectionSource::Columns(keep.to_vec()),
        },
        Arc::new(Schema::new(fields)),
        partitioning,
    ))
}
