//! Equi hash join of record batches: the right input is built into a hash table over its join
//! keys, then every left batch probes it.
//!
//! A built [`JoinTable`] can be shared by several threads probing it at once (a broadcast join
//! probes one table from every partition); which build rows found a match is recorded with
//! atomics, so that a right or full join emits the build rows nobody matched exactly once, after
//! all probes are done.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array,
    UInt32Builder, new_null_array,
};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::compute::{cast, concat_batches, filter, filter_record_batch, take};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, UInt32Type};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion_common::hash_utils::{RandomState, create_hashes};
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::error::{ExecError, Result, exec_err};
use crate::expr::{PhysicalExpr, evaluate_to_array};
use crate::rows::normalize_zeros;

/// Which rows a join keeps besides the matching pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JoinKind {
    /// Only matching pairs.
    Inner,
    /// Matching pairs, and left rows without a match with nulls for the right columns.
    Left,
    /// Matching pairs, and right rows without a match with nulls for the left columns.
    Right,
    /// Matching pairs, and the rows of either side without a match, null-extended.
    Full,
    /// Left rows with at least one match, each once, without right columns (`EXISTS`, `IN`).
    Semi,
    /// Left rows without a match, without right columns (`NOT EXISTS`).
    Anti,
    /// `NOT IN` with SQL's three-valued logic on its one key: left rows whose key differs from
    /// every right key. No row passes when some right key is null; a left row with a null key
    /// passes only when the right side is empty. It needs the whole right side in one table
    /// (broadcast or a single partition) and takes no extra condition.
    NullAwareAnti,
    /// Every left row, with a last boolean column `mark`: whether it has a match (`EXISTS` as a
    /// value, inside `OR` or `CASE`).
    Mark,
    /// Every left row with `mark` for `key IN (right keys)` in three-valued logic: true on a
    /// match, else NULL when the left key is null (and the right side is not empty) or some
    /// right key is null, else false. One key, no condition, the whole right side in one table.
    NullAwareMark,
    /// Right rows with at least one match, each once, without left columns: a semi join
    /// planned with its sides swapped, so that its smaller side is the one built. The rows are
    /// known once every probe is done, so the right side is never broadcast.
    RightSemi,
    /// Right rows without a match, without left columns: an anti join with its sides swapped.
    RightAnti,
}

impl JoinKind {
    /// Whether left rows without a match are kept.
    pub fn preserves_left(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }

    /// Whether right rows without a match are kept.
    pub fn preserves_right(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }

    /// Whether the join emits joined pairs, a left row with a right row (inner and outer
    /// joins); the others keep the rows of one side only.
    pub fn emits_pairs(self) -> bool {
        matches!(
            self,
            JoinKind::Inner | JoinKind::Left | JoinKind::Right | JoinKind::Full
        )
    }

    /// Whether the join keeps or marks left rows by whether they have a match (semi, anti and
    /// mark joins).
    pub fn filters_left(self) -> bool {
        matches!(
            self,
            JoinKind::Semi
                | JoinKind::Anti
                | JoinKind::NullAwareAnti
                | JoinKind::Mark
                | JoinKind::NullAwareMark
        )
    }

    /// Whether the join keeps right rows by whether they have a match (right semi and right
    /// anti joins).
    pub fn filters_right(self) -> bool {
        matches!(self, JoinKind::RightSemi | JoinKind::RightAnti)
    }

    /// Whether the join records which build (right) rows some probe matched: the rows it emits
    /// once every probe is done depend on it.
    fn tracks_build_matches(self) -> bool {
        self.preserves_right() || self.filters_right()
    }

    /// Whether a left row without a match adds nothing to the output, so that such rows may
    /// be dropped before the join (by a runtime filter of the build side's keys).
    pub fn ignores_unmatched_left(self) -> bool {
        matches!(
            self,
            JoinKind::Inner
                | JoinKind::Right
                | JoinKind::Semi
                | JoinKind::RightSemi
                | JoinKind::RightAnti
        )
    }

    /// Whether the join appends a boolean `mark` column to the left rows.
    pub fn emits_mark(self) -> bool {
        matches!(self, JoinKind::Mark | JoinKind::NullAwareMark)
    }

    /// Whether the join must see every right row at once (one key, no condition).
    pub fn is_null_aware(self) -> bool {
        matches!(self, JoinKind::NullAwareAnti | JoinKind::NullAwareMark)
    }
}

/// Ends a chain of build rows with equal keys.
const END: u32 = u32::MAX;

