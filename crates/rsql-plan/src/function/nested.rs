//! Signatures of the array and map functions, with Spark's names and semantics (and DuckDB's
//! aliases where they do not clash): constructors (`array`, `map`, `map_from_arrays`,
//! `map_from_entries`), access (`element_at`, `get`), and the collection functions.
//!
//! Arrays are Arrow `List`s whose items are nullable and named `item`; arguments that are other
//! list types (`LargeList`, lists with another item name, as Parquet writes) are cast to that.
//! Maps are Arrow `Map`s with entries `struct<key (not null), value>`. The generators
//! (`explode`, `posexplode`, their `_outer` forms and `unnest`) are typed here too: the binder
//! turns a call in a select list into a `Generate` plan node, so no row-wise implementation
//! exists.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields};
use datafusion_common::ScalarValue;

use super::scalar::{Coerce, Returns, all_strings, bad_argument, builtin, integer_arg, string_arg};
use super::{Arity, ScalarFunctionSignature};
use crate::coercion::{common_type, value_type};
use crate::error::{PlanError, Result};
use crate::expr::map_entry_types;

/// `array<item>`: a list of nullable items named `item`.
pub fn list_type(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// `map<key, value>`: entries `struct<key not null, value>`, unordered.
pub fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

/// The item type of a list type, or `None` for other types.
pub fn list_item(data_type: &DataType) -> Option<&DataType> {
    match data_type {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            Some(item.data_type())
        }
        _ => None,
    }
}

/// The item type of argument `index`, which must be an array (a NULL is an array of NULLs).
fn item_of(function: &str, index: usize, data_type: &DataType) -> Result<DataType> {
    match value_type(data_type) {
        DataType::Null => Ok(DataType::Null),
        t => list_item(t)
            .cloned()
            .ok_or_else(|| bad_argument(function, index, t)),
    }
}

/// Argument `index`, which must be a map (a NULL is a map of NULLs), as it is.
fn map_arg(function: &str, index: usize, data_type: &DataType) -> Result<DataType> {
    match value_type(data_type) {
        DataType::Null => Ok(map_type(DataType::Null, DataType::Null)),
        t @ DataType::Map(..) => Ok(t.clone()),
        t => Err(bad_argument(function, index, t)),
    }
}

/// The `(key, value)` types of a coerced map argument.
fn entry_types(data_type: &DataType) -> Result<(DataType, DataType)> {
    let (key, value) = map_entry_types(data_type)?;
    Ok((key.clone(), value.clone()))
}

/// The common type of `types`, the `i`-th of which is argument `first + i * step`.
fn common_of<'t>(
    function: &str,
    types: impl IntoIterator<Item = &'t DataType>,
    first: usize,
    step: usize,
) -> Result<DataType> {
    let mut target = DataType::Null;
    for (i, t) in types.into_iter().enumerate() {
        target =
            common_type(&target, t).ok_or_else(|| bad_argument(function, first + i * step, t))?;
    }
    Ok(target)
}

/// Whether values of `data_type` can be compared for equality by the element kernels (not
/// lists, maps or structs).
fn comparable(data_type: &DataType) -> bool {
    !data_type.is_nested()
}

/// `array(a, b, ..)`: every argument cast to their common type. `array()` is an empty
/// `array<null>`, as Spark 3.
fn array_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let item = common_of(function, args, 0, 1)?;
    Ok(vec![item; args.len()])
}

fn array_type(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(list_type(args.first().cloned().unwrap_or(DataType::Null)))
}

/// `map(k1, v1, k2, v2, ..)`: keys cast to their common type, values to theirs.
fn map_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    if !args.len().is_multiple_of(2) {
        return Err(PlanError::invalid(format!(
            "function '{function}' takes key/value pairs, got {} arguments",
            args.len()
        )));
    }
    let key = common_of(function, args.iter().step_by(2), 0, 2)?;
    if key.is_nested() {
        return Err(bad_argument(function, 0, &key));
    }
    let value = common_of(function, args.iter().skip(1).step_by(2), 1, 2)?;
    Ok(args
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if i % 2 == 0 {
                key.clone()
            } else {
                value.clone()
            }
        })
        .collect())
}

fn map_return(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let key = args.first().cloned().unwrap_or(DataType::Null);
    let value = args.get(1).cloned().unwrap_or(DataType::Null);
    Ok(map_type(key, value))
}

/// Every argument an array, normalised to `List` of nullable `item`s.
fn arrays(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| Ok(list_type(item_of(function, i, t)?)))
        .collect()
}

/// An array, then integers (`Int64`).
fn array_then_integers(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| match i {
            0 => Ok(list_type(item_of(function, i, t)?)),
            _ => integer_arg(function, i, t),
        })
        .collect()
}

