//! Hash partitioning of record batches: the map side of an `Exchange`.

use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::record_batch::RecordBatch;
use datafusion_common::hash_utils::{RandomState, create_hashes};

use crate::error::Result;
use crate::rows::normalize_zeros;

/// The seed of exchange hashing: fixed, so that every process places a key alike.
const EXCHANGE_SEED: u64 = 0x5253_514c;

/// Which bucket of `buckets` each row of `key_columns` hashes to.
pub fn bucket_of_rows(
    key_columns: &[ArrayRef],
    num_rows: usize,
    buckets: usize,
) -> Result<Vec<usize>> {
    bucket_of_rows_seeded(key_columns, num_rows, buckets, EXCHANGE_SEED)
}

/// [`bucket_of_rows`] with another hash seed: rows that an exchange placed together (equal
/// exchange hash modulo the partition count) still spread over all buckets.
fn bucket_of_rows_seeded(
    key_columns: &[ArrayRef],
    num_rows: usize,
    buckets: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    let mut hashes = vec![0u64; num_rows];
    // -0.0 and 0.0 are one key: they must meet in one partition.
    let key_columns: Vec<ArrayRef> = key_columns.iter().map(normalize_zeros).collect();
    create_hashes(&key_columns, &RandomState::with_seed(seed), &mut hashes)?;
    Ok(hashes
        .into_iter()
        .map(|h| (h % buckets as u64) as usize)
        .collect())
}

/// Splits `batch` into `buckets` batches by the hash of the columns at `keys`; a bucket with no
/// rows gets no batch (`None`).
pub fn hash_split(
    batch: &RecordBatch,
    keys: &[usize],
    buckets: usize,
) -> Result<Vec<Option<RecordBatch>>> {
    hash_split_seeded(batch, keys, buckets, EXCHANGE_SEED)
}

/// [`hash_split`] with the hash seeded by `seed` (see [`bucket_of_rows_seeded`]).
pub(crate) fn hash_split_seeded(
    batch: &RecordBatch,
    keys: &[usize],
    buckets: usize,
    seed: u64,
) -> Result<Vec<Option<RecordBatch>>> {
    let key_columns: Vec<ArrayRef> = keys.iter().map(|&k| batch.column(k).clone()).collect();
    let bucket_of_row = bucket_of_rows_seeded(&key_columns, batch.num_rows(), buckets, seed)?;
    let mut rows_of_bucket: Vec<Vec<u32>> = vec![Vec::new(); buckets];
    for (row, bucket) in bucket_of_row.into_iter().enumerate() {
        rows_of_bucket[bucket].push(row as u32);
    }
    rows_of_bucket
        .into_iter()
        .map(|rows| {
            if rows.is_empty() {
                Ok(None)
            } else if rows.len() == batch.num_rows() {
                Ok(Some(batch.clone()))
            } else {
                Ok(Some(take_record_batch(batch, &UInt32Array::from(rows))?))
            }
        })
        .collect()
}
