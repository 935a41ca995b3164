//! Helpers shared by the array and map functions: reading arguments as lists and maps, and
//! vectorised per-element work (which row an element belongs to, which elements equal their
//! row's probe value).
//!
//! Offsets index a list's (or map's) whole child array; the helpers that work on elements look
//! at the child rows from the first offset to the last only, so sliced arrays work too.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, MapArray, UInt32Array, new_null_array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::kernels::cmp::eq;
use arrow::compute::take;
use arrow::datatypes::{DataType, FieldRef};

use crate::error::{Result, exec_err};
use crate::expr::{ColumnarValue, ScalarUdf};
use crate::functions::argument;

/// Argument `index` of `function` as a list.
pub(super) fn list_arg<'a>(
    function: &str,
    args: &'a [ArrayRef],
    index: usize,
) -> Result<&'a ListArray> {
    let arg = argument(function, args, index)?;
    match arg.as_list_opt::<i32>() {
        Some(list) => Ok(list),
        None => exec_err(format!(
            "{function}: argument {} must be an array, got {}",
            index + 1,
            arg.data_type()
        )),
    }
}

/// Argument `index` of `function` as a map.
pub(super) fn map_arg<'a>(
    function: &str,
    args: &'a [ArrayRef],
    index: usize,
) -> Result<&'a MapArray> {
    let arg = argument(function, args, index)?;
    match arg.as_map_opt() {
        Some(map) => Ok(map),
        None => exec_err(format!(
            "{function}: argument {} must be a map, got {}",
            index + 1,
            arg.data_type()
        )),
    }
}

/// The item field of a list type (the planner's return type of a function building a list).
pub(super) fn item_field(function: &str, list_type: &DataType) -> Result<FieldRef> {
    match list_type {
        DataType::List(field) => Ok(Arc::clone(field)),
        other => exec_err(format!("{function} must return an array, not {other}")),
    }
}

/// The entries field of a map type (the planner's return type of a function building a map).
pub(super) fn entries_field(function: &str, map_type: &DataType) -> Result<FieldRef> {
    match map_type {
        DataType::Map(field, _) => Ok(Arc::clone(field)),
        other => exec_err(format!("{function} must return a map, not {other}")),
    }
}

/// The range of child rows `offsets` covers: its first offset and how many rows follow.
pub(super) fn covered(offsets: &OffsetBuffer<i32>) -> (usize, usize) {
    let first = offsets.first().copied().unwrap_or(0);
    let last = offsets.last().copied().unwrap_or(0);
    (first as usize, (last - first) as usize)
}

/// Each row's elements as a range of positions counted from the first offset.
pub(super) fn row_ranges(offsets: &OffsetBuffer<i32>) -> impl Iterator<Item = (usize, usize)> + '_ {
    let first = offsets.first().copied().unwrap_or(0);
    offsets
        .windows(2)
        .map(move |w| ((w[0] - first) as usize, (w[1] - first) as usize))
}

/// For each covered element, the row it belongs to.
pub(super) fn element_rows(offsets: &OffsetBuffer<i32>) -> Result<UInt32Array> {
    let (_, count) = covered(offsets);
    let mut rows = Vec::with_capacity(count);
    for (row, (start, end)) in row_ranges(offsets).enumerate() {
        let row = u32_index(row)?;
        rows.extend(std::iter::repeat_n(row, end - start));
    }
    Ok(UInt32Array::from(rows))
}

/// `index` as a `take` index.
pub(super) fn u32_index(index: usize) -> Result<u32> {
    u32::try_from(index).or_else(|_| exec_err(format!("an array of {index} elements is too long")))
}

/// For each covered element of `values`, whether it equals its row's value of `probes` (NULL
/// when either is NULL), with Arrow's `eq` kernel.
pub(super) fn equal_to_row_value(
    values: &ArrayRef,
    offsets: &OffsetBuffer<i32>,
    probes: &ArrayRef,
) -> Result<BooleanArray> {
    let (first, count) = covered(offsets);
    if probes.data_type() == &DataType::Null || values.data_type() == &DataType::Null {
        return Ok(new_null_array(&DataType::Boolean, count)
            .as_boolean()
            .clone());
    }
    let items = values.slice(first, count);
    let spread = take(probes.as_ref(), &element_rows(offsets)?, None)?;
    Ok(eq(&items, &spread)?)
}

/// For each row, the position (from the first offset) of its first element for which `hits`
/// is true.
pub(super) fn first_hits(hits: &BooleanArray, offsets: &OffsetBuffer<i32>) -> Vec<Option<usize>> {
    row_ranges(offsets)
        .map(|(start, end)| (start..end).find(|&i| hits.is_valid(i) && hits.value(i)))
        .collect()
}

/// A constructor (`array(..)`, `map(..)`): a function of the argument arrays that is told the
/// row count, since it may have no arguments.
struct Constructor {
    name: &'static str,
    body: fn(&[ArrayRef], usize, &DataType) -> Result<ArrayRef>,
}

impl std::fmt::Debug for Constructor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Constructor")
            .field("name", &self.name)
            .finish()
    }
}

impl ScalarUdf for Constructor {
    fn name(&self) -> &str {
        self.name
    }

    fn invoke(
        &self,
        args: &[ColumnarValue],
        num_rows: usize,
        return_type: &DataType,
    ) -> Result<ColumnarValue> {
        let arrays = super::arrays(args, num_rows)?;
        Ok(ColumnarValue::Array((self.body)(
            &arrays,
            num_rows,
            return_type,
        )?))
    }
}

/// Wraps a constructor body as a registered built-in.
pub(super) fn constructor(
    name: &'static str,
    body: fn(&[ArrayRef], usize, &DataType) -> Result<ArrayRef>,
) -> Arc<dyn ScalarUdf> {
    Arc::new(Constructor { name, body })
}
