//! Scans: files of a listing table (placing whole hive folders of a clustering column per
//! partition when that pays), batches held in memory, or the integers of `range(..)`.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use rsql_io::ScanOptions;
use rsql_plan::plan::{RangeSource, TableScan};

use super::{PlanRef, Planner};
use crate::error::{ExecError, Result, exec_err};
use crate::listing_table::ListingTable;
use crate::memory_table::MemoryTable;
use crate::operators::TARGET_BATCH_ROWS;
use crate::physical::pruning::pruning_predicate;
use crate::physical::{Partitioning, PhysicalNode, PhysicalPlan};

impl Planner<'_, '_> {
    pub(super) fn scan(&self, scan: &TableScan, cluster_hint: &[String]) -> Result<PlanRef> {
        if let Some(table) = scan.source.as_any().downcast_ref::<MemoryTable>() {
            return memory_scan(scan, table);
        }
        if let Some(source) = scan.source.as_any().downcast_ref::<RangeSource>() {
            let parallelism = self.cx.context.default_parallelism();
            return Ok(range_scan(scan, source, parallelism));
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
                .map_err(ExecError::Io)
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

/// A scan of `range(..)`: a partition per batch of integers, up to one per worker thread.
fn range_scan(scan: &TableScan, source: &RangeSource, parallelism: usize) -> PlanRef {
    let range = source.range();
    let batches = range.len().div_ceil(TARGET_BATCH_ROWS as u64);
    let partitions = usize::try_from(batches)
        .unwrap_or(usize::MAX)
        .clamp(1, parallelism.max(1));
    let schema: SchemaRef = Arc::new(scan.projected_schema.as_arrow().clone());
    Arc::new(PhysicalPlan::new(
        PhysicalNode::Range { range, partitions },
        schema,
        Partitioning::Unknown(partitions),
    ))
}
