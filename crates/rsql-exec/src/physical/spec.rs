//! Physical plans as plain data, for shipping to another process: [`PhysicalPlan::to_spec`]
//! gives a [`PlanSpec`] that serde can serialize, and [`PlanSpec::instantiate`] rebuilds the
//! plan with the receiving side's functions.
//!
//! Physical expressions and aggregate functions are trait objects; a spec holds what they were
//! made from instead: logical expressions with their bound schemas (compiled again on
//! instantiation) and functions by registered name (looked up again). Scans carry their files,
//! read units and projection; in-memory batches travel as Arrow IPC. Row estimates travel;
//! runtime counters do not: an instantiated plan starts with fresh ones. A subplan shared by two parents is
//! shipped, and rebuilt, once per parent.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rsql_io::{Scan, ScanSpec};
use rsql_plan::FunctionRegistry;
use rsql_plan::compute::EvalMode;
use serde::{Deserialize, Serialize};

use super::{BoundExpr, Partitioning, PhysicalNode, PhysicalPlan, ProjectionSource, Scope};
use crate::aggregate::{AggregateFunctions, AggregateUdf, DistinctAggregate};
use crate::error::{ExecError, Result, exec_err};
use crate::expr::ScalarFunctions;
use crate::operators::{
    AggregateCall, AggregateMode, Generator, GroupLimit, GroupingSets, HashAggregate, HashJoin,
    JoinKind, SortKey, WindowCall, WindowExec,
};
use rsql_plan::expr::{WindowFrame, WindowFunctionKind};

/// A physical operator as plain data, with its output schema and partitioning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSpec {
    /// What the operator does.
    pub node: NodeSpec,
    /// The schema of its batches.
    #[serde(with = "rsql_plan::codec::schema")]
    pub schema: SchemaRef,
    /// How its output rows are placed over partitions.
    pub partitioning: Partitioning,
    /// The rows the planner expects it to return.
    pub estimated_rows: Option<u64>,
}

/// The operators of [`PhysicalNode`], as plain data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeSpec {
    /// See [`PhysicalNode::Scan`].
    Scan {
        /// The table name, for display.
        table: String,
        /// The files, read units and columns to read.
        scan: ScanSpec,
        /// Read units per output partition.
        partitions: Vec<Vec<usize>>,
        /// The predicate that pruned the units, for display.
        pruning: Option<String>,
    },
    /// See [`PhysicalNode::Range`].
    Range {
        /// The integers.
        range: rsql_plan::plan::IntegerRange,
        /// How many partitions share them.
        partitions: usize,
    },
    /// See [`PhysicalNode::Values`].
    Values {
        /// The batches of each partition.
        #[serde(with = "batch_partitions")]
        partitions: Vec<Vec<RecordBatch>>,
    },
    /// See [`PhysicalNode::Filter`].
    Filter {
        /// The input.
        input: Box<PlanSpec>,
        /// The predicate.
        predicate: BoundExpr,
    },
    /// See [`PhysicalNode::Projection`].
    Projection {
        /// The input.
        input: Box<PlanSpec>,
        /// The expressions.
        source: ProjectionSource,
    },
    /// See [`PhysicalNode::Aggregate`].
    Aggregate {
        /// The input.
        input: Box<PlanSpec>,
        /// Partial, final or single-phase.
        mode: AggregateMode,
        /// The input columns grouped by.
        group_columns: Vec<usize>,
        /// The aggregates computed.
        aggregates: Vec<AggregateCallSpec>,
        /// See [`HashAggregate::with_empty_grouping_sets`].
        empty_grouping_sets: Vec<i64>,
    },
    /// See [`PhysicalNode::HashJoin`].
    HashJoin {
        /// The probe side.
        left: Box<PlanSpec>,
        /// The build side.
        right: Box<PlanSpec>,
        /// Which unmatched rows are kept.
        kind: JoinKind,
        /// The probe side's key columns.
        left_keys: Vec<usize>,
        /// The build side's key columns, pairwise equal to `left_keys`.
        right_keys: Vec<usize>,
        /// The `ON` filter beyond the key equalities.
        filter: Option<BoundExpr>,
        /// Whether the build side is collected once and shared by all probe partitions.
        broadcast: bool,
        /// Whether the probe side is filtered by the build side's keys at run time.
        #[serde(default)]
        runtime_filter: bool,
    },
    /// See [`PhysicalNode::Window`].
    Window {
        /// The input.
        input: Box<PlanSpec>,
        /// The `PARTITION BY` columns.
        partition_columns: Vec<usize>,
        /// The `ORDER BY` keys.
        order_keys: Vec<SortKey>,
        /// The calls.
        calls: Vec<WindowCallSpec>,
    },
    /// See [`PhysicalNode::WindowGroupLimit`].
    WindowGroupLimit {
        /// The input.
        input: Box<PlanSpec>,
        /// The `PARTITION BY` columns.
        partition_columns: Vec<usize>,
        /// The `ORDER BY` keys.
        order_keys: Vec<SortKey>,
        /// The ranking function bounded.
        function: rsql_plan::plan::RankingFunction,
        /// The bound.
        limit: usize,
        /// Each partition's rows or all of a key's rows.
        scope: Scope,
    },
    /// See [`PhysicalNode::Sort`].
    Sort {
        /// The input.
        input: Box<PlanSpec>,
        /// The sort keys.
        keys: Vec<SortKey>,
        /// Rows to keep per partition (top-k).
        fetch: Option<usize>,
        /// Each partition's rows or the whole input's.
        scope: Scope,
    },
    /// See [`PhysicalNode::Limit`].
    Limit {
        /// The input.
        input: Box<PlanSpec>,
        /// Rows to skip.
        skip: usize,
        /// Rows to keep after skipping.
        fetch: Option<usize>,
        /// Each partition's rows or the whole input's.
        scope: Scope,
    },
    /// See [`PhysicalNode::Expand`].
    Expand {
        /// The input.
        input: Box<PlanSpec>,
        /// The input columns holding the group keys.
        key_columns: Vec<usize>,
        /// Each grouping set's keys, as positions in `key_columns`.
        sets: Vec<Vec<usize>>,
    },
    /// See [`PhysicalNode::ReplicateRows`].
    ReplicateRows {
        /// The input.
        input: Box<PlanSpec>,
    },
    /// See [`PhysicalNode::Generate`].
    Generate {
        /// The input.
        input: Box<PlanSpec>,
        /// The array column and what to generate.
        generator: Generator,
    },
    /// See [`PhysicalNode::Union`].
    Union {
        /// The inputs.
        inputs: Vec<PlanSpec>,
    },
    /// See [`PhysicalNode::Exchange`].
    Exchange {
        /// The input.
        input: Box<PlanSpec>,
    },
}

