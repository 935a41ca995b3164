//! Lowering a physical plan into `Rdd<RecordBatch>` lineage: narrow operators become
//! per-partition transformations pipelined in one task, an exchange becomes a shuffle.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arrow::array::{ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::SchemaRef;
use rsql_plan::plan::IntegerRange;
use rsql_rdd::{BoxIter, Context, MemoryPool, MemoryReservation, Rdd, RddError};

use super::{Partitioning, PhysicalNode, PhysicalPlan};
use crate::error::{ExecError, Result, exec_err};
use crate::expr::evaluate_to_array;
use crate::lower::{aggregate_partitions, fail_task, into_rdd_error, map_batches, until_error};
use crate::operators::{
    GroupLimit, HashJoin, HeldBuild, JoinTable, JoinedBatches, KeyFilter, RangeBatches,
    RangeBounds, SortKey, SortedBatches, TARGET_BATCH_ROWS, WindowExec, WindowStream,
    coalesce_batches, hash_split, probe_then_unmatched, range_partition, replicate_rows,
    sample_keys, sort_batches, sort_bounded,
};
use crate::shuffle_spill::{shuffle_batches, shuffle_batches_prepared};

/// The batches of one read unit, as its reader yields them.
type BatchResults = Box<dyn Iterator<Item = rsql_io::Result<RecordBatch>>>;

/// Sort-key rows sampled per partition to choose range bounds.
const SAMPLE_ROWS_PER_PARTITION: usize = 256;

/// The shuffles lowered so far for one plan, by the serialized spec of their exchange.
type LoweredExchanges = RefCell<HashMap<String, Rdd<RecordBatch>>>;

impl PhysicalPlan {
    /// The lineage computing this plan's batches, one RDD partition per plan partition. Each
    /// operator's last RDD is named after it, so lineage dumps and stage names show operators.
    ///
    /// Exchanges of equal subplans (a common table expression read twice, as in TPC-H Q15)
    /// become one shuffle, as Spark's `ReuseExchange` makes them: its map stage runs once and
    /// every reader fetches its outputs.
    pub fn lower(&self, context: &Context) -> Result<Rdd<RecordBatch>> {
        self.lower_reusing(context, &LoweredExchanges::default())
    }

    fn lower_reusing(
        &self,
        context: &Context,
        exchanges: &LoweredExchanges,
    ) -> Result<Rdd<RecordBatch>> {
        let PhysicalNode::Exchange { .. } = &self.node else {
            return self.lower_node(context, exchanges);
        };
        let Ok(key) = serde_json::to_string(&self.to_spec()) else {
            return self.lower_node(context, exchanges);
        };
        if let Some(rdd) = exchanges.borrow().get(&key) {
            return Ok(rdd.clone());
        }
        let rdd = self.lower_node(context, exchanges)?;
        exchanges.borrow_mut().insert(key, rdd.clone());
        Ok(rdd)
    }

