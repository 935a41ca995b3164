//! The built-in aggregate functions, and registering aggregates with both layers.
//!
//! The built-ins' signatures are rsql-plan's [`BuiltinAggregate`] (the binder needs them without
//! depending on this crate); their implementations are here, on that same type, so a built-in is
//! one object whichever layer asks.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use rsql_plan::compute::EvalMode;
use rsql_plan::{
    AggregateFunctionSignature, Arity, BuiltinAggregate, FunctionRegistry, SingleValue,
};

use crate::aggregate::approx_distinct::ApproxCountDistinct;
use crate::aggregate::approx_percentile::approx_percentiles;
use crate::aggregate::average::average_accumulator;
use crate::aggregate::boolean::boolean_aggregates;
use crate::aggregate::chosen_row::chosen_row_aggregates;
use crate::aggregate::count::CountAccumulator;
use crate::aggregate::count_values::CountValuesAccumulator;
use crate::aggregate::min_max::min_max_accumulator;
use crate::aggregate::mode::Mode;
use crate::aggregate::quantile::quantile_aggregates;
use crate::aggregate::row_sets::{CountDistinct, Output, row_set_accumulator};
use crate::aggregate::statistics::statistical_aggregates;
use crate::aggregate::string_agg::{OrderedStringAgg, string_aggs};
use crate::aggregate::sum::sum_accumulator;
use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::Result;

/// Aggregate implementations by registered (lower-case) name, as
/// [`PlannerContext::aggregate_functions`](crate::PlannerContext::aggregate_functions) takes
/// them.
pub type AggregateFunctions = HashMap<String, Arc<dyn AggregateUdf>>;

impl AggregateUdf for BuiltinAggregate {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        builtin_accumulator(*self, args, EvalMode::Lenient)
    }

    fn in_mode(&self, mode: EvalMode) -> Option<Arc<dyn AggregateUdf>> {
        let overflows = matches!(self, BuiltinAggregate::Sum | BuiltinAggregate::Avg);
        (overflows && mode == EvalMode::Ansi).then(|| Arc::new(AnsiBuiltin(*self)) as _)
    }
}

/// A built-in aggregate under ANSI mode: `sum` and `avg` fail where their sums overflow.
#[derive(Debug)]
struct AnsiBuiltin(BuiltinAggregate);

impl AggregateFunctionSignature for AnsiBuiltin {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn arity(&self) -> Arity {
        self.0.arity()
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        self.0.coerce_types(args)
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        self.0.return_type(args)
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        self.0.state_fields(args)
    }

    fn ignore_nulls_as_argument(&self) -> bool {
        self.0.ignore_nulls_as_argument()
    }
}

impl AggregateUdf for AnsiBuiltin {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        builtin_accumulator(self.0, args, EvalMode::Ansi)
    }

    fn mode(&self) -> EvalMode {
        EvalMode::Ansi
    }
}

/// The accumulator of built-in `function` over `args`, overflowing as `mode` says.
fn builtin_accumulator(
    function: BuiltinAggregate,
    args: &[DataType],
    mode: EvalMode,
) -> Result<Box<dyn GroupsAccumulator>> {
    function.arity().check(function.name(), args.len())?;
    match function {
        BuiltinAggregate::Count => Ok(Box::<CountAccumulator>::default()),
        BuiltinAggregate::Sum => sum_accumulator(&function.return_type(args)?, mode),
        BuiltinAggregate::Avg => average_accumulator(&args[0], &function.return_type(args)?, mode),
        BuiltinAggregate::Min => min_max_accumulator(&args[0], Ordering::Less),
        BuiltinAggregate::Max => min_max_accumulator(&args[0], Ordering::Greater),
        BuiltinAggregate::CollectList => row_set_accumulator(&args[0], Output::List),
        BuiltinAggregate::CollectSet => row_set_accumulator(&args[0], Output::Set),
        BuiltinAggregate::CountValues => Ok(Box::new(CountValuesAccumulator::try_new()?)),
    }
}