/// A [`WindowCall`] with its aggregate (if it is one) by registered name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowCallSpec {
    /// The function.
    pub kind: WindowFunctionKind,
    /// The registered (lower-case) name of the aggregate implementing it, for an aggregate.
    pub aggregate: Option<String>,
    /// The mode the aggregate runs in ([`AggregateUdf::in_mode`]).
    #[serde(default)]
    pub mode: EvalMode,
    /// Input columns of the arguments.
    pub input_columns: Vec<usize>,
    /// Types of those columns.
    #[serde(with = "rsql_plan::codec::data_types")]
    pub argument_types: Vec<DataType>,
    /// The constant argument (0 when none).
    pub constant: i64,
    /// The frame.
    pub frame: WindowFrame,
    /// `IGNORE NULLS`.
    pub ignore_nulls: bool,
    /// Name of the output column.
    pub name: String,
}

/// An [`AggregateCall`] with its function by registered name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateCallSpec {
    /// The registered (lower-case) name of the aggregate function.
    pub function: String,
    /// Whether the call is `function(DISTINCT ..)`.
    #[serde(default)]
    pub distinct: bool,
    /// The mode the function runs in ([`AggregateUdf::in_mode`]).
    #[serde(default)]
    pub mode: EvalMode,
    /// Types of the function's arguments.
    #[serde(with = "rsql_plan::codec::data_types")]
    pub argument_types: Vec<DataType>,
    /// Input columns the accumulator reads.
    pub input_columns: Vec<usize>,
    /// Name of the output column.
    pub name: String,
}