    fn lower_node(
        &self,
        context: &Context,
        exchanges: &LoweredExchanges,
    ) -> Result<Rdd<RecordBatch>> {
        let rdd = match &self.node {
            PhysicalNode::Scan {
                scan, partitions, ..
            } => scan_rdd(context, Arc::clone(scan), partitions.clone()),
            PhysicalNode::Range { range, partitions } => {
                range_rdd(context, *range, *partitions, &self.schema)
            }
            PhysicalNode::Values { partitions } => {
                let partitions = Arc::clone(partitions);
                let count = partitions.len().max(1);
                context
                    .parallelize((0..partitions.len()).collect(), count)
                    .flat_map(move |p| partitions[p].clone())
            }
            PhysicalNode::Filter {
                input, predicate, ..
            } => {
                let predicate = Arc::clone(predicate);
                map_batches(&input.lower_reusing(context, exchanges)?, move |batch| {
                    let mask = evaluate_to_array(predicate.as_ref(), &batch)?;
                    let Some(mask) = mask.as_boolean_opt() else {
                        return exec_err("a filter predicate must be boolean");
                    };
                    let kept = filter_record_batch(&batch, mask)?;
                    Ok((kept.num_rows() > 0).then_some(kept))
                })
            }
            PhysicalNode::Projection { input, exprs, .. } => {
                let exprs = exprs.clone();
                let schema = Arc::clone(&self.schema);
                map_batches(&input.lower_reusing(context, exchanges)?, move |batch| {
                    let columns = exprs
                        .iter()
                        .map(|e| evaluate_to_array(e.as_ref(), &batch))
                        .collect::<Result<Vec<ArrayRef>>>()?;
                    Ok(Some(with_schema(&schema, columns, batch.num_rows())?))
                })
            }
            PhysicalNode::Aggregate { input, aggregate } => aggregate_partitions(
                &input.lower_reusing(context, exchanges)?,
                Arc::clone(aggregate),
                Arc::clone(context.memory_pool()),
            ),
            PhysicalNode::HashJoin {
                left,
                right,
                join,
                broadcast,
                ..
            } => {
                let build = right.lower_reusing(context, exchanges)?;
                let (probe, build) = match self.runtime_filtered_probe() {
                    Some(input) => {
                        // A build side computed in the join's stage is computed once, by the
                        // filter's job, and handed over.
                        let held = (!matches!(right.node, PhysicalNode::Exchange { .. }))
                            .then(|| Arc::new(HeldBuild::default()));
                        // A runtime-filtered probe exchange is the join's own: never shared.
                        let probe = key_filtered_exchange_rdd(
                            context,
                            &input.lower_reusing(context, exchanges)?,
                            left,
                            join,
                            &build,
                            held.clone(),
                        )?;
                        let build = match held {
                            Some(held) => {
                                build.with_handed_over(move |partition| held.take(partition))
                            }
                            None => build,
                        };
                        (probe, build)
                    }
                    None => (left.lower_reusing(context, exchanges)?, build),
                };
                join_rdd(&probe, &build, join, *broadcast, context.memory_pool())?
            }
            PhysicalNode::Sort {
                input, keys, fetch, ..
            } => {
                let (keys, fetch) = (keys.clone(), *fetch);
                let schema = Arc::clone(&self.schema);
                let pool = Arc::clone(context.memory_pool());
                input
                    .lower_reusing(context, exchanges)?
                    .map_partitions_with_context(move |batches, tc| {
                        // A top-k holds O(k) rows; a full sort spills sorted runs past the pool.
                        let sorted = match fetch {
                            Some(_) => sort_batches(&schema, batches, &keys, fetch)
                                .map(|top| Box::new(top.into_iter().map(Ok)) as SortedBatches),
                            None => sort_bounded(&schema, batches, &keys, &pool),
                        };
                        until_error(sorted, tc)
                    })
            }
            PhysicalNode::Window { input, window } => window_rdd(
                &input.lower_reusing(context, exchanges)?,
                window,
                &input.schema,
                context.memory_pool(),
            ),
            PhysicalNode::WindowGroupLimit { input, limit, .. } => group_limit_rdd(
                &input.lower_reusing(context, exchanges)?,
                limit,
                &input.schema,
                context.memory_pool(),
            ),
            PhysicalNode::Limit {
                input, skip, fetch, ..
            } => limit_rdd(&input.lower_reusing(context, exchanges)?, *skip, *fetch),
            PhysicalNode::Expand { input, sets } => {
                let (sets, schema) = (Arc::clone(sets), Arc::clone(&self.schema));
                input
                    .lower_reusing(context, exchanges)?
                    .map_partitions_with_context(move |batches, tc| {
                        let (sets, schema) = (Arc::clone(&sets), Arc::clone(&schema));
                        Box::new(
                            batches
                                .map_while(move |batch| match sets.expand(&batch, &schema) {
                                    Ok(out) => Some(out),
                                    Err(error) => {
                                        fail_task(tc, error);
                                        None
                                    }
                                })
                                .flatten(),
                        )
                    })
            }
            PhysicalNode::ReplicateRows { input } => {
                let schema = Arc::clone(&self.schema);
                input
                    .lower_reusing(context, exchanges)?
                    .map_partitions_with_context(move |batches, tc| {
                        let schema = Arc::clone(&schema);
                        Box::new(
                            batches
                                .map_while(move |batch| match replicate_rows(&batch, &schema) {
                                    Ok(out) => Some(out),
                                    Err(error) => {
                                        fail_task(tc, error);
                                        None
                                    }
                                })
                                .flatten(),
                        )
                    })
            }
            PhysicalNode::Generate { input, generator } => {
                let (generator, schema) = (*generator, Arc::clone(&self.schema));
                input
                    .lower_reusing(context, exchanges)?
                    .map_partitions_with_context(move |batches, tc| {
                        let schema = Arc::clone(&schema);
                        Box::new(
                            batches
                                .map_while(move |batch| match generator.generate(&batch, &schema) {
                                    Ok(out) => Some(out),
                                    Err(error) => {
                                        fail_task(tc, error);
                                        None
                                    }
                                })
                                .flatten(),
                        )
                    })
            }
            PhysicalNode::Union { inputs } => {
                let schema = Arc::clone(&self.schema);
                let mut lowered = inputs.iter().map(|input| {
                    let schema = Arc::clone(&schema);
                    // Inputs may differ in nullability or dictionary encoding: adopt the
                    // union's schema.
                    Ok(map_batches(
                        &input.lower_reusing(context, exchanges)?,
                        move |batch| {
                            let columns = batch
                                .columns()
                                .iter()
                                .zip(schema.fields())
                                .map(|(column, field)| {
                                    if column.data_type() == field.data_type() {
                                        Ok(Arc::clone(column))
                                    } else {
                                        Ok(cast(column, field.data_type())?)
                                    }
                                })
                                .collect::<Result<Vec<_>>>()?;
                            Ok(Some(with_schema(&schema, columns, batch.num_rows())?))
                        },
                    ))
                });
                let first: Result<Rdd<RecordBatch>> = lowered
                    .next()
                    .unwrap_or_else(|| Ok(context.parallelize(Vec::new(), 1)));
                lowered.try_fold(first?, |all, next| Ok::<_, ExecError>(all.union(&next?)))?
            }
            PhysicalNode::Exchange { input } => {
                let sample = match &self.partitioning {
                    Partitioning::Range(keys, _) => key_columns_of(context, input, keys)?,
                    _ => None,
                };
                exchange_rdd(
                    context,
                    &input.lower_reusing(context, exchanges)?,
                    &self.schema,
                    &self.partitioning,
                    sample,
                )?
            }
        };
        let metrics = Arc::clone(&self.metrics);
        let observed = rdd.map_partitions(move |batches| Box::new(metrics.observe(batches)));
        Ok(observed.set_name(self.describe()))
    }
}

