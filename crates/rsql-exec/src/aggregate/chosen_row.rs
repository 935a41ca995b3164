//! The aggregates whose value is one row's value, as Spark defines them:
//!
//! - `first(x [, ignore_nulls])`, `any_value(x [, ignore_nulls])` and `last(x [, ignore_nulls])`:
//!   `x` of the group's first (last) row, NULL included unless `ignore_nulls` is true
//!   (`first(x) IGNORE NULLS` binds as `first(x, true)`). Rows are ordered as they arrive, so,
//!   as in Spark, which row is first depends on how the input is partitioned, unless a window
//!   orders it;
//! - `max_by(x, ord)` / `min_by(x, ord)` (DuckDB's `arg_max` / `arg_min`): `x` of the row with
//!   the largest (smallest) non-null `ord`; of tied rows, the first seen.
//!
//! `first` and `last` number the rows they see and carry each group's number in their partial
//! state, so that merging states in any order (the window operator's segment tree does) still
//! picks the row with the smallest (largest) number.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, Int64Type};
use rsql_plan::coercion::value_type;
use rsql_plan::{AggregateFunctionSignature, Arity, PlanError};

use crate::aggregate::min_max::BestValues;
use crate::aggregate::picked::PickedValues;
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::Result;

/// Which row's value a positional aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    First,
    Last,
}

/// `first`, `any_value` or `last` under one of its names.
#[derive(Debug, Clone, Copy)]
pub struct PositionalAggregate {
    name: &'static str,
    position: Position,
}

/// `max_by` or `min_by` under one of its names.
#[derive(Debug, Clone, Copy)]
pub struct ValueByAggregate {
    name: &'static str,
    /// `Greater` for `max_by`, `Less` for `min_by`.
    keep: Ordering,
}

/// Every aggregate returning one row's value, each alias its own function.
pub(crate) fn chosen_row_aggregates() -> Vec<Arc<dyn AggregateUdf>> {
    let positional = [
        ("first", Position::First),
        ("any_value", Position::First),
        ("last", Position::Last),
    ]
    .map(|(name, position)| Arc::new(PositionalAggregate { name, position }) as _);
    let by = [
        ("max_by", Ordering::Greater),
        ("arg_max", Ordering::Greater),
        ("min_by", Ordering::Less),
        ("arg_min", Ordering::Less),
    ]
    .map(|(name, keep)| Arc::new(ValueByAggregate { name, keep }) as _);
    positional.into_iter().chain(by).collect()
}

fn first_type(args: &[DataType]) -> DataType {
    args.first().cloned().unwrap_or(DataType::Null)
}

impl AggregateFunctionSignature for PositionalAggregate {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        Arity::Range(1, 2)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        let mut types = vec![value_type(&first_type(args)).clone()];
        if let Some(flag) = args.get(1) {
            match value_type(flag) {
                DataType::Boolean | DataType::Null => types.push(DataType::Boolean),
                other => {
                    return Err(PlanError::type_mismatch(format!(
                        "the second argument of '{}' (whether to ignore NULLs) must be a boolean, not {other}",
                        self.name
                    )));
                }
            }
        }
        Ok(types)
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(first_type(args))
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        Ok(vec![
            Field::new("value", first_type(args), true),
            Field::new("row", DataType::Int64, true),
        ])
    }

    fn ignore_nulls_as_argument(&self) -> bool {
        true
    }
}

impl AggregateUdf for PositionalAggregate {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name, args.len())?;
        Ok(Box::new(PositionalAccumulator {
            position: self.position,
            seen: 0,
            rows: Vec::new(),
            values: PickedValues::new(&args[0]),
        }))
    }
}

/// The value of each group's first or last row, and that row's number.
struct PositionalAccumulator {
    position: Position,
    /// Rows numbered so far.
    seen: i64,
    /// The number of each group's row; `None` for a group without rows.
    rows: Vec<Option<i64>>,
    values: PickedValues,
}

impl PositionalAccumulator {
    /// Makes each row with a number the value of its group where it comes earlier (later).
    fn fold(
        &mut self,
        values: &ArrayRef,
        numbers: impl Iterator<Item = Option<i64>>,
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.rows, total_groups, None);
        let wanted = match self.position {
            Position::First => Ordering::Less,
            Position::Last => Ordering::Greater,
        };
        let mut picks = Vec::new();
        for ((row, &group), number) in group_indices.iter().enumerate().zip(numbers) {
            let Some(number) = number else { continue };
            if self.rows[group].is_none_or(|best| number.cmp(&best) == wanted) {
                self.rows[group] = Some(number);
                picks.push((group, row));
            }
        }
        self.values.set(values, &picks, total_groups)
    }
}

