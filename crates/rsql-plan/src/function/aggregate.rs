//! Signatures of the built-in aggregate functions.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields};

use super::{AggregateFunctionSignature, Arity};
use crate::coercion::{is_numeric, value_type};
use crate::error::{PlanError, Result};

type Coerce = fn(&str, &[DataType]) -> Result<Vec<DataType>>;
type Returns = fn(&[DataType]) -> DataType;
type State = fn(&[DataType]) -> Vec<Field>;

/// A built-in aggregate: name, arity, and plain functions for coercion, result and state.
struct Builtin {
    name: &'static str,
    arity: Arity,
    coerce: Coerce,
    returns: Returns,
    state: State,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Builtin({})", self.name)
    }
}

impl AggregateFunctionSignature for Builtin {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        self.arity
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        (self.coerce)(self.name, args)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok((self.returns)(args))
    }

    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>> {
        Ok((self.state)(args))
    }
}

fn first(args: &[DataType]) -> DataType {
    args.first().cloned().unwrap_or(DataType::Null)
}

/// Arguments as their value type (dictionaries decoded), any type accepted.
fn values(_: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    Ok(args.iter().map(|t| value_type(t).clone()).collect())
}

/// `sum`: integers add as `Int64`, floats as `Float64`, decimals keep their type.
fn sum_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .map(|t| match value_type(t) {
            t if t.is_integer() || t == &DataType::Null => Ok(DataType::Int64),
            t if t.is_floating() => Ok(DataType::Float64),
            t @ (DataType::Decimal128(_, _) | DataType::Decimal256(_, _)) => Ok(t.clone()),
            other => Err(not_numeric(function, other)),
        })
        .collect()
}

/// `avg`: any number, averaged as `Float64`.
fn float_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .map(|t| match value_type(t) {
            t if is_numeric(t) || t == &DataType::Null => Ok(DataType::Float64),
            other => Err(not_numeric(function, other)),
        })
        .collect()
}

fn not_numeric(function: &str, data_type: &DataType) -> PlanError {
    PlanError::type_mismatch(format!(
        "function '{function}' needs a numeric argument, got {data_type}"
    ))
}

fn int64(_: &[DataType]) -> DataType {
    DataType::Int64
}

fn float64(_: &[DataType]) -> DataType {
    DataType::Float64
}

fn list_of_first(args: &[DataType]) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(first(args), true)))
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

fn count_values_return(args: &[DataType]) -> DataType {
    count_values_type(&first(args))
}

fn count_state(_: &[DataType]) -> Vec<Field> {
    vec![Field::new("count", DataType::Int64, false)]
}

fn sum_state(args: &[DataType]) -> Vec<Field> {
    vec![Field::new("sum", first(args), true)]
}

fn avg_state(_: &[DataType]) -> Vec<Field> {
    vec![
        Field::new("sum", DataType::Float64, true),
        Field::new("count", DataType::Int64, false),
    ]
}

fn min_state(args: &[DataType]) -> Vec<Field> {
    vec![Field::new("min", first(args), true)]
}

fn max_state(args: &[DataType]) -> Vec<Field> {
    vec![Field::new("max", first(args), true)]
}

fn list_state(args: &[DataType]) -> Vec<Field> {
    vec![Field::new("values", list_of_first(args), true)]
}

fn count_values_state(args: &[DataType]) -> Vec<Field> {
    vec![Field::new("counts", count_values_return(args), true)]
}

/// The built-in aggregate signatures.
pub(super) fn builtins() -> Vec<Arc<dyn AggregateFunctionSignature>> {
    let b = |name, arity, coerce: Coerce, returns: Returns, state: State| {
        Arc::new(Builtin {
            name,
            arity,
            coerce,
            returns,
            state,
        }) as Arc<dyn AggregateFunctionSignature>
    };
    vec![
        b("count", Arity::Range(0, 1), values, int64, count_state),
        b("sum", Arity::Exact(1), sum_args, first, sum_state),
        b("avg", Arity::Exact(1), float_args, float64, avg_state),
        b("min", Arity::Exact(1), values, first, min_state),
        b("max", Arity::Exact(1), values, first, max_state),
        b(
            "collect_list",
            Arity::Exact(1),
            values,
            list_of_first,
            list_state,
        ),
        b(
            "collect_set",
            Arity::Exact(1),
            values,
            list_of_first,
            list_state,
        ),
        b(
            "count_values",
            Arity::Exact(1),
            values,
            count_values_return,
            count_values_state,
        ),
    ]
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
            .coerce_aggregate_args("count_values", &[dict])
            .unwrap();
        assert_eq!(args, vec![DataType::Utf8]);
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
        let err = registry
            .coerce_aggregate_args("sum", &[DataType::Utf8])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: function 'sum' needs a numeric argument, got Utf8"
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
