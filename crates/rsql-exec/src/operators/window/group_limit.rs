//! [`GroupLimit`]: per window partition key, only the rows whose `row_number`, `rank` or
//! `dense_rank` could be at most a limit (Spark's `WindowGroupLimitExec`), so that a window
//! whose results are so bounded exchanges, sorts and ranks only those rows.
//!
//! Each key keeps its `limit` smallest order values (arrow row format, in the window's order;
//! `dense_rank` keeps distinct values), which makes a threshold: a row enters the candidates
//! only if it is ordered before it (`row_number`) or not after it (`rank`, `dense_rank`), and
//! is tested a batch at a time. The threshold only falls as rows arrive, so candidates that
//! fell behind it are dropped whenever they have doubled since the last such pass, and once
//! at the end, which keeps exactly:
//!
//! - `row_number`: the first `limit` rows (ties broken by arrival);
//! - `rank`: every row with fewer than `limit` rows ordered strictly before it;
//! - `dense_rank`: every row holding one of the `limit` smallest distinct order values.
//!
//! Any superset of those rows gives the window the same ranks for them (every row ordered
//! before a kept row is kept), so when the memory pool refuses the candidates the operator
//! passes them on and starts over: the result is less reduced, never wrong.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, Rows, SortField};
use rsql_plan::plan::RankingFunction;
use rsql_rdd::{MemoryPool, MemoryReservation};

use super::held_bytes;
use crate::error::Result;
use crate::operators::SortKey;
use crate::operators::TARGET_BATCH_ROWS;
use crate::operators::group_table::GroupTable;
use crate::rows::normalize_zeros;

/// The rows of each window partition a bound on a ranking function may pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLimit {
    /// The `PARTITION BY` columns of the input.
    pub partition_columns: Vec<usize>,
    /// The `ORDER BY` keys (at least one).
    pub order_keys: Vec<SortKey>,
    /// The function bounded.
    pub function: RankingFunction,
    /// The largest value of `function` a row passed on may have.
    pub limit: usize,
}

impl GroupLimit {
    /// The kept rows of `batches` (of `schema`), computed within `pool`.
    pub fn stream<I: Iterator<Item = RecordBatch>>(
        self: &Arc<Self>,
        schema: &SchemaRef,
        batches: I,
        pool: &Arc<MemoryPool>,
    ) -> Result<GroupLimitStream<I>> {
        Ok(GroupLimitStream {
            state: State::try_new(Arc::clone(self), schema)?,
            schema: Arc::clone(schema),
            batches,
            reservation: pool.reservation("WindowGroupLimit"),
            output: None,
            done: false,
        })
    }
}

/// A group's smallest order values as byte rows: at most `limit`, ascending (distinct ones for
/// `dense_rank`), in one buffer. Once it holds `limit`, the largest is the group's threshold.
#[derive(Default)]
struct Top {
    /// The largest value's first bytes as a big-endian number (zero-padded): most rows are
    /// decided on them alone, without reading the values.
    prefix: u64,
    /// How many values are held.
    count: usize,
    /// Where the largest value's entry starts in `entries`.
    last: usize,
    /// Each value as its length (little-endian) and its bytes, in ascending order.
    entries: Vec<u8>,
}

/// The bytes of an entry's length.
const LENGTH_BYTES: usize = std::mem::size_of::<usize>();

/// The first 8 bytes of `value`, zero-padded, as a big-endian number: if two values' prefixes
/// differ, they order as their prefixes do.
fn prefix_of(value: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = value.len().min(8);
    bytes[..n].copy_from_slice(&value[..n]);
    u64::from_be_bytes(bytes)
}

impl Top {
    /// The values held, each with where its entry starts, in ascending order.
    fn values(&self) -> impl Iterator<Item = (usize, &[u8])> {
        let mut start = 0;
        std::iter::from_fn(move || {
            let header = self.entries.get(start..start + LENGTH_BYTES)?;
            let length = usize::from_le_bytes(header.try_into().ok()?);
            let value_start = start + LENGTH_BYTES;
            let entry = (start, &self.entries[value_start..value_start + length]);
            start = value_start + length;
            Some(entry)
        })
    }

    /// How `value` orders against the threshold; `None` while fewer than `limit` values are
    /// held.
    fn against_threshold(&self, value: &[u8], limit: usize) -> Option<Ordering> {
        if self.count < limit {
            return None;
        }
        match prefix_of(value).cmp(&self.prefix) {
            Ordering::Equal => {
                let last = &self.entries[self.last + LENGTH_BYTES..];
                Some(value.cmp(last))
            }
            decided => Some(decided),
        }
    }