/// An equi join of a left (probe) and a right (build) input on pairs of key columns, with an
/// optional extra condition on the joined row.
#[derive(Debug)]
pub struct HashJoin {
    left_schema: SchemaRef,
    right_schema: SchemaRef,
    left_keys: Vec<usize>,
    right_keys: Vec<usize>,
    /// The type both sides' key columns are cast to before they are encoded.
    key_types: Vec<DataType>,
    /// Encodes key columns of `key_types` as byte rows, equal exactly when the keys are equal.
    converter: RowConverter,
    kind: JoinKind,
    filter: Option<Arc<dyn PhysicalExpr>>,
    /// Joined pairs: the left fields, then the right fields; the filter's input.
    pair_schema: SchemaRef,
    output_schema: SchemaRef,
}

impl HashJoin {
    /// Plans the join of batches of `left` with batches of `right` where every
    /// `left_keys[i]` equals `right_keys[i]` (no keys make a cross join) and `filter`, if any,
    /// holds on the joined row (left columns, then right columns). As for SQL `ON`, a pair the
    /// filter rejects is no match, so an outer join null-extends its rows instead.
    ///
    /// Key columns of different types are compared as a common type: dictionaries by value,
    /// integers and floats widened, string and binary encodings in their large form. Other
    /// differing types are an error.
    pub fn try_new(
        left: SchemaRef,
        right: SchemaRef,
        left_keys: Vec<usize>,
        right_keys: Vec<usize>,
        kind: JoinKind,
        filter: Option<Arc<dyn PhysicalExpr>>,
    ) -> Result<Self> {
        if left_keys.len() != right_keys.len() {
            return exec_err(format!(
                "join has {} left keys but {} right keys",
                left_keys.len(),
                right_keys.len()
            ));
        }
        let key_types = left_keys
            .iter()
            .zip(&right_keys)
            .map(|(&l, &r)| {
                let left_type = key_field(&left, l, "left")?.data_type();
                let right_type = key_field(&right, r, "right")?.data_type();
                common_key_type(left_type, right_type)
            })
            .collect::<Result<Vec<_>>>()?;
        if kind.is_null_aware() && (left_keys.len() != 1 || filter.is_some()) {
            return exec_err(format!(
                "a null-aware join takes one key and no condition, not {} key(s){}",
                left_keys.len(),
                if filter.is_some() {
                    " and a condition"
                } else {
                    ""
                }
            ));
        }
        let converter = RowConverter::new(key_types.iter().cloned().map(SortField::new).collect())?;
        let left_fields = nullable_if(&left, kind.preserves_right()).collect::<Vec<_>>();
        let mut pair_fields = left_fields.clone();
        pair_fields.extend(nullable_if(&right, kind.preserves_left()));
        let pair_schema = Arc::new(Schema::new(pair_fields));
        let output_schema = if kind.emits_pairs() {
            Arc::clone(&pair_schema)
        } else if kind.filters_right() {
            Arc::clone(&right)
        } else if kind.emits_mark() {
            let mark = Field::new("mark", DataType::Boolean, kind == JoinKind::NullAwareMark);
            Arc::new(Schema::new([left_fields, vec![mark]].concat()))
        } else {
            Arc::new(Schema::new(left_fields))
        };
        Ok(HashJoin {
            left_schema: left,
            right_schema: right,
            left_keys,
            right_keys,
            key_types,
            converter,
            kind,
            filter,
            pair_schema,
            output_schema,
        })
    }

    /// The schema of joined batches: the left fields, then the right fields; the fields of a side
    /// that is null-extended for the other side's unmatched rows are nullable.
    pub fn output_schema(&self) -> &SchemaRef {
        &self.output_schema
    }

    /// The rows a join condition is evaluated over: the left fields, then the right fields
    /// (for semi and anti joins too, whose output has only the left fields).
    pub fn pair_schema(&self) -> &SchemaRef {
        &self.pair_schema
    }

    /// The kind of join.
    pub fn kind(&self) -> JoinKind {
        self.kind
    }

    /// The probe (left) side's schema.
    pub fn left_schema(&self) -> &SchemaRef {
        &self.left_schema
    }

    /// The build (right) side's schema.
    pub fn right_schema(&self) -> &SchemaRef {
        &self.right_schema
    }

    /// The left (probe) input's key columns.
    pub fn left_keys(&self) -> &[usize] {
        &self.left_keys
    }

    /// The right (build) input's key columns.
    pub fn right_keys(&self) -> &[usize] {
        &self.right_keys
    }

    /// Whether both sides can be split by key hash and joined a part at a time: not without
    /// keys, and not for a null-aware anti join, which must see every right row at once.
    pub fn can_split(&self) -> bool {
        !self.right_keys.is_empty() && !self.kind.is_null_aware()
    }

