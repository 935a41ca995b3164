//! One value of any type per group, picked from input rows: the state of the aggregates that
//! return a row's value (`first`, `last`, `max_by`, ...). Picked rows are copied out of their
//! batch, so the accumulator holds the values it keeps, not the batches they came from.

use arrow::array::{Array, ArrayRef, UInt32Array, new_null_array};
use arrow::compute::{interleave, take};
use arrow::datatypes::DataType;
use hashbrown::HashSet;

use crate::aggregate::ensure_groups;
use crate::error::Result;

/// Replaced values are dropped once they outnumber the live ones by this many.
const COMPACT_SLACK: usize = 1024;

/// Each group's picked value, of one type.
pub(crate) struct PickedValues {
    data_type: DataType,
    /// `(chunk, row)` of each group's value; `None` for a group without one.
    picks: Vec<Option<(u32, u32)>>,
    /// The copied rows, one chunk per [`PickedValues::set`].
    chunks: Vec<ArrayRef>,
    /// Rows in `chunks`, live or replaced.
    stored: usize,
}

impl PickedValues {
    /// No values yet, of `data_type`.
    pub(crate) fn new(data_type: &DataType) -> Self {
        PickedValues {
            data_type: data_type.clone(),
            picks: Vec::new(),
            chunks: Vec::new(),
            stored: 0,
        }
    }

    /// Makes row `row` of `values` the value of `group`, for each `(group, row)`; of several
    /// pairs of one group, the last wins.
    pub(crate) fn set(
        &mut self,
        values: &ArrayRef,
        picks: &[(usize, usize)],
        total_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.picks, total_groups, None);
        let mut seen = HashSet::with_capacity(picks.len());
        let mut winners: Vec<(usize, usize)> = picks
            .iter()
            .rev()
            .filter(|(group, _)| seen.insert(*group))
            .copied()
            .collect();
        if winners.is_empty() {
            return Ok(());
        }
        winners.reverse();
        let rows = UInt32Array::from_iter_values(winners.iter().map(|&(_, row)| row as u32));
        let chunk = self.chunks.len() as u32;
        self.chunks.push(take(values.as_ref(), &rows, None)?);
        for (i, &(group, _)) in winners.iter().enumerate() {
            self.picks[group] = Some((chunk, i as u32));
        }
        self.stored += winners.len();
        if self.stored > 2 * self.picks.len() + COMPACT_SLACK {
            self.compact()?;
        }
        Ok(())
    }

    /// Rewrites the live values into one chunk, dropping the replaced ones.
    fn compact(&mut self) -> Result<()> {
        let values = self.gather(&self.picks)?;
        for (group, pick) in self.picks.iter_mut().enumerate() {
            if pick.is_some() {
                *pick = Some((0, group as u32));
            }
        }
        self.stored = values.len();
        self.chunks = vec![values];
        Ok(())
    }

    /// The value of each of `picks`, NULL for `None`.
    fn gather(&self, picks: &[Option<(u32, u32)>]) -> Result<ArrayRef> {
        let nulls = new_null_array(&self.data_type, 1);
        let mut sources: Vec<&dyn Array> = self.chunks.iter().map(|a| a.as_ref()).collect();
        sources.push(nulls.as_ref());
        let null_source = sources.len() - 1;
        let indices: Vec<(usize, usize)> = picks
            .iter()
            .map(|pick| pick.map_or((null_source, 0), |(c, r)| (c as usize, r as usize)))
            .collect();
        Ok(interleave(&sources, &indices)?)
    }

    /// The values of groups `0..total_groups`, NULL for groups without one; emptied.
    pub(crate) fn take(&mut self, total_groups: usize) -> Result<ArrayRef> {
        ensure_groups(&mut self.picks, total_groups, None);
        let values = self.gather(&self.picks)?;
        self.picks.clear();
        self.chunks.clear();
        self.stored = 0;
        Ok(values)
    }

    /// Approximate heap bytes held.
    pub(crate) fn size(&self) -> usize {
        self.picks.capacity() * std::mem::size_of::<Option<(u32, u32)>>()
            + self
                .chunks
                .iter()
                .map(|c| c.get_array_memory_size())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, StringArray};

    use super::*;

    fn strings(array: &ArrayRef) -> Vec<Option<&str>> {
        array.as_string::<i32>().iter().collect()
    }

    #[test]
    fn later_picks_replace_earlier_ones_and_compaction_keeps_the_live_values() {
        let mut picked = PickedValues::new(&DataType::Utf8);
        let batch: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("c")]));
        picked.set(&batch, &[(0, 0), (2, 1), (0, 2)], 4).unwrap();
        picked.compact().unwrap();
        picked.set(&batch, &[(3, 0)], 4).unwrap();
        assert_eq!(
            strings(&picked.take(5).unwrap()),
            vec![Some("c"), None, None, Some("a"), None]
        );
        assert_eq!(picked.take(1).unwrap().null_count(), 1, "emptied");
    }
}
