//! Lowering an optimized logical plan into `Rdd<RecordBatch>` lineage.
//!
//! Covered so far: table scans of [`ListingTable`]s, filters, projections and aggregations
//! (two-phase: a partial aggregate per input partition, a hash exchange on the group keys, a
//! final aggregate per output partition). Other nodes are a clear "not supported yet" error.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_common::DFSchema;
use rsql_io::ScanOptions;
use rsql_plan::{Expr, FunctionRegistry, LogicalPlan};
use rsql_rdd::{Context, Rdd, RddError};

use crate::aggregate::AggregateUdf;
use crate::error::{ExecError, Result, exec_err};
use crate::expr::{PhysicalExpr, ScalarFunctions, create_physical_expr, evaluate_to_array};
use crate::listing_table::ListingTable;
use crate::lower::{aggregate_partitions, hash_exchange, map_batches};
use crate::operators::{AggregateCall, AggregateMode, HashAggregate};

/// The batches of one read unit, as its reader yields them.
type BatchResults = Box<dyn Iterator<Item = rsql_io::Result<RecordBatch>>>;

/// What planning needs: the runtime and every registered function.
pub struct PlannerContext<'a> {
    /// The RDD runtime jobs run on.
    pub context: &'a Context,
    /// Function signatures, for expression types.
    pub registry: &'a FunctionRegistry,
    /// Scalar function implementations by name.
    pub scalar_functions: &'a ScalarFunctions,
    /// Aggregate function implementations by name (`count_distinct` for `count(DISTINCT ..)`).
    pub aggregate_functions: &'a HashMap<String, Arc<dyn AggregateUdf>>,
    /// Partitions after an exchange.
    pub shuffle_partitions: usize,
}

/// A lowered plan: the lineage producing its batches, and their schema.
pub struct PlannedRdd {
    /// Batches of the plan's rows, partitioned.
    pub rdd: Rdd<RecordBatch>,
    /// Their schema.
    pub schema: SchemaRef,
}

/// Lowers `plan` into RDD lineage.
pub fn plan_rdd(plan: &LogicalPlan, cx: &PlannerContext<'_>) -> Result<PlannedRdd> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let Some(table) = scan.source.as_any().downcast_ref::<ListingTable>() else {
                return exec_err(format!("table {} is not a file dataset", scan.table_name));
            };
            let options = ScanOptions {
                projection: scan.projection.clone(),
                parallelism: cx.context.default_parallelism(),
                ..ScanOptions::default()
            };
            let scan = Arc::new(
                table
                    .dataset()
                    .scan(options)
                    .map_err(|e| ExecError::Execution(e.to_string()))?,
            );
            let schema = scan.schema().clone();
            let units: Vec<usize> = (0..scan.units().len()).collect();
            let partitions = units.len().max(1);
            let rdd = cx
                .context
                .parallelize(units, partitions)
                .map_partitions_with_context(move |units, tc| {
                    let scan = Arc::clone(&scan);
                    Box::new(
                        units
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
                });
            Ok(PlannedRdd { rdd, schema })
        }
        LogicalPlan::Filter(filter) => {
            let input = plan_rdd(&filter.input, cx)?;
            let predicate = compile(&filter.predicate, filter.input.schema(), cx)?;
            let rdd = map_batches(&input.rdd, move |batch| {
                let mask = evaluate_to_array(predicate.as_ref(), &batch)?;
                let Some(mask) = mask.as_boolean_opt() else {
                    return exec_err("a filter predicate must be boolean");
                };
                let kept = filter_record_batch(&batch, mask)?;
                Ok((kept.num_rows() > 0).then_some(kept))
            });
            Ok(PlannedRdd {
                rdd,
                schema: input.schema,
            })
        }
        LogicalPlan::Projection(projection) => {
            let input = plan_rdd(&projection.input, cx)?;
            let names: Vec<String> = projection
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let exprs = compile_all(&projection.exprs, projection.input.schema(), cx)?;
            let (rdd, schema) = project(&input.rdd, exprs, names);
            Ok(PlannedRdd { rdd, schema })
        }
        LogicalPlan::Aggregate(aggregate) => {
            let input = plan_rdd(&aggregate.input, cx)?;
            plan_aggregate(input, aggregate, cx)
        }
        other => exec_err(format!(
            "not supported yet: {} in execution",
            other.node_description()
        )),
    }
}

