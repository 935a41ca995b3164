//! Signatures of the built-in scalar functions (Spark names and result types).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, TimeUnit};
use datafusion_common::ScalarValue;

use super::{Arity, DateField, ScalarFunctionSignature, parse_interval_micros};
use crate::coercion::{common_type, is_numeric, is_string, value_type};
use crate::error::{PlanError, Result};

/// Coerces the argument types of a call (the function name comes first, for errors).
pub(super) type Coerce = fn(&str, &[DataType]) -> Result<Vec<DataType>>;
/// The result type of a call from its (coerced) argument types and literal arguments.
pub(super) type Returns = fn(&str, &[DataType], &[Option<&ScalarValue>]) -> Result<DataType>;

/// A built-in scalar function: its name, arity, and two plain functions for coercion and the
/// result type.
struct Builtin {
    name: &'static str,
    arity: Arity,
    coerce: Coerce,
    returns: Returns,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Builtin({})", self.name)
    }
}

impl ScalarFunctionSignature for Builtin {
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
        (self.returns)(self.name, args, &vec![None; args.len()])
    }

    fn return_type_with_literals(
        &self,
        args: &[DataType],
        literals: &[Option<&ScalarValue>],
    ) -> Result<DataType> {
        (self.returns)(self.name, args, literals)
    }
}

/// A [`PlanError::TypeMismatch`] for argument `index` (0-based) of `function`.
pub(super) fn bad_argument(function: &str, index: usize, data_type: &DataType) -> PlanError {
    PlanError::type_mismatch(format!(
        "function '{function}' cannot take argument {} of type {data_type}",
        index + 1
    ))
}

/// A value Spark would implicitly cast to a string: strings, numbers, booleans, dates, times.
pub(super) fn string_arg(function: &str, index: usize, data_type: &DataType) -> Result<DataType> {
    let data_type = value_type(data_type);
    let castable = is_string(data_type)
        || is_numeric(data_type)
        || matches!(
            data_type,
            DataType::Null
                | DataType::Boolean
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(_, _)
        );
    if castable {
        Ok(DataType::Utf8)
    } else {
        Err(bad_argument(function, index, data_type))
    }
}

/// A timestamp in microseconds: timestamps keep their zone, dates become zone-less timestamps
/// and strings are parsed as instants (in the session time zone unless they give an offset).
pub(super) fn timestamp_arg(
    function: &str,
    index: usize,
    data_type: &DataType,
) -> Result<DataType> {
    match value_type(data_type) {
        DataType::Timestamp(_, tz) => Ok(DataType::Timestamp(TimeUnit::Microsecond, tz.clone())),
        DataType::Date32 | DataType::Date64 | DataType::Null => {
            Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
        }
        s if is_string(s) => Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        )),
        other => Err(bad_argument(function, index, other)),
    }
}

/// An integer (or NULL), as `Int64`.
pub(super) fn integer_arg(function: &str, index: usize, data_type: &DataType) -> Result<DataType> {
    match value_type(data_type) {
        t if t.is_integer() || t == &DataType::Null => Ok(DataType::Int64),
        other => Err(bad_argument(function, index, other)),
    }
}

pub(super) fn all_strings(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| string_arg(function, i, t))
        .collect()
}

pub(super) fn string_then_integers(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| match i {
            0 => string_arg(function, i, t),
            _ => integer_arg(function, i, t),
        })
        .collect()
}

fn timestamp_then_strings(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| match i {
            0 => timestamp_arg(function, i, t),
            _ => string_arg(function, i, t),
        })
        .collect()
}

fn string_then_timestamp(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| match i {
            0 => string_arg(function, i, t),
            _ => timestamp_arg(function, i, t),
        })
        .collect()
}

/// Every argument cast to the type they all meet at.
pub(super) fn common(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let mut target = DataType::Null;
    for (i, arg) in args.iter().enumerate() {
        target = common_type(&target, arg).ok_or_else(|| bad_argument(function, i, arg))?;
    }
    Ok(vec![target; args.len()])
}