    /// How many values held order strictly before `value`.
    fn count_before(&self, value: &[u8]) -> usize {
        self.values().take_while(|(_, v)| *v < value).count()
    }

    /// Adds `value`, keeping the `limit` smallest (distinct ones for `dense_rank`).
    fn insert(&mut self, value: &[u8], function: RankingFunction, limit: usize) {
        let mut position = 0;
        let mut offset = self.entries.len();
        for (start, held) in self.values() {
            match held.cmp(value) {
                Ordering::Less => {}
                Ordering::Equal if function == RankingFunction::DenseRank => return,
                Ordering::Equal => {}
                Ordering::Greater => {
                    offset = start;
                    break;
                }
            }
            position += 1;
        }
        if position >= limit {
            return;
        }
        let length = value.len().to_le_bytes();
        let entry = length.iter().chain(value).copied();
        self.entries.splice(offset..offset, entry);
        self.count += 1;
        if self.count > limit {
            // The largest value leaves.
            if let Some(start) = self.values().last().map(|(start, _)| start) {
                self.entries.truncate(start);
            }
            self.count -= 1;
        }
        self.last = self.values().last().map_or(0, |(start, _)| start);
        self.prefix = prefix_of(&self.entries[self.last + LENGTH_BYTES..]);
    }
}

/// Rows that may be kept, in arrival order, with the group and order value of each.
struct Candidates {
    batches: Vec<RecordBatch>,
    groups: Vec<usize>,
    values: Rows,
    /// Bytes of `batches`.
    bytes: usize,
    /// Rows left by the last compaction.
    compacted: usize,
}

/// Per window partition key, its smallest order values, and the candidates.
struct State {
    limit: Arc<GroupLimit>,
    groups: GroupTable,
    order: RowConverter,
    /// Per group.
    tops: Vec<Top>,
    /// Bytes allocated for the entries in `tops`.
    tops_bytes: usize,
    candidates: Candidates,
}

impl State {
    fn try_new(limit: Arc<GroupLimit>, schema: &SchemaRef) -> Result<Self> {
        let key_types: Vec<_> = limit
            .partition_columns
            .iter()
            .map(|&c| schema.field(c).data_type().clone())
            .collect();
        let order_fields = limit
            .order_keys
            .iter()
            .map(|k| {
                SortField::new_with_options(schema.field(k.column).data_type().clone(), k.options())
            })
            .collect();
        let order = RowConverter::new(order_fields)?;
        Ok(State {
            groups: GroupTable::new(&key_types)?,
            candidates: Candidates {
                batches: Vec::new(),
                groups: Vec::new(),
                values: order.empty_rows(0, 0),
                bytes: 0,
                compacted: 0,
            },
            order,
            limit,
            tops: Vec::new(),
            tops_bytes: 0,
        })
    }

    /// Approximate bytes held.
    fn size(&self) -> usize {
        let candidates = &self.candidates;
        candidates.bytes
            + candidates.values.size()
            + candidates.groups.capacity() * std::mem::size_of::<usize>()
            + self.tops_bytes
            + self.tops.capacity() * std::mem::size_of::<Top>()
            + self.groups.size()
    }