/// An array whose items can be ordered (anything but maps), then, for `sort_array`, a boolean.
fn sortable_array(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let item = item_of(function, 0, &args[0])?;
    if matches!(item, DataType::Map(..)) {
        return Err(bad_argument(function, 0, &args[0]));
    }
    let mut coerced = vec![list_type(item)];
    if let Some(ascending) = args.get(1) {
        match value_type(ascending) {
            DataType::Boolean | DataType::Null => coerced.push(DataType::Boolean),
            other => return Err(bad_argument(function, 1, other)),
        }
    }
    Ok(coerced)
}

/// `array_contains(a, v)`, `array_position(a, v)`: the array's items and the value cast to
/// their common type.
fn array_and_value(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let item = item_of(function, 0, &args[0])?;
    let common = common_type(&item, &args[1]).ok_or_else(|| {
        PlanError::type_mismatch(format!(
            "function '{function}' cannot look for a value of type {} in an array of {item}",
            args[1]
        ))
    })?;
    if !comparable(&common) {
        return Err(bad_argument(function, 0, &args[0]));
    }
    Ok(vec![list_type(common.clone()), common])
}

/// `array_join(a, sep [, null_replacement])`: an array of values castable to strings, then
/// strings.
fn array_join_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let item = item_of(function, 0, &args[0])?;
    string_arg(function, 0, &item).map_err(|_| bad_argument(function, 0, &args[0]))?;
    let mut coerced = vec![list_type(DataType::Utf8)];
    for (i, t) in args.iter().enumerate().skip(1) {
        coerced.push(string_arg(function, i, t)?);
    }
    Ok(coerced)
}

/// `flatten(a)`: an array of arrays.
fn array_of_arrays(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let item = item_of(function, 0, &args[0])?;
    let inner = item_of(function, 0, &item).map_err(|_| bad_argument(function, 0, &args[0]))?;
    Ok(vec![list_type(list_type(inner))])
}

/// One map argument.
fn one_map(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    Ok(vec![map_arg(function, 0, &args[0])?])
}

/// `map_contains_key(m, k)`: the map as it is, the key cast to its key type.
fn map_and_key(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let map = map_arg(function, 0, &args[0])?;
    let (key, _) = entry_types(&map)?;
    if common_type(&key, &args[1]).is_none() {
        return Err(PlanError::type_mismatch(format!(
            "function '{function}' cannot look for a key of type {} in a map with {key} keys",
            args[1]
        )));
    }
    Ok(vec![map, key])
}

/// `element_at(array, index)` (1-based) or `element_at(map, key)`.
fn element_at_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    match value_type(&args[0]) {
        DataType::Map(..) => map_and_key(function, args),
        _ => array_then_integers(function, args),
    }
}

/// `size(a)` / `cardinality(m)`: an array or a map.
fn array_or_map(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    match value_type(&args[0]) {
        DataType::Map(..) => one_map(function, args),
        _ => arrays(function, args),
    }
}

/// `map_concat(m1, m2, ..)`: every map cast to the map of their keys' common type and their
/// values'.
fn map_concat_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let entries = args
        .iter()
        .enumerate()
        .map(|(i, t)| entry_types(&map_arg(function, i, t)?))
        .collect::<Result<Vec<_>>>()?;
    let key = common_of(function, entries.iter().map(|(key, _)| key), 0, 1)?;
    let value = common_of(function, entries.iter().map(|(_, value)| value), 0, 1)?;
    Ok(vec![map_type(key, value); args.len()])
}

/// `map_from_arrays(keys, values)`.
fn map_from_arrays_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    let coerced = arrays(function, args)?;
    let key = item_of(function, 0, &coerced[0])?;
    if key.is_nested() {
        return Err(bad_argument(function, 0, &args[0]));
    }
    Ok(coerced)
}

/// `map_from_entries(array<struct<k, v>>)`.
fn map_from_entries_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    match item_of(function, 0, &args[0])? {
        DataType::Struct(fields) if fields.len() == 2 && !fields[0].data_type().is_nested() => {
            Ok(vec![list_type(DataType::Struct(fields))])
        }
        _ => Err(bad_argument(function, 0, &args[0])),
    }
}

/// A generator's argument: an array or a map.
fn generator_arg(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    array_or_map(function, args)
}

fn first(args: &[DataType]) -> &DataType {
    args.first().unwrap_or(&DataType::Null)
}

/// `sort_array(a [, ascending])`: the direction must be a literal boolean, as in Spark.
fn sort_array_type(
    function: &str,
    args: &[DataType],
    literals: &[Option<&ScalarValue>],
) -> Result<DataType> {
    if args.len() == 2 && !matches!(literals.get(1), Some(Some(ScalarValue::Boolean(Some(_))))) {
        return Err(PlanError::invalid(format!(
            "function '{function}' needs a literal true or false as its second argument"
        )));
    }
    Ok(first(args).clone())
}