impl PhysicalPlan {
    /// The plan as plain data, ready to serialize.
    pub fn to_spec(&self) -> PlanSpec {
        let input = |plan: &Arc<PhysicalPlan>| Box::new(plan.to_spec());
        let node = match &self.node {
            PhysicalNode::Scan {
                table,
                scan,
                partitions,
                pruning,
            } => NodeSpec::Scan {
                table: table.clone(),
                scan: scan.to_spec(),
                partitions: partitions.clone(),
                pruning: pruning.clone(),
            },
            PhysicalNode::Range { range, partitions } => NodeSpec::Range {
                range: *range,
                partitions: *partitions,
            },
            PhysicalNode::Values { partitions } => NodeSpec::Values {
                partitions: partitions.as_ref().clone(),
            },
            PhysicalNode::Filter {
                input: plan,
                source,
                ..
            } => NodeSpec::Filter {
                input: input(plan),
                predicate: source.clone(),
            },
            PhysicalNode::Projection {
                input: plan,
                source,
                ..
            } => NodeSpec::Projection {
                input: input(plan),
                source: source.clone(),
            },
            PhysicalNode::Aggregate {
                input: plan,
                aggregate,
            } => NodeSpec::Aggregate {
                input: input(plan),
                mode: aggregate.mode(),
                group_columns: aggregate.group_columns().to_vec(),
                empty_grouping_sets: aggregate.empty_grouping_sets().to_vec(),
                aggregates: aggregate
                    .aggregates()
                    .iter()
                    .map(|call| AggregateCallSpec {
                        function: call
                            .function
                            .distinct_of()
                            .unwrap_or(&call.function)
                            .name()
                            .to_lowercase(),
                        distinct: call.function.distinct_of().is_some(),
                        mode: call.function.distinct_of().unwrap_or(&call.function).mode(),
                        argument_types: call.argument_types.clone(),
                        input_columns: call.input_columns.clone(),
                        name: call.name.clone(),
                    })
                    .collect(),
            },
            PhysicalNode::HashJoin {
                left,
                right,
                join,
                broadcast,
                runtime_filter,
                filter,
            } => NodeSpec::HashJoin {
                left: input(left),
                right: input(right),
                kind: join.kind(),
                left_keys: join.left_keys().to_vec(),
                right_keys: join.right_keys().to_vec(),
                filter: filter.clone(),
                broadcast: *broadcast,
                runtime_filter: *runtime_filter,
            },
            PhysicalNode::Window {
                input: plan,
                window,
            } => NodeSpec::Window {
                input: input(plan),
                partition_columns: window.partition_columns.clone(),
                order_keys: window.order_keys.clone(),
                calls: window
                    .calls
                    .iter()
                    .map(|call| WindowCallSpec {
                        kind: call.kind.clone(),
                        aggregate: call.aggregate.as_ref().map(|f| f.name().to_lowercase()),
                        mode: call
                            .aggregate
                            .as_ref()
                            .map_or(EvalMode::Lenient, |f| f.mode()),
                        input_columns: call.input_columns.clone(),
                        argument_types: call.argument_types.clone(),
                        constant: call.constant,
                        frame: call.frame.clone(),
                        ignore_nulls: call.ignore_nulls,
                        name: call.name.clone(),
                    })
                    .collect(),
            },
            PhysicalNode::WindowGroupLimit {
                input: plan,
                limit,
                scope,
            } => NodeSpec::WindowGroupLimit {
                input: input(plan),
                partition_columns: limit.partition_columns.clone(),
                order_keys: limit.order_keys.clone(),
                function: limit.function,
                limit: limit.limit,
                scope: *scope,
            },
            PhysicalNode::Sort {
                input: plan,
                keys,
                fetch,
                scope,
            } => NodeSpec::Sort {
                input: input(plan),
                keys: keys.clone(),
                fetch: *fetch,
                scope: *scope,
            },
            PhysicalNode::Limit {
                input: plan,
                skip,
                fetch,
                scope,
            } => NodeSpec::Limit {
                input: input(plan),
                skip: *skip,
                fetch: *fetch,
                scope: *scope,
            },
            PhysicalNode::Expand { input: plan, sets } => NodeSpec::Expand {
                input: input(plan),
                key_columns: sets.key_columns.clone(),
                sets: sets.sets.clone(),
            },
            PhysicalNode::ReplicateRows { input: plan } => {
                NodeSpec::ReplicateRows { input: input(plan) }
            }
            PhysicalNode::Generate {
                input: plan,
                generator,
            } => NodeSpec::Generate {
                input: input(plan),
                generator: *generator,
            },
            PhysicalNode::Union { inputs } => NodeSpec::Union {
                inputs: inputs.iter().map(|plan| plan.to_spec()).collect(),
            },
            PhysicalNode::Exchange { input: plan } => NodeSpec::Exchange { input: input(plan) },
        };
        PlanSpec {
            node,
            schema: Arc::clone(&self.schema),
            partitioning: self.partitioning.clone(),
            estimated_rows: self.estimated_rows,
        }
    }
}

impl PlanSpec {
    /// Rebuilds the physical plan: expressions are compiled against `registry` (signatures) and
    /// `scalar_functions`, aggregates looked up in `aggregate_functions`, scans reopened. A
    /// function not registered under the name the plan uses is an error, as is one whose
    /// results here differ in type from the planner's.
    pub fn instantiate(
        &self,
        registry: &FunctionRegistry,
        scalar_functions: &ScalarFunctions,
        aggregate_functions: &AggregateFunctions,
    ) -> Result<Arc<PhysicalPlan>> {
        Functions {
            registry,
            scalar: scalar_functions,
            aggregate: aggregate_functions,
        }
        .instantiate(self)
    }
}

