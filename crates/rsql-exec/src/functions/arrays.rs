//! Array functions, with Spark's semantics: a NULL array (or a NULL argument) makes a NULL
//! result, `a[i]` (`get`) counts from 0 and `element_at` from 1 (from the end when negative),
//! and an index out of range is NULL (Spark without ANSI mode).
//!
//! Results are built from the argument's offsets with Arrow's `take`, `interleave` and sort
//! kernels over the elements of a whole batch, not row by row.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, ListArray, StringBuilder,
    UInt32Array, new_empty_array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::{SortColumn, SortOptions, interleave, lexsort_to_indices, take};
use arrow::datatypes::{DataType, Int64Type};
use arrow::row::{RowConverter, SortField};

use crate::error::{Result, exec_err};
use crate::expr::ScalarUdf;
use crate::functions::collections::{
    constructor, covered, element_rows, equal_to_row_value, first_hits, item_field, list_arg,
    map_arg, row_ranges, u32_index,
};
use crate::functions::maps::lookup;
use crate::functions::{argument, function};

type Body = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    let table: &[(&[&'static str], Body)] = &[
        (&["get"], |args, _| {
            let list = list_arg("get", args, 0)?;
            let index = integers("get", args, 1)?;
            element(list, index, |i, len| (0..len).contains(&i).then_some(i))
        }),
        (&["element_at"], element_at),
        (&["size", "cardinality"], size),
        (&["array_contains"], array_contains),
        (&["array_position"], array_position),
        (&["array_distinct"], array_distinct),
        (&["sort_array"], |args, _| {
            let ascending = argument("sort_array", args, 1).ok();
            let ascending = ascending
                .map(|a| a.as_boolean())
                .is_none_or(|a| a.is_empty() || a.is_null(0) || a.value(0));
            sort_items("sort_array", args, ascending, ascending)
        }),
        (&["array_sort"], |args, _| {
            sort_items("array_sort", args, true, false)
        }),
        (&["array_min"], |args, _| extreme("array_min", args, false)),
        (&["array_max"], |args, _| extreme("array_max", args, true)),
        (&["array_join"], array_join),
        (&["slice"], slice),
        (&["flatten"], flatten),
    ];
    let constructors = ["array", "make_array"].map(|name| constructor(name, make_array));
    table
        .iter()
        .flat_map(|(names, body)| names.iter().map(|name| function(name, *body)))
        .chain(constructors)
        .collect()
}

/// Argument `index` of `function` as `Int64`s (the planner cast it).
fn integers<'a>(
    function: &str,
    args: &'a [ArrayRef],
    index: usize,
) -> Result<&'a arrow::array::PrimitiveArray<Int64Type>> {
    let arg = argument(function, args, index)?;
    match arg.as_primitive_opt::<Int64Type>() {
        Some(values) => Ok(values),
        None => exec_err(format!(
            "{function}: argument {} must be an integer, got {}",
            index + 1,
            arg.data_type()
        )),
    }
}

/// `array(a, b, ..)`: row `r` holds the arguments' values at `r`, interleaved.
fn make_array(args: &[ArrayRef], rows: usize, return_type: &DataType) -> Result<ArrayRef> {
    let field = item_field("array", return_type)?;
    let values = if args.is_empty() {
        new_empty_array(field.data_type())
    } else {
        let sources: Vec<&dyn Array> = args.iter().map(|a| a.as_ref()).collect();
        let picks: Vec<(usize, usize)> = (0..rows)
            .flat_map(|row| (0..args.len()).map(move |arg| (arg, row)))
            .collect();
        interleave(&sources, &picks)?
    };
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(args.len(), rows));
    Ok(Arc::new(ListArray::try_new(field, offsets, values, None)?))
}