    /// Builds the hash table over all right (build side) batches of one partition.
    pub fn build(&self, right_batches: Vec<RecordBatch>) -> Result<JoinTable> {
        let batch = concat_batches(&self.right_schema, &right_batches)?;
        drop(right_batches);
        let num_rows = batch.num_rows();
        if num_rows >= END as usize {
            return exec_err(format!(
                "hash join build side has {num_rows} rows, more than the {} one table holds",
                END - 1
            ));
        }
        let hasher = RandomState::with_seed(0);
        let mut has_null_key = false;
        let index = if self.right_keys.is_empty() {
            KeyIndex::All
        } else {
            let (keys, nulls) = self.join_keys(&batch, &self.right_keys)?;
            has_null_key = nulls.as_ref().is_some_and(|n| n.null_count() > 0);
            // Sized for every row up front: growing would hash every key again.
            let mut heads: HashTable<u32> = HashTable::with_capacity(num_rows);
            let mut next = vec![END; num_rows];
            // Rows are prepended to their chain, last row first, so chains run in row order.
            for row in (0..num_rows).rev() {
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    continue;
                }
                let hash = keys.hash(&hasher, row);
                let entry = heads.entry(
                    hash,
                    |&head| keys.equal(head as usize, &keys, row),
                    |&head| keys.hash(&hasher, head as usize),
                );
                match entry {
                    Entry::Occupied(mut head) => {
                        next[row] = *head.get();
                        *head.get_mut() = row as u32;
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(row as u32);
                    }
                }
            }
            KeyIndex::Hashed { keys, heads, next }
        };
        Ok(JoinTable {
            matched: self
                .kind
                .tracks_build_matches()
                .then(|| MatchedRows::new(num_rows)),
            batch,
            index,
            hasher,
            has_null_key,
        })
    }

    /// How many rows of a probe batch to probe at once: all of them for a join with keys; for a
    /// join without keys, where every row pairs with every build row, few enough that one
    /// output batch holds at most [`MAX_KEYLESS_PAIRS`] pairs.
    pub fn probe_slice_rows(&self, table: &JoinTable) -> usize {
        match table.index {
            KeyIndex::All => (MAX_KEYLESS_PAIRS / table.num_rows().max(1)).max(1),
            KeyIndex::Hashed { .. } => usize::MAX,
        }
    }

    /// Probes `table` with one left batch: the joined pairs, and for a left or full join also
    /// the batch's rows without a match, null-extended. `None` if that makes no rows (always
    /// for right semi and anti joins, which only record the build rows matched).
    pub fn probe(
        &self,
        table: &JoinTable,
        left_batch: &RecordBatch,
    ) -> Result<Option<RecordBatch>> {
        if self.kind.filters_right() {
            self.record_build_matches(table, left_batch)?;
            return Ok(None);
        }
        let (mut probe_rows, mut build_rows) = self.matched_pairs(table, left_batch)?;
        if self.kind.filters_left() {
            let has_match = has_match(left_batch.num_rows(), &probe_rows);
            return self.filter_probe_side(table.summary(), left_batch, has_match);
        }
        if self.kind.preserves_left() {
            let has_match = has_match(left_batch.num_rows(), &probe_rows);
            let unmatched: Vec<u32> = (0..left_batch.num_rows() as u32)
                .filter(|&row| !has_match[row as usize])
                .collect();
            if !unmatched.is_empty() {
                let mut build = UInt32Builder::with_capacity(build_rows.len() + unmatched.len());
                build.append_slice(build_rows.values());
                build.append_nulls(unmatched.len());
                build_rows = build.finish();
                let mut probe = probe_rows.values().to_vec();
                probe.extend(unmatched);
                probe_rows = probe.into();
            }
        }
        if probe_rows.is_empty() {
            return Ok(None);
        }
        self.assemble(left_batch, &probe_rows, &table.batch, &build_rows)
            .map(Some)
    }

    /// Every pair of a `left_batch` row and a build row of `table` that match (equal keys and
    /// the condition holds), as row indices into either side; the build rows are recorded as
    /// matched for right and full joins.
    pub(crate) fn matched_pairs(
        &self,
        table: &JoinTable,
        left_batch: &RecordBatch,
    ) -> Result<(UInt32Array, UInt32Array)> {
        let (mut probe_rows, mut build_rows) = self.candidate_pairs(table, left_batch)?;
        if let Some(condition) = &self.filter
            && !probe_rows.is_empty()
        {
            let candidates = self.assemble(left_batch, &probe_rows, &table.batch, &build_rows)?;
            let keep = evaluate_to_array(condition.as_ref(), &candidates)?;
            let Some(keep) = keep.as_boolean_opt() else {
                return exec_err(format!(
                    "join filter must be boolean, not {}",
                    keep.data_type()
                ));
            };
            probe_rows = retain(&probe_rows, keep)?;
            build_rows = retain(&build_rows, keep)?;
        }
        if let Some(matched) = &table.matched {
            build_rows.values().iter().for_each(|&row| matched.set(row));
        }
        Ok((probe_rows, build_rows))
    }

    /// The joined rows of `left_batch` rows and `table` rows paired by index.
    pub(crate) fn assemble_pairs(
        &self,
        left_batch: &RecordBatch,
        table: &JoinTable,
        (probe_rows, build_rows): &(UInt32Array, UInt32Array),
    ) -> Result<RecordBatch> {
        self.assemble(left_batch, probe_rows, &table.batch, build_rows)
    }

    /// The rows of `left_batch` a join keeps once every build row has been seen, given which of
    /// them found a match (`has_match`) and what is known of the whole build side: for a left
    /// or full join the rows without a match, null-extended; for semi, anti and mark joins the
    /// rows they keep, with their mark. `None` for other joins or when no row is kept.
    pub(crate) fn finish_probe_rows(
        &self,
        build: BuildSummary,
        left_batch: &RecordBatch,
        has_match: Vec<bool>,
    ) -> Result<Option<RecordBatch>> {
        if self.kind.filters_left() {
            return self.filter_probe_side(build, left_batch, has_match);
        }
        if !self.kind.preserves_left() {
            return Ok(None);
        }
        let unmatched: UInt32Array = (0..left_batch.num_rows() as u32)
            .filter(|&row| !has_match[row as usize])
            .collect();
        if unmatched.is_empty() {
            return Ok(None);
        }
        let no_build_rows = UInt32Array::new_null(unmatched.len());
        let no_right_rows = RecordBatch::new_empty(Arc::clone(&self.right_schema));
        self.assemble(left_batch, &unmatched, &no_right_rows, &no_build_rows)
            .map(Some)
    }

    /// Whether the rows of the probe side are needed once every build row has been seen:
    /// for left and full joins (the rows without a match) and for joins that keep or mark
    /// probe rows by whether they matched.
    pub(crate) fn finishes_probe_rows(&self) -> bool {
        self.kind.preserves_left() || self.kind.filters_left()
    }

    /// Records which build rows of `table` match a row of `left_batch`, for a right semi or
    /// anti join. Without a condition, every row of a key's chain matches alike, so a chain
    /// whose first row is recorded already is skipped.
    fn record_build_matches(&self, table: &JoinTable, left_batch: &RecordBatch) -> Result<()> {
        let (KeyIndex::Hashed { keys, heads, next }, Some(matched), None) =
            (&table.index, &table.matched, &self.filter)
        else {
            self.matched_pairs(table, left_batch)?;
            return Ok(());
        };
        for (_, head) in self.chain_heads(left_batch, keys, heads, &table.hasher)? {
            if matched.is_set(head) {
                continue;
            }
            let mut build_row = head;
            while build_row != END {
                matched.set(build_row);
                build_row = next[build_row as usize];
            }
        }
        Ok(())
    }

    /// The rows of `left_batch` a semi or anti join keeps, or all of them with their mark,
    /// given which rows matched.
    fn filter_probe_side(
        &self,
        build: BuildSummary,
        left_batch: &RecordBatch,
        has_match: Vec<bool>,
    ) -> Result<Option<RecordBatch>> {
        if self.kind.emits_mark() {
            let mark = self.mark(build, left_batch, has_match)?;
            let mut columns = left_batch.columns().to_vec();
            columns.push(Arc::new(mark));
            return Ok(Some(RecordBatch::try_new(
                Arc::clone(&self.output_schema),
                columns,
            )?));
        }
        let keep: BooleanArray = match self.kind {
            JoinKind::Semi => has_match.into_iter().map(Some).collect(),
            JoinKind::NullAwareAnti if build.has_null_key => return Ok(None),
            JoinKind::NullAwareAnti => {
                let (_, nulls) = self.encode_keys(left_batch, &self.left_keys)?;
                has_match
                    .into_iter()
                    .enumerate()
                    .map(|(row, matched)| {
                        let null_key = nulls.as_ref().is_some_and(|n| n.is_null(row));
                        Some(if null_key { build.is_empty } else { !matched })
                    })
                    .collect()
            }
            _ => has_match.into_iter().map(|m| Some(!m)).collect(),
        };
        let kept = filter_record_batch(left_batch, &keep)?;
        if kept.num_rows() == 0 {
            return Ok(None);
        }
        Ok(Some(kept.with_schema(Arc::clone(&self.output_schema))?))
    }

    /// The `mark` of every left row, given which rows matched.
    fn mark(
        &self,
        build: BuildSummary,
        left_batch: &RecordBatch,
        has_match: Vec<bool>,
    ) -> Result<BooleanArray> {
        if self.kind != JoinKind::NullAwareMark {
            return Ok(has_match.into_iter().map(Some).collect());
        }
        let (_, nulls) = self.encode_keys(left_batch, &self.left_keys)?;
        Ok(has_match
            .into_iter()
            .enumerate()
            .map(|(row, matched)| {
                let null_key = nulls.as_ref().is_some_and(|n| n.is_null(row));
                if matched {
                    Some(true)
                } else if build.is_empty {
                    Some(false)
                } else if null_key || build.has_null_key {
                    None
                } else {
                    Some(false)
                }
            })
            .collect())
    }

    /// Once every left batch of the partition has probed `table`: for a right or full join the
    /// build rows no probe matched, with nulls for the left columns; for a right semi (anti)
    /// join the build rows some (no) probe matched. `None` for other joins, or when that makes
    /// no rows.
    pub fn finish_build_rows(&self, table: &JoinTable) -> Result<Option<RecordBatch>> {
        let Some(matched) = &table.matched else {
            return Ok(None);
        };
        let keep_matched = self.kind == JoinKind::RightSemi;
        let build_rows: UInt32Array = (0..table.batch.num_rows() as u32)
            .filter(|&row| matched.is_set(row) == keep_matched)
            .collect();
        if build_rows.is_empty() {
            return Ok(None);
        }
        if self.kind.filters_right() {
            let columns = gather(&table.batch, &build_rows)?;
            let options = RecordBatchOptions::new().with_row_count(Some(build_rows.len()));
            return Ok(Some(RecordBatch::try_new_with_options(
                Arc::clone(&self.output_schema),
                columns,
                &options,
            )?));
        }
        let probe_rows = UInt32Array::new_null(build_rows.len());
        let no_left_rows = RecordBatch::new_empty(Arc::clone(&self.left_schema));
        self.assemble(&no_left_rows, &probe_rows, &table.batch, &build_rows)
            .map(Some)
    }

    /// Every pair of a `left_batch` row and a build row with equal, non-null keys, as row
    /// indices into either side.
    fn candidate_pairs(
        &self,
        table: &JoinTable,
        left_batch: &RecordBatch,
    ) -> Result<(UInt32Array, UInt32Array)> {
        let mut probe_rows: Vec<u32> = Vec::new();
        let mut build_rows: Vec<u32> = Vec::new();
        // A semi or anti join without a condition only asks whether some build row matches.
        let stop_at_first = self.kind.filters_left() && self.filter.is_none();
        match &table.index {
            KeyIndex::All => {
                let build_len = table.batch.num_rows() as u32;
                let pairs_per_row = if stop_at_first {
                    build_len.min(1)
                } else {
                    build_len
                };
                for row in 0..left_batch.num_rows() as u32 {
                    probe_rows.extend(std::iter::repeat_n(row, pairs_per_row as usize));
                    build_rows.extend(0..pairs_per_row);
                }
            }
            KeyIndex::Hashed { keys, heads, next } => {
                for (row, head) in self.chain_heads(left_batch, keys, heads, &table.hasher)? {
                    if stop_at_first {
                        probe_rows.push(row);
                        build_rows.push(head);
                        continue;
                    }
                    let mut build_row = head;
                    while build_row != END {
                        probe_rows.push(row);
                        build_rows.push(build_row);
                        build_row = next[build_row as usize];
                    }
                }
            }
        }
        Ok((probe_rows.into(), build_rows.into()))
    }

    /// Each row of `left_batch` whose key some build row has, with the first build row of
    /// that key's chain.
    fn chain_heads(
        &self,
        left_batch: &RecordBatch,
        keys: &JoinKeys,
        heads: &HashTable<u32>,
        hasher: &RandomState,
    ) -> Result<Vec<(u32, u32)>> {
        let (probe_keys, nulls) = self.join_keys(left_batch, &self.left_keys)?;
        let rows = 0..left_batch.num_rows();
        let valid = |row: usize| nulls.as_ref().is_none_or(|n| n.is_valid(row));
        // One integer key probes without matching the key kinds per row.
        let found = match (&probe_keys, keys) {
            (JoinKeys::Integers(probe), JoinKeys::Integers(build)) => find_heads(
                rows,
                valid,
                heads,
                |row| hasher.hash_one(probe[row]),
                |head, row| build[head as usize] == probe[row],
            ),
            _ => find_heads(
                rows,
                valid,
                heads,
                |row| probe_keys.hash(hasher, row),
                |head, row| keys.equal(head as usize, &probe_keys, row),
            ),
        };
        Ok(found)
    }

    /// The key columns of `batch` at `columns` as the table compares them: one integer key
    /// natively, others encoded as rows; and which rows have a null key.
    fn join_keys(
        &self,
        batch: &RecordBatch,
        columns: &[usize],
    ) -> Result<(JoinKeys, Option<NullBuffer>)> {
        if let ([column], [key_type]) = (columns, self.key_types.as_slice())
            && integer_kind(key_type).is_some_and(|(signed, bits)| signed || bits < 64)
        {
            let Some(array) = batch.columns().get(*column) else {
                return exec_err(format!(
                    "join key column {column} is out of range for a batch of {} columns",
                    batch.num_columns()
                ));
            };
            let key = cast(array, &DataType::Int64)?;
            let key = key.as_primitive::<Int64Type>();
            return Ok((
                JoinKeys::Integers(key.values().clone()),
                key.logical_nulls(),
            ));
        }
        let (rows, nulls) = self.encode_keys(batch, columns)?;
        Ok((JoinKeys::Rows(rows), nulls))
    }

    /// The key columns of `batch` at `columns`, cast to the common key types and encoded as
    /// rows, and which rows have a null key (those match nothing).
    pub(crate) fn encode_keys(
        &self,
        batch: &RecordBatch,
        columns: &[usize],
    ) -> Result<(Rows, Option<NullBuffer>)> {
        let (keys, nulls) = self.key_arrays(batch, columns)?;
        Ok((self.converter.convert_columns(&keys)?, nulls))
    }

    /// A hash of each row's key columns of `batch` at `columns` (the same for equal keys on
    /// either side), and which rows have a null key.
    pub(crate) fn key_hashes(
        &self,
        batch: &RecordBatch,
        columns: &[usize],
    ) -> Result<(Vec<u64>, Option<NullBuffer>)> {
        let (keys, nulls) = self.key_arrays(batch, columns)?;
        let mut hashes = vec![0; batch.num_rows()];
        create_hashes(&keys, &RandomState::with_seed(0), &mut hashes)?;
        Ok((hashes, nulls))
    }

    /// The key columns of `batch` at `columns`, cast to the common key types (with -0.0 as
    /// 0.0), and which rows have a null key.
    fn key_arrays(
        &self,
        batch: &RecordBatch,
        columns: &[usize],
    ) -> Result<(Vec<ArrayRef>, Option<NullBuffer>)> {
        let keys = columns
            .iter()
            .zip(&self.key_types)
            .map(|(&column, key_type)| {
                let Some(array) = batch.columns().get(column) else {
                    return exec_err(format!(
                        "join key column {column} is out of range for a batch of {} columns",
                        batch.num_columns()
                    ));
                };
                let key = if array.data_type() == key_type {
                    Arc::clone(array)
                } else {
                    cast(array, key_type)?
                };
                Ok(normalize_zeros(&key))
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let nulls = keys.iter().fold(None, |nulls: Option<NullBuffer>, key| {
            NullBuffer::union(nulls.as_ref(), key.logical_nulls().as_ref())
        });
        Ok((keys, nulls))
    }

    /// The joined rows pairing `left_rows` of `left` with `right_rows` of `right`; a null index
    /// makes that side's columns null.
    fn assemble(
        &self,
        left: &RecordBatch,
        left_rows: &UInt32Array,
        right: &RecordBatch,
        right_rows: &UInt32Array,
    ) -> Result<RecordBatch> {
        let mut columns = gather(left, left_rows)?;
        columns.extend(gather(right, right_rows)?);
        let options = RecordBatchOptions::new().with_row_count(Some(left_rows.len()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.pair_schema),
            columns,
            &options,
        )?)
    }
}

