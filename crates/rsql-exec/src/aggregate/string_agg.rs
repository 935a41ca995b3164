//! `listagg(x [, sep])`, `string_agg(x [, sep])` (Spark: no separator by default) and
//! `group_concat(x [, sep])` (DuckDB: `,` by default): the group's non-null values of `x` as
//! text, joined by the constant `sep` (a NULL `sep` joins with nothing, as Spark); NULL for a
//! group without non-null values. Without an order the values come in the order rows arrive,
//! which a shuffle does not fix.
//!
//! With an order (`string_agg(x, sep ORDER BY k DESC)`, `listagg(x, sep) WITHIN GROUP (ORDER
//! BY k)`) the call binds to [`ORDERED_STRING_AGG`]: each value is kept with its sort keys,
//! encoded in Arrow's row format under the requested directions so that byte order is the
//! requested order, and the group is sorted when it is evaluated (ties keep arrival order).
//!
//! Every group's text is held until the final phase: a group's state grows with its values and
//! is accounted through [`GroupsAccumulator::size`].

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, ListArray, StringArray, StringBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field};
use arrow::row::{RowConverter, SortField};
use rsql_plan::function::{ORDERED_STRING_AGG, default_separator, parse_order_spec};
use rsql_plan::{AggregateFunctionSignature, Arity, PlanError, coercion};

use crate::aggregate::constant::take_constant;
use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::{Result, exec_err};

/// One of the unordered concatenating aggregates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StringAgg {
    name: &'static str,
    /// The separator when the call gives none.
    default_separator: &'static str,
}

/// `listagg`, `string_agg` and `group_concat`.
pub(crate) fn string_aggs() -> impl Iterator<Item = StringAgg> {
    ["listagg", "string_agg", "group_concat"]
        .into_iter()
        .filter_map(|name| {
            default_separator(name).map(|default_separator| StringAgg {
                name,
                default_separator,
            })
        })
}

/// The ordered form, [`ORDERED_STRING_AGG`]`(x, sep, order, keys..)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderedStringAgg;

/// Values become text; nested values cannot be written as one.
fn text_argument(function: &str, what: &str, arg: &DataType) -> rsql_plan::Result<DataType> {
    match coercion::value_type(arg) {
        t if t.is_nested() => Err(PlanError::type_mismatch(format!(
            "the {what} of '{function}' must be a string or a scalar value, got {t}"
        ))),
        _ => Ok(DataType::Utf8),
    }
}

/// The types of `x` and `sep`, both text.
fn text_arguments(function: &str, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
    args.iter()
        .zip(["value", "separator"])
        .map(|(arg, what)| text_argument(function, what, arg))
        .collect()
}

fn separator_field() -> Field {
    Field::new("separator", DataType::Utf8, true)
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, false)))
}

impl AggregateFunctionSignature for StringAgg {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        Arity::Range(1, 2)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        text_arguments(self.name, args)
    }

    fn return_type(&self, _args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn state_fields(&self, _args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        Ok(vec![
            Field::new("text", DataType::Utf8, true),
            separator_field(),
        ])
    }
}

impl AggregateFunctionSignature for OrderedStringAgg {
    fn name(&self) -> &str {
        ORDERED_STRING_AGG
    }

    fn arity(&self) -> Arity {
        Arity::AtLeast(4)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        let mut types = text_arguments(ORDERED_STRING_AGG, &args[..2])?;
        types.push(DataType::Utf8);
        types.extend(args[3..].iter().map(|t| coercion::value_type(t).clone()));
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> rsql_plan::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn state_fields(&self, _args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        Ok(vec![
            Field::new("keys", list_of(DataType::Binary), false),
            Field::new("values", list_of(DataType::Utf8), false),
            separator_field(),
        ])
    }
}

impl AggregateUdf for StringAgg {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name, args.len())?;
        Ok(Box::new(StringAggAccumulator {
            separator: Separator::new(
                self.name,
                (args.len() == 1).then_some(self.default_separator),
            ),
            groups: Vec::new(),
        }))
    }
}

impl AggregateUdf for OrderedStringAgg {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(ORDERED_STRING_AGG, args.len())?;
        Ok(Box::new(OrderedStringAggAccumulator {
            separator: Separator::new(ORDERED_STRING_AGG, None),
            key_types: args[3..].to_vec(),
            keys: None,
            groups: Vec::new(),
        }))
    }
}

/// The constant separator of one call.
struct Separator {
    function: &'static str,
    value: Option<String>,
}

impl Separator {
    fn new(function: &'static str, default: Option<&str>) -> Self {
        Separator {
            function,
            value: default.map(str::to_owned),
        }
    }

    /// Takes the separator from a column of a batch with rows; all NULL means none (`''`).
    fn take(&mut self, column: &ArrayRef) -> Result<()> {
        let column = column.as_string::<i32>();
        let first = column.iter().flatten().next().unwrap_or_default();
        if column.iter().flatten().any(|s| s != first) {
            return exec_err(format!(
                "the separator of '{}' must be one constant",
                self.function
            ));
        }
        take_constant(
            &mut self.value,
            [Some(first.to_owned())],
            self.function,
            "separator",
        )
    }

    fn get(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }

    /// The separator column of a state of `rows` rows.
    fn column(&self, rows: usize) -> ArrayRef {
        Arc::new(StringArray::from(vec![self.value.as_deref(); rows]))
    }
}

/// Per group: its text so far.
struct StringAggAccumulator {
    separator: Separator,
    groups: Vec<Option<String>>,
}