/// `date_part`-style functions: timestamps (any zone) and dates as they are, strings as
/// instants.
fn datetime_arg(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| match value_type(t) {
            DataType::Date32 => Ok(DataType::Date32),
            other => timestamp_arg(function, i, other),
        })
        .collect()
}

pub(super) fn utf8(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}

pub(super) fn boolean(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Boolean)
}

pub(super) fn int32(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int32)
}

/// The type of the first argument.
pub(super) fn first_arg_type(
    _: &str,
    args: &[DataType],
    _: &[Option<&ScalarValue>],
) -> Result<DataType> {
    Ok(args.first().cloned().unwrap_or(DataType::Null))
}

pub(super) fn utc_timestamp(
    _: &str,
    _: &[DataType],
    _: &[Option<&ScalarValue>],
) -> Result<DataType> {
    Ok(DataType::Timestamp(
        TimeUnit::Microsecond,
        Some("UTC".into()),
    ))
}

pub(super) fn string_literal(literal: Option<&ScalarValue>) -> Option<&str> {
    match literal {
        Some(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
        ) => Some(s),
        _ => None,
    }
}

const TRUNC_UNITS: &[&str] = &[
    "year",
    "yyyy",
    "yy",
    "quarter",
    "month",
    "mon",
    "mm",
    "week",
    "day",
    "dd",
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
];

/// `date_trunc(unit, ts)`: the timestamp type of `ts`; a literal unit must be one Spark knows.
fn date_trunc_type(
    function: &str,
    args: &[DataType],
    literals: &[Option<&ScalarValue>],
) -> Result<DataType> {
    if let Some(unit) = string_literal(literals.first().copied().flatten())
        && !TRUNC_UNITS.contains(&unit.to_lowercase().as_str())
    {
        {
            return Err(PlanError::invalid(format!(
                "function '{function}' does not know the unit '{unit}' (expected one of {})",
                TRUNC_UNITS.join(", ")
            )));
        }
    }
    Ok(args
        .get(1)
        .cloned()
        .unwrap_or(DataType::Timestamp(TimeUnit::Microsecond, None)))
}

