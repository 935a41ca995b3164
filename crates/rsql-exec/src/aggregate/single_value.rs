//! `single_value(x, 'what')`: the value of a group's only row (see
//! [`rsql_plan::SingleValue`]); a group of several rows is an error naming `what`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray, new_null_array};
use arrow::compute::interleave;
use arrow::datatypes::{DataType, Int64Type};
use rsql_plan::{AggregateFunctionSignature, SingleValue};

use crate::aggregate::{AggregateUdf, GroupsAccumulator, ensure_groups};
use crate::error::{ExecError, Result};

impl AggregateUdf for SingleValue {
    fn accumulator(&self, args: &[DataType]) -> Result<Box<dyn GroupsAccumulator>> {
        self.arity().check(self.name(), args.len())?;
        Ok(Box::new(SingleValueAccumulator {
            data_type: args[0].clone(),
            rows: Vec::new(),
            first: Vec::new(),
            arrays: Vec::new(),
            what: None,
        }))
    }
}

/// Per group: how many rows it had and where its first value is.
struct SingleValueAccumulator {
    data_type: DataType,
    rows: Vec<i64>,
    /// (index into `arrays`, row) of each group's first value.
    first: Vec<Option<(usize, usize)>>,
    /// The input arrays some group's first value is in.
    arrays: Vec<ArrayRef>,
    /// What the value is, for the error: the text of the subquery.
    what: Option<String>,
}

impl SingleValueAccumulator {
    fn fold(
        &mut self,
        values: &ArrayRef,
        rows: impl Iterator<Item = i64>,
        what: &ArrayRef,
        group_indices: &[usize],
        total_groups: usize,
    ) {
        ensure_groups(&mut self.rows, total_groups, 0);
        ensure_groups(&mut self.first, total_groups, None);
        if self.what.is_none() {
            let what = what.as_string::<i32>();
            self.what = what.iter().flatten().next().map(str::to_string);
        }
        let array = self.arrays.len();
        let mut used = false;
        for ((row, &group), count) in group_indices.iter().enumerate().zip(rows) {
            if count == 0 {
                continue;
            }
            self.rows[group] += count;
            if self.first[group].is_none() {
                self.first[group] = Some((array, row));
                used = true;
            }
        }
        if used {
            self.arrays.push(Arc::clone(values));
        }
    }
}

impl GroupsAccumulator for SingleValueAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        let ones = std::iter::repeat(1);
        self.fold(&values[0], ones, &values[1], group_indices, total_groups);
        Ok(())
    }

    fn merge_batch(
        &mut self,
        states: &[ArrayRef],
        group_indices: &[usize],
        total_groups: usize,
    ) -> Result<()> {
        let rows = states[1].as_primitive::<Int64Type>().values().to_vec();
        self.fold(
            &states[0],
            rows.into_iter(),
            &states[2],
            group_indices,
            total_groups,
        );
        Ok(())
    }

    fn state(&mut self, total_groups: usize) -> Result<Vec<ArrayRef>> {
        ensure_groups(&mut self.rows, total_groups, 0);
        let rows: ArrayRef = Arc::new(Int64Array::from(self.rows.clone()));
        let what: ArrayRef = Arc::new(StringArray::from(vec![self.what.clone(); total_groups]));
        let values = self.values(total_groups)?;
        Ok(vec![values, rows, what])
    }

    fn evaluate(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.rows, total_groups, 0);
        if self.rows.iter().any(|&rows| rows > 1) {
            return Err(ExecError::Execution(format!(
                "the scalar subquery ({}) returned more than one row",
                self.what.as_deref().unwrap_or("?")
            )));
        }
        self.values(total_groups)
    }

    fn size(&self) -> usize {
        self.rows.capacity() * 8
            + self.first.capacity() * 24
            + self
                .arrays
                .iter()
                .map(|a| a.get_array_memory_size())
                .sum::<usize>()
    }
}

impl SingleValueAccumulator {
    /// Each group's first value (NULL for a group without rows); the accumulator is emptied.
    fn values(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.first, total_groups, None);
        let first = std::mem::take(&mut self.first);
        self.rows.clear();
        let arrays = std::mem::take(&mut self.arrays);
        let nulls = new_null_array(&self.data_type, 1);
        let mut sources: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        sources.push(nulls.as_ref());
        let null_source = sources.len() - 1;
        let indices: Vec<(usize, usize)> = first
            .into_iter()
            .map(|f| f.unwrap_or((null_source, 0)))
            .collect();
        Ok(interleave(&sources, &indices)?)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Int32Array;

    use super::*;

    fn partial(values: Vec<Option<i32>>, groups: &[usize]) -> Vec<ArrayRef> {
        let mut accumulator = SingleValue
            .accumulator(&[DataType::Int32, DataType::Utf8])
            .unwrap();
        let rows = values.len();
        let values: ArrayRef = Arc::new(Int32Array::from(values));
        let what: ArrayRef = Arc::new(StringArray::from(vec!["SELECT x"; rows]));
        accumulator
            .update_batch(&[values, what], groups, 3)
            .unwrap();
        accumulator.state(3).unwrap()
    }

    fn merged(states: &[Vec<ArrayRef>]) -> Result<ArrayRef> {
        let mut accumulator = SingleValue
            .accumulator(&[DataType::Int32, DataType::Utf8])
            .unwrap();
        for state in states {
            accumulator.merge_batch(state, &[0, 1, 2], 3)?;
        }
        accumulator.evaluate(3)
    }

    #[test]
    fn one_row_per_group_across_partials_is_its_value() {
        // Group 0 has a row in the first partial, group 2 (a NULL) in the second; group 1 none.
        let first = partial(vec![Some(7)], &[0]);
        let second = partial(vec![None], &[2]);
        let values = merged(&[first, second]).unwrap();
        let values = values.as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(values.iter().collect::<Vec<_>>(), vec![Some(7), None, None]);
    }

    #[test]
    fn two_rows_of_one_group_are_an_error_naming_the_subquery() {
        let first = partial(vec![Some(1)], &[1]);
        let second = partial(vec![Some(2)], &[1]);
        let error = merged(&[first, second]).unwrap_err().to_string();
        assert!(
            error.contains("(SELECT x) returned more than one row"),
            "{error}"
        );
        let error = merged(&[partial(vec![Some(1), Some(1)], &[0, 0])]).unwrap_err();
        assert!(error.to_string().contains("more than one row"));
    }
}
