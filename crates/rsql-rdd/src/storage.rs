//! The block store behind `persist`: partitions kept in memory or spilled to local disk.

use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{RddError, Result};
use crate::rdd::RddId;

/// Where persisted partitions live, as Spark's storage levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageLevel {
    /// Kept in memory; a partition that does not fit is recomputed when needed again.
    MemoryOnly,
    /// Kept in memory while it fits, written to local disk otherwise.
    MemoryAndDisk,
    /// Always written to local disk.
    DiskOnly,
}

/// A type-erased partition: an `Arc<Vec<T>>` behind `dyn Any`.
pub(crate) type ErasedBlock = Arc<dyn Any + Send + Sync>;

/// Encoder and decoder of one element type, captured where `T: Serialize` is known.
#[derive(Clone, Copy)]
pub(crate) struct BlockCodec {
    encode: fn(&ErasedBlock) -> Result<Vec<u8>, String>,
    decode: fn(&[u8]) -> Result<ErasedBlock, String>,
}

impl BlockCodec {
    /// The postcard codec for partitions of `T`.
    pub(crate) fn of<T: Serialize + DeserializeOwned + Send + Sync + 'static>() -> Self {
        fn encode<T: Serialize + 'static>(block: &ErasedBlock) -> Result<Vec<u8>, String> {
            let items = block
                .downcast_ref::<Vec<T>>()
                .ok_or_else(|| "block has an unexpected element type".to_string())?;
            postcard::to_stdvec(items).map_err(|e| e.to_string())
        }
        fn decode<T: DeserializeOwned + Send + Sync + 'static>(
            bytes: &[u8],
        ) -> Result<ErasedBlock, String> {
            let items: Vec<T> = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
            Ok(Arc::new(items))
        }
        BlockCodec {
            encode: encode::<T>,
            decode: decode::<T>,
        }
    }
}

/// How a persisted RDD stores its partitions; disk levels carry the element codec.
#[derive(Clone, Copy)]
pub(crate) enum Persistence {
    Memory,
    MemoryAndDisk(BlockCodec),
    Disk(BlockCodec),
}

impl Persistence {
    /// The public storage level this persistence implements.
    pub(crate) fn level(&self) -> StorageLevel {
        match self {
            Persistence::Memory => StorageLevel::MemoryOnly,
            Persistence::MemoryAndDisk(_) => StorageLevel::MemoryAndDisk,
            Persistence::Disk(_) => StorageLevel::DiskOnly,
        }
    }
}

enum Block {
    Memory { data: ErasedBlock, bytes: usize },
    Disk { path: PathBuf, codec: BlockCodec },
}

#[derive(Default)]
struct Blocks {
    by_id: HashMap<(RddId, usize), Block>,
    memory_bytes: usize,
}

/// Persisted partitions of every RDD of one context.
pub(crate) struct BlockStore {
    blocks: Mutex<Blocks>,
    memory_limit: usize,
    dir: tempfile::TempDir,
}

