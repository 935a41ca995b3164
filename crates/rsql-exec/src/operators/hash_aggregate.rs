//! Hash aggregation of record batches: group keys to dense group indices, then every
//! aggregate's accumulator updated a batch at a time.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::row::Rows;
use datafusion_common::hash_utils::RandomState;
use hashbrown::HashTable;

use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::{Result, exec_err};
use crate::rows::RowCodec;

/// Which half of a two-phase aggregation an operator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateMode {
    /// Folds input rows into partial states, before the shuffle (the map-side combine).
    Partial,
    /// Merges partial states into final values, after the shuffle.
    Final,
    /// Folds input rows straight into final values (input already partitioned by the keys).
    Single,
}

/// One aggregate of a hash aggregation: the function and the input columns it reads (the
/// arguments in `Partial`/`Single` mode, the state columns in `Final` mode).
#[derive(Debug, Clone)]
pub struct AggregateCall {
    /// The function.
    pub function: Arc<dyn AggregateUdf>,
    /// Types of the function's arguments (as in the query, in every mode).
    pub argument_types: Vec<DataType>,
    /// Input columns the accumulator reads.
    pub input_columns: Vec<usize>,
    /// Name of the output column (final value, or prefix of the state columns).
    pub name: String,
}

/// A hash aggregation: `GROUP BY group_columns` computing `aggregates`.
#[derive(Debug, Clone)]
pub struct HashAggregate {
    mode: AggregateMode,
    group_columns: Vec<usize>,
    aggregates: Vec<AggregateCall>,
    output_schema: SchemaRef,
}

impl HashAggregate {
    /// Plans the aggregation of batches of `input` and derives its output schema: the group
    /// columns, then per aggregate its state columns (`Partial`) or its value (otherwise).
    pub fn try_new(
        input: &Schema,
        mode: AggregateMode,
        group_columns: Vec<usize>,
        aggregates: Vec<AggregateCall>,
    ) -> Result<Self> {
        let mut fields: Vec<Field> = Vec::new();
        for &column in &group_columns {
            match input.fields().get(column) {
                Some(field) => fields.push(field.as_ref().clone()),
                None => return exec_err(format!("group column {column} is out of range")),
            }
        }
        for call in &aggregates {
            if mode == AggregateMode::Partial {
                for state in call.function.state_fields(&call.argument_types)? {
                    let name = format!("{}[{}]", call.name, state.name());
                    fields.push(state.with_name(name));
                }
            } else {
                let data_type = call.function.return_type(&call.argument_types)?;
                fields.push(Field::new(&call.name, data_type, true));
            }
        }
        Ok(HashAggregate {
            mode,
            group_columns,
            aggregates,
            output_schema: Arc::new(Schema::new(fields)),
        })
    }

    /// The schema of the batch [`HashAggregate::aggregate`] returns.
    pub fn output_schema(&self) -> &SchemaRef {
        &self.output_schema
    }

    /// How many leading output columns are group keys.
    pub fn group_count(&self) -> usize {
        self.group_columns.len()
    }

    /// The mode.
    pub fn mode(&self) -> AggregateMode {
        self.mode
    }

    /// Aggregates all `batches` into one batch with a row per group.
    pub fn aggregate(
        &self,
        batches: impl IntoIterator<Item = Result<RecordBatch>>,
    ) -> Result<RecordBatch> {
        let mut state = self.start()?;
        for batch in batches {
            state.update(&batch?)?;
        }
        state.finish()
    }

    /// A fresh aggregation state, to feed batches into one at a time.
    pub fn start(&self) -> Result<AggregationState<'_>> {
        let key_types: Vec<DataType> = self.output_schema.fields()[..self.group_columns.len()]
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let accumulators = self
            .aggregates
            .iter()
            .map(|call| call.function.accumulator(&call.argument_types))
            .collect::<Result<Vec<_>>>()?;
        Ok(AggregationState {
            plan: self,
            groups: GroupTable::new(&key_types)?,
            accumulators,
        })
    }
}