/// The hash table over the build side of a [`HashJoin`], shared by the probes of its build
/// side's partition (or, in a broadcast join, of every partition).
#[derive(Debug)]
pub struct JoinTable {
    /// Every build row, in one batch.
    batch: RecordBatch,
    index: KeyIndex,
    /// Build rows some probe matched: kept for right and full joins only.
    matched: Option<MatchedRows>,
    hasher: RandomState,
    /// Whether some build row has a null key (a null-aware anti join then keeps nothing).
    has_null_key: bool,
}

impl JoinTable {
    /// The number of build rows.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// What semi, anti and mark joins need to know of this table's build rows.
    pub(crate) fn summary(&self) -> BuildSummary {
        BuildSummary {
            is_empty: self.num_rows() == 0,
            has_null_key: self.has_null_key,
        }
    }
}

/// What the probe-side filters of semi, anti and mark joins need to know of the whole build
/// side, which may be joined a block at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BuildSummary {
    /// Whether the build side has no rows.
    pub(crate) is_empty: bool,
    /// Whether some build row has a null key.
    pub(crate) has_null_key: bool,
}

impl BuildSummary {
    /// The summary of a build side made of both `self`'s rows and `other`'s.
    pub(crate) fn and(self, other: BuildSummary) -> BuildSummary {
        BuildSummary {
            is_empty: self.is_empty && other.is_empty,
            has_null_key: self.has_null_key || other.has_null_key,
        }
    }
}

