//! Exact order statistics: `median(x)`; `percentile(x, p)` and `quantile_cont(x, p)`, linear
//! interpolation between the two closest ranks (Spark's `percentile`, SQL's
//! `percentile_cont`); `quantile_disc(x, p)` and `quantile(x, p)`, the first value whose
//! cumulative share reaches `p` (SQL's `percentile_disc`).
//!
//! A group's partial state is the list of its values (and the fraction asked for), so partial
//! aggregation saves no memory here: every value of a group is held until the final phase,
//! accounted through [`GroupsAccumulator::size`].

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Float64Type};
use rsql_plan::{AggregateFunctionSignature, Arity};

use crate::aggregate::constant::take_constant;
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups, float_arguments};
use crate::error::{Result, exec_err};

/// How a quantile between two values is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interpolation {
    /// Linear interpolation between the two closest ranks.
    Continuous,
    /// The first value whose cumulative share reaches the fraction.
    Discrete,
}

/// One registered quantile function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuantileAggregate {
    name: &'static str,
    /// The fraction a one-argument form stands for (`median` is 0.5).
    fixed: Option<f64>,
    interpolation: Interpolation,
}

const QUANTILES: [QuantileAggregate; 5] = [
    QuantileAggregate {
        name: "median",
        fixed: Some(0.5),
        interpolation: Interpolation::Continuous,
    },
    QuantileAggregate {
        name: "percentile",
        fixed: None,
        interpolation: Interpolation::Continuous,
    },
    QuantileAggregate {
        name: "quantile_cont",
        fixed: None,
        interpolation: Interpolation::Continuous,
    },
    QuantileAggregate {
        name: "quantile_disc",
        fixed: None,
        interpolation: Interpolation::Discrete,
    },
    QuantileAggregate {
        name: "quantile",
        fixed: None,
        interpolation: Interpolation::Discrete,
    },
];

/// The exact quantile aggregates.
pub(crate) fn quantile_aggregates() -> impl Iterator<Item = QuantileAggregate> {
    QUANTILES.into_iter()
}

impl AggregateFunctionSignature for QuantileAggregate {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        Arity::Exact(if self.fixed.is_some() { 1 } else { 2 })
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        float_arguments(self.name, args)
    }

    fn return_type(&self, _args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, _args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        Ok(vec![
            Field::new(
                "values",
                DataType::List(Arc::new(Field::new_list_field(DataType::Float64, false))),
                false,
            ),
            Field::new("fraction", DataType::Float64, true),
        ])
    }
}

impl AggregateUdf for QuantileAggregate {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name, args.len())?;
        Ok(Box::new(QuantileAccumulator {
            function: *self,
            fraction: self.fixed,
            groups: Vec::new(),
            value_capacity: 0,
        }))
    }
}

/// Every group's values, and the fraction (the same for every row).
struct QuantileAccumulator {
    function: QuantileAggregate,
    fraction: Option<f64>,
    groups: Vec<Vec<f64>>,
    /// The capacity of every group's values together, kept as they grow so that
    /// [`GroupsAccumulator::size`] need not visit every group after every batch.
    value_capacity: usize,
}

impl QuantileAccumulator {
    /// Takes the fraction from a column that must hold one value in [0, 1].
    fn take_fraction(&mut self, fractions: &Float64Array) -> Result<()> {
        if let Some(fraction) = fractions
            .iter()
            .flatten()
            .find(|f| !(0.0..=1.0).contains(f))
        {
            return exec_err(format!(
                "the fraction of '{}' must be between 0 and 1, got {fraction}",
                self.function.name
            ));
        }
        take_constant(
            &mut self.fraction,
            fractions.iter(),
            self.function.name,
            "fraction",
        )
    }

    /// The quantile of `values` (sorted here), or `None` for no values.
    fn quantile(&self, values: &mut [f64]) -> Option<f64> {
        let fraction = self.fraction?;
        let last = values.len().checked_sub(1)?;
        values.sort_unstable_by(f64::total_cmp);
        Some(match self.function.interpolation {
            Interpolation::Continuous => {
                let position = fraction * last as f64;
                let (low, high) = (position.floor() as usize, position.ceil() as usize);
                let (a, b) = (values[low], values[high]);
                if low == high {
                    a
                } else {
                    a + (b - a) * (position - low as f64)
                }
            }
            Interpolation::Discrete => {
                let rank = (fraction * values.len() as f64).ceil() as usize;
                values[rank.saturating_sub(1).min(last)]
            }
        })
    }
}