impl BlockStore {
    pub(crate) fn new(memory_limit: usize) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rsql-blocks-")
            .tempdir()
            .map_err(|e| RddError::io(std::env::temp_dir(), e))?;
        Ok(BlockStore {
            blocks: Mutex::default(),
            memory_limit,
            dir,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Blocks> {
        self.blocks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stored partition, read back from disk if it was spilled.
    pub(crate) fn get(&self, rdd_id: RddId, partition: usize) -> Result<Option<ErasedBlock>> {
        let (path, codec) = match self.lock().by_id.get(&(rdd_id, partition)) {
            None => return Ok(None),
            Some(Block::Memory { data, .. }) => return Ok(Some(Arc::clone(data))),
            Some(Block::Disk { path, codec }) => (path.clone(), *codec),
        };
        let bytes = std::fs::read(&path).map_err(|e| RddError::io(&path, e))?;
        let block = (codec.decode)(&bytes).map_err(|message| RddError::Serialization {
            rdd_id,
            partition,
            message,
        })?;
        Ok(Some(block))
    }

    /// Stores a computed partition at the given level; `MemoryOnly` skips blocks that do not fit.
    pub(crate) fn put(
        &self,
        rdd_id: RddId,
        partition: usize,
        data: ErasedBlock,
        bytes: usize,
        persistence: Persistence,
    ) -> Result<()> {
        let codec = match persistence {
            Persistence::Memory => None,
            Persistence::MemoryAndDisk(codec) => Some(codec),
            Persistence::Disk(codec) => {
                return self.insert_on_disk(rdd_id, partition, &data, codec);
            }
        };
        {
            // Checking the budget and taking the memory happen under one lock, so that
            // concurrent tasks cannot overshoot the budget together.
            let mut blocks = self.lock();
            if blocks.memory_bytes + bytes <= self.memory_limit {
                blocks.memory_bytes += bytes;
                if let Some(old) = blocks
                    .by_id
                    .insert((rdd_id, partition), Block::Memory { data, bytes })
                {
                    Self::release(&mut blocks, old);
                }
                return Ok(());
            }
        }
        match codec {
            Some(codec) => self.insert_on_disk(rdd_id, partition, &data, codec),
            // MemoryOnly: a block that does not fit is recomputed when needed, as in Spark.
            None => Ok(()),
        }
    }

    fn insert_on_disk(
        &self,
        rdd_id: RddId,
        partition: usize,
        data: &ErasedBlock,
        codec: BlockCodec,
    ) -> Result<()> {
        let block = self.write_to_disk(rdd_id, partition, data, codec)?;
        let mut blocks = self.lock();
        if let Some(old) = blocks.by_id.insert((rdd_id, partition), block) {
            Self::release(&mut blocks, old);
        }
        Ok(())
    }

    fn write_to_disk(
        &self,
        rdd_id: RddId,
        partition: usize,
        data: &ErasedBlock,
        codec: BlockCodec,
    ) -> Result<Block> {
        let bytes = (codec.encode)(data).map_err(|message| RddError::Serialization {
            rdd_id,
            partition,
            message,
        })?;
        let path = self.dir.path().join(format!("rdd_{rdd_id}_{partition}"));
        std::fs::write(&path, bytes).map_err(|e| RddError::io(&path, e))?;
        Ok(Block::Disk { path, codec })
    }

    fn release(blocks: &mut Blocks, block: Block) {
        match block {
            Block::Memory { bytes, .. } => blocks.memory_bytes -= bytes,
            Block::Disk { path, .. } => {
                // Best effort: the directory is removed with the context anyway.
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// Drops one partition; returns whether it was stored.
    pub(crate) fn remove(&self, rdd_id: RddId, partition: usize) -> bool {
        let mut blocks = self.lock();
        match blocks.by_id.remove(&(rdd_id, partition)) {
            Some(block) => {
                Self::release(&mut blocks, block);
                true
            }
            None => false,
        }
    }

    /// Drops every partition of an RDD.
    pub(crate) fn remove_rdd(&self, rdd_id: RddId) {
        let mut blocks = self.lock();
        let keys: Vec<_> = blocks
            .by_id
            .keys()
            .filter(|(id, _)| *id == rdd_id)
            .copied()
            .collect();
        for key in keys {
            if let Some(block) = blocks.by_id.remove(&key) {
                Self::release(&mut blocks, block);
            }
        }
    }

    /// Whether every partition `0..num_partitions` of the RDD is stored.
    pub(crate) fn contains_all(&self, rdd_id: RddId, num_partitions: usize) -> bool {
        let blocks = self.lock();
        (0..num_partitions).all(|p| blocks.by_id.contains_key(&(rdd_id, p)))
    }

    /// Number of stored partitions.
    pub(crate) fn len(&self) -> usize {
        self.lock().by_id.len()
    }
}
