//! Exact order statistics: `median(x)`; `percentile(x, p)` and `quantile_cont(x, p)`, linear
//! interpolation between the two closest ranks (Spark's `percentile`, SQL's
//! `percentile_cont`); `quantile_disc(x, p)` and `quantile(x, p)`, the first value whose
//! cumulative share reaches `p` (SQL's `percentile_disc`).
//!
//! A group's partial state is the list of its values (and the fraction asked for), so partial
//! aggregation saves no memory here: every value of a group is held until the final phase,
//! accounted through [`GroupsAccumulator::size`].

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Float64Type};
use rsql_plan::{AggregateFunctionSignature, Arity};

use crate::aggregate::constant::take_constant;
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups, float_arguments};
use crate::error::{ExecError, Result, exec_err};

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
        Ok(Box::new(QuantileAccumulator::new(*self)))
    }
}

/// Every group's values, and the fraction (the same for every row). The values stay in the
/// arrays they came in (no copy, no growing buffer per group), each run of them with the
/// group of every row; they are gathered group by group when the states or values are
/// emitted.
struct QuantileAccumulator {
    function: QuantileAggregate,
    fraction: Option<f64>,
    runs: Vec<ValueRun>,
    /// Values per group in all runs.
    counts: Vec<usize>,
    /// Bytes held by the runs.
    run_bytes: usize,
}

/// Values as they came, with the group of every row.
struct ValueRun {
    values: RunValues,
    groups: Vec<u32>,
}

/// A value a row (NULLs skipped) when folding input, a list of values a row when merging
/// partial states.
enum RunValues {
    Values(Float64Array),
    Lists(ListArray),
}

impl ValueRun {
    fn bytes(&self) -> usize {
        let values = match &self.values {
            RunValues::Values(values) => values.get_array_memory_size(),
            RunValues::Lists(lists) => lists.get_array_memory_size(),
        };
        values + self.groups.capacity() * size_of::<u32>()
    }

    /// The values of `row`.
    fn row_values(&self, row: usize) -> &[f64] {
        match &self.values {
            RunValues::Values(values) if values.is_valid(row) => &values.values()[row..row + 1],
            RunValues::Values(_) => &[],
            RunValues::Lists(lists) => {
                let offsets = lists.value_offsets();
                let all = lists.values().as_primitive::<Float64Type>().values();
                &all[offsets[row] as usize..offsets[row + 1] as usize]
            }
        }
    }
}

impl QuantileAccumulator {
    fn new(function: QuantileAggregate) -> Self {
        QuantileAccumulator {
            function,
            fraction: function.fixed,
            runs: Vec::new(),
            counts: Vec::new(),
            run_bytes: 0,
        }
    }

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

    /// Keeps `values` with the group of each of its rows.
    fn add_run(&mut self, values: RunValues, group_indices: &[usize]) -> Result<()> {
        let groups = group_indices
            .iter()
            .map(|&g| u32::try_from(g))
            .collect::<std::result::Result<Vec<u32>, _>>()
            .map_err(|_| ExecError::Execution("too many groups for a quantile".into()))?;
        let run = ValueRun { values, groups };
        self.run_bytes += run.bytes();
        self.runs.push(run);
        Ok(())
    }

    /// The runs and every group's count of values (groups `0..total_groups`); the
    /// accumulator is emptied.
    fn take_runs(&mut self, total_groups: usize) -> (Vec<ValueRun>, Vec<usize>) {
        ensure_groups(&mut self.counts, total_groups, 0);
        self.run_bytes = 0;
        (
            std::mem::take(&mut self.runs),
            std::mem::take(&mut self.counts),
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
        ensure_groups(&mut self.counts, total_groups, 0);
        if let Some(fractions) = values.get(1) {
            self.take_fraction(fractions.as_primitive::<Float64Type>())?;
        }
        let xs = values[0].as_primitive::<Float64Type>();
        for (x, &group) in xs.iter().zip(group_indices) {
            self.counts[group] += usize::from(x.is_some());
        }
        self.add_run(RunValues::Values(xs.clone()), group_indices)
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.counts, total_groups, 0);
        self.take_fraction(states[1].as_primitive::<Float64Type>())?;
        let lists = states[0].as_list::<i32>();
        for (length, &group) in lists.offsets().lengths().zip(group_indices) {
            self.counts[group] += length;
        }
        self.add_run(RunValues::Lists(lists.clone()), group_indices)
    }

