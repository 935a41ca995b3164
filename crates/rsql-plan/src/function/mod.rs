//! The function registry: signatures (argument counts, argument coercion, return types, partial
//! aggregation state) of scalar and aggregate functions, looked up by case-insensitive name.
//! Implementations live in the execution layer, which registers its UDFs and UDAFs here too;
//! an aggregate's implementation extends its [`AggregateFunctionSignature`], so one object
//! serves both layers (the built-ins' is [`BuiltinAggregate`]).

mod aggregate;
mod conditional;
mod date_part;
mod datetime;
mod grouping;
mod interval;
mod json;
mod math;
mod nested;
mod scalar;
mod single_value;
mod string;
mod string_agg;
mod window_functions;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field};
use datafusion_common::ScalarValue;

use crate::error::{PlanError, Result};
use crate::suggest;

pub use aggregate::{BuiltinAggregate, count_values_type, counts_rows};
pub use date_part::DateField;
pub use datetime::clock_value;
pub use grouping::{GROUPING, GROUPING_ID, is_grouping_function};
pub use interval::{parse_interval_literal, parse_interval_micros};
pub use nested::{GENERATORS, generated_fields, list_item, list_type, map_type};
pub use scalar::window_type;
pub use single_value::SingleValue;
pub use string_agg::{
    ORDERED_STRING_AGG, default_separator, order_spec, ordered_string_agg_args, parse_order_spec,
};
pub use window_functions::BuiltinWindowFunction;

/// How many arguments a function accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// Between `min` and `max`, inclusive.
    Range(usize, usize),
    /// This many or more.
    AtLeast(usize),
}

fn arguments(n: usize) -> String {
    if n == 1 {
        "1 argument".to_string()
    } else {
        format!("{n} arguments")
    }
}

impl Arity {
    /// Ok if `got` arguments are accepted; otherwise an [`PlanError::ArgumentCount`] naming
    /// `function`.
    pub fn check(self, function: &str, got: usize) -> Result<()> {
        let (ok, expected) = match self {
            Arity::Exact(n) => (got == n, arguments(n)),
            Arity::Range(min, max) => (
                (min..=max).contains(&got),
                format!("{min} to {}", arguments(max)),
            ),
            Arity::AtLeast(n) => (got >= n, format!("at least {}", arguments(n))),
        };
        if ok {
            Ok(())
        } else {
            Err(PlanError::ArgumentCount {
                function: function.to_string(),
                expected,
                got,
                position: None,
            })
        }
    }
}

impl fmt::Display for Arity {
    /// `2`, `1 to 3`, `1 or more`: the argument counts, as `SHOW FUNCTIONS` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arity::Exact(n) => write!(f, "{n}"),
            Arity::Range(min, max) => write!(f, "{min} to {max}"),
            Arity::AtLeast(n) => write!(f, "{n} or more"),
        }
    }
}

/// What kind of function a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FunctionKind {
    /// One value per row.
    Scalar,
    /// One value per group.
    Aggregate,
    /// One value per row, computed over a window of rows (`OVER (...)`); aggregates work as
    /// window functions too.
    Window,
}

impl fmt::Display for FunctionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FunctionKind::Scalar => "scalar",
            FunctionKind::Aggregate => "aggregate",
            FunctionKind::Window => "window",
        })
    }
}

/// A function as `SHOW FUNCTIONS` and the generated reference list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionEntry {
    /// The lower-case name.
    pub name: String,
    /// Its kind.
    pub kind: FunctionKind,
    /// How many arguments it takes.
    pub arity: Arity,
}

/// The signature of a scalar function.
pub trait ScalarFunctionSignature: Send + Sync + fmt::Debug {
    /// The registered name (matched case-insensitively).
    fn name(&self) -> &str;

    /// How many arguments it accepts; checked before any other method is called.
    fn arity(&self) -> Arity;

    /// The types the arguments must be cast to, given their types; the default takes them as
    /// they are. A type that cannot be accepted is a [`PlanError::TypeMismatch`].
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        Ok(args.to_vec())
    }

    /// The result type for (coerced) argument types.
    fn return_type(&self, args: &[DataType]) -> Result<DataType>;

    /// The result type when some arguments are literals (`literals[i]` is `Some` for those);
    /// functions whose type or validity depends on a literal (`named_struct` field names,
    /// `window` durations) override this. Defaults to [`Self::return_type`].
    fn return_type_with_literals(
        &self,
        args: &[DataType],
        literals: &[Option<&ScalarValue>],
    ) -> Result<DataType> {
        let _ = literals;
        self.return_type(args)
    }
}

/// The signature of an aggregate function.
pub trait AggregateFunctionSignature: Send + Sync + fmt::Debug {
    /// The registered name (matched case-insensitively).
    fn name(&self) -> &str;

    /// How many arguments it accepts; `count(*)` is a call with none.
    fn arity(&self) -> Arity;