impl GroupsAccumulator for QuantileAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        if let Some(fractions) = values.get(1) {
            self.take_fraction(fractions.as_primitive::<Float64Type>())?;
        }
        let xs = values[0].as_primitive::<Float64Type>();
        for (x, &group) in xs.iter().zip(group_indices) {
            if let Some(x) = x {
                let values = &mut self.groups[group];
                let capacity = values.capacity();
                values.push(x);
                self.value_capacity += values.capacity() - capacity;
            }
        }
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        self.take_fraction(states[1].as_primitive::<Float64Type>())?;
        let lists = states[0].as_list::<i32>();
        let values = lists.values().as_primitive::<Float64Type>().values();
        let offsets = lists.value_offsets();
        for (row, &group) in group_indices.iter().enumerate() {
            let range = offsets[row] as usize..offsets[row + 1] as usize;
            let group = &mut self.groups[group];
            let capacity = group.capacity();
            group.extend_from_slice(&values[range]);
            self.value_capacity += group.capacity() - capacity;
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        let groups = std::mem::take(&mut self.groups);
        self.value_capacity = 0;
        let offsets = OffsetBuffer::from_lengths(groups.iter().map(Vec::len));
        // Sized once, each group's values freed as soon as they are copied.
        let mut all = Vec::with_capacity(groups.iter().map(Vec::len).sum());
        for values in groups {
            all.extend_from_slice(&values);
        }
        let values = Float64Array::from(all);
        let lists = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Float64, false)),
            offsets,
            Arc::new(values),
            None,
        )?;
        let fractions = Float64Array::from(vec![self.fraction; total_groups]);
        Ok(vec![Arc::new(lists), Arc::new(fractions)])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        let mut groups = std::mem::take(&mut self.groups);
        self.value_capacity = 0;
        let quantiles: Float64Array = groups
            .iter_mut()
            .map(|values| self.quantile(values))
            .collect();
        Ok(Arc::new(quantiles))
    }

    fn size(&self) -> usize {
        self.value_capacity * size_of::<f64>() + self.groups.capacity() * size_of::<Vec<f64>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantile(name: &str, fraction: f64, values: &[f64]) -> Option<f64> {
        let function = QUANTILES.into_iter().find(|f| f.name == name).unwrap();
        let accumulator = QuantileAccumulator {
            function,
            fraction: Some(fraction),
            groups: Vec::new(),
            value_capacity: 0,
        };
        accumulator.quantile(&mut values.to_vec())
    }

    /// The size kept as values come matches one counted over every group, through updates,
    /// merges and emptying.
    #[test]
    fn size_follows_every_group_capacity() {
        let function = QUANTILES[0];
        let mut accumulator = QuantileAccumulator {
            function,
            fraction: function.fixed,
            groups: Vec::new(),
            value_capacity: 0,
        };
        let counted = |a: &QuantileAccumulator| {
            a.groups.iter().map(|g| g.capacity() * 8).sum::<usize>() + a.groups.capacity() * 24
        };
        for round in 0..20usize {
            let rows: Vec<usize> = (0..50).map(|i| (i * 7 + round * 3) % (5 + round)).collect();
            let xs: ArrayRef = Arc::new(Float64Array::from_iter(
                rows.iter().map(|&g| (g % 4 != 1).then_some(g as f64)),
            ));
            accumulator.update_batch(&[xs], &rows, 5 + round).unwrap();
            assert_eq!(accumulator.size(), counted(&accumulator));
        }
        let states = accumulator.state(25).unwrap();
        assert_eq!(accumulator.size(), counted(&accumulator));
        let groups: Vec<usize> = (0..25).map(|g| g % 3).collect();
        accumulator.merge_batch(&states, &groups, 3).unwrap();
        assert_eq!(accumulator.size(), counted(&accumulator));
        accumulator.evaluate(3).unwrap();
        assert_eq!(accumulator.size(), counted(&accumulator));
    }

    #[test]
    fn hand_computed_quantiles() {
        let values = [7.0, 1.0, 3.0, 5.0];
        // Sorted 1 3 5 7: the median interpolates halfway between 3 and 5.
        assert_eq!(quantile("median", 0.5, &values), Some(4.0));
        // Position 0.25 * 3 = 0.75 between 1 and 3.
        assert_eq!(quantile("percentile", 0.25, &values), Some(2.5));
        assert_eq!(quantile("quantile_cont", 1.0, &values), Some(7.0));
        // The first value whose cumulative share (1/4, 2/4, ...) reaches the fraction.
        assert_eq!(quantile("quantile_disc", 0.5, &values), Some(3.0));
        assert_eq!(quantile("quantile_disc", 0.51, &values), Some(5.0));
        assert_eq!(quantile("quantile", 0.0, &values), Some(1.0));
        assert_eq!(quantile("median", 0.5, &[]), None);
    }
}
