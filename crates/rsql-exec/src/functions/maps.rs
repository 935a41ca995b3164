//! Map functions, with Spark's semantics: a NULL map makes a NULL result, a missing key reads
//! as NULL, and a NULL key or a key twice in one map is an error when a map is built (Spark's
//! default `spark.sql.mapKeyDedupPolicy=EXCEPTION`).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, MapArray, StructArray, UInt32Array,
    new_empty_array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{interleave, take};
use arrow::datatypes::{DataType, FieldRef, Fields};
use datafusion_common::ScalarValue;

use crate::error::{Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::collections::{
    constructor, covered, entries_field, equal_to_row_value, first_hits, item_field, list_arg,
    map_arg, row_ranges, u32_index,
};
use crate::functions::{argument, function};
use crate::rows::RowCodec;

type Body = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    let table: &[(&'static str, Body)] = &[
        ("map_from_arrays", map_from_arrays),
        ("map_from_entries", map_from_entries),
        ("map_keys", |args, return_type| {
            let map = map_arg("map_keys", args, 0)?;
            as_list(map, map.keys(), return_type)
        }),
        ("map_values", |args, return_type| {
            let map = map_arg("map_values", args, 0)?;
            as_list(map, map.values(), return_type)
        }),
        ("map_entries", map_entries),
        ("map_concat", map_concat),
        ("map_contains_key", map_contains_key),
    ];
    table
        .iter()
        .map(|(name, body)| function(name, *body))
        .chain([constructor("map", make_map)])
        .collect()
}

/// Each row's value for its key in `probes` (NULL when the map or the key is NULL or the key
/// is missing): `element_at(m, k)` and `m[k]`.
pub(super) fn lookup(map: &MapArray, probes: &ArrayRef) -> Result<ArrayRef> {
    let hits = equal_to_row_value(map.keys(), map.offsets(), probes)?;
    let (first, _) = covered(map.offsets());
    let picks: Vec<Option<u32>> = first_hits(&hits, map.offsets())
        .into_iter()
        .enumerate()
        .map(|(row, hit)| match hit {
            Some(i) if map.is_valid(row) => u32_index(first + i).map(Some),
            _ => Ok(None),
        })
        .collect::<Result<_>>()?;
    Ok(take(
        map.values().as_ref(),
        &UInt32Array::from(picks),
        None,
    )?)
}

/// `map_contains_key(m, k)`: whether `m` has the key `k` (NULL for a NULL map or key).
fn map_contains_key(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let map = map_arg("map_contains_key", args, 0)?;
    let probes = argument("map_contains_key", args, 1)?;
    let hits = equal_to_row_value(map.keys(), map.offsets(), probes)?;
    let found: BooleanArray = first_hits(&hits, map.offsets())
        .into_iter()
        .enumerate()
        .map(|(row, hit)| (map.is_valid(row) && probes.is_valid(row)).then_some(hit.is_some()))
        .collect();
    Ok(Arc::new(found))
}

/// `column` (the map's keys or values) as one array per map row.
fn as_list(map: &MapArray, column: &ArrayRef, return_type: &DataType) -> Result<ArrayRef> {
    Ok(Arc::new(ListArray::try_new(
        item_field("map_keys", return_type)?,
        map.offsets().clone(),
        Arc::clone(column),
        map.nulls().cloned(),
    )?))
}

/// `map_entries(m)`: the entries as an array of `struct<key, value>`.
fn map_entries(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let map = map_arg("map_entries", args, 0)?;
    let field = item_field("map_entries", return_type)?;
    let DataType::Struct(fields) = field.data_type() else {
        return exec_err("map_entries must return an array of structs");
    };
    let entries = StructArray::try_new(
        fields.clone(),
        map.entries().columns().to_vec(),
        map.entries().nulls().cloned(),
    )?;
    Ok(Arc::new(ListArray::try_new(
        field,
        map.offsets().clone(),
        Arc::new(entries),
        map.nulls().cloned(),
    )?))
}

/// A map of `return_type` from keys and values (one entry each) with `lengths[r]` entries in
/// row `r`, NULL where `nulls` says. Fails on a NULL key and on a key twice in one row.
fn build_map(
    function: &str,
    return_type: &DataType,
    keys: ArrayRef,
    values: ArrayRef,
    lengths: Vec<usize>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    if keys.logical_null_count() > 0 {
        return exec_err(format!("{function}: a map key cannot be NULL"));
    }
    check_unique_keys(function, &keys, &lengths)?;
    let entries_field: FieldRef = entries_field(function, return_type)?;
    let DataType::Struct(fields) = entries_field.data_type() else {
        return exec_err(format!("{function}: malformed map type {return_type}"));
    };
    let entries = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries_field,
        OffsetBuffer::from_lengths(lengths),
        entries,
        nulls,
        false,
    )?))
}

/// An error naming the first key that appears twice among a row's `lengths[r]` keys (`-0.0`
/// and `0.0` are one key, as Spark normalises them).
fn check_unique_keys(function: &str, keys: &ArrayRef, lengths: &[usize]) -> Result<()> {
    if lengths.iter().all(|&n| n < 2) {
        return Ok(());
    }
    let rows = RowCodec::new(&[keys.data_type().clone()])?.encode_keys(&[Arc::clone(keys)])?;
    let mut seen = HashSet::new();
    let mut start = 0;
    for &n in lengths {
        seen.clear();
        for i in start..start + n {
            if !seen.insert(rows.row(i)) {
                let key = ScalarValue::try_from_array(keys, i)?;
                return exec_err(format!(
                    "{function}: duplicate map key {key} was found, please check the input data"
                ));
            }
        }
        start += n;
    }
    Ok(())
}