/// The most pairs one probe of a join without keys emits in a batch.
const MAX_KEYLESS_PAIRS: usize = 1 << 16;

/// How a probe row finds its build rows.
#[derive(Debug)]
enum KeyIndex {
    /// Every build row matches (a join without keys).
    All,
    /// Build rows with equal keys are chained, the chain's first row kept in a hash table.
    Hashed {
        /// The key of every build row.
        keys: JoinKeys,
        /// The first build row of every distinct non-null key.
        heads: HashTable<u32>,
        /// The next build row with the same key as a build row, or [`END`].
        next: Vec<u32>,
    },
}

/// The keys of a batch's rows, as a join table hashes and compares them.
#[derive(Debug)]
enum JoinKeys {
    /// One integer key column, widened to 64 bits (a join's most common key: no encoding).
    Integers(ScalarBuffer<i64>),
    /// Any other keys, encoded as rows equal exactly when the keys are.
    Rows(Rows),
}

impl JoinKeys {
    fn hash(&self, hasher: &RandomState, row: usize) -> u64 {
        match self {
            JoinKeys::Integers(values) => hasher.hash_one(values[row]),
            JoinKeys::Rows(rows) => hasher.hash_one(rows.row(row).data()),
        }
    }

    /// Whether row `row` of these keys equals row `other_row` of `other` (of the same kind).
    fn equal(&self, row: usize, other: &JoinKeys, other_row: usize) -> bool {
        match (self, other) {
            (JoinKeys::Integers(a), JoinKeys::Integers(b)) => a[row] == b[other_row],
            (JoinKeys::Rows(a), JoinKeys::Rows(b)) => a.row(row).data() == b.row(other_row).data(),
            _ => false,
        }
    }
}