    /// The types the arguments must be cast to; the default takes them as they are.
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        Ok(args.to_vec())
    }

    /// The result type for (coerced) argument types.
    fn return_type(&self, args: &[DataType]) -> Result<DataType>;

    /// The fields of the partial state one group carries between the partial and the final
    /// aggregate (for the non-DISTINCT form; see [`FunctionRegistry::aggregate_state_fields`]).
    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>>;

    /// Whether a call may say `IGNORE NULLS`, which then binds as one more argument, `true`
    /// (Spark's `first(x) IGNORE NULLS` is `first(x, true)`). Defaults to no.
    fn ignore_nulls_as_argument(&self) -> bool {
        false
    }
}

/// A scalar signature with fixed argument types and a fixed result type; arguments of other
/// types are cast to them. The simple way to declare a UDF.
#[derive(Debug, Clone)]
pub struct SimpleScalarSignature {
    name: String,
    arg_types: Vec<DataType>,
    return_type: DataType,
}

impl SimpleScalarSignature {
    /// A signature `name(arg_types..) -> return_type`.
    pub fn new(name: impl Into<String>, arg_types: Vec<DataType>, return_type: DataType) -> Self {
        SimpleScalarSignature {
            name: name.into(),
            arg_types,
            return_type,
        }
    }
}

impl ScalarFunctionSignature for SimpleScalarSignature {
    fn name(&self) -> &str {
        &self.name
    }

    fn arity(&self) -> Arity {
        Arity::Exact(self.arg_types.len())
    }

    fn coerce_types(&self, _args: &[DataType]) -> Result<Vec<DataType>> {
        Ok(self.arg_types.clone())
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }
}

/// Registered scalar and aggregate signatures by lower-case name.
#[derive(Debug, Clone)]
pub struct FunctionRegistry {
    scalars: HashMap<String, Arc<dyn ScalarFunctionSignature>>,
    aggregates: HashMap<String, Arc<dyn AggregateFunctionSignature>>,
}

impl Default for FunctionRegistry {
    /// A registry with the built-in functions.
    fn default() -> Self {
        Self::new()
    }
}

impl FunctionRegistry {
    /// A registry holding the built-in scalar and aggregate functions.
    pub fn new() -> Self {
        let mut registry = Self::empty();
        for signature in scalar::builtins()
            .into_iter()
            .chain(math::builtins())
            .chain(conditional::builtins())
            .chain(datetime::builtins())
            .chain(grouping::builtins())
            .chain(nested::builtins())
            .chain(json::builtins())
        {
            registry.register_scalar(signature);
        }
        for signature in string::builtins() {
            registry.register_scalar(signature);
        }
        for function in BuiltinAggregate::ALL {
            registry.register_aggregate(Arc::new(function));
        }
        registry.register_aggregate(Arc::new(SingleValue));
        registry
    }

    /// A registry without any function.
    pub fn empty() -> Self {
        FunctionRegistry {
            scalars: HashMap::new(),
            aggregates: HashMap::new(),
        }
    }

    /// Registers (or replaces) a scalar function; returns the one it replaced.
    pub fn register_scalar(
        &mut self,
        signature: Arc<dyn ScalarFunctionSignature>,
    ) -> Option<Arc<dyn ScalarFunctionSignature>> {
        self.scalars
            .insert(signature.name().to_lowercase(), signature)
    }

    /// Registers (or replaces) an aggregate function; returns the one it replaced.
    pub fn register_aggregate(
        &mut self,
        signature: Arc<dyn AggregateFunctionSignature>,
    ) -> Option<Arc<dyn AggregateFunctionSignature>> {
        self.aggregates
            .insert(signature.name().to_lowercase(), signature)
    }

    /// The scalar function called `name` (any case).
    pub fn scalar(&self, name: &str) -> Option<&Arc<dyn ScalarFunctionSignature>> {
        self.scalars.get(&name.to_lowercase())
    }

    /// The aggregate function called `name` (any case).
    pub fn aggregate(&self, name: &str) -> Option<&Arc<dyn AggregateFunctionSignature>> {
        self.aggregates.get(&name.to_lowercase())
    }

    /// Every registered function and the built-in window functions, sorted by name.
    pub fn entries(&self) -> Vec<FunctionEntry> {
        let scalars = self.scalars.iter().map(|(name, f)| FunctionEntry {
            name: name.clone(),
            kind: FunctionKind::Scalar,
            arity: f.arity(),
        });
        let aggregates = self.aggregates.iter().map(|(name, f)| FunctionEntry {
            name: name.clone(),
            kind: FunctionKind::Aggregate,
            arity: f.arity(),
        });
        let windows = BuiltinWindowFunction::ALL.iter().map(|f| FunctionEntry {
            name: f.name().to_string(),
            kind: FunctionKind::Window,
            arity: f.arity(),
        });
        let mut entries: Vec<FunctionEntry> = scalars.chain(aggregates).chain(windows).collect();
        entries.sort_by(|a, b| (&a.name, a.kind).cmp(&(&b.name, b.kind)));
        entries
    }