/// Row `r`'s item at `position(index[r], len)` (a position in its array, or `None` for NULL);
/// NULL for a NULL array or index.
fn element(
    list: &ListArray,
    index: &arrow::array::PrimitiveArray<Int64Type>,
    position: impl Fn(i64, i64) -> Option<i64>,
) -> Result<ArrayRef> {
    let offsets = list.value_offsets();
    let picks: Vec<Option<u32>> = (0..list.len())
        .map(|row| {
            if list.is_null(row) || index.is_null(row) {
                return Ok(None);
            }
            let len = i64::from(offsets[row + 1] - offsets[row]);
            position(index.value(row), len)
                .map(|i| u32_index((i64::from(offsets[row]) + i) as usize))
                .transpose()
        })
        .collect::<Result<_>>()?;
    Ok(take(
        list.values().as_ref(),
        &UInt32Array::from(picks),
        None,
    )?)
}

/// `element_at(array, i)`: 1-based, negative from the end, 0 an error (as Spark); or
/// `element_at(map, key)`.
fn element_at(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    if let DataType::Map(..) = argument("element_at", args, 0)?.data_type() {
        let map = map_arg("element_at", args, 0)?;
        return lookup(map, argument("element_at", args, 1)?);
    }
    let list = list_arg("element_at", args, 0)?;
    let index = integers("element_at", args, 1)?;
    if index.iter().any(|i| i == Some(0)) {
        return exec_err("element_at: array indices start at 1, got 0");
    }
    element(list, index, |i, len| {
        let i = if i > 0 { i - 1 } else { len + i };
        (0..len).contains(&i).then_some(i)
    })
}

/// `size(a)` / `cardinality(a)`: the number of elements (of an array or a map); NULL for NULL.
fn size(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let arg = argument("size", args, 0)?;
    let (offsets, nulls) = match arg.data_type() {
        DataType::Map(..) => {
            let map = map_arg("size", args, 0)?;
            (map.offsets(), map.nulls())
        }
        _ => {
            let list = list_arg("size", args, 0)?;
            (list.offsets(), list.nulls())
        }
    };
    let lengths: Vec<i32> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    Ok(Arc::new(Int32Array::new(lengths.into(), nulls.cloned())))
}

/// Rows where either the array or the probed value is NULL.
fn either_null(list: &ListArray, probe: &ArrayRef) -> Option<NullBuffer> {
    NullBuffer::union(list.nulls(), probe.logical_nulls().as_ref())
}

/// `array_contains(a, v)`: true if an element equals `v`; else NULL if an element is NULL
/// (it might have been `v`), else false.
fn array_contains(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let list = list_arg("array_contains", args, 0)?;
    let probe = argument("array_contains", args, 1)?;
    let hits = equal_to_row_value(list.values(), list.offsets(), probe)?;
    let nulls = either_null(list, probe);
    let found: BooleanArray = row_ranges(list.offsets())
        .enumerate()
        .map(|(row, (start, end))| {
            if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                return None;
            }
            let mut unknown = false;
            for i in start..end {
                if hits.is_null(i) {
                    unknown = true;
                } else if hits.value(i) {
                    return Some(true);
                }
            }
            (!unknown).then_some(false)
        })
        .collect();
    Ok(Arc::new(found))
}

/// `array_position(a, v)`: the 1-based position of the first element equal to `v`, 0 if none.
fn array_position(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let list = list_arg("array_position", args, 0)?;
    let probe = argument("array_position", args, 1)?;
    let hits = equal_to_row_value(list.values(), list.offsets(), probe)?;
    let starts = row_ranges(list.offsets()).map(|(start, _)| start);
    let positions: Vec<i64> = first_hits(&hits, list.offsets())
        .into_iter()
        .zip(starts)
        .map(|(hit, start)| hit.map_or(0, |i| (i - start + 1) as i64))
        .collect();
    let nulls = either_null(list, probe);
    Ok(Arc::new(Int64Array::new(positions.into(), nulls)))
}

