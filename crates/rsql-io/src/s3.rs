//! Access to S3 buckets through the `object_store` crate, wrapped in a blocking API.
//!
//! Credentials, region and endpoint come from the usual AWS environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`,
//! `AWS_ALLOW_HTTP`, ...), as `AmazonS3Builder::from_env` reads them.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{IoError, Result};

/// A client for one bucket, with its own small async runtime so callers stay synchronous.
#[derive(Debug, Clone)]
pub struct S3Bucket {
    bucket: String,
    store: Arc<dyn ObjectStore>,
    runtime: Arc<tokio::runtime::Runtime>,
}

/// An object found by listing: its key and size in bytes.
#[derive(Debug, Clone)]
pub struct S3Object {
    /// The object key.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
}

impl S3Bucket {
    /// Connects to `bucket` with settings from the environment.
    pub fn from_env(bucket: &str) -> Result<Self> {
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|source| IoError::ObjectStore {
                location: format!("s3://{bucket}"),
                source,
            })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|source| IoError::fs(format!("s3://{bucket}"), source))?;
        Ok(S3Bucket {
            bucket: bucket.to_string(),
            store: Arc::new(store),
            runtime: Arc::new(runtime),
        })
    }

    /// The bucket name.
    pub fn name(&self) -> &str {
        &self.bucket
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn error(&self, key: &str, source: object_store::Error) -> IoError {
        match source {
            object_store::Error::NotFound { .. } => IoError::NotFound(self.url(key)),
            source => IoError::ObjectStore {
                location: self.url(key),
                source,
            },
        }
    }

    /// The size of the object at `key`, or `None` when no such object exists.
    pub fn head(&self, key: &str) -> Result<Option<u64>> {
        let path = ObjectPath::from(key);
        match self.runtime.block_on(self.store.head(&path)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.error(key, source)),
        }
    }

    /// Every object under `prefix` (recursively).
    pub fn list(&self, prefix: &str) -> Result<Vec<S3Object>> {
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let stream = self.store.list(path.as_ref());
        let metas: Vec<_> = self
            .runtime
            .block_on(stream.try_collect())
            .map_err(|source| self.error(prefix, source))?;
        Ok(metas
            .into_iter()
            .map(|meta| S3Object {
                key: meta.location.to_string(),
                size: meta.size,
            })
            .collect())
    }

    /// The bytes of `key` in `range`.
    pub fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        let path = ObjectPath::from(key);
        self.runtime
            .block_on(self.store.get_range(&path, range))
            .map_err(|source| self.error(key, source))
    }

    /// The whole object at `key`.
    pub fn get(&self, key: &str) -> Result<Bytes> {
        let path = ObjectPath::from(key);
        self.runtime
            .block_on(async { self.store.get(&path).await?.bytes().await })
            .map_err(|source| self.error(key, source))
    }

    /// Stores `data` at `key`, replacing any object there.
    pub fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let path = ObjectPath::from(key);
        self.runtime
            .block_on(self.store.put(&path, PutPayload::from(data)))
            .map(|_| ())
            .map_err(|source| self.error(key, source))
    }
}