    /// Every group's values copied into one array, group after group, each run freed once
    /// copied.
    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        let (runs, counts) = self.take_runs(total_groups);
        let offsets = OffsetBuffer::<i32>::from_lengths(counts);
        let mut next: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
        let mut all = vec![0.0; next.pop().unwrap_or(0)];
        for run in runs {
            for (row, &group) in run.groups.iter().enumerate() {
                let values = run.row_values(row);
                let at = &mut next[group as usize];
                all[*at..*at + values.len()].copy_from_slice(values);
                *at += values.len();
            }
        }
        let lists = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Float64, false)),
            offsets,
            Arc::new(Float64Array::from(all)),
            None,
        )?;
        let fractions = Float64Array::from(vec![self.fraction; total_groups]);
        Ok(vec![Arc::new(lists), Arc::new(fractions)])
    }

    /// Each group's quantile, its values gathered from the runs into one buffer reused from
    /// group to group: the rows of every run are first ordered by group.
    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        let (runs, counts) = self.take_runs(total_groups);
        let mut start_of_group = vec![0usize; total_groups + 1];
        for &group in runs.iter().flat_map(|run| &run.groups) {
            start_of_group[group as usize + 1] += 1;
        }
        for group in 0..total_groups {
            start_of_group[group + 1] += start_of_group[group];
        }
        let mut next = start_of_group.clone();
        let mut rows_by_group = vec![(0u32, 0u32); start_of_group[total_groups]];
        for (index, run) in runs.iter().enumerate() {
            for (row, &group) in run.groups.iter().enumerate() {
                rows_by_group[next[group as usize]] = (index as u32, row as u32);
                next[group as usize] += 1;
            }
        }
        let mut values = Vec::new();
        let quantiles: Float64Array = (0..total_groups)
            .map(|group| {
                values.clear();
                values.reserve(counts[group]);
                for &(run, row) in &rows_by_group[start_of_group[group]..start_of_group[group + 1]]
                {
                    values.extend_from_slice(runs[run as usize].row_values(row as usize));
                }
                self.quantile(&mut values)
            })
            .collect();
        Ok(Arc::new(quantiles))
    }

    fn size(&self) -> usize {
        self.run_bytes + self.counts.capacity() * size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn quantile(name: &str, fraction: f64, values: &[f64]) -> Option<f64> {
        let function = QUANTILES.into_iter().find(|f| f.name == name).unwrap();
        let accumulator = QuantileAccumulator {
            function,
            fraction: Some(fraction),
            ..QuantileAccumulator::new(function)
        };
        accumulator.quantile(&mut values.to_vec())
    }

    /// The size counts the runs held, through updates and merges, and falls as they are
    /// emitted.
    #[test]
    fn size_counts_the_runs_held() {
        let mut accumulator = QuantileAccumulator::new(QUANTILES[0]);
        let empty = accumulator.size();
        let xs: ArrayRef = Arc::new(Float64Array::from_iter_values((0..1000).map(f64::from)));
        let groups: Vec<usize> = (0..1000).map(|i| i % 7).collect();
        accumulator.update_batch(&[xs], &groups, 7).unwrap();
        assert!(accumulator.size() >= empty + 1000 * (8 + 4));
        let states = accumulator.state(7).unwrap();
        assert!(accumulator.size() < 1000);
        accumulator.merge_batch(&states, &[0; 7], 1).unwrap();
        assert!(accumulator.size() >= states[0].get_array_memory_size());
        accumulator.evaluate(1).unwrap();
        assert!(accumulator.size() < 1000);
    }

    /// The median of `values` row at a time: the middle value, or the mean of the middle two.
    fn reference_median(values: &[f64]) -> Option<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(sorted[n / 2]),
            _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
        }
    }

    proptest! {
        /// Medians through partial accumulators over the batches, their states merged in
        /// slices (offsets not starting at zero) and emitted and merged again, and straight from the input, against a row at
        /// a time reference; with NULLs, empty batches and groups no row reaches.
        #[test]
        fn medians_through_runs_match_a_row_at_a_time_reference(
            batches in prop::collection::vec(
                prop::collection::vec(
                    (0usize..6, prop::option::weighted(0.8, -50i32..50)),
                    0..60,
                ),
                1..6,
            ),
            partials in 1usize..4,
            slice_rows in 1usize..5,
        ) {
            const GROUPS: usize = 7;
            let mut expected: Vec<Vec<f64>> = vec![Vec::new(); GROUPS];
            let mut single = QuantileAccumulator::new(QUANTILES[0]);
            let mut partial: Vec<QuantileAccumulator> =
                (0..partials).map(|_| QuantileAccumulator::new(QUANTILES[0])).collect();
            for (index, rows) in batches.iter().enumerate() {
                let groups: Vec<usize> = rows.iter().map(|r| r.0).collect();
                let xs: ArrayRef = Arc::new(Float64Array::from_iter(
                    rows.iter().map(|r| r.1.map(f64::from)),
                ));
                for &(group, x) in rows {
                    expected[group].extend(x.map(f64::from));
                }
                single.update_batch(&[Arc::clone(&xs)], &groups, GROUPS).unwrap();
                partial[index % partials].update_batch(&[xs], &groups, GROUPS).unwrap();
            }
            let mut merged = QuantileAccumulator::new(QUANTILES[0]);
            for accumulator in &mut partial {
                let states = accumulator.state(GROUPS).unwrap();
                for start in (0..GROUPS).step_by(slice_rows) {
                    let len = slice_rows.min(GROUPS - start);
                    let slices: Vec<ArrayRef> =
                        states.iter().map(|s| s.slice(start, len)).collect();
                    let groups: Vec<usize> = (start..start + len).collect();
                    merged.merge_batch(&slices, &groups, GROUPS).unwrap();
                }
            }
            // Merged states emitted again (a spill) and merged once more.
            let mut remerged = QuantileAccumulator::new(QUANTILES[0]);
            let groups: Vec<usize> = (0..GROUPS).collect();
            remerged.merge_batch(&merged.state(GROUPS).unwrap(), &groups, GROUPS).unwrap();
            let reference: Float64Array = expected.iter().map(|v| reference_median(v)).collect();
            let merged = remerged.evaluate(GROUPS).unwrap();
            let single = single.evaluate(GROUPS).unwrap();
            prop_assert_eq!(merged.as_primitive::<Float64Type>(), &reference);
            prop_assert_eq!(single.as_primitive::<Float64Type>(), &reference);
        }
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