/// `date_part(field, x)`: the type of the literal field's value (see [`DateField`]).
fn date_part_type(
    function: &str,
    _: &[DataType],
    literals: &[Option<&ScalarValue>],
) -> Result<DataType> {
    let Some(name) = string_literal(literals.first().copied().flatten()) else {
        return Err(PlanError::invalid(format!(
            "function '{function}' needs a literal field such as 'year'"
        )));
    };
    match DateField::parse(name) {
        Some(field) => Ok(field.data_type()),
        None => Err(PlanError::invalid(format!(
            "function '{function}' does not know the field '{name}' (expected one of {})",
            DateField::NAMES
                .iter()
                .map(|(_, names)| names[0])
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `date_part(field, x)`: a string field, then a date or timestamp.
fn string_then_datetime(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let value = match value_type(&args[1]) {
        DataType::Date32 => DataType::Date32,
        other => timestamp_arg(function, 1, other)?,
    };
    Ok(vec![string_arg(function, 0, &args[0])?, value])
}

/// The type `window(ts, duration)` returns for a timestamp type: `struct<start, end>` of
/// microsecond timestamps in `ts`'s zone, like Spark's tumbling window.
pub fn window_type(timestamp: &DataType) -> DataType {
    let tz = match timestamp {
        DataType::Timestamp(_, tz) => tz.clone(),
        _ => None,
    };
    let ts = DataType::Timestamp(TimeUnit::Microsecond, tz);
    DataType::Struct(Fields::from(vec![
        Field::new("start", ts.clone(), true),
        Field::new("end", ts, true),
    ]))
}

fn window_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let mut coerced = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        coerced.push(match (i, value_type(arg)) {
            (0, DataType::Timestamp(_, tz)) => {
                DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
            }
            (1, s) if is_string(s) => DataType::Utf8,
            (_, other) => return Err(bad_argument(function, i, other)),
        });
    }
    Ok(coerced)
}

/// `window(ts, '1 hour')`: the duration must be a string literal that parses as an interval.
fn window_return(
    function: &str,
    args: &[DataType],
    literals: &[Option<&ScalarValue>],
) -> Result<DataType> {
    match literals.get(1).copied().flatten() {
        Some(literal) => {
            let text = string_literal(Some(literal)).ok_or_else(|| {
                PlanError::invalid(format!(
                    "function '{function}' needs a duration string such as '1 hour', got {literal:?}"
                ))
            })?;
            parse_interval_micros(text)?;
        }
        None if literals.len() > 1 => {
            return Err(PlanError::invalid(format!(
                "function '{function}' needs a literal duration such as '1 hour'"
            )));
        }
        None => {}
    }
    Ok(window_type(args.first().unwrap_or(&DataType::Null)))
}

/// `named_struct('a', x, 'b', y)`: a struct whose field names are the literal names.
fn named_struct_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    if !args.len().is_multiple_of(2) {
        return Err(PlanError::invalid(format!(
            "function '{function}' takes name/value pairs, got {} arguments",
            args.len()
        )));
    }
    args.iter()
        .enumerate()
        .map(|(i, t)| {
            if i % 2 == 0 {
                string_arg(function, i, t)
            } else {
                Ok(value_type(t).clone())
            }
        })
        .collect()
}

fn named_struct_type(
    function: &str,
    args: &[DataType],
    literals: &[Option<&ScalarValue>],
) -> Result<DataType> {
    let mut fields = Vec::with_capacity(args.len() / 2);
    for (i, pair) in args.chunks(2).enumerate() {
        let name = string_literal(literals.get(2 * i).copied().flatten()).ok_or_else(|| {
            PlanError::invalid(format!(
                "function '{function}' needs literal strings as field names (argument {})",
                2 * i + 1
            ))
        })?;
        let value = pair.get(1).cloned().unwrap_or(DataType::Null);
        fields.push(Field::new(name, value, true));
    }
    Ok(DataType::Struct(Fields::from(fields)))
}

/// `struct(a, b)`: fields named `col1`, `col2`, ... (the binder names them after column
/// arguments by rewriting to `named_struct`).
fn struct_type(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let fields: Vec<Field> = args
        .iter()
        .enumerate()
        .map(|(i, t)| Field::new(format!("col{}", i + 1), value_type(t).clone(), true))
        .collect();
    Ok(DataType::Struct(Fields::from(fields)))
}

fn values(_: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    Ok(args.iter().map(|t| value_type(t).clone()).collect())
}

/// A built-in signature from its name, arity, coercion and result type.
pub(super) fn builtin(
    name: &'static str,
    arity: Arity,
    coerce: Coerce,
    returns: Returns,
) -> Arc<dyn ScalarFunctionSignature> {
    Arc::new(Builtin {
        name,
        arity,
        coerce,
        returns,
    })
}

/// The built-in scalar signatures (string functions are in [`super::string`]).
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    let b = builtin;
    vec![
        b(
            "date_trunc",
            Arity::Exact(2),
            string_then_timestamp,
            date_trunc_type,
        ),
        b("date_format", Arity::Exact(2), timestamp_then_strings, utf8),
        b(
            "to_timestamp",
            Arity::Range(1, 2),
            all_strings,
            utc_timestamp,
        ),
        b(
            "date_part",
            Arity::Exact(2),
            string_then_datetime,
            date_part_type,
        ),
        b("year", Arity::Exact(1), datetime_arg, int32),
        b("month", Arity::Exact(1), datetime_arg, int32),
        b("day", Arity::Exact(1), datetime_arg, int32),
        b("hour", Arity::Exact(1), datetime_arg, int32),
        b("coalesce", Arity::AtLeast(1), common, first_arg_type),
        b("nullif", Arity::Exact(2), common, first_arg_type),
        b(
            "named_struct",
            Arity::AtLeast(2),
            named_struct_args,
            named_struct_type,
        ),
        b("struct", Arity::AtLeast(1), values, struct_type),
        b("window", Arity::Exact(2), window_args, window_return),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::FunctionRegistry;
    use super::*;

    fn utc_micros() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    #[test]
    fn window_returns_a_start_end_struct_in_the_zone_of_ts() {
        let registry = FunctionRegistry::new();
        let ts = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
        let coerced = registry
            .coerce_scalar_args("window", &[ts, DataType::Utf8])
            .unwrap();
        assert_eq!(coerced, vec![utc_micros(), DataType::Utf8]);
        let hour = ScalarValue::from("1 hour");
        let t = registry
            .scalar_return_type("window", &coerced, &[None, Some(&hour)])
            .unwrap();
        assert_eq!(t, window_type(&utc_micros()));
        let DataType::Struct(fields) = t else {
            panic!("not a struct")
        };
        assert_eq!(fields[0].name(), "start");
        assert_eq!(fields[1].name(), "end");
        assert_eq!(fields[1].data_type(), &utc_micros());
    }

    #[test]
    fn window_rejects_malformed_and_non_literal_durations() {
        let registry = FunctionRegistry::new();
        let args = [utc_micros(), DataType::Utf8];
        let bad = ScalarValue::from("1 hourz");
        let err = registry
            .scalar_return_type("window", &args, &[None, Some(&bad)])
            .unwrap_err();
        assert!(
            err.to_string().starts_with("malformed interval '1 hourz'"),
            "{err}"
        );
        let err = registry
            .scalar_return_type("window", &args, &[None, None])
            .unwrap_err();
        assert!(err.to_string().contains("literal duration"), "{err}");
        let err = registry
            .coerce_scalar_args("window", &[DataType::Utf8, DataType::Utf8])
            .unwrap_err();
        assert!(err.to_string().contains("argument 1 of type Utf8"), "{err}");
    }

    #[test]
    fn string_functions_cast_their_arguments_to_utf8() {
        let registry = FunctionRegistry::new();
        let coerced = registry
            .coerce_scalar_args(
                "concat_ws",
                &[DataType::Utf8, DataType::Int32, utc_micros()],
            )
            .unwrap();
        assert_eq!(coerced, vec![DataType::Utf8; 3]);
        assert!(
            registry
                .coerce_scalar_args("lower", &[window_type(&utc_micros())])
                .is_err()
        );
        assert_eq!(
            registry
                .scalar_return_type("length", &[DataType::Utf8], &[None])
                .unwrap(),
            DataType::Int32
        );
    }

    #[test]
    fn coalesce_meets_at_the_common_type() {
        let registry = FunctionRegistry::new();
        let coerced = registry
            .coerce_scalar_args(
                "coalesce",
                &[DataType::Int32, DataType::Int64, DataType::Null],
            )
            .unwrap();
        assert_eq!(coerced, vec![DataType::Int64; 3]);
        assert!(
            registry
                .coerce_scalar_args("nullif", &[DataType::Boolean, DataType::Int64])
                .is_err()
        );
    }

    #[test]
    fn named_struct_takes_its_field_names_from_literals() {
        let registry = FunctionRegistry::new();
        let (a, b) = (
            ScalarValue::from("page_views"),
            ScalarValue::from("visitors"),
        );
        let t = registry
            .scalar_return_type(
                "named_struct",
                &[
                    DataType::Utf8,
                    DataType::Int64,
                    DataType::Utf8,
                    DataType::Int64,
                ],
                &[Some(&a), None, Some(&b), None],
            )
            .unwrap();
        assert_eq!(
            t,
            DataType::Struct(Fields::from(vec![
                Field::new("page_views", DataType::Int64, true),
                Field::new("visitors", DataType::Int64, true),
            ]))
        );
        assert!(
            registry
                .coerce_scalar_args(
                    "named_struct",
                    &[DataType::Utf8, DataType::Int64, DataType::Utf8]
                )
                .is_err()
        );
    }

    #[test]
    fn date_trunc_checks_literal_units() {
        let registry = FunctionRegistry::new();
        let args = [DataType::Utf8, utc_micros()];
        let hour = ScalarValue::from("HOUR");
        assert_eq!(
            registry
                .scalar_return_type("date_trunc", &args, &[Some(&hour), None])
                .unwrap(),
            utc_micros()
        );
        let fortnight = ScalarValue::from("fortnight");
        assert!(
            registry
                .scalar_return_type("date_trunc", &args, &[Some(&fortnight), None])
                .is_err()
        );
    }
}