    /// Adds the rows of `batch` that may be kept to the candidates, lowering thresholds.
    fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let keys: Vec<ArrayRef> = self
            .limit
            .partition_columns
            .iter()
            .map(|&c| Arc::clone(batch.column(c)))
            .collect();
        let groups = self.groups.group_indices(&keys, batch.num_rows())?;
        self.tops.resize_with(self.groups.len(), Top::default);
        // -0.0 and 0.0 are peers, as the window has them.
        let order: Vec<ArrayRef> = self
            .limit
            .order_keys
            .iter()
            .map(|k| normalize_zeros(batch.column(k.column)))
            .collect();
        let values = self.order.convert_columns(&order)?;
        let (function, limit) = (self.limit.function, self.limit.limit);
        let mut keep = Vec::with_capacity(batch.num_rows());
        for (row, &group) in groups.iter().enumerate() {
            let value = values.row(row);
            let top = &mut self.tops[group];
            let admitted = match top.against_threshold(value.as_ref(), limit) {
                None | Some(Ordering::Less) => true,
                Some(Ordering::Equal) => function != RankingFunction::RowNumber,
                Some(Ordering::Greater) => false,
            };
            if admitted {
                let held = top.entries.capacity();
                top.insert(value.as_ref(), function, limit);
                self.tops_bytes += top.entries.capacity() - held;
                self.candidates.groups.push(group);
                self.candidates.values.push(value);
            }
            keep.push(admitted);
        }
        let kept = filter_record_batch(batch, &BooleanArray::from(keep))?;
        if kept.num_rows() > 0 {
            self.candidates.bytes += held_bytes(&kept);
            self.candidates.batches.push(kept);
        }
        Ok(())
    }

    /// Whether the candidates have doubled since they were last compacted.
    fn should_compact(&self) -> bool {
        self.candidates.groups.len() >= 2 * self.candidates.compacted + TARGET_BATCH_ROWS
    }

    /// Drops the candidates the thresholds have passed: what is left is the rows kept of
    /// everything read so far, as one batch.
    fn compact(&mut self, schema: &SchemaRef) -> Result<()> {
        let candidates = &mut self.candidates;
        if candidates.batches.is_empty() {
            return Ok(());
        }
        let (function, limit) = (self.limit.function, self.limit.limit);
        // Per group, the rows tied with its threshold kept so far (for `row_number`).
        let mut ties = vec![0usize; self.tops.len()];
        let mut groups = Vec::new();
        let mut values = self.order.empty_rows(0, 0);
        let mut keep = Vec::with_capacity(candidates.groups.len());
        for (row, &group) in candidates.groups.iter().enumerate() {
            let value = candidates.values.row(row);
            let top = &self.tops[group];
            let kept = match top.against_threshold(value.as_ref(), limit) {
                None | Some(Ordering::Less) => true,
                Some(Ordering::Greater) => false,
                Some(Ordering::Equal) if function != RankingFunction::RowNumber => true,
                Some(Ordering::Equal) => {
                    // The first rows tied with the threshold fill what the rows ordered
                    // before it leave of the limit.
                    let before = top.count_before(value.as_ref());
                    ties[group] += 1;
                    ties[group] <= limit - before
                }
            };
            if kept {
                groups.push(group);
                values.push(value);
            }
            keep.push(kept);
        }
        // Each batch filtered on its own: only what is kept is copied.
        let keep = BooleanArray::from(keep);
        let mut offset = 0;
        let mut parts = Vec::with_capacity(candidates.batches.len());
        for batch in std::mem::take(&mut candidates.batches) {
            let mask = keep.slice(offset, batch.num_rows());
            offset += batch.num_rows();
            parts.push(filter_record_batch(&batch, &mask)?);
        }
        let kept = concat_batches(schema, &parts)?;
        candidates.bytes = held_bytes(&kept);
        candidates.compacted = kept.num_rows();
        candidates.groups = groups;
        candidates.values = values;
        if kept.num_rows() > 0 {
            candidates.batches.push(kept);
        }
        Ok(())
    }

    /// The compacted candidates, the state emptied for a fresh start.
    fn finish(&mut self, schema: &SchemaRef) -> Result<Option<RecordBatch>> {
        self.compact(schema)?;
        let fresh = State::try_new(Arc::clone(&self.limit), schema)?;
        Ok(std::mem::replace(self, fresh).candidates.batches.pop())
    }
}

/// The kept rows of one plan partition: produced once the input is read, or earlier, in
/// parts, when the memory pool will not hold the candidates.
pub struct GroupLimitStream<I> {
    state: State,
    schema: SchemaRef,
    batches: I,
    reservation: MemoryReservation,
    output: Option<RecordBatch>,
    done: bool,
}

impl<I: Iterator<Item = RecordBatch>> GroupLimitStream<I> {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(batch) = self.output.take() {
                return Ok(Some(batch));
            }
            if self.done {
                return Ok(None);
            }
            match self.batches.next() {
                Some(batch) => {
                    self.state.push(&batch)?;
                    if self.state.should_compact() {
                        self.state.compact(&self.schema)?;
                    }
                    if self.reservation.try_resize(self.state.size()).is_err() {
                        // Pass on what is kept so far and start over.
                        self.output = self.state.finish(&self.schema)?;
                        self.reservation.free();
                    }
                }
                None => {
                    self.done = true;
                    self.output = self.state.finish(&self.schema)?;
                    self.reservation.free();
                }
            }
        }
    }
}

impl<I: Iterator<Item = RecordBatch>> Iterator for GroupLimitStream<I> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow::array::{AsArray, Float64Array, Int64Array, UInt8Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use proptest::prelude::*;

    use super::*;

