//! The statistical aggregates, with Spark's names, result types and NULL semantics:
//! `stddev`/`stddev_samp`/`std`, `stddev_pop`, `variance`/`var_samp`, `var_pop` of one number,
//! and `covar_samp`, `covar_pop`, `corr` and the `regr_*` family of pairs (`regr_*(y, x)`, as
//! SQL orders them). Arguments of any numeric type (decimals too) are read as doubles; the
//! results are doubles (`regr_count` a `BIGINT`). Rows with a NULL argument are skipped; a
//! statistic without enough rows (none; one for the sample variants) is NULL.
//!
//! The partial state is the [`Moments`] (count, shift, mean, M2) or [`CoMoments`] of each group,
//! updated one row at a time and merged pairwise without losing precision.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use rsql_plan::{AggregateFunctionSignature, Arity};

use crate::aggregate::moments::{CoMoments, Moments};
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups, float_arguments};
use crate::error::Result;

/// A statistic of one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dispersion {
    VarSamp,
    VarPop,
    StddevSamp,
    StddevPop,
}

/// A statistic of pairs `(y, x)` (covariance and correlation are symmetric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    CovarSamp,
    CovarPop,
    Corr,
    /// The slope of the least-squares line of `y` over `x`.
    Slope,
    /// Its intercept.
    Intercept,
    /// Its coefficient of determination.
    R2,
    /// How many pairs have no NULL.
    Count,
    AvgX,
    AvgY,
    /// `Σ (x − mean_x)²`.
    Sxx,
    /// `Σ (y − mean_y)²`.
    Syy,
    /// `Σ (x − mean_x)(y − mean_y)`.
    Sxy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statistic {
    Of(Dispersion),
    Between(Relation),
}

/// Every statistical aggregate by name; aliases share a statistic.
const STATISTICS: [(&str, Statistic); 19] = {
    use Dispersion::*;
    use Relation::*;
    use Statistic::{Between, Of};
    [
        ("stddev", Of(StddevSamp)),
        ("stddev_samp", Of(StddevSamp)),
        ("std", Of(StddevSamp)),
        ("stddev_pop", Of(StddevPop)),
        ("variance", Of(VarSamp)),
        ("var_samp", Of(VarSamp)),
        ("var_pop", Of(VarPop)),
        ("covar_samp", Between(CovarSamp)),
        ("covar_pop", Between(CovarPop)),
        ("corr", Between(Corr)),
        ("regr_slope", Between(Slope)),
        ("regr_intercept", Between(Intercept)),
        ("regr_r2", Between(R2)),
        ("regr_count", Between(Count)),
        ("regr_avgx", Between(AvgX)),
        ("regr_avgy", Between(AvgY)),
        ("regr_sxx", Between(Sxx)),
        ("regr_syy", Between(Syy)),
        ("regr_sxy", Between(Sxy)),
    ]
};

/// One statistical aggregate under one of its names.
#[derive(Debug, Clone, Copy)]
pub struct StatisticalAggregate {
    name: &'static str,
    statistic: Statistic,
}

/// Every statistical aggregate, each alias its own function.
pub(crate) fn statistical_aggregates() -> impl Iterator<Item = StatisticalAggregate> {
    STATISTICS
        .into_iter()
        .map(|(name, statistic)| StatisticalAggregate { name, statistic })
}

impl StatisticalAggregate {
    fn arguments(&self) -> usize {
        match self.statistic {
            Statistic::Of(_) => 1,
            Statistic::Between(_) => 2,
        }
    }
}

impl AggregateFunctionSignature for StatisticalAggregate {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        Arity::Exact(self.arguments())
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        float_arguments(self.name, args)
    }

    fn return_type(&self, _args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(match self.statistic {
            Statistic::Between(Relation::Count) => DataType::Int64,
            _ => DataType::Float64,
        })
    }

    fn state_fields(&self, _args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        let floats = match self.statistic {
            Statistic::Of(_) => Moments::COLUMNS,
            Statistic::Between(_) => CoMoments::COLUMNS,
        };
        Ok(std::iter::once(Field::new("count", DataType::Int64, false))
            .chain(
                floats
                    .iter()
                    .map(|name| Field::new(*name, DataType::Float64, false)),
            )
            .collect())
    }
}

