//! `approx_percentile(x, p [, accuracy])`, also `percentile_approx` (Spark) and
//! `approx_quantile` (DuckDB): a value of the input whose rank is close to `p` of the group's
//! non-null values, from a mergeable [quantile sketch](super::quantile_sketch) per group.
//!
//! As Spark's, the answer is an element of the input, of the input's type (integers, floats,
//! dates and timestamps; decimals are read as doubles and answered as `DOUBLE`): the first
//! value, in order, whose cumulative count reaches `ceil(p * n)`. `accuracy` (a positive
//! integer constant, default 10000) is the sketch's level capacity `k`.
//!
//! Error bound: the answer's rank differs from `ceil(p * n)` by at most
//! `n (1 + log2(n / k)) / k`; with at most `k` values (10000 by default) in a group the answer
//! is exact. Only a single fraction is supported (Spark also takes an array of fractions).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BinaryArray, Float64Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use rsql_plan::{AggregateFunctionSignature, Arity, PlanError, coercion};

use crate::aggregate::constant::take_constant;
use crate::aggregate::quantile_sketch::{
    QuantileSketch, ordered_key, ordered_value, signed_key, signed_value,
};
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::{Result, exec_err};

/// Spark's default accuracy.
const DEFAULT_ACCURACY: i64 = 10_000;

/// One of the registered names of the approximate percentile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApproxPercentile {
    name: &'static str,
}

/// `approx_percentile`, `percentile_approx` and `approx_quantile`.
pub(crate) fn approx_percentiles() -> impl Iterator<Item = ApproxPercentile> {
    ["approx_percentile", "percentile_approx", "approx_quantile"]
        .into_iter()
        .map(|name| ApproxPercentile { name })
}

/// How values map to the sketch's ordered keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    /// Integers, dates and timestamps, as `Int64`.
    Signed,
    /// Doubles.
    Float,
}

impl Domain {
    fn of(value: &DataType) -> Domain {
        if value.is_floating() {
            Domain::Float
        } else {
            Domain::Signed
        }
    }

    /// The type the sketch reads values as.
    fn sketch_type(self) -> DataType {
        match self {
            Domain::Signed => DataType::Int64,
            Domain::Float => DataType::Float64,
        }
    }
}

impl ApproxPercentile {
    /// The type values are read (and answered) as: the input's, or `DOUBLE` for decimals,
    /// `UBIGINT` and NULL.
    fn value_type(&self, arg: &DataType) -> rsql_plan::Result<DataType> {
        match coercion::value_type(arg) {
            DataType::UInt64
            | DataType::Float16
            | DataType::Null
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => Ok(DataType::Float64),
            t if t.is_integer()
                || t.is_floating()
                || matches!(
                    t,
                    DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
                ) =>
            {
                Ok(t.clone())
            }
            other => Err(PlanError::type_mismatch(format!(
                "function '{}' needs a numeric, date or timestamp value, got {other}",
                self.name
            ))),
        }
    }
}

impl AggregateFunctionSignature for ApproxPercentile {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        Arity::Range(2, 3)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        let fraction = coercion::value_type(&args[1]);
        if !coercion::is_numeric(fraction) && fraction != &DataType::Null {
            return Err(PlanError::type_mismatch(format!(
                "function '{}' takes one fraction between 0 and 1 (arrays of fractions are not supported), got {fraction}",
                self.name
            )));
        }
        let mut types = vec![self.value_type(&args[0])?, DataType::Float64];
        if let Some(accuracy) = args.get(2) {
            let accuracy = coercion::value_type(accuracy);
            if !accuracy.is_integer() && accuracy != &DataType::Null {
                return Err(PlanError::type_mismatch(format!(
                    "the accuracy of '{}' must be an integer, got {accuracy}",
                    self.name
                )));
            }
            types.push(DataType::Int64);
        }
        Ok(types)
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        self.value_type(&args[0])
    }

    fn state_fields(&self, _args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        Ok(vec![
            Field::new("sketch", DataType::Binary, false),
            Field::new("fraction", DataType::Float64, true),
            Field::new("accuracy", DataType::Int64, true),
        ])
    }
}

impl AggregateUdf for ApproxPercentile {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name, args.len())?;
        let value_type = self.value_type(&args[0])?;
        Ok(Box::new(ApproxPercentileAccumulator {
            name: self.name,
            domain: Domain::of(&value_type),
            value_type,
            fraction: None,
            accuracy: (args.len() == 2).then_some(DEFAULT_ACCURACY),
            groups: Vec::new(),
        }))
    }
}

