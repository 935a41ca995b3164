//! Signatures of the built-in aggregate functions.
//!
//! [`BuiltinAggregate`] is the one object per built-in aggregate: the planner registers it for
//! binding and typing, and the execution layer implements the aggregation itself on the same
//! type, so result types and partial states are declared here only.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields};

use super::{AggregateFunctionSignature, Arity};
use crate::coercion::{avg_decimal, is_numeric, is_string, sum_decimal, value_type};
use crate::error::{PlanError, Result};

/// A built-in aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinAggregate {
    /// `count(*)` counts rows, `count(x)` non-null values, as `Int64`.
    Count,
    /// `sum(x)`: integers add as `Int64`, floats as `Float64`, `DECIMAL(p, s)` exactly as
    /// `DECIMAL(min(38, p + 10), s)` (NULL if the sum overflows that, as Spark without ANSI).
    Sum,
    /// `avg(x)`: the mean of integers and floats as `Float64`; of `DECIMAL(p, s)` exactly as
    /// `DECIMAL(min(38, p + 4), min(38, s + 4))`, rounded half up, as Spark.
    Avg,
    /// `min(x)`: the smallest non-null value, of any orderable type.
    Min,
    /// `max(x)`: the largest non-null value, of any orderable type.
    Max,
    /// `collect_list(x)`: every non-null value, as a list.
    CollectList,
    /// `collect_set(x)`: the distinct non-null values, as a list.
    CollectSet,
    /// `count_values(x)`: how often each string occurs, as `Map<Utf8, Int64>`.
    CountValues,
}

impl BuiltinAggregate {
    /// Every built-in aggregate, in registration order.
    pub const ALL: [BuiltinAggregate; 8] = [
        BuiltinAggregate::Count,
        BuiltinAggregate::Sum,
        BuiltinAggregate::Avg,
        BuiltinAggregate::Min,
        BuiltinAggregate::Max,
        BuiltinAggregate::CollectList,
        BuiltinAggregate::CollectSet,
        BuiltinAggregate::CountValues,
    ];
}

impl AggregateFunctionSignature for BuiltinAggregate {
    fn name(&self) -> &str {
        match self {
            BuiltinAggregate::Count => "count",
            BuiltinAggregate::Sum => "sum",
            BuiltinAggregate::Avg => "avg",
            BuiltinAggregate::Min => "min",
            BuiltinAggregate::Max => "max",
            BuiltinAggregate::CollectList => "collect_list",
            BuiltinAggregate::CollectSet => "collect_set",
            BuiltinAggregate::CountValues => "count_values",
        }
    }