impl AggregateUdf for StatisticalAggregate {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name, args.len())?;
        Ok(match self.statistic {
            Statistic::Of(dispersion) => Box::new(MomentsAccumulator::<Moments>::new(dispersion)),
            Statistic::Between(relation) => {
                Box::new(MomentsAccumulator::<CoMoments>::new(relation))
            }
        })
    }
}

/// A mergeable per-group state of the statistics: how it folds rows, how it travels as state
/// columns (a count, then doubles) and what it evaluates to.
trait Mergeable: Copy + Default + Send + 'static {
    /// The statistics it evaluates to.
    type Statistic: Copy + Send + 'static;
    /// The names of the state columns after the count.
    const COLUMNS: &'static [&'static str];

    fn count(&self) -> i64;
    /// Adds one row's (non-null) arguments.
    fn push(&mut self, args: &[f64]);
    fn merge(&mut self, other: &Self);
    /// State column `i` (after the count).
    fn column(&self, i: usize) -> f64;
    /// The state read back from its count and columns.
    fn from_columns(count: i64, column: impl Fn(usize) -> f64) -> Self;
    /// `statistic` of each group.
    fn finish(groups: &[Self], statistic: Self::Statistic) -> ArrayRef;
}

impl Mergeable for Moments {
    type Statistic = Dispersion;
    const COLUMNS: &'static [&'static str] = &["shift", "offset", "m2"];

    fn count(&self) -> i64 {
        self.count
    }

    fn push(&mut self, args: &[f64]) {
        Moments::push(self, args[0]);
    }

    fn merge(&mut self, other: &Self) {
        Moments::merge(self, other);
    }

    fn column(&self, i: usize) -> f64 {
        [self.shift, self.offset, self.m2][i]
    }

    fn from_columns(count: i64, column: impl Fn(usize) -> f64) -> Self {
        Moments {
            count,
            shift: column(0),
            offset: column(1),
            m2: column(2),
        }
    }

    fn finish(groups: &[Self], statistic: Dispersion) -> ArrayRef {
        let value = |m: &Moments| match statistic {
            Dispersion::VarSamp => m.var_samp(),
            Dispersion::VarPop => m.var_pop(),
            Dispersion::StddevSamp => m.var_samp().map(f64::sqrt),
            Dispersion::StddevPop => m.var_pop().map(f64::sqrt),
        };
        Arc::new(groups.iter().map(value).collect::<Float64Array>())
    }
}

impl Mergeable for CoMoments {
    type Statistic = Relation;
    const COLUMNS: &'static [&'static str] = &[
        "shift_y", "offset_y", "m2_y", "shift_x", "offset_x", "m2_x", "c",
    ];

    fn count(&self) -> i64 {
        CoMoments::count(self)
    }

    fn push(&mut self, args: &[f64]) {
        CoMoments::push(self, args[0], args[1]);
    }

    fn merge(&mut self, other: &Self) {
        CoMoments::merge(self, other);
    }

    fn column(&self, i: usize) -> f64 {
        let (a, b) = (&self.a, &self.b);
        [a.shift, a.offset, a.m2, b.shift, b.offset, b.m2, self.c][i]
    }

    fn from_columns(count: i64, column: impl Fn(usize) -> f64) -> Self {
        let side = |first: usize| Moments {
            count,
            shift: column(first),
            offset: column(first + 1),
            m2: column(first + 2),
        };
        CoMoments {
            a: side(0),
            b: side(3),
            c: column(6),
        }
    }

    fn finish(groups: &[Self], statistic: Relation) -> ArrayRef {
        if statistic == Relation::Count {
            return Arc::new(Int64Array::from_iter_values(
                groups.iter().map(CoMoments::count),
            ));
        }
        Arc::new(
            groups
                .iter()
                .map(|pairs| relation(pairs, statistic))
                .collect::<Float64Array>(),
        )
    }
}

