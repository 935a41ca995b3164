//! `f(DISTINCT x)` for any aggregate `f` of one argument: each group's distinct values are
//! kept (as `collect_set` keeps them, which is also the partial state shipped between phases),
//! and `f` runs over them when the group's value is asked for.
//!
//! `count(DISTINCT x)` has its own accumulator ([`super::CountDistinct`]), which counts the
//! values without handing them on. An aggregation whose calls are all `DISTINCT` over the same
//! argument is planned without either: the optimizer's `rewrite_single_distinct` groups by the
//! argument first.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
use rsql_plan::{AggregateFunctionSignature, Arity, BuiltinAggregate};

use crate::aggregate::row_sets::{Output, row_set_accumulator};
use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::Result;

/// `function` applied to the distinct values of its argument.
#[derive(Debug)]
pub struct DistinctAggregate {
    function: Arc<dyn AggregateUdf>,
}

impl DistinctAggregate {
    /// `function(DISTINCT ..)`.
    pub fn new(function: Arc<dyn AggregateUdf>) -> Self {
        DistinctAggregate { function }
    }
}

impl AggregateFunctionSignature for DistinctAggregate {
    fn name(&self) -> &str {
        self.function.name()
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        self.function.coerce_types(args)
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        self.function.return_type(args)
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        BuiltinAggregate::CollectSet.state_fields(args)
    }
}

impl AggregateUdf for DistinctAggregate {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name(), args.len())?;
        Ok(Box::new(DistinctAccumulator {
            values: row_set_accumulator(&args[0], Output::Set)?,
            value_type: args[0].clone(),
            function: self.function.accumulator(args)?,
        }))
    }

    fn distinct_of(&self) -> Option<&Arc<dyn AggregateUdf>> {
        Some(&self.function)
    }
}

/// The distinct values of each group, and the accumulator they are fed to at the end.
struct DistinctAccumulator {
    values: Box<dyn GroupsAccumulator>,
    /// The argument's type, which the sets may hold decoded (dictionary values).
    value_type: DataType,
    function: Box<dyn GroupsAccumulator>,
}

impl GroupsAccumulator for DistinctAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.values
            .update_batch(values, group_indices, total_groups)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.values.merge_batch(states, group_indices, total_groups)
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        self.values.state(total_groups)
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        let sets = self.values.evaluate(total_groups)?;
        let sets = sets.as_list::<i32>();
        let group_of_value: Vec<usize> = sets
            .offsets()
            .windows(2)
            .enumerate()
            .flat_map(|(group, bounds)| {
                std::iter::repeat_n(group, (bounds[1] - bounds[0]) as usize)
            })
            .collect();
        let values = sets
            .values()
            .slice(sets.offsets()[0] as usize, group_of_value.len());
        let values = cast(&values, &self.value_type)?;
        self.function
            .update_batch(&[values], &group_of_value, total_groups)?;
        self.function.evaluate(total_groups)
    }

    fn size(&self) -> usize {
        self.values.size() + self.function.size()
    }
}