/// Group keys seen so far, numbered densely in order of first appearance.
struct GroupTable {
    codec: RowCodec,
    keys: Rows,
    table: HashTable<usize>,
    hasher: RandomState,
    /// With no group columns every row belongs to the single group 0.
    global: bool,
}

impl GroupTable {
    fn new(key_types: &[DataType]) -> Result<Self> {
        let codec = RowCodec::new(key_types)?;
        Ok(GroupTable {
            keys: codec.empty_rows(),
            codec,
            table: HashTable::new(),
            hasher: RandomState::with_seed(0),
            global: key_types.is_empty(),
        })
    }

    fn len(&self) -> usize {
        if self.global { 1 } else { self.keys.num_rows() }
    }

    /// The group index of every row of `key_columns`, adding new groups as they appear.
    fn group_indices(&mut self, key_columns: &[ArrayRef], num_rows: usize) -> Result<Vec<usize>> {
        if self.global {
            return Ok(vec![0; num_rows]);
        }
        let rows = self.codec.encode(key_columns)?;
        let GroupTable {
            keys,
            table,
            hasher,
            ..
        } = self;
        let mut indices = Vec::with_capacity(num_rows);
        for row in rows.iter() {
            let bytes = row.data();
            let hash = hasher.hash_one(bytes);
            let group = match table.find(hash, |&g| keys.row(g).data() == bytes) {
                Some(&group) => group,
                None => {
                    let group = keys.num_rows();
                    keys.push(row);
                    table.insert_unique(hash, group, |&g| hasher.hash_one(keys.row(g).data()));
                    group
                }
            };
            indices.push(group);
        }
        Ok(indices)
    }
}

/// An aggregation in progress.
pub struct AggregationState<'a> {
    plan: &'a HashAggregate,
    groups: GroupTable,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
}

impl AggregationState<'_> {
    /// Folds one input batch into the groups.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let keys: Vec<ArrayRef> = self
            .plan
            .group_columns
            .iter()
            .map(|&c| batch.column(c).clone())
            .collect();
        let indices = self.groups.group_indices(&keys, batch.num_rows())?;
        let total_groups = self.groups.len();
        for (call, accumulator) in self.plan.aggregates.iter().zip(&mut self.accumulators) {
            let inputs: Vec<ArrayRef> = call
                .input_columns
                .iter()
                .map(|&c| batch.column(c).clone())
                .collect();
            match self.plan.mode {
                AggregateMode::Final => accumulator.merge_batch(&inputs, &indices, total_groups)?,
                AggregateMode::Partial | AggregateMode::Single => {
                    accumulator.update_batch(&inputs, &indices, total_groups)?
                }
            }
        }
        Ok(())
    }

    /// Approximate bytes held by the groups and accumulators.
    pub fn size(&self) -> usize {
        self.groups.keys.size()
            + self.groups.table.capacity() * 16
            + self.accumulators.iter().map(|a| a.size()).sum::<usize>()
    }

    /// One row per group: keys, then states or values.
    pub fn finish(mut self) -> Result<RecordBatch> {
        let total_groups = self.groups.len();
        let schema = Arc::clone(&self.plan.output_schema);
        let mut columns: Vec<ArrayRef> = if self.groups.global {
            Vec::new()
        } else {
            self.groups.codec.decode_rows(&self.groups.keys)?
        };
        for (column, field) in columns.iter_mut().zip(schema.fields()) {
            if column.data_type() != field.data_type() {
                *column = cast(column, field.data_type())?;
            }
        }
        for accumulator in &mut self.accumulators {
            match self.plan.mode {
                AggregateMode::Partial => columns.extend(accumulator.state(total_groups)?),
                AggregateMode::Final | AggregateMode::Single => {
                    columns.push(accumulator.evaluate(total_groups)?)
                }
            }
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}