/// `statistic` of pairs `(y, x)` (`a` is `y`, `b` is `x`): NULL without pairs, and for the
/// regression line when `x` is constant.
fn relation(pairs: &CoMoments, statistic: Relation) -> Option<f64> {
    let (y, x) = (&pairs.a, &pairs.b);
    let some = pairs.count() > 0;
    let slope = (some && x.m2 != 0.0).then(|| pairs.c / x.m2);
    match statistic {
        Relation::CovarSamp => pairs.covar_samp(),
        Relation::CovarPop => pairs.covar_pop(),
        Relation::Corr => pairs.corr(),
        Relation::Slope => slope,
        Relation::Intercept => slope.map(|slope| y.mean() - slope * x.mean()),
        // A constant `y` lies on the line exactly.
        Relation::R2 => slope.map(|_| {
            if y.m2 == 0.0 {
                1.0
            } else {
                pairs.c * pairs.c / (x.m2 * y.m2)
            }
        }),
        Relation::Count => Some(pairs.count() as f64),
        Relation::AvgX => some.then(|| x.mean()),
        Relation::AvgY => some.then(|| y.mean()),
        Relation::Sxx => some.then_some(x.m2),
        Relation::Syy => some.then_some(y.m2),
        Relation::Sxy => some.then_some(pairs.c),
    }
}

/// Folds rows into a [`Mergeable`] state per group.
struct MomentsAccumulator<S: Mergeable> {
    groups: Vec<S>,
    statistic: S::Statistic,
}

impl<S: Mergeable> MomentsAccumulator<S> {
    fn new(statistic: S::Statistic) -> Self {
        MomentsAccumulator {
            groups: Vec::new(),
            statistic,
        }
    }

    /// The groups `0..total_groups`; emptied.
    fn take(&mut self, total_groups: usize) -> Vec<S> {
        ensure_groups(&mut self.groups, total_groups, S::default());
        std::mem::take(&mut self.groups)
    }
}

/// `array` as doubles (the coerced arguments already are).
fn doubles(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Float64 => Arc::clone(array),
        _ => cast(array, &DataType::Float64)?,
    })
}