fn compile(
    expr: &Expr,
    schema: &DFSchema,
    cx: &PlannerContext<'_>,
) -> Result<Arc<dyn PhysicalExpr>> {
    create_physical_expr(expr, schema, cx.registry, cx.scalar_functions)
}

fn compile_all(
    exprs: &[Expr],
    schema: &DFSchema,
    cx: &PlannerContext<'_>,
) -> Result<Vec<Arc<dyn PhysicalExpr>>> {
    exprs.iter().map(|e| compile(e, schema, cx)).collect()
}

/// Evaluates `exprs` on every batch into columns called `names`.
fn project(
    input: &Rdd<RecordBatch>,
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    names: Vec<String>,
) -> (Rdd<RecordBatch>, SchemaRef) {
    let fields: Vec<Field> = exprs
        .iter()
        .zip(&names)
        .map(|(e, name)| Field::new(name, e.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let output = Arc::clone(&schema);
    let rdd = map_batches(input, move |batch| {
        let columns = exprs
            .iter()
            .map(|e| evaluate_to_array(e.as_ref(), &batch))
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(Some(RecordBatch::try_new(Arc::clone(&output), columns)?))
    });
    (rdd, schema)
}

/// `GROUP BY` in two phases around a hash exchange on the group keys.
fn plan_aggregate(
    input: PlannedRdd,
    aggregate: &rsql_plan::plan::Aggregate,
    cx: &PlannerContext<'_>,
) -> Result<PlannedRdd> {
    let input_schema = aggregate.input.schema();
    // One pre-projection computes the group keys, then every aggregate's arguments.
    let mut pre_exprs: Vec<Expr> = aggregate.group_exprs.clone();
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
            (name, true) => return exec_err(format!("not supported yet: {name}(DISTINCT ..)")),
        };
        let Some(function) = cx.aggregate_functions.get(&registered) else {
            return exec_err(format!("no implementation of aggregate function '{name}'"));
        };
        let columns = (pre_exprs.len()..pre_exprs.len() + args.len()).collect();
        pre_exprs.extend(args.iter().cloned());
        calls.push((Arc::clone(function), columns));
    }
    let group_count = aggregate.group_exprs.len();
    let pre_names: Vec<String> = (0..pre_exprs.len()).map(|i| format!("c{i}")).collect();
    let (pre_rdd, pre_schema) = project(
        &input.rdd,
        compile_all(&pre_exprs, input_schema, cx)?,
        pre_names,
    );
    let types = |columns: &[usize]| -> Vec<DataType> {
        columns
            .iter()
            .map(|&c| pre_schema.field(c).data_type().clone())
            .collect()
    };
    let output_names: Vec<String> = aggregate
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();

    let partial_calls: Vec<AggregateCall> = calls
        .iter()
        .enumerate()
        .map(|(i, (function, columns))| AggregateCall {
            function: Arc::clone(function),
            argument_types: types(columns),
            input_columns: columns.clone(),
            name: output_names[group_count + i].clone(),
        })
        .collect();
    let group_columns: Vec<usize> = (0..group_count).collect();
    let partial = HashAggregate::try_new(
        &pre_schema,
        AggregateMode::Partial,
        group_columns.clone(),
        partial_calls.clone(),
    )?;
    let mut next_state = group_count;
    let final_calls = partial_calls
        .into_iter()
        .map(|call| {
            let states = call.function.state_fields(&call.argument_types)?.len();
            let input_columns = (next_state..next_state + states).collect();
            next_state += states;
            Ok(AggregateCall {
                input_columns,
                ..call
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let final_plan = HashAggregate::try_new(
        partial.output_schema(),
        AggregateMode::Final,
        group_columns.clone(),
        final_calls,
    )?;

    let partial_rdd = aggregate_partitions(&pre_rdd, Arc::new(partial));
    let partitions = if group_count == 0 {
        1
    } else {
        cx.shuffle_partitions
    };
    let exchanged = hash_exchange(&partial_rdd, group_columns, partitions);
    let final_schema = final_plan.output_schema().clone();
    let final_rdd = aggregate_partitions(&exchanged, Arc::new(final_plan));
    // Name the output columns as the logical plan does.
    let fields: Vec<Field> = final_schema
        .fields()
        .iter()
        .zip(&output_names)
        .map(|(f, name)| Field::new(name, f.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let output = Arc::clone(&schema);
    let rdd = map_batches(&final_rdd, move |batch| {
        Ok(Some(RecordBatch::try_new(
            Arc::clone(&output),
            batch.columns().to_vec(),
        )?))
    });
    Ok(PlannedRdd { rdd, schema })
}
