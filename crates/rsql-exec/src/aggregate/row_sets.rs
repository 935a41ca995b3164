//! Aggregates that keep values per group: `count(DISTINCT x)`, `collect_list`, `collect_set`.
//! Values are kept as row-format bytes so that any type hashes and compares; the partial state
//! is a list of the group's values.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field};
use hashbrown::HashSet;
use rsql_plan::{AggregateFunctionSignature, Arity, BuiltinAggregate};

use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::Result;
use crate::rows::RowCodec;

/// What a row-set aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// The number of distinct values.
    DistinctCount,
    /// Every non-null value, duplicates included.
    List,
    /// The distinct non-null values.
    Set,
}

/// An accumulator keeping the values of type `item` per group, for `output`.
pub(crate) fn row_set_accumulator(
    item: &DataType,
    output: Output,
) -> Result<Box<dyn GroupsAccumulator>> {
    Ok(Box::new(RowSetAccumulator {
        codec: RowCodec::new(std::slice::from_ref(item))?,
        item: item.clone(),
        output,
        groups: Vec::new(),
        bytes: 0,
    }))
}

/// `count(DISTINCT x)`, registered as `count_distinct`: the planner runs every
/// `count(DISTINCT ..)` call as this function. It returns what `count` returns, and its
/// partial state is `collect_set`'s: the group's distinct values.
#[derive(Debug, Default)]
pub struct CountDistinct;

impl AggregateFunctionSignature for CountDistinct {
    fn name(&self) -> &str {
        "count_distinct"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn coerce_types(&self, args: &[DataType]) -> rsql_plan::Result<Vec<DataType>> {
        BuiltinAggregate::CollectSet.coerce_types(args)
    }

    fn return_type(&self, args: &[DataType]) -> rsql_plan::Result<DataType> {
        BuiltinAggregate::Count.return_type(args)
    }

    fn state_fields(&self, args: &[DataType]) -> rsql_plan::Result<Vec<Field>> {
        BuiltinAggregate::CollectSet.state_fields(args)
    }
}

impl AggregateUdf for CountDistinct {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name(), args.len())?;
        row_set_accumulator(&args[0], Output::DistinctCount)
    }
}

/// The values of one group.
enum GroupValues {
    All(Vec<Box<[u8]>>),
    Distinct(HashSet<Box<[u8]>>),
}

impl GroupValues {
    fn insert(&mut self, row: &[u8]) -> usize {
        match self {
            GroupValues::All(rows) => {
                rows.push(row.into());
                row.len()
            }
            GroupValues::Distinct(rows) if !rows.contains(row) => {
                rows.insert(row.into());
                row.len()
            }
            GroupValues::Distinct(_) => 0,
        }
    }

    fn len(&self) -> usize {
        match self {
            GroupValues::All(rows) => rows.len(),
            GroupValues::Distinct(rows) => rows.len(),
        }
    }

    fn rows(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match self {
            GroupValues::All(rows) => Box::new(rows.iter().map(|r| r.as_ref())),
            GroupValues::Distinct(rows) => Box::new(rows.iter().map(|r| r.as_ref())),
        }
    }
}

struct RowSetAccumulator {
    codec: RowCodec,
    item: DataType,
    output: Output,
    groups: Vec<GroupValues>,
    bytes: usize,
}

impl RowSetAccumulator {
    fn ensure_groups(&mut self, total_groups: usize) {
        while self.groups.len() < total_groups {
            self.groups.push(match self.output {
                Output::List => GroupValues::All(Vec::new()),
                Output::DistinctCount | Output::Set => GroupValues::Distinct(HashSet::new()),
            });
        }
    }

    /// The groups' values as a list array, one list per group; the groups are emptied.
    fn take_lists(&mut self) -> Result<ArrayRef> {
        let groups = std::mem::take(&mut self.groups);
        self.bytes = 0;
        let offsets = OffsetBuffer::from_lengths(groups.iter().map(GroupValues::len));
        let values = self
            .codec
            .decode(groups.iter().flat_map(GroupValues::rows))?
            .remove(0);
        let field = Arc::new(Field::new("item", self.item.clone(), true));
        Ok(Arc::new(ListArray::try_new(field, offsets, values, None)?))
    }
}

impl GroupsAccumulator for RowSetAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_groups);
        let rows = self.codec.encode(&values[..1])?;
        for (row, &group) in group_indices.iter().enumerate() {
            if values[0].is_valid(row) {
                self.bytes += self.groups[group].insert(rows.row(row).data());
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
        self.ensure_groups(total_groups);
        let lists = states[0].as_list::<i32>();
        let rows = self.codec.encode(std::slice::from_ref(lists.values()))?;
        let offsets = lists.value_offsets();
        for (list, &group) in group_indices.iter().enumerate() {
            for value in offsets[list] as usize..offsets[list + 1] as usize {
                self.bytes += self.groups[group].insert(rows.row(value).data());
            }
        }
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        self.ensure_groups(total_groups);
        Ok(vec![self.take_lists()?])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        self.ensure_groups(total_groups);
        match self.output {
            Output::DistinctCount => {
                let counts: Int64Array = self.groups.iter().map(|g| Some(g.len() as i64)).collect();
                self.groups.clear();
                self.bytes = 0;
                Ok(Arc::new(counts))
            }
            Output::List | Output::Set => self.take_lists(),
        }
    }

    fn size(&self) -> usize {
        self.bytes + self.groups.capacity() * std::mem::size_of::<GroupValues>()
    }
}