fn same_as_first(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(first(args).clone())
}

/// The item type of the first argument.
fn item(function: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    item_of(function, 0, first(args))
}

/// `element_at`: the item of an array, the value of a map.
fn element(function: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match first(args) {
        map @ DataType::Map(..) => Ok(entry_types(map)?.1),
        other => item_of(function, 0, other),
    }
}

fn int32(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int32)
}

fn int64(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int64)
}

fn boolean(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Boolean)
}

fn utf8(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}

fn flattened(function: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let inner = item_of(function, 0, first(args))?;
    Ok(list_type(item_of(function, 0, &inner)?))
}

fn map_keys_type(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(list_type(entry_types(first(args))?.0))
}

fn map_values_type(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(list_type(entry_types(first(args))?.1))
}

fn map_entries_type(_: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let (key, value) = entry_types(first(args))?;
    Ok(list_type(DataType::Struct(Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]))))
}

fn map_from_arrays_type(
    function: &str,
    args: &[DataType],
    _: &[Option<&ScalarValue>],
) -> Result<DataType> {
    let key = item_of(function, 0, first(args))?;
    let value = item_of(function, 1, args.get(1).unwrap_or(&DataType::Null))?;
    Ok(map_type(key, value))
}

fn map_from_entries_type(
    function: &str,
    args: &[DataType],
    _: &[Option<&ScalarValue>],
) -> Result<DataType> {
    match item_of(function, 0, first(args))? {
        DataType::Struct(fields) if fields.len() == 2 => Ok(map_type(
            fields[0].data_type().clone(),
            fields[1].data_type().clone(),
        )),
        other => Err(bad_argument(function, 0, &other)),
    }
}

/// The columns a generator over a value of `input`'s type produces: `pos` (with `position`),
/// then `col` for an array's items or `key` and `value` for a map's entries.
pub fn generated_fields(input: &DataType, position: bool) -> Result<Vec<Field>> {
    let mut fields = Vec::with_capacity(3);
    if position {
        fields.push(Field::new("pos", DataType::Int32, true));
    }
    match input {
        DataType::Map(..) => {
            let (key, value) = entry_types(input)?;
            fields.push(Field::new("key", key, true));
            fields.push(Field::new("value", value, true));
        }
        other => {
            let item = list_item(other).ok_or_else(|| {
                PlanError::type_mismatch(format!("cannot explode a value of type {other}"))
            })?;
            fields.push(Field::new("col", item.clone(), true));
        }
    }
    Ok(fields)
}

/// A generator's type as a call: the one generated column's, or a struct of them.
fn generated(function: &str, args: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let position = function.starts_with("pos");
    let mut fields = generated_fields(first(args), position)?;
    Ok(match fields.len() {
        1 => fields.remove(0).data_type().clone(),
        _ => DataType::Struct(Fields::from(fields)),
    })
}

/// `concat(..)`: arrays concatenate when one argument is an array (all of them are then cast
/// to arrays of their items' common type), strings otherwise.
pub(super) fn concat_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    if !args.iter().any(|t| list_item(value_type(t)).is_some()) {
        return all_strings(function, args);
    }
    let items = args
        .iter()
        .enumerate()
        .map(|(i, t)| item_of(function, i, t))
        .collect::<Result<Vec<_>>>()?;
    let item = common_of(function, &items, 0, 1)?;
    Ok(vec![list_type(item); args.len()])
}

/// `concat`'s result: the arrays' type, or a string.
pub(super) fn concat_type(
    _: &str,
    args: &[DataType],
    _: &[Option<&ScalarValue>],
) -> Result<DataType> {
    Ok(match first(args) {
        list @ DataType::List(_) => list.clone(),
        _ => DataType::Utf8,
    })
}

/// One row of the signature table: names (the Spark name first, then aliases), arity,
/// coercion and result type.
type Entry = (&'static [&'static str], Arity, Coerce, Returns);

/// The names of the generator functions, which only a select list (or `UNNEST`) may call.
pub const GENERATORS: [&str; 5] = [
    "explode",
    "explode_outer",
    "posexplode",
    "posexplode_outer",
    "unnest",
];