/// The receiving side's functions.
struct Functions<'a> {
    registry: &'a FunctionRegistry,
    scalar: &'a ScalarFunctions,
    aggregate: &'a AggregateFunctions,
}

impl Functions<'_> {
    fn instantiate(&self, spec: &PlanSpec) -> Result<Arc<PhysicalPlan>> {
        let input = |spec: &PlanSpec| self.instantiate(spec);
        let node = match &spec.node {
            NodeSpec::Scan {
                table,
                scan,
                partitions,
                pruning,
            } => PhysicalNode::Scan {
                table: table.clone(),
                scan: Arc::new(Scan::from_spec(scan).map_err(ExecError::Io)?),
                partitions: partitions.clone(),
                pruning: pruning.clone(),
            },
            NodeSpec::Range { range, partitions } => PhysicalNode::Range {
                range: *range,
                partitions: *partitions,
            },
            NodeSpec::Values { partitions } => PhysicalNode::Values {
                partitions: Arc::new(partitions.clone()),
            },
            NodeSpec::Filter {
                input: plan,
                predicate,
            } => PhysicalNode::Filter {
                input: input(plan)?,
                predicate: predicate.compile(self.registry, self.scalar)?,
                source: predicate.clone(),
            },
            NodeSpec::Projection {
                input: plan,
                source,
            } => {
                let plan = input(plan)?;
                let exprs = source.compile(&plan.schema, self.registry, self.scalar)?;
                let types = exprs.iter().map(|e| e.data_type());
                if !types.eq(spec.schema.fields().iter().map(|f| f.data_type())) {
                    return exec_err(mismatch("projection", &spec.schema));
                }
                PhysicalNode::Projection {
                    input: plan,
                    exprs,
                    source: source.clone(),
                }
            }
            NodeSpec::Aggregate {
                input: plan,
                mode,
                group_columns,
                aggregates,
                empty_grouping_sets,
            } => {
                let plan = input(plan)?;
                let calls = aggregates
                    .iter()
                    .map(|call| self.aggregate_call(call))
                    .collect::<Result<Vec<_>>>()?;
                let aggregate =
                    HashAggregate::try_new(&plan.schema, *mode, group_columns.clone(), calls)?
                        .with_empty_grouping_sets(empty_grouping_sets.clone())?;
                check_schema("aggregation", &spec.schema, aggregate.output_schema())?;
                PhysicalNode::Aggregate {
                    input: plan,
                    aggregate: Arc::new(aggregate),
                }
            }
            NodeSpec::HashJoin {
                left,
                right,
                kind,
                left_keys,
                right_keys,
                filter,
                broadcast,
                runtime_filter,
            } => {
                let (left, right) = (input(left)?, input(right)?);
                let compiled = filter
                    .as_ref()
                    .map(|filter| filter.compile(self.registry, self.scalar))
                    .transpose()?;
                let join = HashJoin::try_new(
                    Arc::clone(&left.schema),
                    Arc::clone(&right.schema),
                    left_keys.clone(),
                    right_keys.clone(),
                    *kind,
                    compiled,
                )?;
                check_schema("join", &spec.schema, join.output_schema())?;
                PhysicalNode::HashJoin {
                    left,
                    right,
                    join: Arc::new(join),
                    broadcast: *broadcast,
                    runtime_filter: *runtime_filter,
                    filter: filter.clone(),
                }
            }
            NodeSpec::Window {
                input: plan,
                partition_columns,
                order_keys,
                calls,
            } => {
                let calls = calls
                    .iter()
                    .map(|call| self.window_call(call))
                    .collect::<Result<Vec<_>>>()?;
                PhysicalNode::Window {
                    input: input(plan)?,
                    window: Arc::new(WindowExec {
                        partition_columns: partition_columns.clone(),
                        order_keys: order_keys.clone(),
                        calls,
                        schema: Arc::clone(&spec.schema),
                    }),
                }
            }
            NodeSpec::WindowGroupLimit {
                input: plan,
                partition_columns,
                order_keys,
                function,
                limit,
                scope,
            } => PhysicalNode::WindowGroupLimit {
                input: input(plan)?,
                limit: Arc::new(GroupLimit {
                    partition_columns: partition_columns.clone(),
                    order_keys: order_keys.clone(),
                    function: *function,
                    limit: *limit,
                }),
                scope: *scope,
            },
            NodeSpec::Sort {
                input: plan,
                keys,
                fetch,
                scope,
            } => PhysicalNode::Sort {
                input: input(plan)?,
                keys: keys.clone(),
                fetch: *fetch,
                scope: *scope,
            },
            NodeSpec::Limit {
                input: plan,
                skip,
                fetch,
                scope,
            } => PhysicalNode::Limit {
                input: input(plan)?,
                skip: *skip,
                fetch: *fetch,
                scope: *scope,
            },
            NodeSpec::Expand {
                input: plan,
                key_columns,
                sets,
            } => PhysicalNode::Expand {
                input: input(plan)?,
                sets: Arc::new(GroupingSets::try_new(key_columns.clone(), sets.clone())?),
            },
            NodeSpec::ReplicateRows { input: plan } => PhysicalNode::ReplicateRows {
                input: input(plan)?,
            },
            NodeSpec::Generate {
                input: plan,
                generator,
            } => PhysicalNode::Generate {
                input: input(plan)?,
                generator: *generator,
            },
            NodeSpec::Union { inputs } => PhysicalNode::Union {
                inputs: inputs.iter().map(input).collect::<Result<Vec<_>>>()?,
            },
            NodeSpec::Exchange { input: plan } => PhysicalNode::Exchange {
                input: input(plan)?,
            },
        };
        Ok(Arc::new(
            PhysicalPlan::new(node, Arc::clone(&spec.schema), spec.partitioning.clone())
                .with_estimated_rows(spec.estimated_rows),
        ))
    }

    fn window_call(&self, call: &WindowCallSpec) -> Result<WindowCall> {
        let aggregate = match &call.aggregate {
            Some(name) => Some(in_mode(
                self.aggregate.get(name).ok_or_else(|| {
                    ExecError::Execution(format!(
                        "no implementation of aggregate function '{name}' is registered"
                    ))
                })?,
                call.mode,
            )),
            None => None,
        };
        Ok(WindowCall {
            kind: call.kind.clone(),
            aggregate,
            input_columns: call.input_columns.clone(),
            argument_types: call.argument_types.clone(),
            constant: call.constant,
            frame: call.frame.clone(),
            ignore_nulls: call.ignore_nulls,
            name: call.name.clone(),
        })
    }

    fn aggregate_call(&self, call: &AggregateCallSpec) -> Result<AggregateCall> {
        let Some(function) = self.aggregate.get(&call.function) else {
            return exec_err(format!(
                "no implementation of aggregate function '{}' is registered",
                call.function
            ));
        };
        let function = in_mode(function, call.mode);
        let function: Arc<dyn AggregateUdf> = if call.distinct {
            Arc::new(DistinctAggregate::new(function))
        } else {
            function
        };
        Ok(AggregateCall {
            function,
            argument_types: call.argument_types.clone(),
            input_columns: call.input_columns.clone(),
            name: call.name.clone(),
        })
    }
}