impl StringAggAccumulator {
    /// Appends `parts` to their groups.
    fn append<'a>(&mut self, parts: impl Iterator<Item = (Option<&'a str>, usize)>) {
        let separator = self.separator.get();
        for (part, group) in parts {
            let Some(part) = part else { continue };
            match &mut self.groups[group] {
                Some(text) => {
                    text.push_str(separator);
                    text.push_str(part);
                }
                empty => *empty = Some(part.to_owned()),
            }
        }
    }
}

impl GroupsAccumulator for StringAggAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, None);
        if group_indices.is_empty() {
            return Ok(());
        }
        if let Some(separator) = values.get(1) {
            self.separator.take(separator)?;
        }
        let parts = values[0].as_string::<i32>();
        self.append(parts.iter().zip(group_indices.iter().copied()));
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.groups, total_groups, None);
        let texts = states[0].as_string::<i32>();
        if texts.null_count() == texts.len() {
            return Ok(());
        }
        self.separator.take(&states[1])?;
        self.append(texts.iter().zip(group_indices.iter().copied()));
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        Ok(vec![
            self.evaluate(total_groups)?,
            self.separator.column(total_groups),
        ])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.groups, total_groups, None);
        let groups = std::mem::take(&mut self.groups);
        Ok(Arc::new(groups.into_iter().collect::<StringArray>()))
    }

    fn size(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.as_ref().map_or(0, String::capacity) + size_of::<Option<String>>())
            .sum()
    }
}

/// One value with its encoded sort keys.
type Entry = (Box<[u8]>, Box<str>);

/// Per group: its values with their sort keys.
struct OrderedStringAggAccumulator {
    separator: Separator,
    key_types: Vec<DataType>,
    /// Encodes the sort keys, once the order is known.
    keys: Option<RowConverter>,
    groups: Vec<Vec<Entry>>,
}

impl OrderedStringAggAccumulator {
    /// The key encoder for the order an `order` column states (read once).
    fn converter(&mut self, order: &ArrayRef) -> Result<&RowConverter> {
        let converter = match self.keys.take() {
            Some(converter) => converter,
            None => self.new_converter(order)?,
        };
        Ok(self.keys.insert(converter))
    }

    fn new_converter(&self, order: &ArrayRef) -> Result<RowConverter> {
        let spec = order.as_string::<i32>().iter().flatten().next();
        let Some(directions) = spec.and_then(parse_order_spec) else {
            return exec_err(format!(
                "'{ORDERED_STRING_AGG}' needs an order such as 'ASC NULLS FIRST, DESC NULLS LAST'"
            ));
        };
        if directions.len() != self.key_types.len() {
            return exec_err(format!(
                "'{ORDERED_STRING_AGG}' got {} directions for {} keys",
                directions.len(),
                self.key_types.len()
            ));
        }
        let fields = self
            .key_types
            .iter()
            .zip(directions)
            .map(|(t, (asc, nulls_first))| {
                let options = SortOptions {
                    descending: !asc,
                    nulls_first,
                };
                SortField::new_with_options(t.clone(), options)
            })
            .collect();
        Ok(RowConverter::new(fields)?)
    }
}

impl GroupsAccumulator for OrderedStringAggAccumulator {
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
        self.separator.take(&values[1])?;
        let rows = self.converter(&values[2])?.convert_columns(&values[3..])?;
        let parts = values[0].as_string::<i32>();
        for (row, (part, &group)) in parts.iter().zip(group_indices).enumerate() {
            if let Some(part) = part {
                self.groups[group].push((rows.row(row).data().into(), part.into()));
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
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        let (keys, parts) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        if parts.values().is_empty() {
            return Ok(());
        }
        self.separator.take(&states[2])?;
        let (key_bytes, part_text) = (
            keys.values().as_binary::<i32>(),
            parts.values().as_string::<i32>(),
        );
        let offsets = parts.value_offsets();
        for (row, &group) in group_indices.iter().enumerate() {
            for i in offsets[row] as usize..offsets[row + 1] as usize {
                self.groups[group].push((key_bytes.value(i).into(), part_text.value(i).into()));
            }
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        let groups = std::mem::take(&mut self.groups);
        let offsets = OffsetBuffer::from_lengths(groups.iter().map(Vec::len));
        let (mut keys, mut parts) = (BinaryBuilder::new(), StringBuilder::new());
        for (key, part) in groups.iter().flatten() {
            keys.append_value(key);
            parts.append_value(part);
        }
        let list = |values: ArrayRef| {
            let field = Arc::new(Field::new_list_field(values.data_type().clone(), false));
            ListArray::try_new(field, offsets.clone(), values, None)
        };
        Ok(vec![
            Arc::new(list(Arc::new(keys.finish()))?),
            Arc::new(list(Arc::new(parts.finish()))?),
            self.separator.column(total_groups),
        ])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.groups, total_groups, Vec::new());
        let groups = std::mem::take(&mut self.groups);
        let separator = self.separator.get();
        let texts = groups.into_iter().map(|mut entries| {
            // Stable: values with equal keys keep their arrival order.
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            (!entries.is_empty()).then(|| {
                entries
                    .iter()
                    .map(|(_, part)| &**part)
                    .collect::<Vec<_>>()
                    .join(separator)
            })
        });
        Ok(Arc::new(texts.collect::<StringArray>()))
    }

    fn size(&self) -> usize {
        self.groups
            .iter()
            .map(|g| {
                g.capacity() * size_of::<Entry>()
                    + g.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            })
            .sum()
    }
}