/// A sketch per group, and the constant arguments.
struct ApproxPercentileAccumulator {
    name: &'static str,
    value_type: DataType,
    domain: Domain,
    fraction: Option<f64>,
    accuracy: Option<i64>,
    groups: Vec<QuantileSketch>,
}

impl ApproxPercentileAccumulator {
    /// Takes the fraction and the accuracy from their columns, checking their ranges.
    fn take_constants(
        &mut self,
        fractions: &ArrayRef,
        accuracies: Option<&ArrayRef>,
    ) -> Result<()> {
        let fractions = fractions.as_primitive::<Float64Type>();
        take_constant(&mut self.fraction, fractions.iter(), self.name, "fraction")?;
        if let Some(fraction) = self.fraction
            && !(0.0..=1.0).contains(&fraction)
        {
            return exec_err(format!(
                "the fraction of '{}' must be between 0 and 1, got {fraction}",
                self.name
            ));
        }
        if let Some(accuracies) = accuracies {
            let accuracies = accuracies.as_primitive::<Int64Type>();
            take_constant(&mut self.accuracy, accuracies.iter(), self.name, "accuracy")?;
        }
        match self.accuracy {
            Some(accuracy) if accuracy <= 0 => exec_err(format!(
                "the accuracy of '{}' must be positive, got {accuracy}",
                self.name
            )),
            _ => Ok(()),
        }
    }

    /// The sketch's level capacity: the accuracy, made even and at least 2.
    fn capacity(&self) -> Result<usize> {
        match self.accuracy {
            Some(accuracy) => Ok((accuracy.max(2) as usize).next_multiple_of(2)),
            None => exec_err(format!("the accuracy of '{}' must not be NULL", self.name)),
        }
    }

    /// The ordered keys of `values` (`None` for nulls).
    fn keys(&self, values: &ArrayRef) -> Result<Vec<Option<u64>>> {
        let values = cast(values, &self.domain.sketch_type())?;
        Ok(match self.domain {
            Domain::Signed => values
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(signed_key))
                .collect(),
            Domain::Float => values
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(ordered_key))
                .collect(),
        })
    }
}

impl GroupsAccumulator for ApproxPercentileAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, QuantileSketch::default());
        if group_indices.is_empty() {
            return Ok(());
        }
        self.take_constants(&values[1], values.get(2))?;
        let capacity = self.capacity()?;
        for (key, &group) in self.keys(&values[0])?.into_iter().zip(group_indices) {
            if let Some(key) = key {
                self.groups[group].insert(key, capacity);
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
        ensure_groups(&mut self.groups, total_groups, QuantileSketch::default());
        if group_indices.is_empty() {
            return Ok(());
        }
        self.take_constants(&states[1], Some(&states[2]))?;
        let sketches = states[0].as_binary::<i32>();
        for (bytes, &group) in sketches.iter().zip(group_indices) {
            let Some(sketch) = bytes.and_then(QuantileSketch::from_bytes) else {
                return exec_err(format!("'{}' got a state that is not a sketch", self.name));
            };
            // A partition that saw no rows knows no accuracy, and has nothing to merge.
            if !sketch.is_empty() {
                let capacity = self.capacity()?;
                self.groups[group].merge(&sketch, capacity);
            }
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        ensure_groups(&mut self.groups, total_groups, QuantileSketch::default());
        let groups = std::mem::take(&mut self.groups);
        let sketches = BinaryArray::from_iter_values(groups.iter().map(QuantileSketch::to_bytes));
        let fractions = Float64Array::from(vec![self.fraction; total_groups]);
        let accuracies = Int64Array::from(vec![self.accuracy; total_groups]);
        Ok(vec![
            Arc::new(sketches),
            Arc::new(fractions),
            Arc::new(accuracies),
        ])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.groups, total_groups, QuantileSketch::default());
        let groups = std::mem::take(&mut self.groups);
        let keys = groups
            .iter()
            .map(|sketch| self.fraction.and_then(|fraction| sketch.quantile(fraction)));
        let answers: ArrayRef = match self.domain {
            Domain::Signed => Arc::new(keys.map(|k| k.map(signed_value)).collect::<Int64Array>()),
            Domain::Float => Arc::new(keys.map(|k| k.map(ordered_value)).collect::<Float64Array>()),
        };
        Ok(cast(&answers, &self.value_type)?)
    }

    fn size(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.size() + size_of::<QuantileSketch>())
            .sum()
    }
}