/// `function` as it runs in `mode`.
fn in_mode(function: &Arc<dyn AggregateUdf>, mode: EvalMode) -> Arc<dyn AggregateUdf> {
    function
        .in_mode(mode)
        .unwrap_or_else(|| Arc::clone(function))
}

/// Errors unless the operator rebuilt here produces the fields the plan expects.
fn check_schema(operator: &str, planned: &Schema, rebuilt: &Schema) -> Result<()> {
    if planned.fields() == rebuilt.fields() {
        Ok(())
    } else {
        exec_err(mismatch(operator, planned))
    }
}

fn mismatch(operator: &str, planned: &Schema) -> String {
    let fields: Vec<String> = planned
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect();
    format!(
        "the {operator} rebuilt here does not produce the planned [{}]: its functions differ \
         from the planner's",
        fields.join(", ")
    )
}

/// Batches per partition, each batch as an Arrow IPC stream.
mod batch_partitions {
    use serde::{Deserializer, Serializer};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Batch(#[serde(with = "rsql_plan::codec::batch")] RecordBatch);

    pub fn serialize<S: Serializer>(
        partitions: &[Vec<RecordBatch>],
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let wrapped: Vec<Vec<Batch>> = partitions
            .iter()
            .map(|batches| batches.iter().cloned().map(Batch).collect())
            .collect();
        wrapped.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Vec<Vec<RecordBatch>>, D::Error> {
        let wrapped = Vec::<Vec<Batch>>::deserialize(deserializer)?;
        Ok(wrapped
            .into_iter()
            .map(|batches| batches.into_iter().map(|Batch(batch)| batch).collect())
            .collect())
    }
}
