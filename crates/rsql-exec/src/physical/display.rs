//! Text forms of physical plans for `EXPLAIN`: one line per operator with its partitioning and
//! estimated rows (`rows≈N`), indented by depth, optionally with the counters of a run
//! (`EXPLAIN ANALYZE`), whose rows then stand beside the estimate.

use std::fmt::Write;

use super::{PhysicalNode, PhysicalPlan, Scope};
use crate::operators::{JoinKind, SortKey};

/// Sort keys as `#column ASC NULLS FIRST`.
fn sort_keys_text(keys: &[SortKey]) -> Vec<String> {
    keys.iter()
        .map(|k| {
            let order = if k.descending { "DESC" } else { "ASC" };
            let nulls = if k.nulls_first { "FIRST" } else { "LAST" };
            format!("#{} {order} NULLS {nulls}", k.column)
        })
        .collect()
}

impl PhysicalPlan {
    /// One line naming the operator and what it does.
    pub fn describe(&self) -> String {
        let what = match &self.node {
            PhysicalNode::Scan {
                table,
                scan,
                partitions,
                pruning,
            } => {
                let columns: Vec<&str> = scan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                let mut line = format!(
                    "Scan: {table} [{}], {} read units",
                    columns.join(", "),
                    partitions.iter().map(Vec::len).sum::<usize>()
                );
                if let Some(pruning) = pruning {
                    let _ = write!(line, ", pruning {pruning}");
                }
                line
            }
            PhysicalNode::Range { range, partitions } => {
                format!("Range: {} rows in {partitions} partitions", range.len())
            }
            PhysicalNode::Values { partitions } => {
                let rows: usize = partitions.iter().flatten().map(|b| b.num_rows()).sum();
                format!("Values: {rows} rows")
            }
            PhysicalNode::Filter { source, .. } => format!("Filter: {}", source.expr),
            PhysicalNode::Projection { .. } => {
                let names: Vec<&str> = self
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                format!("Projection: {}", names.join(", "))
            }
            PhysicalNode::Aggregate { aggregate, .. } => {
                let fields = aggregate.output_schema().fields();
                let groups = aggregate.group_count();
                let names = |range: std::ops::Range<usize>| {
                    fields[range]
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "HashAggregate({:?}): groups=[{}], aggregates=[{}]",
                    aggregate.mode(),
                    names(0..groups),
                    names(groups..fields.len())
                )
            }
            PhysicalNode::HashJoin {
                join,
                broadcast,
                runtime_filter,
                ..
            } => {
                let kind = match join.kind() {
                    JoinKind::Inner => "Inner",
                    JoinKind::Left => "Left",
                    JoinKind::Right => "Right",
                    JoinKind::Full => "Full",
                    JoinKind::Semi => "Semi",
                    JoinKind::Anti => "Anti",
                    JoinKind::NullAwareAnti => "NullAwareAnti",
                    JoinKind::Mark => "Mark",
                    JoinKind::NullAwareMark => "NullAwareMark",
                    JoinKind::RightSemi => "RightSemi",
                    JoinKind::RightAnti => "RightAnti",
                };
                let how = if *broadcast {
                    "broadcast"
                } else if *runtime_filter {
                    "partitioned, runtime filter"
                } else {
                    "partitioned"
                };
                format!("HashJoin({kind}, {how})")
            }
            PhysicalNode::Window { window, .. } => {
                let columns: Vec<String> = window
                    .partition_columns
                    .iter()
                    .map(|c| format!("#{c}"))
                    .collect();
                let calls: Vec<&str> = window.calls.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "Window: [{}], partition by [{}], order by [{}]",
                    calls.join(", "),
                    columns.join(", "),
                    sort_keys_text(&window.order_keys).join(", ")
                )
            }
            PhysicalNode::WindowGroupLimit { limit, scope, .. } => {
                let columns: Vec<String> = limit
                    .partition_columns
                    .iter()
                    .map(|c| format!("#{c}"))
                    .collect();
                let per_partition = match scope {
                    Scope::Partition => ", per partition",
                    Scope::Global => "",
                };
                format!(
                    "WindowGroupLimit: {}() <= {}, partition by [{}], order by [{}]{per_partition}",
                    limit.function.name(),
                    limit.limit,
                    columns.join(", "),
                    sort_keys_text(&limit.order_keys).join(", ")
                )
            }
            PhysicalNode::Sort {
                keys, fetch, scope, ..
            } => {
                let keys = sort_keys_text(keys);
                let per_partition = match scope {
                    Scope::Partition => ", per partition",
                    Scope::Global => "",
                };
                match fetch {
                    Some(fetch) => {
                        format!("Sort: {} (top {fetch}{per_partition})", keys.join(", "))
                    }
                    None => format!("Sort: {}{per_partition}", keys.join(", ")),
                }
            }
            PhysicalNode::Limit {
                skip, fetch, scope, ..
            } => {
                let per_partition = match scope {
                    Scope::Partition => " per partition",
                    Scope::Global => "",
                };
                match fetch {
                    Some(fetch) => format!("Limit: skip={skip}, fetch={fetch}{per_partition}"),
                    None => format!("Limit: skip={skip}{per_partition}"),
                }
            }
            PhysicalNode::Expand { sets, .. } => {
                let sets: Vec<String> = sets
                    .sets
                    .iter()
                    .map(|set| {
                        let keys: Vec<String> = set
                            .iter()
                            .map(|&k| format!("#{}", sets.key_columns[k]))
                            .collect();
                        format!("({})", keys.join(", "))
                    })
                    .collect();
                format!("Expand: sets=[{}]", sets.join(", "))
            }
            PhysicalNode::ReplicateRows { .. } => "ReplicateRows".to_string(),
            PhysicalNode::Generate { generator, .. } => format!(
                "Generate: {}explode{}(#{})",
                if generator.position { "pos" } else { "" },
                if generator.outer { "_outer" } else { "" },
                generator.column
            ),
            PhysicalNode::Union { .. } => "Union".to_string(),
            PhysicalNode::Exchange { .. } => "Exchange".to_string(),
        };
        format!("{what} -> {}", self.partitioning)
    }

    /// The plan, one operator per line, children indented below their parent.
    pub fn display_indent(&self) -> String {
        self.render(false)
    }

    /// As [`Self::display_indent`], each line followed by the operator's counters from the
    /// last run.
    pub fn display_with_metrics(&self) -> String {
        self.render(true)
    }

    fn render(&self, metrics: bool) -> String {
        let mut out = String::new();
        self.render_into(&mut out, 0, metrics);
        out
    }

    fn render_into(&self, out: &mut String, depth: usize, metrics: bool) {
        let _ = write!(out, "{:indent$}{}", "", self.describe(), indent = depth * 2);
        if let Some(rows) = self.estimated_rows {
            let _ = write!(out, ", rows≈{rows}");
        }
        if metrics {
            let m = &self.metrics;
            let _ = write!(
                out,
                " [rows={}, batches={}, time={:.3?}]",
                m.rows(),
                m.batches(),
                m.elapsed()
            );
        }
        out.push('\n');
        for input in self.inputs() {
            input.render_into(out, depth + 1, metrics);
        }
    }
}