/// The key and value types of a map type.
fn entry_fields(function: &str, return_type: &DataType) -> Result<Fields> {
    match entries_field(function, return_type)?.data_type() {
        DataType::Struct(fields) if fields.len() == 2 => Ok(fields.clone()),
        _ => exec_err(format!("{function}: malformed map type {return_type}")),
    }
}

/// `map(k1, v1, k2, v2, ..)`: one map per row, of the pairs' values at that row.
fn make_map(args: &[ArrayRef], rows: usize, return_type: &DataType) -> Result<ArrayRef> {
    let pairs = args.len() / 2;
    let fields = entry_fields("map", return_type)?;
    let column = |parity: usize, data_type: &DataType| -> Result<ArrayRef> {
        if pairs == 0 {
            return Ok(new_empty_array(data_type));
        }
        let sources: Vec<&dyn Array> = args
            .iter()
            .skip(parity)
            .step_by(2)
            .map(|a| a.as_ref())
            .collect();
        let picks: Vec<(usize, usize)> = (0..rows)
            .flat_map(|row| (0..pairs).map(move |pair| (pair, row)))
            .collect();
        Ok(interleave(&sources, &picks)?)
    };
    let keys = column(0, fields[0].data_type())?;
    let values = column(1, fields[1].data_type())?;
    let lengths = vec![pairs; rows];
    build_map("map", return_type, keys, values, lengths, None)
}

/// `map_from_arrays(keys, values)`: row `r` pairs the two arrays' elements; NULL if either is
/// NULL, an error if their lengths differ.
fn map_from_arrays(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let keys = list_arg("map_from_arrays", args, 0)?;
    let values = list_arg("map_from_arrays", args, 1)?;
    let (mut key_picks, mut value_picks) = (Vec::new(), Vec::new());
    let mut lengths = Vec::with_capacity(keys.len());
    let mut valid = Vec::with_capacity(keys.len());
    let (ko, vo) = (keys.value_offsets(), values.value_offsets());
    for row in 0..keys.len() {
        let ok = keys.is_valid(row) && values.is_valid(row);
        valid.push(ok);
        if !ok {
            lengths.push(0);
            continue;
        }
        let (k, v) = (ko[row]..ko[row + 1], vo[row]..vo[row + 1]);
        if k.len() != v.len() {
            return exec_err(format!(
                "map_from_arrays: the key and value arrays have different lengths ({} and {})",
                k.len(),
                v.len()
            ));
        }
        lengths.push(k.len());
        for i in k {
            key_picks.push(u32_index(i as usize)?);
        }
        for i in v {
            value_picks.push(u32_index(i as usize)?);
        }
    }
    let keys = take(keys.values().as_ref(), &UInt32Array::from(key_picks), None)?;
    let values = take(
        values.values().as_ref(),
        &UInt32Array::from(value_picks),
        None,
    )?;
    let nulls = Some(NullBuffer::from(valid));
    build_map("map_from_arrays", return_type, keys, values, lengths, nulls)
}

/// `map_from_entries(array<struct<k, v>>)`: the structs' fields as keys and values; NULL for a
/// NULL array or one with a NULL entry, as Spark.
fn map_from_entries(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let list = list_arg("map_from_entries", args, 0)?;
    let (first, count) = covered(list.offsets());
    let entries = list.values().slice(first, count);
    let entries = entries.as_struct();
    let mut picks = Vec::with_capacity(count);
    let mut lengths = Vec::with_capacity(list.len());
    let mut valid = Vec::with_capacity(list.len());
    for (row, (start, end)) in row_ranges(list.offsets()).enumerate() {
        let ok = list.is_valid(row) && (start..end).all(|i| entries.is_valid(i));
        valid.push(ok);
        lengths.push(if ok { end - start } else { 0 });
        if ok {
            for i in start..end {
                picks.push(u32_index(i)?);
            }
        }
    }
    let picks = UInt32Array::from(picks);
    let keys = take(entries.column(0).as_ref(), &picks, None)?;
    let values = take(entries.column(1).as_ref(), &picks, None)?;
    let nulls = Some(NullBuffer::from(valid));
    build_map(
        "map_from_entries",
        return_type,
        keys,
        values,
        lengths,
        nulls,
    )
}

/// `map_concat(m1, m2, ..)`: each row's entries of every map, in order; NULL where a map is
/// NULL.
fn map_concat(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let maps = (0..args.len())
        .map(|i| map_arg("map_concat", args, i))
        .collect::<Result<Vec<_>>>()?;
    let rows = maps.first().map_or(0, |map| map.len());
    let mut picks = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        let ok = maps.iter().all(|map| map.is_valid(row));
        valid.push(ok);
        let before = picks.len();
        if ok {
            for (i, map) in maps.iter().enumerate() {
                let offsets = map.value_offsets();
                let entries = offsets[row] as usize..offsets[row + 1] as usize;
                picks.extend(entries.map(|entry| (i, entry)));
            }
        }
        lengths.push(picks.len() - before);
    }
    let keys: Vec<&dyn Array> = maps.iter().map(|map| map.keys().as_ref()).collect();
    let values: Vec<&dyn Array> = maps.iter().map(|map| map.values().as_ref()).collect();
    let nulls = Some(NullBuffer::from(valid));
    build_map(
        "map_concat",
        return_type,
        interleave(&keys, &picks)?,
        interleave(&values, &picks)?,
        lengths,
        nulls,
    )
}