/// `list` with each row's elements replaced by the covered elements at `picks` (positions from
/// the first offset), `lengths[r]` of them for row `r`, and its rows NULL where `nulls` says.
fn regroup(
    list: &ListArray,
    picks: Vec<u32>,
    lengths: Vec<usize>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    let (first, count) = covered(list.offsets());
    let items = list.values().slice(first, count);
    let values = take(items.as_ref(), &UInt32Array::from(picks), None)?;
    let field = item_field("array", list.data_type())?;
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        nulls,
    )?))
}

/// `array_distinct(a)`: each row's distinct elements (one NULL at most), in first-seen order.
fn array_distinct(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let list = list_arg("array_distinct", args, 0)?;
    let (first, count) = covered(list.offsets());
    let items = list.values().slice(first, count);
    let converter = RowConverter::new(vec![SortField::new(items.data_type().clone())])?;
    let rows = converter.convert_columns(&[items])?;
    let mut picks = Vec::with_capacity(count);
    let mut lengths = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for (start, end) in row_ranges(list.offsets()) {
        seen.clear();
        let before = picks.len();
        for i in start..end {
            if seen.insert(rows.row(i)) {
                picks.push(u32_index(i)?);
            }
        }
        lengths.push(picks.len() - before);
    }
    regroup(list, picks, lengths, list.nulls().cloned())
}

/// The covered elements of `list` sorted within their rows, as positions from the first
/// offset.
fn sorted_positions(list: &ListArray, options: SortOptions) -> Result<UInt32Array> {
    let (first, count) = covered(list.offsets());
    let columns = [
        SortColumn {
            values: Arc::new(element_rows(list.offsets())?),
            options: None,
        },
        SortColumn {
            values: list.values().slice(first, count),
            options: Some(options),
        },
    ];
    Ok(lexsort_to_indices(&columns, None)?)
}

/// Each row's elements sorted, ascending or descending, with NULLs first or last.
fn sort_items(
    function: &str,
    args: &[ArrayRef],
    ascending: bool,
    nulls_first: bool,
) -> Result<ArrayRef> {
    let list = list_arg(function, args, 0)?;
    let options = SortOptions {
        descending: !ascending,
        nulls_first,
    };
    let picks = sorted_positions(list, options)?.values().to_vec();
    let lengths = row_ranges(list.offsets()).map(|(s, e)| e - s).collect();
    regroup(list, picks, lengths, list.nulls().cloned())
}

/// `array_min(a)` / `array_max(a)`: the smallest or largest non-NULL element; NULL for an empty
/// array or one of NULLs only.
fn extreme(function: &str, args: &[ArrayRef], largest: bool) -> Result<ArrayRef> {
    let list = list_arg(function, args, 0)?;
    let options = SortOptions {
        descending: largest,
        nulls_first: false,
    };
    let sorted = sorted_positions(list, options)?;
    let (first, count) = covered(list.offsets());
    let items = list.values().slice(first, count);
    let picks: UInt32Array = row_ranges(list.offsets())
        .enumerate()
        .map(|(row, (start, end))| (list.is_valid(row) && end > start).then(|| sorted.value(start)))
        .collect();
    Ok(take(items.as_ref(), &picks, None)?)
}

/// `array_join(a, sep [, null_replacement])`: the elements joined by `sep`; NULL elements are
/// skipped, or written as `null_replacement` when it is given.
fn array_join(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let list = list_arg("array_join", args, 0)?;
    let separator = argument("array_join", args, 1)?.as_string::<i32>();
    let replacement = argument("array_join", args, 2)
        .ok()
        .map(|r| r.as_string::<i32>());
    let items = list.values().as_string::<i32>();
    let offsets = list.value_offsets();
    let mut out = StringBuilder::new();
    let mut text = String::new();
    for row in 0..list.len() {
        let replace = replacement
            .filter(|r| r.is_valid(row))
            .map(|r| r.value(row));
        if list.is_null(row)
            || separator.is_null(row)
            || replacement.is_some_and(|r| r.is_null(row))
        {
            out.append_null();
            continue;
        }
        text.clear();
        let mut written = 0;
        for i in offsets[row] as usize..offsets[row + 1] as usize {
            let Some(item) = items.is_valid(i).then(|| items.value(i)).or(replace) else {
                continue;
            };
            if written > 0 {
                text.push_str(separator.value(row));
            }
            text.push_str(item);
            written += 1;
        }
        out.append_value(&text);
    }
    Ok(Arc::new(out.finish()))
}

