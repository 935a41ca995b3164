//! Physical plans: the operators that run, each knowing how its output is partitioned, with an
//! `Exchange` wherever an operator's required distribution was not already met.
//!
//! [`create_physical_plan`] turns an optimized [`LogicalPlan`](rsql_plan::LogicalPlan) into a
//! [`PhysicalPlan`]; [`PhysicalPlan::lower`] turns that into `Rdd<RecordBatch>` lineage with
//! one shuffle per exchange. [`PhysicalPlan::to_spec`] turns it into a serializable
//! [`PlanSpec`], which [`PlanSpec::instantiate`] turns back into a plan in another process.

mod display;
mod distribution;
mod execute;
mod metrics;
mod partitioning;
mod planner;
mod pruning;
mod replicate;
mod source;
mod spec;

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

pub use metrics::OperatorMetrics;
pub use partitioning::{Distribution, Partitioning};
pub use planner::{PlannerContext, create_physical_plan};
pub use source::{BoundExpr, ProjectionSource};
pub use spec::{AggregateCallSpec, NodeSpec, PlanSpec, WindowCallSpec};

use crate::error::{Result, exec_err};
use crate::expr::PhysicalExpr;
use crate::operators::{
    Generator, GroupLimit, GroupingSets, HashAggregate, HashJoin, SortKey, WindowExec,
};

/// A physical operator with its output schema, partitioning and runtime counters.
#[derive(Debug)]
pub struct PhysicalPlan {
    /// What the operator does.
    pub node: PhysicalNode,
    /// The schema of its batches.
    pub schema: SchemaRef,
    /// How its output rows are placed over partitions.
    pub partitioning: Partitioning,
    /// Rows, batches and time, filled in while it runs (for `EXPLAIN ANALYZE`).
    pub metrics: Arc<OperatorMetrics>,
    /// The rows the planner expects it to return, from the logical plan's cardinality estimate
    /// (`None` for partial phases, whose output depends on how rows are spread).
    pub estimated_rows: Option<u64>,
}

/// Whose rows a sort, a limit or a window group limit sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    /// Each partition's own rows: the per-partition phase of a top-k or limit.
    Partition,
    /// Every row of the input: a sort requires it range partitioned on its keys, a top-k or
    /// limit requires it in one partition, a window group limit requires its partition keys
    /// clustered.
    Global,
}

