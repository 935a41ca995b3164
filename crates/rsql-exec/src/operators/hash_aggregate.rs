//! Hash aggregation of record batches: group keys to dense group indices, then every
//! aggregate's accumulator updated a batch at a time.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use super::group_table::GroupTable;
use crate::aggregate::{AggregateUdf, GroupsAccumulator};
use crate::error::{Result, exec_err};

/// Which half of a two-phase aggregation an operator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

impl AggregateCall {
    /// The columns of `batch` the accumulator reads.
    fn inputs(&self, batch: &RecordBatch) -> Vec<ArrayRef> {
        self.input_columns
            .iter()
            .map(|&c| Arc::clone(batch.column(c)))
            .collect()
    }
}

/// Casts each of `columns` to the type of the field beside it in `fields` (the leading ones,
/// when there are more fields than columns), where they differ.
fn cast_to_fields(columns: &mut [ArrayRef], fields: &Fields) -> Result<()> {
    for (column, field) in columns.iter_mut().zip(fields) {
        if column.data_type() != field.data_type() {
            *column = cast(column, field.data_type())?;
        }
    }
    Ok(())
}

/// A hash aggregation: `GROUP BY group_columns` computing `aggregates`.
#[derive(Debug, Clone)]
pub struct HashAggregate {
    mode: AggregateMode,
    group_columns: Vec<usize>,
    aggregates: Vec<AggregateCall>,
    output_schema: SchemaRef,
    /// Group keys then every aggregate's state columns: the partial output, and the layout of
    /// spilled groups.
    state_schema: SchemaRef,
    /// See [`HashAggregate::with_empty_grouping_sets`].
    empty_grouping_sets: Vec<i64>,
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
        let mut key_fields: Vec<Field> = Vec::new();
        for &column in &group_columns {
            match input.fields().get(column) {
                Some(field) => key_fields.push(field.as_ref().clone()),
                None => return exec_err(format!("group column {column} is out of range")),
            }
        }
        let mut state_fields = key_fields.clone();
        let mut value_fields = key_fields;
        for call in &aggregates {
            for state in call.function.state_fields(&call.argument_types)? {
                let name = format!("{}[{}]", call.name, state.name());
                state_fields.push(state.with_name(name));
            }
            let data_type = call.function.return_type(&call.argument_types)?;
            value_fields.push(Field::new(&call.name, data_type, true));
        }
        let state_schema = Arc::new(Schema::new(state_fields));
        let output_schema = match mode {
            AggregateMode::Partial => Arc::clone(&state_schema),
            AggregateMode::Final | AggregateMode::Single => Arc::new(Schema::new(value_fields)),
        };
        Ok(HashAggregate {
            mode,
            group_columns,
            aggregates,
            output_schema,
            state_schema,
            empty_grouping_sets: Vec::new(),
        })
    }

    /// The aggregation of grouping sets (its last group column being the `Int64` set number),
    /// where the sets numbered `sets` are empty (`()`): their groups, every other key NULL,
    /// exist from the start of a partial or single-phase aggregation, with the empty state,
    /// so that they have a row even without input (merging an empty state changes nothing).
    /// Fails unless the last group column is an `Int64`.
    pub fn with_empty_grouping_sets(self, sets: Vec<i64>) -> Result<Self> {
        let last = self.group_columns.len().checked_sub(1);
        let set_number = last.map(|i| self.output_schema.field(i).data_type());
        if !sets.is_empty() && set_number != Some(&DataType::Int64) {
            return exec_err(format!(
                "empty grouping sets need an Int64 set number as the last group key, not {set_number:?}"
            ));
        }
        Ok(HashAggregate {
            empty_grouping_sets: sets,
            ..self
        })
    }

    /// See [`HashAggregate::with_empty_grouping_sets`].
    pub fn empty_grouping_sets(&self) -> &[i64] {
        &self.empty_grouping_sets
    }

    /// The `Final` aggregation that merges this one's states (laid out as its
    /// [`HashAggregate::state_schema`]) into final values.
    pub fn merging(&self) -> Result<HashAggregate> {
        let mut next_state = self.group_columns.len();
        let calls = self
            .aggregates
            .iter()
            .map(|call| {
                let states = call.function.state_fields(&call.argument_types)?.len();
                let input_columns = (next_state..next_state + states).collect();
                next_state += states;
                Ok(AggregateCall {
                    input_columns,
                    ..call.clone()
                })
            })
            .collect::<Result<Vec<_>>>()?;
        HashAggregate::try_new(
            &self.state_schema,
            AggregateMode::Final,
            (0..self.group_columns.len()).collect(),
            calls,
        )
    }

    /// Group keys then state columns: the schema of partial results and spilled groups.
    pub fn state_schema(&self) -> &SchemaRef {
        &self.state_schema
    }

    /// The schema of the batch [`HashAggregate::aggregate`] returns.
    pub fn output_schema(&self) -> &SchemaRef {
        &self.output_schema
    }

    /// How many leading output columns are group keys.
    pub fn group_count(&self) -> usize {
        self.group_columns.len()
    }

    /// The input columns grouped by.
    pub fn group_columns(&self) -> &[usize] {
        &self.group_columns
    }

    /// The aggregates computed.
    pub fn aggregates(&self) -> &[AggregateCall] {
        &self.aggregates
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

    /// The partial states of `batch` with every row a group of its own, in row order: its
    /// group keys then each aggregate's state of that one row. A partial aggregation that finds
    /// its keys (almost) all distinct passes its input on this way, without a hash table.
    pub fn row_states(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let groups: Vec<usize> = (0..rows).collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.state_schema.fields().len());
        for &c in &self.group_columns {
            columns.push(Arc::clone(batch.column(c)));
        }
        for call in &self.aggregates {
            let mut accumulator = call.function.accumulator(&call.argument_types)?;
            accumulator.update_batch(&call.inputs(batch), &groups, rows)?;
            columns.extend(accumulator.state(rows)?);
        }
        cast_to_fields(&mut columns, self.state_schema.fields())?;
        Ok(RecordBatch::try_new(
            Arc::clone(&self.state_schema),
            columns,
        )?)
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
        let mut groups = GroupTable::new(&key_types)?;
        if self.mode != AggregateMode::Final
            && let Some((_, keys)) = key_types.split_last()
            && !self.empty_grouping_sets.is_empty()
        {
            let rows = self.empty_grouping_sets.len();
            let mut columns: Vec<ArrayRef> = keys.iter().map(|t| new_null_array(t, rows)).collect();
            columns.push(Arc::new(Int64Array::from(self.empty_grouping_sets.clone())));
            groups.group_indices(&columns, rows)?;
        }
        Ok(AggregationState {
            plan: self,
            groups,
            accumulators,
        })
    }
}