    fn arity(&self) -> Arity {
        match self {
            BuiltinAggregate::Count => Arity::Range(0, 1),
            _ => Arity::Exact(1),
        }
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let coerce = |t: &DataType| match self {
            // Decimals are read as they are; the accumulators widen them.
            BuiltinAggregate::Sum | BuiltinAggregate::Avg
                if matches!(value_type(t), DataType::Decimal128(..)) =>
            {
                Ok(value_type(t).clone())
            }
            BuiltinAggregate::Sum => sum_type(self.name(), t),
            BuiltinAggregate::Avg => match value_type(t) {
                t if is_numeric(t) || t == &DataType::Null => Ok(DataType::Float64),
                other => Err(not_numeric(self.name(), other)),
            },
            // Dictionary-encoded strings stay encoded: the accumulator reads each dictionary
            // once instead of every row's string.
            BuiltinAggregate::CountValues => match value_type(t) {
                DataType::Utf8 if matches!(t, DataType::Dictionary(..)) => Ok(t.clone()),
                v if is_string(v) || v == &DataType::Null => Ok(DataType::Utf8),
                other => Err(PlanError::type_mismatch(format!(
                    "function '{}' needs a string argument, got {other}",
                    self.name()
                ))),
            },
            // These read values only to count, compare as rows or intern them: any encoding.
            BuiltinAggregate::Count
            | BuiltinAggregate::CollectList
            | BuiltinAggregate::CollectSet => Ok(t.clone()),
            BuiltinAggregate::Min | BuiltinAggregate::Max => Ok(value_type(t).clone()),
        };
        args.iter().map(coerce).collect()
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match self {
            BuiltinAggregate::Count => DataType::Int64,
            BuiltinAggregate::Sum => sum_type(self.name(), &first(args))?,
            BuiltinAggregate::Avg => match first(args) {
                DataType::Decimal128(p, s) => avg_decimal(p, s),
                _ => DataType::Float64,
            },
            BuiltinAggregate::Min | BuiltinAggregate::Max => first(args),
            BuiltinAggregate::CollectList | BuiltinAggregate::CollectSet => {
                list_of(value_type(&first(args)).clone())
            }
            BuiltinAggregate::CountValues => count_values_type(&DataType::Utf8),
        })
    }

    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>> {
        let state = |name| -> Result<Vec<Field>> {
            Ok(vec![Field::new(name, self.return_type(args)?, true)])
        };
        match self {
            BuiltinAggregate::Count => Ok(vec![Field::new("count", DataType::Int64, false)]),
            // Decimal sums also say whether they overflowed: a NULL sum alone could be a group
            // without values.
            BuiltinAggregate::Avg => Ok(match first(args) {
                DataType::Decimal128(p, s) => vec![
                    Field::new("sum", sum_decimal(p, s), true),
                    Field::new("count", DataType::Int64, false),
                    Field::new("overflowed", DataType::Boolean, false),
                ],
                _ => vec![
                    Field::new("sum", DataType::Float64, true),
                    Field::new("count", DataType::Int64, false),
                ],
            }),
            BuiltinAggregate::Sum => match first(args) {
                DataType::Decimal128(..) => Ok(vec![
                    Field::new("sum", self.return_type(args)?, true),
                    Field::new("overflowed", DataType::Boolean, false),
                ]),
                _ => state("sum"),
            },
            BuiltinAggregate::Min => state("min"),
            BuiltinAggregate::Max => state("max"),
            BuiltinAggregate::CollectList | BuiltinAggregate::CollectSet => state("values"),
            BuiltinAggregate::CountValues => state("counts"),
        }
    }
}

/// The aggregates that count rows (`count`, `count_if`, `regr_count`, `approx_count_distinct`):
/// never NULL, 0 over no rows, where every other aggregate is NULL.
pub fn counts_rows(name: &str) -> bool {
    matches!(
        name,
        "count" | "count_if" | "regr_count" | "approx_count_distinct"
    )
}