/// Each of `rows` that is `valid` and whose key (by `hash` and `equal` to a chain's first
/// build row) is in `heads`, with that first row.
fn find_heads(
    rows: std::ops::Range<usize>,
    valid: impl Fn(usize) -> bool,
    heads: &HashTable<u32>,
    hash: impl Fn(usize) -> u64,
    equal: impl Fn(u32, usize) -> bool,
) -> Vec<(u32, u32)> {
    // Hashing every row first, in a loop of its own, keeps the probes' loads apart from the
    // hashing arithmetic.
    let hashes: Vec<u64> = rows.clone().map(&hash).collect();
    let mut found = Vec::new();
    for (row, hash) in rows.zip(hashes) {
        if valid(row)
            && let Some(&head) = heads.find(hash, |&head| equal(head, row))
        {
            found.push((row as u32, head));
        }
    }
    found
}

/// A bitmap of build rows, set concurrently by probes.
#[derive(Debug)]
struct MatchedRows(Vec<AtomicU64>);

impl MatchedRows {
    fn new(rows: usize) -> Self {
        MatchedRows((0..rows.div_ceil(64)).map(|_| AtomicU64::new(0)).collect())
    }

    fn set(&self, row: u32) {
        let word = &self.0[row as usize / 64];
        let mask = 1 << (row % 64);
        // Relaxed suffices: the bits are read only once every probe finished, and whatever tells
        // the reader so (a thread join, a channel, a lock) orders the probes' stores before it. Loading first spares the cache line a write
        // when the row matched already, the common case for skewed keys.
        if word.load(Ordering::Relaxed) & mask == 0 {
            word.fetch_or(mask, Ordering::Relaxed);
        }
    }