/// The physical operators.
#[derive(Debug, Clone)]
pub enum PhysicalNode {
    /// Reads a dataset: `partitions[i]` lists the read units partition `i` reads.
    Scan {
        /// The table name, for display.
        table: String,
        /// The planned scan (pruned files and row groups).
        scan: Arc<rsql_io::Scan>,
        /// Read units per output partition.
        partitions: Vec<Vec<usize>>,
        /// The pushed-down predicate used for pruning, for display.
        pruning: Option<String>,
    },
    /// The integers of `range(..)` / `generate_series(..)`, generated as they are read: each
    /// partition an even, contiguous share, in order.
    Range {
        /// The integers.
        range: rsql_plan::plan::IntegerRange,
        /// How many partitions share them.
        partitions: usize,
    },
    /// Batches held in memory (literal rows, persisted results), one list per partition.
    Values {
        /// The batches of each partition, already in the node's schema.
        partitions: Arc<Vec<Vec<RecordBatch>>>,
    },
    /// Keeps the rows for which the predicate is true.
    Filter {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// A boolean expression over the input.
        predicate: Arc<dyn PhysicalExpr>,
        /// What `predicate` was compiled from.
        source: BoundExpr,
    },
    /// Computes one output column per expression.
    Projection {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// The expressions, in output order.
        exprs: Vec<Arc<dyn PhysicalExpr>>,
        /// What `exprs` were compiled from.
        source: ProjectionSource,
    },
    /// A hash aggregation of each partition (partial, final or single-phase).
    Aggregate {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// The aggregation.
        aggregate: Arc<HashAggregate>,
    },
    /// A hash join: the build side is the right input, or the whole right input broadcast to
    /// every left partition.
    HashJoin {
        /// The probe side.
        left: Arc<PhysicalPlan>,
        /// The build side.
        right: Arc<PhysicalPlan>,
        /// The join.
        join: Arc<HashJoin>,
        /// Whether the right side is collected once and shared by all left partitions.
        broadcast: bool,
        /// Whether the probe side's exchange drops the rows whose key no build row has, by a
        /// filter of the build side's keys gathered at run time (see
        /// [`PhysicalPlan::can_filter_probe_at_runtime`]).
        runtime_filter: bool,
        /// What the join's `ON` filter was compiled from.
        filter: Option<BoundExpr>,
    },
    /// Window functions sharing a `PARTITION BY` and `ORDER BY`: sorts each partition by
    /// those keys (spilling past the memory pool), then appends a column per call.
    Window {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// The calls and their keys.
        window: Arc<WindowExec>,
    },
    /// Keeps, per window partition key, the rows a bound on a ranking function may pass:
    /// before the exchange of a window, each partition's rows on their own, and after it, all
    /// the rows of each key.
    WindowGroupLimit {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// The keys, the function and the bound.
        limit: Arc<GroupLimit>,
        /// Whether this sees each partition's rows on their own or all of a key's rows.
        scope: Scope,
    },
    /// Sorts each partition; with `fetch`, keeps its first rows only (top-k).
    Sort {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// The sort keys.
        keys: Vec<SortKey>,
        /// Rows to keep per partition.
        fetch: Option<usize>,
        /// Whether this sorts each partition's rows on their own or the whole input.
        scope: Scope,
    },
    /// Skips then keeps rows of each partition, in order.
    Limit {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// Rows to skip.
        skip: usize,
        /// Rows to keep after skipping.
        fetch: Option<usize>,
        /// Whether this limits each partition's rows on their own or the whole input.
        scope: Scope,
    },
    /// Emits each row once per grouping set, with the key columns the set leaves out NULL and
    /// the set's number appended.
    Expand {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// The key columns and the sets.
        sets: Arc<GroupingSets>,
    },
    /// Repeats each row as often as its last column says, dropping that column.
    ReplicateRows {
        /// The input; its last column is an `Int64` count.
        input: Arc<PhysicalPlan>,
    },
    /// One row per element of an array (or entry of a map) column, the other columns repeated.
    Generate {
        /// The input.
        input: Arc<PhysicalPlan>,
        /// The array column and what to generate.
        generator: Generator,
    },
    /// The partitions of every input, one after another.
    Union {
        /// The inputs, with the union's schema.
        inputs: Vec<Arc<PhysicalPlan>>,
    },
    /// Repartitions rows to the plan's partitioning: a shuffle, hence a stage boundary.
    Exchange {
        /// The input.
        input: Arc<PhysicalPlan>,
    },
}

impl PhysicalPlan {
    /// A plan node with fresh metrics.
    pub fn new(node: PhysicalNode, schema: SchemaRef, partitioning: Partitioning) -> Self {
        PhysicalPlan {
            node,
            schema,
            partitioning,
            metrics: Arc::default(),
            estimated_rows: None,
        }
    }

    /// The same plan node, expecting `rows` rows.
    pub fn with_estimated_rows(self, rows: Option<u64>) -> Self {
        PhysicalPlan {
            estimated_rows: rows,
            ..self
        }
    }

    /// An operator over inputs, placed as [`PhysicalNode::derived_partitioning`] says; scans,
    /// literal rows and exchanges, which place rows themselves, are made with [`Self::new`].
    pub fn derived(node: PhysicalNode, schema: SchemaRef) -> Result<Self> {
        match node.derived_partitioning() {
            Some(partitioning) => Ok(Self::new(node, schema, partitioning)),
            None => exec_err("a scan, literal rows or an exchange is placed by its own choice"),
        }
    }

    /// The same operator over `inputs` (replacing [`Self::inputs`], in order), placed anew
    /// from them (a scan, literal rows or an exchange keeps its own placement), with the same
    /// estimate and fresh metrics.
    pub fn with_inputs(&self, inputs: Vec<Arc<PhysicalPlan>>) -> Result<Self> {
        let mut node = self.node.clone();
        let slots = node.inputs_mut();
        if slots.len() != inputs.len() {
            return exec_err(format!(
                "{} takes {} inputs, not {}",
                self.describe(),
                slots.len(),
                inputs.len()
            ));
        }
        for (slot, input) in slots.into_iter().zip(inputs) {
            *slot = input;
        }
        let partitioning = node
            .derived_partitioning()
            .unwrap_or_else(|| self.partitioning.clone());
        Ok(Self::new(node, Arc::clone(&self.schema), partitioning)
            .with_estimated_rows(self.estimated_rows))
    }