fn first(args: &[DataType]) -> DataType {
    args.first().cloned().unwrap_or(DataType::Null)
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// The type `sum` adds values of `arg` in (and returns): integers as `Int64`, floats as
/// `Float64`, `DECIMAL(p, s)` as `DECIMAL(min(38, p + 10), s)`.
fn sum_type(function: &str, arg: &DataType) -> Result<DataType> {
    match value_type(arg) {
        t if t.is_integer() || t == &DataType::Null => Ok(DataType::Int64),
        t if t.is_floating() => Ok(DataType::Float64),
        DataType::Decimal128(p, s) => Ok(sum_decimal(*p, *s)),
        other => Err(not_numeric(function, other)),
    }
}

fn not_numeric(function: &str, data_type: &DataType) -> PlanError {
    PlanError::type_mismatch(format!(
        "function '{function}' needs a numeric argument, got {data_type}"
    ))
}

/// The type `count_values(x)` returns: `Map<x, Int64>` with entries `{key, value}`, keys not
/// sorted. The value field is nullable, as arrow's `MapBuilder` makes it.
pub fn count_values_type(key: &DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key.clone(), false),
        Field::new("value", DataType::Int64, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::super::FunctionRegistry;
    use super::*;

    #[test]
    fn count_values_is_a_map_from_values_to_counts() {
        let registry = FunctionRegistry::new();
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let args = registry
            .coerce_aggregate_args("count_values", std::slice::from_ref(&dict))
            .unwrap();
        assert_eq!(args, vec![dict], "dictionaries stay encoded");
        let t = registry
            .aggregate_return_type("count_values", &args)
            .unwrap();
        let DataType::Map(entries, sorted) = &t else {
            panic!("not a map: {t}")
        };
        assert!(!sorted);
        assert_eq!(entries.name(), "entries");
        let DataType::Struct(fields) = entries.data_type() else {
            panic!("entries not a struct")
        };
        assert_eq!(fields[0].name(), "key");
        assert_eq!(fields[0].data_type(), &DataType::Utf8);
        assert_eq!(fields[1].name(), "value");
        assert_eq!(fields[1].data_type(), &DataType::Int64);
    }

    #[test]
    fn sums_widen_and_averages_are_doubles() {
        let registry = FunctionRegistry::new();
        let args = registry
            .coerce_aggregate_args("sum", &[DataType::Int32])
            .unwrap();
        assert_eq!(
            registry.aggregate_return_type("sum", &args).unwrap(),
            DataType::Int64
        );
        let args = registry
            .coerce_aggregate_args("avg", &[DataType::Int32])
            .unwrap();
        assert_eq!(
            registry.aggregate_return_type("avg", &args).unwrap(),
            DataType::Float64
        );
        assert_eq!(
            registry
                .aggregate_state_fields("avg", &args, false)
                .unwrap()
                .len(),
            2
        );
        // Spark: sum(DECIMAL(15,2)) is DECIMAL(25,2), avg(DECIMAL(15,2)) is DECIMAL(19,6);
        // decimal arguments are not cast.
        let price = DataType::Decimal128(15, 2);
        for (function, result, states) in [
            ("sum", DataType::Decimal128(25, 2), 2),
            ("avg", DataType::Decimal128(19, 6), 3),
        ] {
            let args = registry
                .coerce_aggregate_args(function, std::slice::from_ref(&price))
                .unwrap();
            assert_eq!(args, vec![price.clone()]);
            assert_eq!(
                registry.aggregate_return_type(function, &args).unwrap(),
                result
            );
            let fields = registry
                .aggregate_state_fields(function, &args, false)
                .unwrap();
            assert_eq!(fields.len(), states);
            assert_eq!(fields[0].data_type(), &DataType::Decimal128(25, 2));
        }
        let err = registry
            .coerce_aggregate_args("sum", &[DataType::Utf8])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: function 'sum' needs a numeric argument, got Utf8"
        );
    }

    #[test]
    fn count_values_counts_strings_only() {
        let registry = FunctionRegistry::new();
        let err = registry
            .coerce_aggregate_args("count_values", &[DataType::Int64])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: function 'count_values' needs a string argument, got Int64"
        );
    }

    #[test]
    fn result_types_do_not_depend_on_prior_coercion() {
        let sum = BuiltinAggregate::Sum;
        assert_eq!(
            sum.return_type(&[DataType::Int32]).unwrap(),
            DataType::Int64
        );
        // Spark: sum(DECIMAL(12,2)) is DECIMAL(22,2).
        let decimal = DataType::Decimal128(12, 2);
        assert_eq!(
            sum.return_type(std::slice::from_ref(&decimal)).unwrap(),
            DataType::Decimal128(22, 2)
        );
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert_eq!(
            BuiltinAggregate::CountValues.return_type(&[dict]).unwrap(),
            count_values_type(&DataType::Utf8)
        );
    }

    #[test]
    fn count_accepts_star_and_one_argument() {
        let registry = FunctionRegistry::new();
        assert_eq!(
            registry.aggregate_return_type("count", &[]).unwrap(),
            DataType::Int64
        );
        assert!(
            registry
                .coerce_aggregate_args("count", &[DataType::Utf8, DataType::Utf8])
                .is_err()
        );
    }
}
