//! A single data file, local or remote, and the readers the decoders need over it.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use bytes::{Buf, Bytes};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use crate::error::{IoError, Result};
use crate::s3::S3Bucket;

/// Where one data file lives.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// A local file.
    Local(PathBuf),
    /// An object in an S3 bucket.
    S3 {
        /// The bucket client.
        bucket: S3Bucket,
        /// The object key.
        key: String,
    },
}

impl FileSource {
    /// The file's name as shown in errors: a local path or an `s3://` URL.
    pub fn name(&self) -> String {
        match self {
            FileSource::Local(path) => path.display().to_string(),
            FileSource::S3 { bucket, key } => format!("s3://{}/{key}", bucket.name()),
        }
    }

    /// Random access to the file's bytes, as the Parquet decoder needs.
    pub fn open_chunks(&self, size: u64) -> Result<ChunkSource> {
        match self {
            FileSource::Local(path) => {
                let file = File::open(path).map_err(|source| IoError::fs(path, source))?;
                // SAFETY: the map is read only; a file truncated by another process while it
                // is read is outside what any reader can guard against.
                let map = unsafe { memmap2::Mmap::map(&file) }
                    .map_err(|source| IoError::fs(path, source))?;
                Ok(ChunkSource::Mapped(Bytes::from_owner(map)))
            }
            FileSource::S3 { bucket, key } => Ok(ChunkSource::S3 {
                bucket: bucket.clone(),
                key: key.clone(),
                size,
            }),
        }
    }

    /// Sequential access to the whole file, as the text decoders need.
    pub fn open_read(&self) -> Result<Box<dyn Read + Send>> {
        match self {
            FileSource::Local(path) => File::open(path)
                .map(|file| Box::new(file) as Box<dyn Read + Send>)
                .map_err(|source| IoError::fs(path, source)),
            FileSource::S3 { bucket, key } => Ok(Box::new(bucket.get(key)?.reader())),
        }
    }
}

/// Random access over a [`FileSource`]: a local file handle or ranged requests to S3.
#[derive(Debug)]
pub enum ChunkSource {
    /// A local file mapped into memory: column chunks are slices of it, never copied.
    Mapped(Bytes),
    /// An S3 object fetched by ranged GET requests.
    S3 {
        /// The bucket client.
        bucket: S3Bucket,
        /// The object key.
        key: String,
        /// The object size in bytes.
        size: u64,
    },
}

impl Length for ChunkSource {
    fn len(&self) -> u64 {
        match self {
            ChunkSource::Mapped(bytes) => bytes.len() as u64,
            ChunkSource::S3 { size, .. } => *size,
        }
    }
}

impl ChunkReader for ChunkSource {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        match self {
            ChunkSource::Mapped(bytes) => Ok(Box::new(bytes.get_read(start)?)),
            ChunkSource::S3 { size, .. } => {
                let length = usize::try_from(size.saturating_sub(start))
                    .map_err(|e| ParquetError::External(Box::new(e)))?;
                Ok(Box::new(self.get_bytes(start, length)?.reader()))
            }
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            ChunkSource::Mapped(bytes) => bytes.get_bytes(start, length),
            ChunkSource::S3 { bucket, key, .. } => bucket
                .get_range(key, start..start + length as u64)
                .map_err(|e| ParquetError::External(Box::new(e))),
        }
    }
}
