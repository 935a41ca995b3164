//! Aggregates that keep values per group: `count(DISTINCT x)`, `collect_list`, `collect_set`.
//! Values are kept as row-format bytes so that any type hashes and compares; the partial state
//! is a list of the group's values.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field};
use hashbrown::HashSet;

use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::{Result, exec_err};
use crate::rows::RowCodec;

/// What a row-set aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// The number of distinct values.
    DistinctCount,
    /// Every non-null value, duplicates included.
    List,
    /// The distinct non-null values.
    Set,
}

/// `count(DISTINCT x)`, `collect_list(x)` or `collect_set(x)`.
#[derive(Debug)]
pub struct RowSetAggregate {
    name: &'static str,
    output: Output,
}

impl RowSetAggregate {
    /// `count(DISTINCT x)`: registered under the name `count_distinct`.
    pub fn count_distinct() -> Self {
        RowSetAggregate {
            name: "count_distinct",
            output: Output::DistinctCount,
        }
    }

    /// `collect_list(x)`.
    pub fn collect_list() -> Self {
        RowSetAggregate {
            name: "collect_list",
            output: Output::List,
        }
    }

    /// `collect_set(x)`.
    pub fn collect_set() -> Self {
        RowSetAggregate {
            name: "collect_set",
            output: Output::Set,
        }
    }

    fn argument<'a>(&self, args: &'a [DataType]) -> Result<&'a DataType> {
        match args {
            [arg] => Ok(arg),
            _ => exec_err(format!(
                "{} takes one argument, got {}",
                self.name,
                args.len()
            )),
        }
    }
}

fn list_of(item: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item.clone(), true)))
}

impl AggregateUdf for RowSetAggregate {
    fn name(&self) -> &str {
        self.name
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let arg = self.argument(args)?;
        Ok(match self.output {
            Output::DistinctCount => DataType::Int64,
            Output::List | Output::Set => list_of(arg),
        })
    }

    fn state_fields(&self, args: &[DataType]) -> Result<Vec<Field>> {
        Ok(vec![Field::new(
            "values",
            list_of(self.argument(args)?),
            true,
        )])
    }

    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        let item = self.argument(args)?.clone();
        Ok(Box::new(RowSetAccumulator {
            codec: RowCodec::new(std::slice::from_ref(&item))?,
            item,
            output: self.output,
            groups: Vec::new(),
            bytes: 0,
        }))
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