    /// (partition key, first order key, second order key); the row's index is its id.
    type Row = (Option<u8>, Option<i64>, Option<f64>);

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("k", DataType::UInt8, true),
            Field::new("o", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
        ]))
    }

    /// Few keys (and NULL), few order values (and NULL), `-0.0` beside `0.0`: many ties.
    fn rows() -> impl Strategy<Value = Vec<Row>> {
        let key = prop_oneof![4 => (0u8..4).prop_map(Some), 1 => Just(None)];
        let order = prop_oneof![6 => (0i64..6).prop_map(Some), 1 => Just(None)];
        let float = prop_oneof![
            Just(Some(-0.0)),
            Just(Some(0.0)),
            Just(Some(1.5)),
            Just(None)
        ];
        prop::collection::vec((key, order, float), 0..300)
    }

    fn batches(rows: &[Row], size: usize) -> Vec<RecordBatch> {
        let ids: Vec<usize> = (0..rows.len()).collect();
        ids.chunks(size)
            .map(|chunk| {
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(Int64Array::from_iter_values(
                        chunk.iter().map(|&i| i as i64),
                    )),
                    Arc::new(chunk.iter().map(|&i| rows[i].0).collect::<UInt8Array>()),
                    Arc::new(chunk.iter().map(|&i| rows[i].1).collect::<Int64Array>()),
                    Arc::new(chunk.iter().map(|&i| rows[i].2).collect::<Float64Array>()),
                ];
                RecordBatch::try_new(schema(), columns).unwrap()
            })
            .collect()
    }

    /// How the window orders two rows by `keys` (`-0.0` and `0.0` are peers).
    fn compare(a: &Row, b: &Row, keys: &[SortKey]) -> Ordering {
        fn by<T: Copy>(
            a: Option<T>,
            b: Option<T>,
            key: &SortKey,
            cmp: fn(&T, &T) -> Ordering,
        ) -> Ordering {
            match (a, b) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) if key.nulls_first => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => by(b, a, key, cmp).reverse(),
                (Some(x), Some(y)) if key.descending => cmp(&y, &x),
                (Some(x), Some(y)) => cmp(&x, &y),
            }
        }
        keys.iter()
            .map(|key| match key.column {
                2 => by(a.1, b.1, key, Ord::cmp),
                _ => by(
                    a.2.map(|v| v + 0.0),
                    b.2.map(|v| v + 0.0),
                    key,
                    f64::total_cmp,
                ),
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    /// Per row, its `function` value in its partition, counted row by row.
    fn reference_ranks(rows: &[Row], keys: &[SortKey], function: RankingFunction) -> Vec<usize> {
        let mut partitions: BTreeMap<Option<u8>, Vec<usize>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            partitions.entry(row.0).or_default().push(i);
        }
        let mut ranks = vec![0; rows.len()];
        for members in partitions.values() {
            for &i in members {
                let before = members
                    .iter()
                    .filter(|&&j| compare(&rows[j], &rows[i], keys).is_lt());
                ranks[i] = 1 + match function {
                    // Ties by arrival, as the operator breaks them.
                    RankingFunction::RowNumber => {
                        before.count()
                            + members
                                .iter()
                                .filter(|&&j| j < i && compare(&rows[j], &rows[i], keys).is_eq())
                                .count()
                    }
                    RankingFunction::Rank => before.count(),
                    RankingFunction::DenseRank => {
                        let mut distinct: Vec<usize> = Vec::new();
                        for &j in before {
                            if !distinct
                                .iter()
                                .any(|&d| compare(&rows[d], &rows[j], keys).is_eq())
                            {
                                distinct.push(j);
                            }
                        }
                        distinct.len()
                    }
                };
            }
        }
        ranks
    }

    /// The ids of the rows `limit` keeps of `rows`, read in batches of `size`, within a pool
    /// of `pool_limit` bytes.
    fn kept_ids(
        limit: &Arc<GroupLimit>,
        rows: &[Row],
        size: usize,
        pool_limit: Option<usize>,
    ) -> Vec<usize> {
        let pool = Arc::new(MemoryPool::new(pool_limit).unwrap());
        let stream = limit
            .stream(&schema(), batches(rows, size).into_iter(), &pool)
            .unwrap();
        let mut ids: Vec<usize> = stream
            .flat_map(|batch| {
                let batch = batch.unwrap();
                let ids = batch.column(0).as_primitive::<Int64Type>().clone();
                ids.values().iter().map(|&i| i as usize).collect::<Vec<_>>()
            })
            .collect();
        ids.sort_unstable();
        assert_eq!(pool.used(), 0, "the reservation is returned");
        ids
    }

    fn functions() -> impl Strategy<Value = RankingFunction> {
        prop_oneof![
            Just(RankingFunction::RowNumber),
            Just(RankingFunction::Rank),
            Just(RankingFunction::DenseRank)
        ]
    }

    fn order_keys() -> impl Strategy<Value = Vec<SortKey>> {
        let key = |column| {
            (any::<bool>(), any::<bool>()).prop_map(move |(descending, nulls_first)| SortKey {
                column,
                descending,
                nulls_first,
            })
        };
        prop_oneof![
            key(2).prop_map(|k| vec![k]),
            key(3).prop_map(|k| vec![k]),
            (key(3), key(2)).prop_map(|(a, b)| vec![a, b]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn keeps_exactly_the_rows_whose_rank_is_within_the_limit(
            rows in rows(),
            function in functions(),
            order_keys in order_keys(),
            limit in prop_oneof![Just(1usize), 1usize..5, Just(400)],
            partitioned in any::<bool>(),
            size in 1usize..64,
        ) {
            let exec = Arc::new(GroupLimit {
                partition_columns: if partitioned { vec![1] } else { Vec::new() },
                order_keys: order_keys.clone(),
                function,
                limit,
            });
            let keyed: Vec<Row> = rows
                .iter()
                .map(|r| if partitioned { *r } else { (None, r.1, r.2) })
                .collect();
            let ranks = reference_ranks(&keyed, &order_keys, function);
            let expected: Vec<usize> = (0..rows.len()).filter(|&i| ranks[i] <= limit).collect();
            prop_assert_eq!(kept_ids(&exec, &rows, size, None), expected);
        }

        #[test]
        fn a_refusing_pool_keeps_a_superset_that_ranks_the_same(
            rows in rows(),
            function in functions(),
            order_keys in order_keys(),
            limit in 1usize..4,
            pool_limit in 0usize..20_000,
        ) {
            let exec = Arc::new(GroupLimit {
                partition_columns: vec![1],
                order_keys: order_keys.clone(),
                function,
                limit,
            });
            let kept = kept_ids(&exec, &rows, 16, Some(pool_limit));
            let ranks = reference_ranks(&rows, &order_keys, function);
            let subset: Vec<Row> = kept.iter().map(|&i| rows[i]).collect();
            let subset_ranks = reference_ranks(&subset, &order_keys, function);
            // Every row within the limit is kept, and keeps its rank among the kept rows;
            // the others stay beyond it.
            let within: Vec<usize> = (0..rows.len()).filter(|&i| ranks[i] <= limit).collect();
            let kept_within: Vec<usize> = kept
                .iter()
                .zip(&subset_ranks)
                .filter(|(_, rank)| **rank <= limit)
                .map(|(&i, _)| i)
                .collect();
            prop_assert_eq!(kept_within, within);
        }
    }

    #[test]
    fn candidates_compacted_between_batches_keep_the_same_rows() {
        // Enough candidates for several compactions on the way, over 250 keys and NULL.
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        // Order values rising with arrival, as `o DESC` ranks them: most rows are candidates
        // when they come, and fall behind later.
        let rows: Vec<Row> = (0..40_000)
            .map(|i| {
                let key = next() % 251;
                let float = next() % 3;
                (
                    (key != 250).then_some(key as u8),
                    (next() % 30 != 0).then_some(i / 400),
                    Some(float as f64 / 2.0),
                )
            })
            .collect();
        let order_keys = vec![
            SortKey {
                column: 2,
                descending: true,
                nulls_first: false,
            },
            SortKey {
                column: 3,
                descending: false,
                nulls_first: true,
            },
        ];
        for function in [
            RankingFunction::RowNumber,
            RankingFunction::Rank,
            RankingFunction::DenseRank,
        ] {
            let exec = Arc::new(GroupLimit {
                partition_columns: vec![1],
                order_keys: order_keys.clone(),
                function,
                limit: 3,
            });
            let ranks = reference_ranks(&rows, &order_keys, function);
            let expected: Vec<usize> = (0..rows.len()).filter(|&i| ranks[i] <= 3).collect();
            assert_eq!(kept_ids(&exec, &rows, 1000, None), expected, "{function:?}");
        }
    }

    #[test]
    fn empty_input_gives_no_rows() {
        let exec = Arc::new(GroupLimit {
            partition_columns: vec![1],
            order_keys: vec![SortKey {
                column: 2,
                descending: false,
                nulls_first: true,
            }],
            function: RankingFunction::RowNumber,
            limit: 3,
        });
        assert!(kept_ids(&exec, &[], 8, None).is_empty());
    }
}
