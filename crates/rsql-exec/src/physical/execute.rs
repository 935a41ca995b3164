//! Lowering a physical plan into `Rdd<RecordBatch>` lineage: narrow operators become
//! per-partition transformations pipelined in one task, an exchange becomes a shuffle.

use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::SchemaRef;
use rsql_rdd::{BoxIter, Context, Rdd, RddError};

use super::{Partitioning, PhysicalNode, PhysicalPlan};
use crate::error::{ExecError, Result, exec_err};
use crate::expr::evaluate_to_array;
use crate::lower::{aggregate_partitions, fail_task, hash_exchange, map_batches};
use crate::operators::{
    HashJoin, JoinKind, JoinTable, RangeBounds, SortKey, sample_keys, sort_batches,
};

/// The batches of one read unit, as its reader yields them.
type BatchResults = Box<dyn Iterator<Item = rsql_io::Result<RecordBatch>>>;

/// Sort-key rows sampled per partition to choose range bounds.
const SAMPLE_ROWS_PER_PARTITION: usize = 256;

impl PhysicalPlan {
    /// The lineage computing this plan's batches, one RDD partition per plan partition. Each
    /// operator's last RDD is named after it, so lineage dumps and stage names show operators.
    pub fn lower(&self, context: &Context) -> Result<Rdd<RecordBatch>> {
        let rdd = match &self.node {
            PhysicalNode::Scan {
                scan, partitions, ..
            } => scan_rdd(context, Arc::clone(scan), partitions.clone()),
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
                map_batches(&input.lower(context)?, move |batch| {
                    let mask = evaluate_to_array(predicate.as_ref(), &batch)?;
                    let Some(mask) = mask.as_boolean_opt() else {
                        return exec_err("a filter predicate must be boolean");
                    };
                    let kept = filter_record_batch(&batch, mask)?;
                    Ok((kept.num_rows() > 0).then_some(kept))
                })
            }
            PhysicalNode::Projection { input, exprs } => {
                let exprs = exprs.clone();
                let schema = Arc::clone(&self.schema);
                map_batches(&input.lower(context)?, move |batch| {
                    let columns = exprs
                        .iter()
                        .map(|e| evaluate_to_array(e.as_ref(), &batch))
                        .collect::<Result<Vec<ArrayRef>>>()?;
                    Ok(Some(with_schema(&schema, columns, batch.num_rows())?))
                })
            }
            PhysicalNode::Aggregate { input, aggregate } => aggregate_partitions(
                &input.lower(context)?,
                Arc::clone(aggregate),
                Arc::clone(context.memory_pool()),
            ),
            PhysicalNode::HashJoin {
                left, right, join, ..
            } => join_rdd(&left.lower(context)?, &right.lower(context)?, join)?,
            PhysicalNode::Sort { input, keys, fetch } => {
                let (keys, fetch) = (keys.clone(), *fetch);
                let schema = Arc::clone(&self.schema);
                input
                    .lower(context)?
                    .map_partitions_with_context(move |batches, tc| {
                        match sort_batches(&schema, batches, &keys, fetch) {
                            Ok(sorted) => Box::new(sorted.into_iter()),
                            Err(error) => {
                                fail_task(tc, error);
                                Box::new(std::iter::empty())
                            }
                        }
                    })
            }
            PhysicalNode::Limit { input, skip, fetch } => {
                limit_rdd(&input.lower(context)?, *skip, *fetch)
            }
            PhysicalNode::Union { inputs } => {
                let schema = Arc::clone(&self.schema);
                let mut lowered = inputs.iter().map(|input| {
                    let schema = Arc::clone(&schema);
                    // Inputs may differ in nullability or dictionary encoding: adopt the
                    // union's schema.
                    Ok(map_batches(&input.lower(context)?, move |batch| {
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
                    }))
                });
                let first: Result<Rdd<RecordBatch>> = lowered
                    .next()
                    .unwrap_or_else(|| Ok(context.parallelize(Vec::new(), 1)));
                lowered.try_fold(first?, |all, next| Ok::<_, ExecError>(all.union(&next?)))?
            }
            PhysicalNode::Exchange { input } => {
                exchange_rdd(&input.lower(context)?, &self.partitioning)?
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

/// One RDD partition per entry of `partitions`, reading those read units in order.
fn scan_rdd(
    context: &Context,
    scan: Arc<rsql_io::Scan>,
    partitions: Vec<Vec<usize>>,
) -> Rdd<RecordBatch> {
    let count = partitions.len();
    context
        .parallelize(partitions, count)
        .map_partitions_with_context(move |units, tc| {
            let scan = Arc::clone(&scan);
            Box::new(
                units
                    .flatten()
                    // Batches stream out of each unit's reader, one at a time.
                    .flat_map(move |unit| -> BatchResults {
                        match scan.read(unit) {
                            Ok(reader) => Box::new(reader),
                            Err(error) => Box::new(std::iter::once(Err(error))),
                        }
                    })
                    .map_while(move |batch| match batch {
                        Ok(batch) => Some(batch),
                        Err(error) => {
                            tc.fail(RddError::External(Box::new(error)));
                            None
                        }
                    }),
            )
        })
}

/// Skips `skip` rows of each partition, then keeps `fetch`.
fn limit_rdd(input: &Rdd<RecordBatch>, skip: usize, fetch: Option<usize>) -> Rdd<RecordBatch> {
    input.map_partitions(move |batches| {
        let mut to_skip = skip;
        let mut left = fetch.unwrap_or(usize::MAX);
        Box::new(
            batches
                .take_while(move |_| left > 0)
                .filter_map(move |batch| {
                    let skipped = to_skip.min(batch.num_rows());
                    to_skip -= skipped;
                    let rows = (batch.num_rows() - skipped).min(left);
                    left -= rows;
                    (rows > 0).then(|| batch.slice(skipped, rows))
                }),
        )
    })
}

/// A shuffle placing rows as `target` says.
fn exchange_rdd(input: &Rdd<RecordBatch>, target: &Partitioning) -> Result<Rdd<RecordBatch>> {
    Ok(match target {
        Partitioning::Hash(keys, n) => hash_exchange(input, keys.clone(), *n),
        Partitioning::Range(keys, n) => range_exchange(input, keys.clone(), *n)?,
        Partitioning::Unknown(1) => input.shuffle(1, |batches, _, _| vec![batches.collect()]),
        other => return exec_err(format!("cannot exchange to {other}")),
    })
}

/// Samples the sort keys of every partition (one job), then shuffles rows into key ranges.
fn range_exchange(
    input: &Rdd<RecordBatch>,
    keys: Vec<SortKey>,
    partitions: usize,
) -> Result<Rdd<RecordBatch>> {
    let sample_keys_of = keys.clone();
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
    let bounds = Arc::new(RangeBounds::from_samples(&samples, &keys, partitions)?);
    Ok(
        input.shuffle(bounds.partitions(), move |batches, tc, buckets| {
            let mut out: Vec<Vec<RecordBatch>> = vec![Vec::new(); buckets];
            for batch in batches {
                match bounds.split(&batch, &keys) {
                    Ok(parts) => {
                        for (bucket, part) in parts.into_iter().enumerate() {
                            out[bucket].extend(part);
                        }
                    }
                    Err(error) => {
                        fail_task(tc, error);
                        break;
                    }
                }
            }
            out
        }),
    )
}

/// Probes every left partition against a table built from the matching right partition (or
/// the single, broadcast one: built once and shared).
fn join_rdd(
    left: &Rdd<RecordBatch>,
    right: &Rdd<RecordBatch>,
    join: &Arc<HashJoin>,
) -> Result<Rdd<RecordBatch>> {
    let join = Arc::clone(join);
    let broadcast = right.num_partitions() == 1 && left.num_partitions() > 1;
    let shared: Arc<Mutex<Option<Arc<JoinTable>>>> = Arc::default();
    Ok(left.zip_partitions(right, move |probe, build, tc| {
        let table = if broadcast {
            let mut slot = shared.lock().unwrap_or_else(PoisonError::into_inner);
            match &*slot {
                Some(table) => Ok(Arc::clone(table)),
                None => join.build(build.collect()).map(|table| {
                    let table = Arc::new(table);
                    *slot = Some(Arc::clone(&table));
                    table
                }),
            }
        } else {
            join.build(build.collect()).map(Arc::new)
        };
        let table = match table {
            Ok(table) => table,
            Err(error) => {
                fail_task(tc, error);
                return Box::new(std::iter::empty());
            }
        };
        let join = Arc::clone(&join);
        let unmatched_join = Arc::clone(&join);
        let unmatched_table = Arc::clone(&table);
        let emits_unmatched = matches!(join.kind(), JoinKind::Right | JoinKind::Full);
        let probed = probe.map_while(move |batch| match join.probe(&table, &batch) {
            Ok(out) => Some(out),
            Err(error) => {
                fail_task(tc, error);
                None
            }
        });
        // Unmatched build rows can only be known once every probe batch went through.
        let unmatched = std::iter::once(()).filter_map(move |()| {
            if !emits_unmatched {
                return None;
            }
            match unmatched_join.unmatched_build_rows(&unmatched_table) {
                Ok(rows) => rows,
                Err(error) => {
                    fail_task(tc, error);
                    None
                }
            }
        });
        Box::new(
            probed
                .flatten()
                .chain(unmatched)
                .filter(|batch| batch.num_rows() > 0),
        ) as BoxIter<'_, RecordBatch>
    })?)
}