/// `slice(a, start, length)`: `length` elements from the 1-based `start` (from the end when
/// negative); a `start` of 0 or a negative `length` is an error, as Spark.
fn slice(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let list = list_arg("slice", args, 0)?;
    let starts = integers("slice", args, 1)?;
    let lengths = integers("slice", args, 2)?;
    let mut picks = Vec::new();
    let mut counts = Vec::with_capacity(list.len());
    let mut nulls = Vec::with_capacity(list.len());
    for (row, (first, end)) in row_ranges(list.offsets()).enumerate() {
        let valid = list.is_valid(row) && starts.is_valid(row) && lengths.is_valid(row);
        nulls.push(valid);
        if !valid {
            counts.push(0);
            continue;
        }
        let (start, length) = (starts.value(row), lengths.value(row));
        if start == 0 {
            return exec_err("slice: the start index must not be 0 (indices start at 1)");
        }
        if length < 0 {
            return exec_err(format!(
                "slice: the length must not be negative, got {length}"
            ));
        }
        let size = (end - first) as i64;
        let begin = if start > 0 { start - 1 } else { size + start };
        let taken = if (0..size).contains(&begin) {
            length.min(size - begin)
        } else {
            0
        };
        for i in 0..taken {
            picks.push(u32_index(first + (begin + i) as usize)?);
        }
        counts.push(taken as usize);
    }
    regroup(list, picks, counts, Some(NullBuffer::from(nulls)))
}

/// `concat(a, b, ..)` of arrays: each row's elements of every argument in turn; NULL if one
/// of them is NULL.
pub(super) fn concat_arrays(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let lists = (0..args.len())
        .map(|i| list_arg("concat", args, i))
        .collect::<Result<Vec<_>>>()?;
    let rows = lists.first().map_or(0, |l| l.len());
    let mut picks = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        let ok = lists.iter().all(|l| l.is_valid(row));
        valid.push(ok);
        let before = picks.len();
        if ok {
            for (arg, list) in lists.iter().enumerate() {
                let offsets = list.value_offsets();
                picks.extend((offsets[row]..offsets[row + 1]).map(|i| (arg, i as usize)));
            }
        }
        lengths.push(picks.len() - before);
    }
    let field = item_field("concat", return_type)?;
    let values = if lists.is_empty() {
        new_empty_array(field.data_type())
    } else {
        let sources: Vec<&dyn Array> = lists.iter().map(|l| l.values().as_ref()).collect();
        interleave(&sources, &picks)?
    };
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        Some(NullBuffer::from(valid)),
    )?))
}

/// `flatten(a)`: the inner arrays of each row concatenated; NULL if one of them is NULL.
fn flatten(args: &[ArrayRef], return_type: &DataType) -> Result<ArrayRef> {
    let outer = list_arg("flatten", args, 0)?;
    let inner = outer.values().as_list::<i32>();
    let inner_offsets = inner.value_offsets();
    let offsets: Vec<i32> = outer
        .value_offsets()
        .iter()
        .map(|&o| inner_offsets[o as usize])
        .collect();
    let valid: Vec<bool> = outer
        .value_offsets()
        .windows(2)
        .enumerate()
        .map(|(row, w)| {
            outer.is_valid(row) && (w[0] as usize..w[1] as usize).all(|i| inner.is_valid(i))
        })
        .collect();
    Ok(Arc::new(ListArray::try_new(
        item_field("flatten", return_type)?,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::clone(inner.values()),
        Some(NullBuffer::from(valid)),
    )?))
}