/// Every built-in aggregate, `count_distinct`, which runs `count(DISTINCT x)`,
/// `single_value`, which checks scalar subqueries, the statistical, boolean, exact and
/// approximate quantile aggregates, `approx_count_distinct`, `mode`, the string
/// concatenations (`listagg`, ...), and those returning one row's value (`first`, `max_by`,
/// ...).
pub fn builtin_aggregates() -> Vec<Arc<dyn AggregateUdf>> {
    BuiltinAggregate::ALL
        .into_iter()
        .map(|function| Arc::new(function) as Arc<dyn AggregateUdf>)
        .chain([
            Arc::new(CountDistinct) as Arc<dyn AggregateUdf>,
            Arc::new(SingleValue),
            Arc::new(ApproxCountDistinct),
            Arc::new(Mode),
            Arc::new(OrderedStringAgg),
        ])
        .chain(approx_percentiles().map(|f| Arc::new(f) as Arc<dyn AggregateUdf>))
        .chain(string_aggs().map(|f| Arc::new(f) as Arc<dyn AggregateUdf>))
        .chain(statistical_aggregates().map(|f| Arc::new(f) as Arc<dyn AggregateUdf>))
        .chain(boolean_aggregates().map(|f| Arc::new(f) as Arc<dyn AggregateUdf>))
        .chain(quantile_aggregates().map(|f| Arc::new(f) as Arc<dyn AggregateUdf>))
        .chain(chosen_row_aggregates())
        .chain([Arc::new(AggregateAlias {
            name: "array_agg",
            function: Arc::new(BuiltinAggregate::CollectList),
        }) as Arc<dyn AggregateUdf>])
        .collect()
}

/// Another name for an aggregate: `array_agg` (Spark 3.3, DuckDB, PostgreSQL) is
/// `collect_list`, NULLs skipped as in Spark.
#[derive(Debug)]
struct AggregateAlias {
    name: &'static str,
    function: Arc<dyn AggregateUdf>,
}

impl AggregateFunctionSignature for AggregateAlias {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        self.function.arity()
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        self.function.coerce_types(args)
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        self.function.return_type(args)
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        self.function.state_fields(args)
    }

    fn ignore_nulls_as_argument(&self) -> bool {
        self.function.ignore_nulls_as_argument()
    }
}

impl AggregateUdf for AggregateAlias {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.function.accumulator(args)
    }
}

/// Registers `function` with both layers: its signature in `registry`, for binding and typing
/// calls, and the same object in `functions`, for running them. Replaces a function of the same
/// name in both.
pub fn register_aggregate(
    registry: &mut FunctionRegistry,
    functions: &mut AggregateFunctions,
    function: Arc<dyn AggregateUdf>,
) {
    registry.register_aggregate(Arc::clone(&function) as Arc<dyn AggregateFunctionSignature>);
    functions.insert(function.name().to_lowercase(), function);
}

/// Registers every [built-in aggregate](builtin_aggregates) with both layers (see
/// [`register_aggregate`]) and returns the implementations by name.
pub fn register_builtin_aggregates(registry: &mut FunctionRegistry) -> AggregateFunctions {
    let mut functions = AggregateFunctions::new();
    for function in builtin_aggregates() {
        register_aggregate(registry, &mut functions, function);
    }
    functions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address of the object behind an `Arc`, whatever trait it is seen through.
    fn address<T: ?Sized>(function: &Arc<T>) -> *const () {
        Arc::as_ptr(function).cast()
    }

    #[test]
    fn one_object_serves_the_planner_and_the_executor() {
        let mut registry = FunctionRegistry::new();
        let functions = register_builtin_aggregates(&mut registry);
        assert_eq!(functions.len(), builtin_aggregates().len());
        for (name, function) in &functions {
            let signature = registry.aggregate(name).unwrap();
            assert_eq!(address(signature), address(function), "{name}");
        }
        assert_eq!(
            registry
                .aggregate_return_type("count_distinct", &[DataType::Utf8])
                .unwrap(),
            DataType::Int64
        );
    }

    #[test]
    fn accumulators_check_the_argument_count() {
        let err = BuiltinAggregate::Min.accumulator(&[]).err().unwrap();
        assert_eq!(err.to_string(), "function 'min' expects 1 argument, got 0");
        assert!(CountDistinct.accumulator(&[]).is_err());
        assert!(BuiltinAggregate::Count.accumulator(&[]).is_ok());
    }
}