impl GroupsAccumulator for PositionalAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        let value = &values[0];
        let ignore_nulls = values.get(1).map(|flags| flags.as_boolean());
        let first = self.seen;
        self.seen += value.len() as i64;
        let numbers = (0..value.len()).map(|row| {
            let skip = value.is_null(row)
                && ignore_nulls.is_some_and(|flags| flags.is_valid(row) && flags.value(row));
            (!skip).then_some(first + row as i64)
        });
        self.fold(value, numbers, group_indices, total_groups)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        let numbers = states[1].as_primitive::<Int64Type>();
        self.fold(&states[0], numbers.iter(), group_indices, total_groups)
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        let values = self.values.take(total_groups)?;
        ensure_groups(&mut self.rows, total_groups, None);
        let rows = Int64Array::from(std::mem::take(&mut self.rows));
        Ok(vec![values, Arc::new(rows)])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        self.rows.clear();
        self.values.take(total_groups)
    }

    fn size(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Option<i64>>() + self.values.size()
    }
}

impl AggregateFunctionSignature for ValueByAggregate {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        Ok(args.iter().map(|t| value_type(t).clone()).collect())
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(first_type(args))
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        let ord = args.get(1).cloned().unwrap_or(DataType::Null);
        Ok(vec![
            Field::new("value", first_type(args), true),
            Field::new("ord", ord, true),
        ])
    }
}

impl AggregateUdf for ValueByAggregate {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name, args.len())?;
        Ok(Box::new(ValueByAccumulator {
            best: BestValues::new(&args[1], self.keep)?,
            values: PickedValues::new(&args[0]),
        }))
    }
}

/// The best `ord` of each group and the value of its row.
struct ValueByAccumulator {
    best: BestValues,
    values: PickedValues,
}

impl ValueByAccumulator {
    fn fold(
        &mut self,
        values: &ArrayRef,
        ords: &ArrayRef,
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        let mut picks = Vec::new();
        self.best
            .fold(ords, group_indices, total_groups, |group, row| {
                picks.push((group, row))
            })?;
        self.values.set(values, &picks, total_groups)
    }
}

impl GroupsAccumulator for ValueByAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.fold(&values[0], &values[1], group_indices, total_groups)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.fold(&states[0], &states[1], group_indices, total_groups)
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        Ok(vec![
            self.values.take(total_groups)?,
            self.best.take(total_groups)?,
        ])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        self.best.take(total_groups)?;
        self.values.take(total_groups)
    }

    fn size(&self) -> usize {
        self.best.size() + self.values.size()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{BooleanArray, Int32Array};
    use arrow::datatypes::Int32Type;

    use super::*;

    fn function(name: &str) -> Arc<dyn AggregateUdf> {
        chosen_row_aggregates()
            .into_iter()
            .find(|f| f.name() == name)
            .unwrap()
    }

    fn ints(values: &[Option<i32>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<Int32Array>())
    }

    fn values(array: &ArrayRef) -> Vec<Option<i32>> {
        array.as_primitive::<Int32Type>().iter().collect()
    }

    #[test]
    fn merged_states_keep_the_earliest_and_latest_rows_whatever_the_merge_order() {
        // Rows 0..4 of one group, each its own partial state, merged last-to-first.
        let x = ints(&[None, Some(1), Some(2), None]);
        for (name, ignore_nulls, expected) in [
            ("first", false, None),
            ("first", true, Some(1)),
            ("last", false, None),
            ("last", true, Some(2)),
        ] {
            let f = function(name);
            let types = [DataType::Int32, DataType::Boolean];
            let mut leaves = f.accumulator(&types).unwrap();
            let flags: ArrayRef = Arc::new(BooleanArray::from(vec![ignore_nulls; 4]));
            leaves
                .update_batch(&[Arc::clone(&x), flags], &[0, 1, 2, 3], 4)
                .unwrap();
            let states = leaves.state(4).unwrap();
            let mut merged = f.accumulator(&types).unwrap();
            for row in (0..4).rev() {
                let state: Vec<ArrayRef> = states.iter().map(|s| s.slice(row, 1)).collect();
                merged.merge_batch(&state, &[0], 1).unwrap();
            }
            assert_eq!(
                values(&merged.evaluate(1).unwrap()),
                vec![expected],
                "{name} {ignore_nulls}"
            );
        }
    }

    #[test]
    fn max_by_skips_null_orderings_and_keeps_a_null_value() {
        // Group 0: ord 5 has value NULL and wins; group 1: only a NULL ord; group 2: ties.
        let x = ints(&[Some(1), None, Some(3), Some(4), Some(5)]);
        let ord = ints(&[Some(2), Some(5), None, Some(7), Some(7)]);
        let f = function("max_by");
        let mut accumulator = f.accumulator(&[DataType::Int32, DataType::Int32]).unwrap();
        accumulator
            .update_batch(&[x, ord], &[0, 0, 1, 2, 2], 3)
            .unwrap();
        assert_eq!(
            values(&accumulator.evaluate(3).unwrap()),
            vec![None, None, Some(4)]
        );
    }
}
