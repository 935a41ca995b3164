//! `approx_count_distinct(x [, relativeSD])`: the number of distinct non-null values, estimated
//! with a [HyperLogLog](super::hyperloglog) sketch per group, as Spark's (and DuckDB's
//! function of the same name).
//!
//! Error bound: the estimate's relative standard error is `1.04 / sqrt(2^p)`, where
//! `p = ceil(2 * log2(1.106 / relativeSD))` (Spark's rule; `relativeSD` defaults to 0.05, which
//! gives `p = 9`, 512 registers and a standard error of 4.6%; `p` is at most 18). Estimates
//! fall within two standard errors about 95% of the time. The result is a `BIGINT`, 0 for a
//! group without non-null values.
//!
//! Values are hashed as their normalised row encoding (so `-0.0` and `0.0` are one value, as
//! in `count(DISTINCT x)`) with xxHash64 and a fixed seed: the same input and partitioning give
//! the same estimate on every run. A group's partial state is its registers (`2^p` bytes), so
//! the state's size does not grow with the data.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, Int64Array};
use arrow::datatypes::{DataType, Field, Float64Type};
use rsql_plan::{AggregateFunctionSignature, Arity, PlanError, coercion};
use twox_hash::XxHash64;

use crate::aggregate::constant::take_constant;
use crate::aggregate::hyperloglog::{estimate, insert, merge, precision_for, precision_of};
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::{Result, exec_err};
use crate::rows::RowCodec;

/// The name of the function.
const NAME: &str = "approx_count_distinct";
/// Spark's default relative standard deviation.
const DEFAULT_RSD: f64 = 0.05;
/// The seed of the value hash (any fixed value: results must not vary between runs).
const SEED: u64 = 0x005e_ed0f_a99c_d157;

/// `approx_count_distinct`: see the [module documentation](self).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApproxCountDistinct;

impl AggregateFunctionSignature for ApproxCountDistinct {
    fn name(&self) -> &str {
        NAME
    }

    fn arity(&self) -> Arity {
        Arity::Range(1, 2)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        let mut types = vec![coercion::value_type(&args[0]).clone()];
        if let Some(rsd) = args.get(1) {
            let rsd = coercion::value_type(rsd);
            if !coercion::is_numeric(rsd) && rsd != &DataType::Null {
                return Err(PlanError::type_mismatch(format!(
                    "the relative standard deviation of '{NAME}' must be a number, got {rsd}"
                )));
            }
            types.push(DataType::Float64);
        }
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(DataType::Int64)
    }

    fn state_fields(&self, _args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        Ok(vec![Field::new("registers", DataType::Binary, false)])
    }
}

impl AggregateUdf for ApproxCountDistinct {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(NAME, args.len())?;
        Ok(Box::new(ApproxDistinctAccumulator {
            codec: RowCodec::new(&args[..1])?,
            rsd: (args.len() == 1).then_some(DEFAULT_RSD),
            precision: None,
            groups: Vec::new(),
        }))
    }
}

/// Per group: its registers, empty until the group sees a value.
struct ApproxDistinctAccumulator {
    codec: RowCodec,
    /// The relative standard deviation asked for, once known.
    rsd: Option<f64>,
    /// The sketches' precision, once known (from `rsd` or from merged states).
    precision: Option<u32>,
    groups: Vec<Vec<u8>>,
}

impl ApproxDistinctAccumulator {
    /// Sets the precision, which every merged state must share.
    fn set_precision(&mut self, p: u32) -> Result<()> {
        match self.precision {
            Some(known) if known != p => exec_err(format!(
                "'{NAME}' cannot merge sketches of precisions {known} and {p}"
            )),
            _ => {
                self.precision = Some(p);
                Ok(())
            }
        }
    }
}

impl GroupsAccumulator for ApproxDistinctAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        if group_indices.is_empty() {
            return Ok(());
        }
        if let Some(rsd) = values.get(1) {
            let rsd = rsd.as_primitive::<Float64Type>();
            take_constant(
                &mut self.rsd,
                rsd.iter(),
                NAME,
                "relative standard deviation",
            )?;
        }
        let Some(rsd) = self.rsd else {
            // Only NULL relative deviations so far: Spark would fail; there is nothing to count.
            return exec_err(format!(
                "the relative standard deviation of '{NAME}' must not be NULL"
            ));
        };
        let p = precision_for(NAME, rsd)?;
        self.set_precision(p)?;
        let rows = self.codec.encode_keys(&values[..1])?;
        let nulls = values[0].logical_nulls();
        for (row, &group) in group_indices.iter().enumerate() {
            if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                continue;
            }
            let registers = &mut self.groups[group];
            if registers.is_empty() {
                registers.resize(1 << p, 0);
            }
            insert(registers, XxHash64::oneshot(SEED, rows.row(row).data()));
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
        let sketches = states[0].as_binary::<i32>();
        for (sketch, &group) in sketches.iter().zip(group_indices) {
            let Some(sketch) = sketch.filter(|s| !s.is_empty()) else {
                continue;
            };
            let Some(p) = precision_of(sketch.len()) else {
                return exec_err(format!(
                    "'{NAME}' got a state of {} bytes, not a sketch",
                    sketch.len()
                ));
            };
            self.set_precision(p)?;
            let registers = &mut self.groups[group];
            if registers.is_empty() {
                registers.extend_from_slice(sketch);
            } else {
                merge(registers, sketch);
            }
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        let groups = std::mem::take(&mut self.groups);
        let sketches = BinaryArray::from_iter_values(groups.iter().map(Vec::as_slice));
        Ok(vec![Arc::new(sketches)])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        let groups = std::mem::take(&mut self.groups);
        let counts = groups.iter().map(|registers| {
            if registers.is_empty() {
                0
            } else {
                estimate(registers).round() as i64
            }
        });
        Ok(Arc::new(Int64Array::from_iter_values(counts)))
    }

    fn size(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.capacity() + size_of::<Vec<u8>>())
            .sum()
    }
}