impl<S: Mergeable> GroupsAccumulator for MomentsAccumulator<S> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, S::default());
        let arrays = values.iter().map(doubles).collect::<Result<Vec<_>>>()?;
        let columns: Vec<&[f64]> = arrays
            .iter()
            .map(|a| a.as_primitive::<Float64Type>().values().as_ref())
            .collect();
        let nulls = arrays.iter().fold(None, |nulls: Option<NullBuffer>, a| {
            NullBuffer::union(nulls.as_ref(), a.logical_nulls().as_ref())
        });
        let mut row_args = [0.0; 2];
        let row_args = &mut row_args[..columns.len()];
        for (row, &group) in group_indices.iter().enumerate() {
            if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                continue;
            }
            for (arg, column) in row_args.iter_mut().zip(&columns) {
                *arg = column[row];
            }
            self.groups[group].push(row_args);
        }
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, S::default());
        let counts = states[0].as_primitive::<Int64Type>().values();
        let columns: Vec<&[f64]> = states[1..]
            .iter()
            .map(|s| s.as_primitive::<Float64Type>().values().as_ref())
            .collect();
        for (row, &group) in group_indices.iter().enumerate() {
            let partial = S::from_columns(counts[row], |i| columns[i][row]);
            self.groups[group].merge(&partial);
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        let groups = self.take(total_groups);
        let counts: ArrayRef = Arc::new(Int64Array::from_iter_values(
            groups.iter().map(Mergeable::count),
        ));
        Ok(std::iter::once(counts)
            .chain((0..S::COLUMNS.len()).map(|i| {
                Arc::new(Float64Array::from_iter_values(
                    groups.iter().map(|g| g.column(i)),
                )) as ArrayRef
            }))
            .collect())
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        let groups = self.take(total_groups);
        Ok(S::finish(&groups, self.statistic))
    }

    fn size(&self) -> usize {
        self.groups.capacity() * std::mem::size_of::<S>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str) -> StatisticalAggregate {
        statistical_aggregates().find(|f| f.name == name).unwrap()
    }

    fn doubles(values: &[Option<f64>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<Float64Array>())
    }

    /// `name` over `args`, one group per entry of `groups`, through a partial state per half.
    fn two_phase(name: &str, args: &[ArrayRef], groups: &[usize], total: usize) -> ArrayRef {
        let f = function(name);
        let types = vec![DataType::Float64; args.len()];
        let half = groups.len() / 2;
        let mut merged = f.accumulator(&types).unwrap();
        for range in [0..half, half..groups.len()] {
            let mut partial = f.accumulator(&types).unwrap();
            let slices: Vec<ArrayRef> = args
                .iter()
                .map(|a| a.slice(range.start, range.len()))
                .collect();
            partial
                .update_batch(&slices, &groups[range], total)
                .unwrap();
            let state = partial.state(total).unwrap();
            let identity: Vec<usize> = (0..total).collect();
            merged.merge_batch(&state, &identity, total).unwrap();
        }
        merged.evaluate(total).unwrap()
    }

    fn values(array: &ArrayRef) -> Vec<Option<f64>> {
        array.as_primitive::<Float64Type>().iter().collect()
    }

    #[test]
    fn sample_statistics_need_two_rows_and_skip_nulls() {
        // Group 0: 1, 3 (and a NULL); group 1: 5 alone; group 2: no rows.
        let x = doubles(&[Some(1.0), None, Some(5.0), Some(3.0)]);
        let groups = [0, 0, 1, 0];
        assert_eq!(
            values(&two_phase("var_samp", &[Arc::clone(&x)], &groups, 3)),
            vec![Some(2.0), None, None]
        );
        assert_eq!(
            values(&two_phase("var_pop", &[Arc::clone(&x)], &groups, 3)),
            vec![Some(1.0), Some(0.0), None]
        );
        assert_eq!(
            values(&two_phase("stddev_pop", &[x], &groups, 3)),
            vec![Some(1.0), Some(0.0), None]
        );
    }

    #[test]
    fn regressions_skip_pairs_with_a_null() {
        // y = 2x + 1 over x = 1, 2, 3; the pair with a NULL y is skipped.
        let y = doubles(&[Some(3.0), Some(5.0), None, Some(7.0)]);
        let x = doubles(&[Some(1.0), Some(2.0), Some(10.0), Some(3.0)]);
        let args = [y, x];
        let groups = [0, 0, 0, 0];
        let one = |name| values(&two_phase(name, &args, &groups, 1))[0];
        assert_eq!(one("regr_slope"), Some(2.0));
        assert_eq!(one("regr_intercept"), Some(1.0));
        assert_eq!(one("regr_r2"), Some(1.0));
        assert_eq!(one("regr_avgx"), Some(2.0));
        assert_eq!(one("regr_avgy"), Some(5.0));
        assert_eq!(one("regr_sxx"), Some(2.0));
        assert_eq!(one("regr_sxy"), Some(4.0));
        assert_eq!(one("covar_pop"), Some(4.0 / 3.0));
        let count = two_phase("regr_count", &args, &groups, 2);
        assert_eq!(count.as_primitive::<Int64Type>().values().as_ref(), &[3, 0]);
    }

    #[test]
    fn arguments_must_be_numbers() {
        let err = function("corr")
            .coerce_types(&[DataType::Int32, DataType::Utf8])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: function 'corr' needs numeric arguments, got Utf8"
        );
        assert_eq!(
            function("stddev")
                .coerce_types(&[DataType::Decimal128(10, 2)])
                .unwrap(),
            vec![DataType::Float64]
        );
    }
}