    fn is_set(&self, row: u32) -> bool {
        self.0[row as usize / 64].load(Ordering::Relaxed) & (1 << (row % 64)) != 0
    }
}

/// The field of `schema` at key `column`, or an error naming the `side`.
fn key_field<'a>(schema: &'a Schema, column: usize, side: &str) -> Result<&'a Field> {
    schema
        .fields()
        .get(column)
        .map(|f| f.as_ref())
        .ok_or_else(|| {
            ExecError::Execution(format!(
                "{side} join key column {column} is out of range for {} columns",
                schema.fields().len()
            ))
        })
}

/// The fields of `schema`, made nullable if `null_extended`.
fn nullable_if(schema: &Schema, null_extended: bool) -> impl Iterator<Item = Field> + '_ {
    schema.fields().iter().map(move |f| {
        f.as_ref()
            .clone()
            .with_nullable(f.is_nullable() || null_extended)
    })
}

/// The type key columns of types `left` and `right` are compared as.
fn common_key_type(left: &DataType, right: &DataType) -> Result<DataType> {
    if left == right {
        // The row format encodes dictionaries by value, so equal types need no cast.
        return Ok(left.clone());
    }
    let (l, r) = (value_type(left), value_type(right));
    if l == r {
        return Ok(l.clone());
    }
    let common = match (integer_kind(l), integer_kind(r)) {
        (Some(a), Some(b)) => Some(wider_integer(a, b)),
        _ if l.is_floating() && r.is_floating() => Some(
            if l.primitive_width() > r.primitive_width() {
                l
            } else {
                r
            }
            .clone(),
        ),
        _ if l.is_string() && r.is_string() => Some(DataType::LargeUtf8),
        _ if l.is_binary() && r.is_binary() => Some(DataType::LargeBinary),
        _ => None,
    };
    common.ok_or_else(|| {
        ExecError::Execution(format!(
            "join keys of types {left} and {right} cannot be compared"
        ))
    })
}

