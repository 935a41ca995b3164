//! Aggregates that keep values per group: `count(DISTINCT x)`, `collect_list`, `collect_set`.
//! Values are interned to dense ids (any type, dictionary-encoded input a dictionary at a
//! time), so groups hold integers; the partial state is a list of the group's values.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field};
use hashbrown::HashSet;
use rsql_plan::coercion::value_type;
use rsql_plan::{AggregateFunctionSignature, Arity, BuiltinAggregate};

use crate::aggregate::interner::Interner;
use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::Result;

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

/// An accumulator keeping the values of type `item` (or dictionary-encoded values of it) per
/// group, for `output`.
pub(crate) fn row_set_accumulator(
    item: &DataType,
    output: Output,
) -> Result<Box<dyn GroupsAccumulator>> {
    let item = value_type(item).clone();
    Ok(Box::new(RowSetAccumulator {
        values: Interner::new(&item)?,
        item,
        output,
        members: Vec::new(),
        seen: HashSet::new(),
        member_count: 0,
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

/// The values of every group, as ids of interned values.
struct RowSetAccumulator {
    values: Interner,
    item: DataType,
    output: Output,
    /// Per group, the ids of its values (each once, unless the output is a list).
    members: Vec<Vec<u32>>,
    /// `(group, value id)` pairs already in `members`, for the distinct outputs.
    seen: HashSet<(u32, u32)>,
    member_count: usize,
}

impl RowSetAccumulator {
    fn ensure_groups(&mut self, total_groups: usize) {
        if self.members.len() < total_groups {
            self.members.resize_with(total_groups, Vec::new);
        }
    }

    fn insert(&mut self, group: usize, id: u32) {
        if self.output == Output::List || self.seen.insert((group as u32, id)) {
            self.members[group].push(id);
            self.member_count += 1;
        }
    }

    /// Empties the groups.
    fn clear(&mut self) {
        self.members.clear();
        self.seen.clear();
        self.member_count = 0;
    }

    /// The groups' values as a list array, one list per group; the groups are emptied.
    fn take_lists(&mut self) -> Result<ArrayRef> {
        let offsets = OffsetBuffer::from_lengths(self.members.iter().map(Vec::len));
        let values = self.values.decode(self.members.iter().flatten().copied())?;
        self.clear();
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
        let ids = self.values.intern(&values[0])?;
        for (id, &group) in ids.into_iter().zip(group_indices) {
            if let Some(id) = id {
                self.insert(group, id);
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
        let ids = self.values.intern(lists.values())?;
        let offsets = lists.value_offsets();
        for (list, &group) in group_indices.iter().enumerate() {
            for id in ids[offsets[list] as usize..offsets[list + 1] as usize]
                .iter()
                .flatten()
            {
                self.insert(group, *id);
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
                let counts: Int64Array =
                    self.members.iter().map(|m| Some(m.len() as i64)).collect();
                self.clear();
                Ok(Arc::new(counts))
            }
            Output::List | Output::Set => self.take_lists(),
        }
    }

    fn size(&self) -> usize {
        self.values.size()
            + self.member_count * 4
            + self.members.capacity() * std::mem::size_of::<Vec<u32>>()
            + self.seen.capacity() * 9
    }
}