    /// Whether this join may filter its probe side at run time: it is partitioned, emits no
    /// probe row without a match and its probe side is a hash exchange. Whether the filter
    /// pays is left to run time: a build side with too many keys builds none, and a filter that
    /// passes most of a trial of probe rows switches off.
    pub fn can_filter_probe_at_runtime(&self) -> bool {
        let PhysicalNode::HashJoin {
            left,
            join,
            broadcast: false,
            ..
        } = &self.node
        else {
            return false;
        };
        matches!(left.node, PhysicalNode::Exchange { .. })
            && matches!(left.partitioning, Partitioning::Hash(..))
            && join.kind().ignores_unmatched_left()
    }

    /// For a join that filters its probe side at run time, the input of the probe side's
    /// exchange, which then drops the rows whose key no build row has
    /// ([`crate::operators::KeyFilter`]).
    pub fn runtime_filtered_probe(&self) -> Option<&Arc<PhysicalPlan>> {
        match &self.node {
            PhysicalNode::HashJoin {
                left,
                runtime_filter: true,
                ..
            } => match &left.node {
                PhysicalNode::Exchange { input } => Some(input),
                _ => None,
            },
            _ => None,
        }
    }

    /// The plan rewritten bottom-up: `rewrite` gets every node once its inputs are rewritten.
    pub fn transform_up(
        self: &Arc<Self>,
        rewrite: &mut impl FnMut(Arc<PhysicalPlan>) -> Result<Arc<PhysicalPlan>>,
    ) -> Result<Arc<PhysicalPlan>> {
        let inputs = self
            .inputs()
            .into_iter()
            .map(|input| input.transform_up(rewrite))
            .collect::<Result<Vec<_>>>()?;
        let unchanged = inputs
            .iter()
            .zip(self.inputs())
            .all(|(new, old)| Arc::ptr_eq(new, old));
        let node = if unchanged {
            Arc::clone(self)
        } else {
            Arc::new(self.with_inputs(inputs)?)
        };
        rewrite(node)
    }

    /// The direct inputs, left to right.
    pub fn inputs(&self) -> Vec<&Arc<PhysicalPlan>> {
        match &self.node {
            PhysicalNode::Scan { .. }
            | PhysicalNode::Range { .. }
            | PhysicalNode::Values { .. } => Vec::new(),
            PhysicalNode::Filter { input, .. }
            | PhysicalNode::Projection { input, .. }
            | PhysicalNode::Aggregate { input, .. }
            | PhysicalNode::Window { input, .. }
            | PhysicalNode::WindowGroupLimit { input, .. }
            | PhysicalNode::Sort { input, .. }
            | PhysicalNode::Limit { input, .. }
            | PhysicalNode::ReplicateRows { input }
            | PhysicalNode::Generate { input, .. }
            | PhysicalNode::Expand { input, .. }
            | PhysicalNode::Exchange { input } => vec![input],
            PhysicalNode::HashJoin { left, right, .. } => vec![left, right],
            PhysicalNode::Union { inputs } => inputs.iter().collect(),
        }
    }

    /// How many exchanges (shuffles) the plan contains.
    pub fn exchange_count(&self) -> usize {
        let own = usize::from(matches!(self.node, PhysicalNode::Exchange { .. }));
        own + self
            .inputs()
            .iter()
            .map(|input| input.exchange_count())
            .sum::<usize>()
    }
}

impl PhysicalNode {
    /// The direct inputs, left to right, to replace.
    fn inputs_mut(&mut self) -> Vec<&mut Arc<PhysicalPlan>> {
        match self {
            PhysicalNode::Scan { .. }
            | PhysicalNode::Range { .. }
            | PhysicalNode::Values { .. } => Vec::new(),
            PhysicalNode::Filter { input, .. }
            | PhysicalNode::Projection { input, .. }
            | PhysicalNode::Aggregate { input, .. }
            | PhysicalNode::Window { input, .. }
            | PhysicalNode::WindowGroupLimit { input, .. }
            | PhysicalNode::Sort { input, .. }
            | PhysicalNode::Limit { input, .. }
            | PhysicalNode::ReplicateRows { input }
            | PhysicalNode::Generate { input, .. }
            | PhysicalNode::Expand { input, .. }
            | PhysicalNode::Exchange { input } => vec![input],
            PhysicalNode::HashJoin { left, right, .. } => vec![left, right],
            PhysicalNode::Union { inputs } => inputs.iter_mut().collect(),
        }
    }
}