/// The built-in array and map signatures.
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    let table: &[Entry] = &[
        (
            &["array", "make_array"],
            Arity::AtLeast(0),
            array_args,
            array_type,
        ),
        (&["map"], Arity::AtLeast(0), map_args, map_return),
        (
            &["map_from_arrays"],
            Arity::Exact(2),
            map_from_arrays_args,
            map_from_arrays_type,
        ),
        (
            &["map_from_entries"],
            Arity::Exact(1),
            map_from_entries_args,
            map_from_entries_type,
        ),
        (&["element_at"], Arity::Exact(2), element_at_args, element),
        (&["get"], Arity::Exact(2), array_then_integers, item),
        (
            &["size", "cardinality"],
            Arity::Exact(1),
            array_or_map,
            int32,
        ),
        (
            &["array_contains"],
            Arity::Exact(2),
            array_and_value,
            boolean,
        ),
        (&["array_position"], Arity::Exact(2), array_and_value, int64),
        (&["array_distinct"], Arity::Exact(1), arrays, same_as_first),
        (
            &["sort_array"],
            Arity::Range(1, 2),
            sortable_array,
            sort_array_type,
        ),
        (
            &["array_sort"],
            Arity::Exact(1),
            sortable_array,
            same_as_first,
        ),
        (&["array_min"], Arity::Exact(1), sortable_array, item),
        (&["array_max"], Arity::Exact(1), sortable_array, item),
        (&["array_join"], Arity::Range(2, 3), array_join_args, utf8),
        (
            &["slice"],
            Arity::Exact(3),
            array_then_integers,
            same_as_first,
        ),
        (&["flatten"], Arity::Exact(1), array_of_arrays, flattened),
        (&["map_keys"], Arity::Exact(1), one_map, map_keys_type),
        (&["map_values"], Arity::Exact(1), one_map, map_values_type),
        (&["map_entries"], Arity::Exact(1), one_map, map_entries_type),
        (&["map_contains_key"], Arity::Exact(2), map_and_key, boolean),
        (
            &["map_concat"],
            Arity::AtLeast(1),
            map_concat_args,
            same_as_first,
        ),
        (
            &["explode", "explode_outer", "unnest"],
            Arity::Exact(1),
            generator_arg,
            generated,
        ),
        (
            &["posexplode", "posexplode_outer"],
            Arity::Exact(1),
            generator_arg,
            generated,
        ),
    ];
    table
        .iter()
        .flat_map(|(names, arity, coerce, returns)| {
            names
                .iter()
                .map(move |name| builtin(name, *arity, *coerce, *returns))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::FunctionRegistry;
    use super::*;

    fn ints() -> DataType {
        list_type(DataType::Int64)
    }

    #[test]
    fn array_takes_the_common_type_of_its_arguments() {
        let registry = FunctionRegistry::new();
        let args = [DataType::Int32, DataType::Float64, DataType::Null];
        let coerced = registry.coerce_scalar_args("array", &args).unwrap();
        assert_eq!(coerced, vec![DataType::Float64; 3]);
        let returned = registry
            .scalar_return_type("array", &coerced, &[None, None, None])
            .unwrap();
        assert_eq!(returned, list_type(DataType::Float64));
        assert_eq!(
            registry.scalar_return_type("array", &[], &[]).unwrap(),
            list_type(DataType::Null)
        );
        let err = registry
            .coerce_scalar_args("array", &[DataType::Int64, DataType::Boolean])
            .unwrap_err();
        assert!(
            err.to_string().contains("argument 2 of type Boolean"),
            "{err}"
        );
    }

    #[test]
    fn element_at_reads_arrays_by_position_and_maps_by_key() {
        let registry = FunctionRegistry::new();
        let map = map_type(DataType::Utf8, DataType::Float64);
        let coerced = registry
            .coerce_scalar_args("element_at", &[map.clone(), DataType::Utf8])
            .unwrap();
        assert_eq!(coerced, vec![map.clone(), DataType::Utf8]);
        assert_eq!(
            registry
                .scalar_return_type("element_at", &coerced, &[None, None])
                .unwrap(),
            DataType::Float64
        );
        let coerced = registry
            .coerce_scalar_args("element_at", &[ints(), DataType::Int32])
            .unwrap();
        assert_eq!(coerced, vec![ints(), DataType::Int64]);
        assert!(
            registry
                .coerce_scalar_args("element_at", &[map, DataType::Boolean])
                .is_err()
        );
    }

    #[test]
    fn size_needs_an_array_or_a_map() {
        let registry = FunctionRegistry::new();
        let err = registry
            .coerce_scalar_args("size", &[DataType::Int64])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: function 'size' cannot take argument 1 of type Int64"
        );
    }

    #[test]
    fn generators_type_their_columns() {
        assert_eq!(
            generated("explode", &[ints()], &[None]).unwrap(),
            DataType::Int64
        );
        let fields = generated_fields(&map_type(DataType::Utf8, DataType::Int32), true).unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["pos", "key", "value"]);
    }
}