    /// An [`PlanError::UnknownFunction`] for `name` with the closest registered names.
    pub fn unknown_function(&self, name: &str) -> PlanError {
        let names = self
            .scalars
            .keys()
            .chain(self.aggregates.keys())
            .map(String::as_str);
        PlanError::UnknownFunction {
            name: name.to_string(),
            position: None,
            suggestions: suggest::closest(name, names),
        }
    }

    fn scalar_or_err(&self, name: &str) -> Result<&Arc<dyn ScalarFunctionSignature>> {
        self.scalar(name).ok_or_else(|| self.unknown_function(name))
    }

    fn aggregate_or_err(&self, name: &str) -> Result<&Arc<dyn AggregateFunctionSignature>> {
        self.aggregate(name)
            .ok_or_else(|| self.unknown_function(name))
    }

    /// Checks the argument count of a scalar call and returns the types its arguments must be
    /// cast to.
    pub fn coerce_scalar_args(&self, name: &str, args: &[DataType]) -> Result<Vec<DataType>> {
        let signature = self.scalar_or_err(name)?;
        signature.arity().check(signature.name(), args.len())?;
        signature.coerce_types(args)
    }

    /// The result type of a scalar call with (coerced) argument types and literal arguments.
    pub fn scalar_return_type(
        &self,
        name: &str,
        args: &[DataType],
        literals: &[Option<&ScalarValue>],
    ) -> Result<DataType> {
        let signature = self.scalar_or_err(name)?;
        signature.arity().check(signature.name(), args.len())?;
        signature.return_type_with_literals(args, literals)
    }

    /// Checks the argument count of an aggregate call and returns the types its arguments must
    /// be cast to.
    pub fn coerce_aggregate_args(&self, name: &str, args: &[DataType]) -> Result<Vec<DataType>> {
        let signature = self.aggregate_or_err(name)?;
        signature.arity().check(signature.name(), args.len())?;
        signature.coerce_types(args)
    }

    /// The result type of an aggregate call with (coerced) argument types.
    pub fn aggregate_return_type(&self, name: &str, args: &[DataType]) -> Result<DataType> {
        let signature = self.aggregate_or_err(name)?;
        signature.arity().check(signature.name(), args.len())?;
        signature.return_type(args)
    }

    /// The partial state of an aggregate call. A DISTINCT aggregate carries the distinct
    /// argument values seen so far, as one `List<arg>` field named `distinct`, whatever the
    /// function; the final step applies the function to them.
    pub fn aggregate_state_fields(
        &self,
        name: &str,
        args: &[DataType],
        distinct: bool,
    ) -> Result<Vec<Field>> {
        let signature = self.aggregate_or_err(name)?;
        signature.arity().check(signature.name(), args.len())?;
        match (distinct, args) {
            (true, [arg]) => Ok(vec![Field::new_list(
                "distinct",
                Field::new_list_field(arg.clone(), true),
                true,
            )]),
            (true, _) => Err(PlanError::not_supported(format!(
                "{name}(DISTINCT ..) with {} arguments",
                args.len()
            ))),
            (false, _) => signature.state_fields(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_registration_is_public() {
        let mut registry = FunctionRegistry::new();
        assert!(registry.scalar("LOWER").is_some());
        assert!(registry.aggregate("Count_Values").is_some());
        let udf = SimpleScalarSignature::new("double_it", vec![DataType::Int64], DataType::Int64);
        assert!(registry.register_scalar(Arc::new(udf)).is_none());
        assert_eq!(
            registry
                .scalar_return_type("DOUBLE_IT", &[DataType::Int64], &[None])
                .unwrap(),
            DataType::Int64
        );
        assert_eq!(
            registry
                .coerce_scalar_args("double_it", &[DataType::Int32])
                .unwrap(),
            vec![DataType::Int64]
        );
    }

    #[test]
    fn wrong_argument_counts_are_reported() {
        let registry = FunctionRegistry::new();
        let err = registry
            .coerce_scalar_args("lower", &[DataType::Utf8, DataType::Utf8])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "function 'lower' expects 1 argument, got 2"
        );
        let err = registry.coerce_scalar_args("substring", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "function 'substring' expects 2 to 3 arguments, got 0"
        );
    }

    #[test]
    fn unknown_functions_come_with_suggestions() {
        let registry = FunctionRegistry::new();
        let err = registry.aggregate_return_type("cuont", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown function 'cuont'; did you mean one of 'cot', 'count'?"
        );
    }

    #[test]
    fn distinct_state_is_a_list_of_values() {
        let registry = FunctionRegistry::new();
        let fields = registry
            .aggregate_state_fields("count", &[DataType::Utf8], true)
            .unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(
            fields[0].data_type(),
            &DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
        );
    }
}