/// The type of a dictionary's values, or the type itself.
fn value_type(data_type: &DataType) -> &DataType {
    match data_type {
        DataType::Dictionary(_, values) => values,
        other => other,
    }
}

/// Signedness and bit width of an integer type.
fn integer_kind(data_type: &DataType) -> Option<(bool, u32)> {
    Some(match data_type {
        DataType::Int8 => (true, 8),
        DataType::Int16 => (true, 16),
        DataType::Int32 => (true, 32),
        DataType::Int64 => (true, 64),
        DataType::UInt8 => (false, 8),
        DataType::UInt16 => (false, 16),
        DataType::UInt32 => (false, 32),
        DataType::UInt64 => (false, 64),
        _ => return None,
    })
}

/// The narrowest integer type holding both kinds' values; a signed and an unsigned 64-bit key
/// meet as `Int64`, where the unsigned values above `i64::MAX` cast to null and so match
/// nothing, as no signed value equals them.
fn wider_integer((l_signed, l_bits): (bool, u32), (r_signed, r_bits): (bool, u32)) -> DataType {
    let (signed, bits) = match (l_signed, r_signed) {
        (true, true) | (false, false) => (l_signed, l_bits.max(r_bits)),
        (true, false) => (true, l_bits.max(r_bits * 2).min(64)),
        (false, true) => (true, r_bits.max(l_bits * 2).min(64)),
    };
    match (signed, bits) {
        (true, 8) => DataType::Int8,
        (true, 16) => DataType::Int16,
        (true, 32) => DataType::Int32,
        (true, _) => DataType::Int64,
        (false, 8) => DataType::UInt8,
        (false, 16) => DataType::UInt16,
        (false, 32) => DataType::UInt32,
        (false, _) => DataType::UInt64,
    }
}

/// Which of `rows` rows appear in `matched_rows`.
fn has_match(rows: usize, matched_rows: &UInt32Array) -> Vec<bool> {
    let mut has_match = vec![false; rows];
    for &row in matched_rows.values() {
        has_match[row as usize] = true;
    }
    has_match
}

/// The rows of `rows` that `keep` is true for (null counts as false).
fn retain(rows: &UInt32Array, keep: &BooleanArray) -> Result<UInt32Array> {
    Ok(filter(rows, keep)?.as_primitive::<UInt32Type>().clone())
}

/// The columns of `batch` at `rows`; a null index makes a null value.
fn gather(batch: &RecordBatch, rows: &UInt32Array) -> Result<Vec<ArrayRef>> {
    if rows.null_count() == rows.len() {
        // All null, possibly of an empty batch `take` cannot index.
        return Ok(batch
            .schema()
            .fields()
            .iter()
            .map(|f| new_null_array(f.data_type(), rows.len()))
            .collect());
    }
    batch
        .columns()
        .iter()
        .map(|column| Ok(take(column, rows, None)?))
        .collect()
}