/// An aggregation in progress.
pub struct AggregationState<'a> {
    plan: &'a HashAggregate,
    groups: GroupTable,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
}

impl<'a> AggregationState<'a> {
    /// The aggregation this state belongs to.
    pub fn plan(&self) -> &'a HashAggregate {
        self.plan
    }

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
            let inputs = call.inputs(batch);
            match self.plan.mode {
                AggregateMode::Final => accumulator.merge_batch(&inputs, &indices, total_groups)?,
                AggregateMode::Partial | AggregateMode::Single => {
                    accumulator.update_batch(&inputs, &indices, total_groups)?
                }
            }
        }
        Ok(())
    }

    /// Number of groups so far.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Approximate bytes held by the groups and accumulators.
    pub fn size(&self) -> usize {
        self.groups.size() + self.accumulators.iter().map(|a| a.size()).sum::<usize>()
    }

    /// One row per group: keys, then states (`Partial`) or values.
    pub fn finish(self) -> Result<RecordBatch> {
        let states = self.plan.mode == AggregateMode::Partial;
        self.emit(states)
    }

    /// One row per group: keys, then states, in every mode (to spill the groups and merge
    /// them later).
    pub fn finish_states(self) -> Result<RecordBatch> {
        self.emit(true)
    }

    fn emit(mut self, states: bool) -> Result<RecordBatch> {
        let total_groups = self.groups.len();
        let schema = if states {
            Arc::clone(&self.plan.state_schema)
        } else {
            Arc::clone(&self.plan.output_schema)
        };
        let mut columns = self.groups.emit()?;
        cast_to_fields(&mut columns, schema.fields())?;
        for accumulator in &mut self.accumulators {
            if states {
                columns.extend(accumulator.state(total_groups)?);
            } else {
                columns.push(accumulator.evaluate(total_groups)?);
            }
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow::array::{Array, AsArray, Float64Array, StringArray};
    use arrow::datatypes::{Float64Type, Int64Type};
    use proptest::prelude::*;
    use rsql_plan::BuiltinAggregate;

    use super::*;
    use crate::aggregate::{DistinctAggregate, builtin_aggregates};

    fn input_schema() -> Schema {
        Schema::new(vec![
            Field::new("key", DataType::Utf8, true),
            Field::new("__grouping_id", DataType::Int64, false),
        ])
    }

    /// `count(*)` grouped by `key` and the set number, with set 1 empty.
    fn partial() -> HashAggregate {
        let count = AggregateCall {
            function: Arc::new(BuiltinAggregate::Count),
            argument_types: vec![],
            input_columns: vec![],
            name: "n".into(),
        };
        HashAggregate::try_new(
            &input_schema(),
            AggregateMode::Partial,
            vec![0, 1],
            vec![count],
        )
        .unwrap()
        .with_empty_grouping_sets(vec![1])
        .unwrap()
    }

    fn counts(batch: &RecordBatch) -> Vec<(Option<String>, i64, i64)> {
        let keys = batch.column(0).as_string::<i32>();
        let sets = batch.column(1).as_primitive::<Int64Type>();
        let counts = batch.column(2).as_primitive::<Int64Type>();
        let mut rows: Vec<_> = (0..batch.num_rows())
            .map(|i| {
                let key = keys.is_valid(i).then(|| keys.value(i).to_string());
                (key, sets.value(i), counts.value(i))
            })
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn empty_grouping_sets_have_a_row_without_input_and_merge_neutrally() {
        let partial = partial();
        let empty = partial.aggregate(std::iter::empty()).unwrap();
        assert_eq!(counts(&empty), vec![(None, 1, 0)]);
        let batch = RecordBatch::try_new(
            Arc::new(input_schema()),
            vec![
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Int64Array::from(vec![0, 1])),
            ],
        )
        .unwrap();
        let seen = partial.aggregate([Ok(batch)]).unwrap();
        assert_eq!(
            counts(&seen),
            vec![(None, 1, 1), (Some("a".to_string()), 0, 1)]
        );
        // Two partitions' states, one of them only the seeded empty group: merged, the seeded
        // state adds nothing, and the final phase adds no group of its own.
        let last = partial.merging().unwrap();
        assert!(last.empty_grouping_sets().is_empty());
        let merged = last.aggregate([Ok(empty), Ok(seen)]).unwrap();
        assert_eq!(
            counts(&merged),
            vec![(None, 1, 1), (Some("a".to_string()), 0, 1)]
        );
        assert!(last.aggregate(std::iter::empty()).unwrap().num_rows() == 0);
    }

    /// The values of `batch` (an `Int64` key, then values cast to `Float64`) by key.
    fn values_by_key(batch: &RecordBatch) -> BTreeMap<Option<i64>, Vec<Option<f64>>> {
        let keys = batch.column(0).as_primitive::<Int64Type>();
        let values: Vec<ArrayRef> = batch.columns()[1..]
            .iter()
            .map(|c| cast(c, &DataType::Float64).unwrap())
            .collect();
        (0..batch.num_rows())
            .map(|row| {
                let key = keys.is_valid(row).then(|| keys.value(row));
                let row_values = values
                    .iter()
                    .map(|v| {
                        let v = v.as_primitive::<Float64Type>();
                        v.is_valid(row).then(|| v.value(row))
                    })
                    .collect();
                (key, row_values)
            })
            .collect()
    }

    proptest! {
        /// Each row's own state, merged by the final phase, gives what a single-phase
        /// aggregation gives, for aggregates of every kind of state (sums, counts, extremes,
        /// moments, value lists, distinct sets), with NULL keys and values and empty batches.
        #[test]
        fn row_states_merge_to_the_single_phase_result(
            batches in prop::collection::vec(
                prop::collection::vec(
                    (prop::option::weighted(0.9, 0i64..6), prop::option::weighted(0.8, -4i64..5)),
                    0..40,
                ),
                1..5,
            ),
        ) {
            let schema = Arc::new(Schema::new(vec![
                Field::new("k", DataType::Int64, true),
                Field::new("v", DataType::Float64, true),
            ]));
            let functions = builtin_aggregates();
            let by_name = |name: &str| {
                Arc::clone(functions.iter().find(|f| f.name() == name).unwrap())
            };
            let mut calls: Vec<AggregateCall> =
                ["sum", "avg", "count", "min", "max", "median", "stddev", "count_distinct"]
                    .into_iter()
                    .map(|name| AggregateCall {
                        function: by_name(name),
                        argument_types: vec![DataType::Float64],
                        input_columns: vec![1],
                        name: name.into(),
                    })
                    .collect();
            calls.push(AggregateCall {
                function: Arc::new(DistinctAggregate::new(by_name("sum"))),
                argument_types: vec![DataType::Float64],
                input_columns: vec![1],
                name: "sum_distinct".into(),
            });
            let batches: Vec<RecordBatch> = batches
                .iter()
                .map(|rows| {
                    let keys: Int64Array = rows.iter().map(|r| r.0).collect();
                    let values: Float64Array = rows.iter().map(|r| r.1.map(|v| v as f64)).collect();
                    RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(keys), Arc::new(values)])
                        .unwrap()
                })
                .collect();
            let partial =
                HashAggregate::try_new(&schema, AggregateMode::Partial, vec![0], calls.clone())
                    .unwrap();
            let states: Vec<Result<RecordBatch>> =
                batches.iter().map(|batch| partial.row_states(batch)).collect();
            let merged = partial.merging().unwrap().aggregate(states).unwrap();
            let single = HashAggregate::try_new(&schema, AggregateMode::Single, vec![0], calls)
                .unwrap()
                .aggregate(batches.into_iter().map(Ok))
                .unwrap();
            let (merged, single) = (values_by_key(&merged), values_by_key(&single));
            prop_assert_eq!(merged.len(), single.len());
            for ((key, got), (expected_key, expected)) in merged.iter().zip(&single) {
                prop_assert_eq!(key, expected_key);
                for (got, expected) in got.iter().zip(expected) {
                    match (got, expected) {
                        (Some(g), Some(e)) => prop_assert!((g - e).abs() <= 1e-9 * e.abs().max(1.0)),
                        _ => prop_assert_eq!(got, expected),
                    }
                }
            }
        }
    }

    #[test]
    fn empty_grouping_sets_need_an_int64_set_number() {
        let plan = HashAggregate::try_new(&input_schema(), AggregateMode::Partial, vec![0], vec![])
            .unwrap();
        assert!(plan.with_empty_grouping_sets(vec![0]).is_err());
    }
}