/// `columns` as a batch of `schema` (which may have no columns, hence the row count).
fn with_schema(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// One RDD partition per entry of `partitions`, reading those read units in order; each task
/// reports the rows it decoded and the file bytes its units cover.
fn scan_rdd(
    context: &Context,
    scan: Arc<rsql_io::Scan>,
    partitions: Vec<Vec<usize>>,
) -> Rdd<RecordBatch> {
    let partitions = Arc::new(partitions);
    context.source(partitions.len(), move |partition, tc| {
        let scan = Arc::clone(&scan);
        let units = partitions[partition].clone();
        Box::new(
            units
                .into_iter()
                // Batches stream out of each unit's reader, one at a time.
                .flat_map(move |unit| -> BatchResults {
                    tc.record_read(0, scan.unit_bytes(unit));
                    match scan.read(unit) {
                        Ok(reader) => Box::new(reader),
                        Err(error) => Box::new(std::iter::once(Err(error))),
                    }
                })
                .map_while(move |batch| match batch {
                    Ok(batch) => {
                        tc.record_read(batch.num_rows() as u64, 0);
                        Some(batch)
                    }
                    Err(error) => {
                        tc.fail(RddError::External(Box::new(error)));
                        None
                    }
                }),
        )
    })
}

/// Sorts every partition by the window's keys (spilling past the pool), then evaluates the
/// window over each complete window partition.
fn window_rdd(
    input: &Rdd<RecordBatch>,
    window: &Arc<WindowExec>,
    input_schema: &SchemaRef,
    pool: &Arc<MemoryPool>,
) -> Rdd<RecordBatch> {
    let window = Arc::clone(window);
    let schema = Arc::clone(input_schema);
    let pool = Arc::clone(pool);
    input.map_partitions_with_context(move |batches, tc| {
        let sorted = sort_bounded(&schema, batches, &window.sort_keys(), &pool);
        let windowed = sorted.and_then(|sorted| {
            WindowStream::try_new(Arc::clone(&window), Arc::clone(&schema), sorted, &pool)
        });
        until_error(windowed, tc)
    })
}

/// Keeps, in every partition, the rows of each window partition key that `limit` may pass.
fn group_limit_rdd(
    input: &Rdd<RecordBatch>,
    limit: &Arc<GroupLimit>,
    schema: &SchemaRef,
    pool: &Arc<MemoryPool>,
) -> Rdd<RecordBatch> {
    let limit = Arc::clone(limit);
    let schema = Arc::clone(schema);
    let pool = Arc::clone(pool);
    input.map_partitions_with_context(move |batches, tc| {
        until_error(limit.stream(&schema, batches, &pool), tc)
    })
}

/// The batches of `range`, each of `partitions` partitions generating its share as it is read.
fn range_rdd(
    context: &Context,
    range: IntegerRange,
    partitions: usize,
    schema: &SchemaRef,
) -> Rdd<RecordBatch> {
    let schema = Arc::clone(schema);
    context.source(partitions, move |partition, tc| {
        let share = range_partition(range, partition, partitions);
        let batches = RangeBatches::new(share, Arc::clone(&schema), TARGET_BATCH_ROWS);
        Box::new(batches.map_while(move |batch| match batch {
            Ok(batch) => {
                tc.record_read(batch.num_rows() as u64, 0);
                Some(batch)
            }
            Err(error) => {
                fail_task(tc, error);
                None
            }
        }))
    })
}

/// Skips `skip` rows of each partition, then keeps `fetch`.
fn limit_rdd(input: &Rdd<RecordBatch>, skip: usize, fetch: Option<usize>) -> Rdd<RecordBatch> {
    input.map_partitions(move |mut batches| {
        let mut to_skip = skip;
        let mut left = fetch.unwrap_or(usize::MAX);
        // The input is not read past the batch that completes the limit, so a limit over a
        // huge (or endless) input stops it.
        Box::new(std::iter::from_fn(move || {
            while left > 0 {
                let batch = batches.next()?;
                let skipped = to_skip.min(batch.num_rows());
                to_skip -= skipped;
                let rows = (batch.num_rows() - skipped).min(left);
                left -= rows;
                if rows > 0 {
                    return Some(batch.slice(skipped, rows));
                }
            }
            None
        }))
    })
}

/// A lineage producing just the columns of `input` that `keys` sort by, and the keys
/// renumbered over them, when `input` is a scan or a projection of columns over one: the range
/// bounds are sampled from it instead of from every column. `None` for any other input.
fn key_columns_of(
    context: &Context,
    input: &PhysicalPlan,
    keys: &[SortKey],
) -> Result<Option<(Rdd<RecordBatch>, Vec<SortKey>)>> {
    let (scan_plan, scan_column_of): (&PhysicalPlan, Vec<Option<usize>>) = match &input.node {
        PhysicalNode::Scan { .. } => (input, keys.iter().map(|k| Some(k.column)).collect()),
        PhysicalNode::Projection {
            input: below,
            exprs,
            ..
        } => (
            below.as_ref(),
            keys.iter()
                .map(|k| exprs.get(k.column).and_then(|e| e.column_index()))
                .collect(),
        ),
        _ => return Ok(None),
    };
    let PhysicalNode::Scan {
        scan, partitions, ..
    } = &scan_plan.node
    else {
        return Ok(None);
    };
    let Some(scan_columns) = scan_column_of.into_iter().collect::<Option<Vec<usize>>>() else {
        return Ok(None);
    };
    let mut wanted: Vec<usize> = Vec::new();
    let renumbered = keys
        .iter()
        .zip(scan_columns)
        .map(|(key, column)| {
            let position = wanted.iter().position(|&w| w == column).unwrap_or_else(|| {
                wanted.push(column);
                wanted.len() - 1
            });
            SortKey {
                column: position,
                ..*key
            }
        })
        .collect();
    let narrowed = scan.with_columns(&wanted)?;
    Ok(Some((
        scan_rdd(context, Arc::new(narrowed), partitions.clone()),
        renumbered,
    )))
}

/// A shuffle placing rows as `target` says, its map outputs held within the memory pool. A
/// range partitioning samples its bounds from `sample` (a lineage with the key columns and the
/// keys over them) when given, from `input` otherwise.
fn exchange_rdd(
    context: &Context,
    input: &Rdd<RecordBatch>,
    schema: &SchemaRef,
    target: &Partitioning,
    sample: Option<(Rdd<RecordBatch>, Vec<SortKey>)>,
) -> Result<Rdd<RecordBatch>> {
    let pool = Arc::clone(context.memory_pool());
    let schema = Arc::clone(schema);
    Ok(match target {
        Partitioning::Hash(keys, n) => {
            let keys = keys.clone();
            shuffle_batches(input, schema, *n, pool, move |batch, buckets| {
                hash_split(batch, &keys, buckets)
            })
        }
        Partitioning::Range(keys, n) => {
            // The bounds are sampled by the job that first runs the exchange, just before its
            // map stage, and kept, so building the lineage (EXPLAIN) reads nothing and map
            // outputs recomputed after a loss split as before.
            let bounds: Arc<OnceLock<RangeBounds>> = Arc::default();
            let sampled = Arc::clone(&bounds);
            let (sample_input, sample_keys) =
                sample.unwrap_or_else(|| (input.clone(), keys.clone()));
            let partitions = *n;
            let prepare = move || -> rsql_rdd::Result<()> {
                if sampled.get().is_none() {
                    let chosen = range_bounds(&sample_input, &sample_keys, partitions)
                        .map_err(into_rdd_error)?;
                    let _ = sampled.set(chosen);
                }
                Ok(())
            };
            let keys = keys.clone();
            shuffle_batches_prepared(input, schema, partitions, pool, prepare, move |batch, _| {
                match bounds.get() {
                    Some(bounds) => bounds.split(batch, &keys),
                    None => exec_err("range bounds were not sampled before the exchange ran"),
                }
            })
        }
        Partitioning::Unknown(1) => shuffle_batches(input, schema, 1, pool, |batch, _| {
            Ok(vec![Some(batch.clone())])
        }),
        other => return exec_err(format!("cannot exchange to {other}")),
    })
}

/// The hash exchange `exchange` of `input`, the probe side of partitioned `join`, dropping
/// the rows whose key no row of the join's build side `build` has: the filter is gathered
/// from `build` just before the exchange's map stage (see [`KeyFilter`]), holding the build
/// side's batches in `held` when given.
fn key_filtered_exchange_rdd(
    context: &Context,
    input: &Rdd<RecordBatch>,
    exchange: &PhysicalPlan,
    join: &Arc<HashJoin>,
    build: &Rdd<RecordBatch>,
    held: Option<Arc<HeldBuild>>,
) -> Result<Rdd<RecordBatch>> {
    let Partitioning::Hash(keys, partitions) = &exchange.partitioning else {
        return exec_err(format!(
            "a runtime filter needs a hash exchange, not {}",
            exchange.partitioning
        ));
    };
    let pool = Arc::clone(context.memory_pool());
    let filter: Arc<OnceLock<Option<KeyFilter>>> = Arc::default();
    let gathered = Arc::clone(&filter);
    let (join, build, filter_pool) = (Arc::clone(join), build.clone(), Arc::clone(&pool));
    let prepare = move || -> rsql_rdd::Result<()> {
        if gathered.get().is_none() {
            let chosen = KeyFilter::gather(&join, &build, &filter_pool, held.as_deref())
                .map_err(into_rdd_error)?;
            let _ = gathered.set(chosen);
        }
        Ok(())
    };
    let keys = keys.clone();
    let schema = Arc::clone(&exchange.schema);
    Ok(shuffle_batches_prepared(
        input,
        schema,
        *partitions,
        pool,
        prepare,
        move |batch, buckets| match filter.get() {
            Some(Some(filter)) => match filter.retain(batch)? {
                Some(kept) => hash_split(&kept, &keys, buckets),
                None => Ok(vec![None; buckets]),
            },
            _ => hash_split(batch, &keys, buckets),
        },
    ))
}

/// Range bounds for `partitions` partitions, from the sort keys sampled in every partition
/// (one job).
fn range_bounds(
    input: &Rdd<RecordBatch>,
    keys: &[SortKey],
    partitions: usize,
) -> Result<RangeBounds> {
    let sample_keys_of = keys.to_vec();
    let samples = input
        .map_partitions_with_context(move |batches, tc| {
            let keys = sample_keys_of.clone();
            Box::new(batches.filter_map(move |batch| {
                match sample_keys(&batch, &keys, SAMPLE_ROWS_PER_PARTITION) {
                    Ok(sample) => sample,
                    Err(error) => {
                        fail_task(tc, error);
                        None
                    }
                }
            }))
        })
        .collect()?;
    RangeBounds::from_samples(&samples, keys, partitions)
}

/// Probes every left partition against a table built from the matching right partition
/// (within the memory pool, spilling both sides past it), or, when the planner chose to
/// `broadcast`, against the single right partition: built once, shared, and held whole. A
/// broadcast side the pool cannot hold is not an error: every task then joins its probe
/// partition with the whole build side on its own, within the pool, as a partitioned join
/// does (each probe row of the kinds planned as broadcast needs only the whole build side).
fn join_rdd(
    left: &Rdd<RecordBatch>,
    right: &Rdd<RecordBatch>,
    join: &Arc<HashJoin>,
    broadcast: bool,
    pool: &Arc<MemoryPool>,
) -> Result<Rdd<RecordBatch>> {
    let (probes, builds) = (left.num_partitions(), right.num_partitions());
    if broadcast && builds != 1 {
        return exec_err(format!(
            "a broadcast join needs its build side in one partition, not {builds}"
        ));
    }
    if !broadcast && builds != probes {
        return exec_err(format!(
            "a partitioned join needs as many build partitions as probe partitions ({probes}), \
             not {builds}"
        ));
    }
    let join = Arc::clone(join);
    let pool = Arc::clone(pool);
    let shared: Arc<Mutex<Option<Broadcast>>> = Arc::default();
    Ok(left.zip_partitions(right, move |probe, build, tc| {
        let side = if broadcast {
            broadcast_side(&shared, &join, build, &pool)
        } else {
            Ok(BuildSide::Spillable(build))
        };
        let joined = side.and_then(|side| match side {
            BuildSide::Shared(table, held) => Ok(Box::new(probe_then_unmatched(
                Arc::clone(&join),
                table,
                held,
                probe.map(Ok),
            )) as JoinedBatches<'_>),
            BuildSide::Spillable(build) => join.join_bounded(build, probe, &pool),
        });
        // A selective probe keeps a few rows of each probe batch: merge them.
        let joined =
            joined.map(|joined| coalesce_batches(Arc::clone(join.output_schema()), joined));
        until_error(joined, tc)
    })?)
}

/// What the tasks of a broadcast join share, decided by the first task that gets there.
enum Broadcast {
    /// The table built over the whole build side, and the memory it holds from the pool.
    Built(Arc<JoinTable>, Arc<MemoryReservation>),
    /// The build side is larger than the pool grants: each task joins it on its own.
    TooLarge,
}

/// The build side as one task of a join sees it.
enum BuildSide<'a> {
    /// A broadcast table shared by every task, and the memory it holds.
    Shared(Arc<JoinTable>, Arc<MemoryReservation>),
    /// The build batches, to be joined within the pool, spilling past it.
    Spillable(BoxIter<'a, RecordBatch>),
}

/// The broadcast table in `slot`, built from `build` by the first task that gets there; or,
/// when the pool cannot hold the build side, this task's whole `build` side, to join within
/// the pool (the batches the failed build had collected come first, their memory released).
fn broadcast_side<'a>(
    slot: &Mutex<Option<Broadcast>>,
    join: &HashJoin,
    mut build: BoxIter<'a, RecordBatch>,
    pool: &Arc<MemoryPool>,
) -> Result<BuildSide<'a>> {
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    match &*slot {
        Some(Broadcast::Built(table, held)) => {
            return Ok(BuildSide::Shared(Arc::clone(table), Arc::clone(held)));
        }
        Some(Broadcast::TooLarge) => return Ok(BuildSide::Spillable(build)),
        None => {}
    }
    let mut held = pool.reservation("HashJoin broadcast side");
    let mut batches = Vec::new();
    while let Some(batch) = build.next() {
        match held.try_grow(batch.get_array_memory_size()) {
            Ok(()) => batches.push(batch),
            Err(RddError::ResourcesExhausted { .. }) => {
                *slot = Some(Broadcast::TooLarge);
                drop(held);
                let collected = batches.into_iter().chain(std::iter::once(batch));
                return Ok(BuildSide::Spillable(Box::new(collected.chain(build))));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let (table, held) = (Arc::new(join.build(batches)?), Arc::new(held));
    *slot = Some(Broadcast::Built(Arc::clone(&table), Arc::clone(&held)));
    Ok(BuildSide::Shared(table, held))
}
