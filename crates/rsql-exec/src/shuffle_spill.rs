//! Shuffles of record batches within the memory pool: a map task keeps its buckets in memory
//! while the pool grants their size within [`SHUFFLE_MEMORY_SHARE`] of its limit and, once it
//! refuses, writes them (and everything it routes after) to one spill file per bucket. Reduce
//! tasks read memory and file blocks alike.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rsql_rdd::{BoxIter, MemoryPool, MemoryReservation, Rdd, ShufflePreparation, TaskContext};

use crate::error::Result;
use crate::lower::fail_task;
use crate::operators::coalesce_batches;
use crate::spill::{SpillFile, SpillWriter};

/// The part of the memory limit up to which map outputs may stay in memory. They are held
/// until the job ends, so without a cap they would leave the operators of the reduce stages
/// (sorts, joins, aggregations) too little memory to work in and make them spill in slivers.
const SHUFFLE_MEMORY_SHARE: f64 = 0.25;

/// One piece of a map task's output for one reduce partition.
#[derive(Clone)]
enum ShuffleBlock {
    /// A batch held in memory; the map task's reservation is returned when the shuffle's
    /// outputs are dropped.
    Memory {
        batch: RecordBatch,
        _reserved: Arc<MemoryReservation>,
    },
    /// Batches written to disk.
    Spilled(SpillFile),
}

impl ShuffleBlock {
    /// Bytes the block holds in memory or on disk, for the shuffle metrics.
    fn bytes(&self) -> usize {
        match self {
            ShuffleBlock::Memory { batch, .. } => batch.get_array_memory_size(),
            ShuffleBlock::Spilled(file) => file.bytes(),
        }
    }
}

/// The buckets of one map task while it routes its batches.
struct MapBuckets {
    schema: SchemaRef,
    memory: Vec<Vec<RecordBatch>>,
    files: Vec<Option<SpillWriter>>,
    reservation: MemoryReservation,
    pool: Arc<MemoryPool>,
    spilling: bool,
}

impl MapBuckets {
    fn new(buckets: usize, schema: SchemaRef, pool: &Arc<MemoryPool>) -> Self {
        MapBuckets {
            schema,
            memory: vec![Vec::new(); buckets],
            files: (0..buckets).map(|_| None).collect(),
            reservation: pool.reservation("Exchange"),
            pool: Arc::clone(pool),
            spilling: false,
        }
    }

    /// Adds `batch` to `bucket`: in memory while the pool grants it, on disk after.
    fn push(&mut self, bucket: usize, batch: RecordBatch) -> Result<()> {
        if !self.spilling {
            if self
                .reservation
                .try_grow_within_share(batch.get_array_memory_size(), SHUFFLE_MEMORY_SHARE)
                .is_ok()
            {
                self.memory[bucket].push(batch);
                return Ok(());
            }
            self.spill_memory()?;
        }
        self.file(bucket)?.write(&batch)
    }

    fn file(&mut self, bucket: usize) -> Result<&mut SpillWriter> {
        Ok(match &mut self.files[bucket] {
            Some(writer) => writer,
            slot => slot.insert(SpillWriter::create(&self.pool, &self.schema)?),
        })
    }

    /// Moves every bucket held in memory to its file and frees the reservation.
    fn spill_memory(&mut self) -> Result<()> {
        self.spilling = true;
        for bucket in 0..self.memory.len() {
            for batch in std::mem::take(&mut self.memory[bucket]) {
                self.file(bucket)?.write(&batch)?;
            }
        }
        self.reservation.free();
        Ok(())
    }

    /// The blocks of every bucket: the memory batches, then the bucket's file if any.
    fn finish(self) -> Result<Vec<Vec<ShuffleBlock>>> {
        let reservation = Arc::new(self.reservation);
        self.memory
            .into_iter()
            .zip(self.files)
            .map(|(batches, file)| {
                let mut blocks: Vec<ShuffleBlock> = batches
                    .into_iter()
                    .map(|batch| ShuffleBlock::Memory {
                        batch,
                        _reserved: Arc::clone(&reservation),
                    })
                    .collect();
                if let Some(file) = file {
                    blocks.push(ShuffleBlock::Spilled(file.finish()?));
                }
                Ok(blocks)
            })
            .collect()
    }
}

