//! The aggregates of booleans, as Spark defines them: `bool_and`/`every` is the minimum of the
//! booleans (false < true), `bool_or`/`any`/`some` the maximum, both NULL without non-null
//! values; `count_if(b)` counts the rows where `b` is true, 0 without any.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field};
use rsql_plan::coercion::value_type;
use rsql_plan::{AggregateFunctionSignature, Arity, PlanError};

use crate::aggregate::count::CountAccumulator;
use crate::aggregate::min_max::min_max_accumulator;
use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::Result;

/// What a boolean aggregate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    /// Whether every value is true.
    All,
    /// Whether some value is true.
    Any,
    /// How many values are true.
    CountTrue,
}

/// Every boolean aggregate by name; aliases share a meaning.
const BOOLEAN_AGGREGATES: [(&str, Logic); 6] = [
    ("bool_and", Logic::All),
    ("every", Logic::All),
    ("bool_or", Logic::Any),
    ("any", Logic::Any),
    ("some", Logic::Any),
    ("count_if", Logic::CountTrue),
];

/// One boolean aggregate under one of its names.
#[derive(Debug, Clone, Copy)]
pub struct BooleanAggregate {
    name: &'static str,
    logic: Logic,
}

/// Every boolean aggregate, each alias its own function.
pub(crate) fn boolean_aggregates() -> impl Iterator<Item = BooleanAggregate> {
    BOOLEAN_AGGREGATES
        .into_iter()
        .map(|(name, logic)| BooleanAggregate { name, logic })
}

impl AggregateFunctionSignature for BooleanAggregate {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        args.iter()
            .map(|t| match value_type(t) {
                DataType::Boolean | DataType::Null => Ok(DataType::Boolean),
                other => Err(PlanError::type_mismatch(format!(
                    "function '{}' needs a boolean argument, got {other}",
                    self.name
                ))),
            })
            .collect()
    }

    fn return_type(&self, _args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(match self.logic {
            Logic::CountTrue => DataType::Int64,
            Logic::All | Logic::Any => DataType::Boolean,
        })
    }

    fn state_fields(&self, _args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        Ok(vec![match self.logic {
            Logic::CountTrue => Field::new("count", DataType::Int64, false),
            Logic::All => Field::new("min", DataType::Boolean, true),
            Logic::Any => Field::new("max", DataType::Boolean, true),
        }])
    }
}

impl AggregateUdf for BooleanAggregate {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name, args.len())?;
        match self.logic {
            Logic::All => min_max_accumulator(&DataType::Boolean, std::cmp::Ordering::Less),
            Logic::Any => min_max_accumulator(&DataType::Boolean, std::cmp::Ordering::Greater),
            Logic::CountTrue => Ok(Box::<CountIfAccumulator>::default()),
        }
    }
}

/// `count_if(b)`: `count` of `b` with every value that is not true read as NULL.
#[derive(Default)]
struct CountIfAccumulator(CountAccumulator);

impl GroupsAccumulator for CountIfAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        let booleans = values[0].as_boolean();
        let trues = match booleans.nulls() {
            Some(nulls) => booleans.values() & nulls.inner(),
            None => booleans.values().clone(),
        };
        let only_trues: ArrayRef = Arc::new(BooleanArray::new(
            trues.clone(),
            Some(NullBuffer::new(trues)),
        ));
        self.0
            .update_batch(&[only_trues], group_indices, total_groups)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.0.merge_batch(states, group_indices, total_groups)
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        self.0.state(total_groups)
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        self.0.evaluate(total_groups)
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}