/// Shuffles `input` into `partitions` partitions; `route` splits a batch into one optional
/// batch per partition. Map outputs stay within `pool` and spill past it.
#[track_caller]
pub fn shuffle_batches(
    input: &Rdd<RecordBatch>,
    schema: SchemaRef,
    partitions: usize,
    pool: Arc<MemoryPool>,
    route: impl Fn(&RecordBatch, usize) -> Result<Vec<Option<RecordBatch>>> + Send + Sync + 'static,
) -> Rdd<RecordBatch> {
    exchange(input, schema, partitions, pool, None, route)
}

/// [`shuffle_batches`] whose map stage is preceded by `prepare` on the driver (see
/// [`Rdd::shuffle_prepared`]): for routing that needs to look at the data first.
#[track_caller]
pub fn shuffle_batches_prepared(
    input: &Rdd<RecordBatch>,
    schema: SchemaRef,
    partitions: usize,
    pool: Arc<MemoryPool>,
    prepare: impl Fn() -> rsql_rdd::Result<()> + Send + Sync + 'static,
    route: impl Fn(&RecordBatch, usize) -> Result<Vec<Option<RecordBatch>>> + Send + Sync + 'static,
) -> Rdd<RecordBatch> {
    exchange(
        input,
        schema,
        partitions,
        pool,
        Some(Arc::new(prepare)),
        route,
    )
}

#[track_caller]
fn exchange(
    input: &Rdd<RecordBatch>,
    schema: SchemaRef,
    partitions: usize,
    pool: Arc<MemoryPool>,
    prepare: Option<ShufflePreparation>,
    route: impl Fn(&RecordBatch, usize) -> Result<Vec<Option<RecordBatch>>> + Send + Sync + 'static,
) -> Rdd<RecordBatch> {
    let reduce_schema = Arc::clone(&schema);
    let routed = move |batches: BoxIter<'_, RecordBatch>, tc: &TaskContext, buckets: usize| {
        let mut out = MapBuckets::new(buckets, Arc::clone(&schema), &pool);
        let routed = batches.into_iter().try_for_each(|batch| {
            for (bucket, part) in route(&batch, buckets)?.into_iter().enumerate() {
                if let Some(part) = part {
                    out.push(bucket, part)?;
                }
            }
            Ok(())
        });
        match routed.and_then(|()| out.finish()) {
            Ok(blocks) => blocks,
            Err(error) => {
                fail_task(tc, error);
                vec![Vec::new(); buckets]
            }
        }
    };
    let shuffled = match prepare {
        Some(prepare) => {
            input.shuffle_prepared(partitions, move || prepare(), routed, ShuffleBlock::bytes)
        }
        None => input.shuffle_sized(partitions, routed, ShuffleBlock::bytes),
    };
    shuffled.map_partitions_with_context(move |blocks, tc| {
        let fetched = blocks.flat_map(|block| -> Box<dyn Iterator<Item = Result<RecordBatch>>> {
            match block {
                ShuffleBlock::Memory { batch, .. } => Box::new(std::iter::once(Ok(batch))),
                ShuffleBlock::Spilled(file) => match file.read() {
                    Ok(batches) => Box::new(batches),
                    Err(error) => Box::new(std::iter::once(Err(error))),
                },
            }
        });
        // Every map task sends a piece of each of its batches: merge the pieces.
        Box::new(
            coalesce_batches(Arc::clone(&reduce_schema), fetched).map_while(
                move |batch| match batch {
                    Ok(batch) => Some(batch),
                    Err(error) => {
                        fail_task(tc, error);
                        None
                    }
                },
            ),
        )
    })
}
